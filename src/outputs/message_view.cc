#include "message_view.h"

#include <charconv>

#include "color.h"
#include "json_text.h"
#include "name_template.h"

namespace tcpscribe {
namespace {

void append_hex_byte(std::string& out, uint8_t b) {
  static const char* kDigits = "0123456789abcdef";
  out += "\\x";
  out += kDigits[b >> 4];
  out += kDigits[b & 15];
}

// One line of the view: coloured on its own, so that a pager or grep never
// carries a colour into the next line.
void append_line(std::string& out, const char* color, std::string_view indent,
                 std::string_view text) {
  if (color) out += color;
  out += indent;
  out += text;
  if (color) out += kColorReset;
  out += '\n';
}

}  // namespace

std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b >= 0x20 && b < 0x7F) {
      out += s[i++];
      continue;
    }
    if (const size_t n = terminal_utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    append_hex_byte(out, b);  // a C1 control's second byte follows alone: escaped too
    ++i;
  }
  return out;
}

namespace {

/// `v` as exactly `width` decimal digits (v < 10^width).
void put_digits(char* at, unsigned long long v, int width) {
  for (int k = width - 1; k >= 0; --k) {
    at[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

/// "W.FFF" + unit: W in decimal, F three digits (no printf: --decode
/// formats two of these per message).
std::string three_decimals(unsigned long long whole, unsigned long long frac, const char* unit) {
  char buf[48];
  char* p = std::to_chars(buf, buf + 24, whole).ptr;
  *p++ = '.';
  put_digits(p, frac, 3);
  p += 3;
  std::string out(buf, static_cast<size_t>(p - buf));
  out += unit;
  return out;
}

}  // namespace

std::string clock_time(Timestamp ts) {
  const auto [sec, ns] = split_time(ts);  // a time before 1970 still has a time of day
  const Timestamp day = ((sec % 86400) + 86400) % 86400;
  // "HH:MM:SS.uuuuuu" (day and ns are never negative).
  char buf[15];
  put_digits(buf, static_cast<unsigned long long>(day / 3600), 2);
  buf[2] = ':';
  put_digits(buf + 3, static_cast<unsigned long long>(day / 60 % 60), 2);
  buf[5] = ':';
  put_digits(buf + 6, static_cast<unsigned long long>(day % 60), 2);
  buf[8] = '.';
  put_digits(buf + 9, static_cast<unsigned long long>(ns / 1000), 6);
  return std::string(buf, sizeof buf);
}

std::string latency_text(Timestamp latency) {
  if (latency < 0) latency = 0;
  const auto us = static_cast<unsigned long long>((latency + 500) / 1000);
  // Decided on the rounded value: 999.9996 ms reads "1.000 s", not "1000.000 ms".
  if (us < 1'000'000) return three_decimals(us / 1000, us % 1000, " ms");
  const unsigned long long ms = (static_cast<unsigned long long>(latency) + 500'000) / 1'000'000;
  return three_decimals(ms / 1000, ms % 1000, " s");
}

std::string format_message(const Connection& c, const DecodedMessage& m,
                           const MessageViewOptions& o) {
  const char* color = nullptr;
  if (o.color) {
    color = m.dir == Dir::kClientToServer ? kColorClientToServer : kColorServerToClient;
  }
  std::string header = clock_time(m.ts);
  header += ' ';
  header += expand_name(o.name_template.empty() ? kDefaultTemplate : o.name_template, c, m.dir);
  header += " [";
  header += terminal_safe(m.proto);
  header += ']';
  if (!m.summary.empty()) header += ' ' + terminal_safe(m.summary);
  if (m.latency >= 0) header += " (+" + latency_text(m.latency) + ")";

  std::string out;
  append_line(out, color, "", header);
  size_t shown = m.lines.size();
  if (o.max_lines != 0 && o.max_lines < shown) shown = o.max_lines;
  for (size_t i = 0; i < shown; ++i) append_line(out, color, "    ", terminal_safe(m.lines[i]));
  if (shown < m.lines.size()) {
    const size_t more = m.lines.size() - shown;
    append_line(out, color, "    ",
                "... " + std::to_string(more) + (more == 1 ? " more line" : " more lines"));
  }
  out += '\n';
  return out;
}

}  // namespace tcpscribe
