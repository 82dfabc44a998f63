// JSON string literals from bytes that may not be UTF-8: one escaper for
// every JSON the project writes (reports, HAR, the HTML report's data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpscribe {

/// Length of the valid UTF-8 sequence at s[i] (1 for ASCII); 0 when the
/// bytes there are not UTF-8 (overlong forms, surrogates, past U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i);
/// The length (2-4) of a multi-byte UTF-8 sequence at s[i] that a
/// terminal shows as text; 0 for ASCII, bytes that are not UTF-8, and the
/// C1 controls U+0080-U+009F (U+009B is CSI), which must be escaped.
size_t terminal_utf8_length(std::string_view s, size_t i);
bool valid_utf8(std::string_view s);

struct JsonStringStyle {
  /// Bytes that are not UTF-8 become U+FFFD (true) or \u00XX, the byte read
  /// as Latin-1 (false: keeps binary recoverable, as HAR bodies need).
  bool invalid_as_replacement = true;
  /// '<', '>' and '&' become \u003c \u003e \u0026, so the JSON can sit
  /// inside an HTML <script> block.
  bool html_safe = false;
  /// U+2028 and U+2029 become \u2028 \u2029 (JavaScript string safety).
  bool escape_line_separators = false;
  /// Every byte from 0x80 up becomes \u00XX, UTF-8 or not: the string is
  /// the bytes read as Latin-1, so raw data comes back exactly.
  bool bytes_as_latin1 = false;
};

/// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s, JsonStringStyle style = {});

/// Appends `"key":` (a key of the project's own, no escaping needed).
void append_json_key(std::string& out, const char* key);
/// Appends `"key":N`.
void append_json_uint(std::string& out, const char* key, uint64_t v);

}  // namespace tcpscribe
