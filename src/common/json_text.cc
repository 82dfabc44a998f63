#include "json_text.h"

#include <cstdint>

namespace tcpscribe {
namespace {

void hex4(std::string& out, unsigned v) {
  static const char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xF];
}

}  // namespace

size_t terminal_utf8_length(std::string_view s, size_t i) {
  if (static_cast<unsigned char>(s[i]) < 0x80) return 0;
  const size_t n = utf8_sequence_length(s, i);
  const bool c1 = n == 2 && static_cast<unsigned char>(s[i]) == 0xC2 &&
                  static_cast<unsigned char>(s[i + 1]) < 0xA0;
  return n > 1 && !c1 ? n : 0;
}

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {
/// Printable ASCII that every style copies as it is.
bool plain_json_byte(unsigned char c) {
  return c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}
}  // namespace

void append_json_key(std::string& out, const char* key) {
  out += '"';
  out += key;
  out += "\":";
}

void append_json_uint(std::string& out, const char* key, uint64_t v) {
  append_json_key(out, key);
  out += std::to_string(v);
}

void append_json_string(std::string& out, std::string_view s, JsonStringStyle style) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    // Runs of bytes that need no escape are copied at once.
    size_t j = i;
    while (j < s.size() && plain_json_byte(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) {
      out.append(s.data() + i, j - i);
      i = j;
      if (i == s.size()) break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80 && style.bytes_as_latin1) {
      hex4(out, c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        if (style.invalid_as_replacement) out += "\\ufffd";
        else hex4(out, c);
        ++i;
      } else if (style.escape_line_separators && n == 3 && c == 0xE2 &&
                 static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xA8) {
        hex4(out, 0x2000u | (static_cast<unsigned char>(s[i + 2]) & 0x3Fu));
        i += 3;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '<': case '>': case '&':
        if (style.html_safe) hex4(out, c);
        else out += static_cast<char>(c);
        break;
      default:
        if (c < 0x20 || c == 0x7F) hex4(out, c);
        else out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

}  // namespace tcpscribe
