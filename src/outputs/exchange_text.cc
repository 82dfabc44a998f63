#include "exchange_text.h"

#include <cmath>
#include <cstdint>
#include <exception>

namespace tcpscribe {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Four hex digits at s[i]; -1 when they are not.
int32_t hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const int h = hex_value(s[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/// Control characters and runs of white space become one space; at most
/// `max` characters (UTF-8 sequences kept whole), "..." when cut.
std::string one_line(std::string_view s, size_t max) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c);
  }
  if (out.size() <= max) return out;
  size_t cut = max > 3 ? max - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
  out.resize(cut);
  return out + "...";
}

const std::string* field(const ExchangeRecord& r, std::string_view key) {
  for (const auto& [k, v] : r.fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

/// A field's string value; "" when absent, null or not a string.
std::string text_of(const ExchangeRecord& r, std::string_view key) {
  const std::string* v = field(r, key);
  return v ? json_string_value(*v) : std::string();
}

/// A field's raw JSON when it is a number; "" otherwise.
std::string number_of(const ExchangeRecord& r, std::string_view key) {
  const std::string* v = field(r, key);
  if (!v || v->empty() || !(((*v)[0] >= '0' && (*v)[0] <= '9') || (*v)[0] == '-')) return "";
  return *v;
}

/// The string elements of a JSON array of strings, space-separated.
std::string joined_strings(std::string_view json) {
  std::string out;
  size_t i = 0;
  while (i < json.size()) {
    if (json[i] != '"') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < json.size() && json[j] != '"') j += json[j] == '\\' ? 2 : 1;
    if (j >= json.size()) break;
    if (!out.empty()) out += ' ';
    out += json_string_value(json.substr(i, j - i + 1));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string json_string_value(std::string_view s) {
  std::string out;
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return out;
  s = s.substr(1, s.size() - 2);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        int32_t cp = hex4(s, i + 1);
        if (cp < 0) {
          out += "\\u";
          break;
        }
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && i + 2 < s.size() && s[i + 1] == '\\' &&
            s[i + 2] == 'u') {
          const int32_t lo = hex4(s, i + 3);
          if (lo >= 0xdc00 && lo < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
          }
        }
        if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;  // a lone surrogate
        append_utf8(out, static_cast<uint32_t>(cp));
        break;
      }
      default: out += e; break;  // \" \\ \/
    }
  }
  return out;
}

std::string exchange_request_text(const ExchangeRecord& r, size_t max) {
  std::string text;
  if (field(r, "method")) {  // HTTP/1, HTTP/2
    const std::string method = text_of(r, "method");
    const std::string target = field(r, "path") ? text_of(r, "path") : text_of(r, "target");
    text = method.empty() ? "(response without a request)" : method + " " + target;
    if (const std::string stream = number_of(r, "stream"); !stream.empty()) {
      text = "stream " + stream + " " + text;
    }
  } else if (field(r, "command")) {  // Redis
    text = text_of(r, "command");
    if (const std::string* args = field(r, "args")) {
      const std::string a = joined_strings(*args);
      if (!a.empty()) text += " " + a;
    }
    if (text.empty()) text = "(pushed data)";
  } else if (field(r, "query")) {  // PostgreSQL, MySQL
    text = text_of(r, "kind");
    if (const std::string q = text_of(r, "query"); !q.empty()) {
      text += (text.empty() ? "" : ": ") + q;
    }
  }
  if (text.empty()) text = r.proto;
  return one_line(text, max);
}

std::string exchange_answer_text(const ExchangeRecord& r, size_t max) {
  std::string text = number_of(r, "status");      // HTTP
  if (text.empty()) text = text_of(r, "reply");   // Redis
  if (text.empty()) text = text_of(r, "tag");     // PostgreSQL, MySQL
  return one_line(text, max);
}

std::string exchange_error_text(const ExchangeRecord& r, size_t max) {
  const std::string& e = r.error_json;
  if (e.empty() || e == "null") return "";
  if (e.front() == '"') return one_line(json_string_value(e), max);
  // An object: {"code":..., "message":"..."}; the key outside any string.
  std::string text;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '\\') {
      ++i;
      continue;
    }
    if (e.compare(i, 10, "\"message\":") != 0) continue;
    size_t j = i + 10;
    if (j >= e.size() || e[j] != '"') break;
    size_t k = j + 1;
    while (k < e.size() && e[k] != '"') k += e[k] == '\\' ? 2 : 1;
    if (k < e.size()) text = json_string_value(std::string_view(e).substr(j, k - j + 1));
    break;
  }
  return one_line(text.empty() ? e : text, max);
}

const char* const kSlowRange = "seconds from 0.001 to 1000000 (e.g. --slow 0.5)";

bool parse_slow_seconds(const std::string& text, Timestamp& out) {
  double s = 0;
  size_t used = 0;
  try {
    s = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  // NaN and infinity parse as doubles; "0.3s" and " 1" stop early.
  if (used != text.size() || !std::isfinite(s) || s < 0.001 || s > 1e6) return false;
  out = static_cast<Timestamp>(std::llround(s * 1e9));
  return true;
}

bool is_error_reply(const ExchangeRecord& r) {
  return r.latency.has_value() && !r.error_json.empty() && r.error_json != "null";
}

std::optional<Finding> slow_finding(const ExchangeRecord& r, Timestamp threshold) {
  if (threshold <= 0 || !r.latency || *r.latency <= threshold) return std::nullopt;
  Finding f;
  f.kind = r.proto == "http" || r.proto == "http2" ? Finding::Kind::kHttp
                                                   : Finding::Kind::kProtocol;
  f.dir = Dir::kServerToClient;
  f.ts = r.ts;
  f.text = "slow answer: " + r.proto + " " + exchange_request_text(r) + " answered after " +
           seconds_text(*r.latency) + " s (--slow " + seconds_text(threshold) + ")";
  return f;
}

}  // namespace tcpscribe
