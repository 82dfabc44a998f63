#include "diag.h"

#include <cstdarg>
#include <cstdio>
#include <string>

namespace tcpscribe::diag {
namespace {

std::string& program() {
  static std::string name = "tcpscribe";
  return name;
}
void (*before_print)() = nullptr;

void emit(const char* kind, std::string_view message) {
  if (before_print) before_print();
  // One fprintf per line: stderr is unbuffered, so a line written by one
  // call is never split by another thread's line.
  std::fprintf(stderr, "%s: %s%.*s\n", program().c_str(), kind,
               static_cast<int>(message.size()), message.data());
}

std::string vformat(const char* format, va_list args) {
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, format, args);
  return out;
}

}  // namespace

void set_program(std::string_view name) { program() = std::string(name); }
void set_before_print(void (*hook)()) { before_print = hook; }

void error(std::string_view message) { emit("", message); }
void warning(std::string_view message) { emit("warning: ", message); }
void note(std::string_view message) { emit("", message); }

// The printf-style forms: one va_list walk each, into the same emit().
#define TCPSCRIBE_DIAG_FORMATTED(function, kind) \
  void function(const char* format, ...) {      \
    va_list args;                               \
    va_start(args, format);                     \
    const std::string m = vformat(format, args); \
    va_end(args);                               \
    emit(kind, m);                              \
  }
TCPSCRIBE_DIAG_FORMATTED(errorf, "")
TCPSCRIBE_DIAG_FORMATTED(warningf, "warning: ")
TCPSCRIBE_DIAG_FORMATTED(notef, "")
#undef TCPSCRIBE_DIAG_FORMATTED

}  // namespace tcpscribe::diag
