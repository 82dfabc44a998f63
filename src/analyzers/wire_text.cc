#include "wire_text.h"

#include <cstdio>

#include "json_text.h"

namespace tcpscribe {

std::string wire_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    // Printable ASCII but the backslash is kept as it is: copied in runs.
    size_t j = i;
    while (j < s.size() && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '\\') ++j;
    if (j > i) {
      out.append(s.data() + i, j - i);
      i = j;
      if (i == s.size()) break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(s, i);
      if (n > 0) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

std::string cut_text(std::string_view kept, uint64_t full, size_t max) {
  const bool cut = full > max || kept.size() > max;
  std::string out = wire_escape(kept.substr(0, max));
  if (cut) out += "...(" + std::to_string(full > kept.size() ? full : kept.size()) + " bytes)";
  return out;
}

std::string json_str(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string hex_text(std::string_view s, uint64_t full, size_t max) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  if (full > max || s.size() > max) {
    out += "...(" + std::to_string(full > s.size() ? full : s.size()) + " bytes)";
  }
  return out;
}

std::string redacted_text(uint64_t bytes) {
  return "[redacted, " + std::to_string(bytes) + " bytes]";
}

}  // namespace tcpscribe
