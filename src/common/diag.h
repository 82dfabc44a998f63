// One way to tell the user something went wrong: "tcpscribe: MESSAGE" or
// "tcpscribe: warning: MESSAGE" on stderr, one line each (mold's
// Fatal/Error/Warn split: the caller decides what an error means for the
// run, diag only says it). The subcommands set their own prefix
// ("tcpscribe proxy"), and a progress line on the terminal is cleared
// before the message so the two never share a line.
#pragma once

#include <string_view>

namespace tcpscribe::diag {

/// "tcpscribe" unless set; the text before ": " on every line.
void set_program(std::string_view name);
/// Called before each message is written (e.g. to clear a progress line);
/// nullptr for none.
void set_before_print(void (*hook)());

/// One line: "<program>: <message>".
void error(std::string_view message);
/// One line: "<program>: warning: <message>".
void warning(std::string_view message);
/// One line of information, not a problem: "<program>: <message>".
void note(std::string_view message);
/// printf-style forms of the same.
void errorf(const char* format, ...) __attribute__((format(printf, 1, 2)));
void warningf(const char* format, ...) __attribute__((format(printf, 1, 2)));
void notef(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tcpscribe::diag
