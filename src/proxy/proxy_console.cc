#include "proxy_console.h"

#include <cstdio>
#include <ctime>

#include "byte_colors.h"
#include "har.h"
#include "json_text.h"
#include "message_view.h"

namespace tcpscribe {
namespace {

constexpr const char* kBlue = "\033[34m";    // client -> server
constexpr const char* kRed = "\033[31m";     // server -> client
constexpr const char* kYellow = "\033[33m";  // problems
constexpr const char* kReset = "\033[0m";

const char* arrow(Dir d) { return d == Dir::kClientToServer ? "C->S" : "S->C"; }

std::string_view as_view(const std::string& s) { return s; }

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

ProxyConsole::ProxyConsole(ProxyConsoleOptions o, int fd, size_t budget) : opt_(o), fd_(fd) {
  if (fd_ < 0) return;
  const bool json = opt_.json;
  writer_ = std::make_unique<ConsoleWriter>(fd_, budget, [json](uint64_t records, uint64_t bytes) {
    char buf[200];
    if (json) {
      std::snprintf(buf, sizeof buf, "{\"event\":\"console_behind\",\"records\":%llu,\"bytes\":%llu}\n",
                    static_cast<unsigned long long>(records), static_cast<unsigned long long>(bytes));
    } else {
      std::snprintf(buf, sizeof buf,
                    "[proxy] console fell behind: %llu records (%llu bytes) not shown; the logs "
                    "and other outputs have them\n",
                    static_cast<unsigned long long>(records), static_cast<unsigned long long>(bytes));
    }
    return std::string(buf);
  });
}

uint64_t ProxyConsole::finish(double seconds) {
  if (!writer_) return 0;
  return writer_->finish(seconds);
}

std::string sid_tag(uint64_t sid) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "[sid=%04llu]", static_cast<unsigned long long>(sid));
  return buf;
}

std::string ProxyConsole::tag(uint64_t sid) const { return sid_tag(sid) + " "; }

std::string ProxyConsole::stamp(double t) const {
  if (opt_.timestamps == 0) return {};
  char buf[64];
  if (opt_.timestamps == 1) {
    std::snprintf(buf, sizeof buf, "+%.6f ", t);
    return buf;
  }
  const int64_t wall = wall_start_ns_ + static_cast<int64_t>(t * 1e9);
  const time_t sec = static_cast<time_t>(wall / 1'000'000'000);
  tm local{};
  localtime_r(&sec, &local);
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%06lld ", local.tm_hour, local.tm_min,
                local.tm_sec, static_cast<long long>(wall % 1'000'000'000 / 1000));
  return buf;
}

void ProxyConsole::append_hexdump(std::string& out, std::span<const uint8_t> bytes) {
  append_hexdump(out, bytes, {});
}

void ProxyConsole::append_hexdump(std::string& out, std::span<const uint8_t> bytes,
                                  std::string_view prefix, const char* color) {
  static const char* kDigits = "0123456789abcdef";
  ByteColorizer paint(out, color);
  char addr[32];
  for (size_t line = 0; line < bytes.size(); line += 16) {
    std::snprintf(addr, sizeof addr, "%08zx  ", line);
    paint.plain();
    out += prefix;
    out += addr;
    const size_t n = std::min<size_t>(16, bytes.size() - line);
    for (size_t i = 0; i < 16; ++i) {
      if (i == 8) out += ' ';
      if (i < n) {
        const uint8_t b = bytes[line + i];
        paint.before_byte(b);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
        out += ' ';
      } else {
        out += "   ";
      }
    }
    paint.plain();
    out += " |";
    for (size_t i = 0; i < n; ++i) {
      const uint8_t b = bytes[line + i];
      paint.before_byte(b);
      out += (b >= 0x20 && b < 0x7F) ? static_cast<char>(b) : '.';
    }
    paint.plain();
    out += "|\n";
  }
  std::snprintf(addr, sizeof addr, "%08zx\n", bytes.size());
  out += prefix;
  out += addr;
}

void ProxyConsole::append_text(std::string& out, std::span<const uint8_t> bytes,
                              const char* color) {
  static const char* kDigits = "0123456789abcdef";
  ByteColorizer paint(out, color);
  const std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<uint8_t>(s[i]);
    paint.before_byte(b);
    switch (b) {
      case '\n': out += "\\n\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      default: break;
    }
    if (b >= 0x20 && b < 0x7F) {
      out += s[i++];
      continue;
    }
    if (const size_t n = terminal_utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    // Not text (a C1 control's second byte follows alone: escaped too).
    out += "\\x";
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
    ++i;
  }
  paint.plain();
  if (bytes.empty() || bytes.back() != '\n') out += '\n';
}

void ProxyConsole::append_json_string(std::string& out, std::span<const uint8_t> bytes) {
  JsonStringStyle raw;
  raw.bytes_as_latin1 = true;  // data comes back byte for byte
  tcpscribe::append_json_string(
      out, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), raw);
}

void ProxyConsole::json_head(std::string& out, double t, uint64_t sid, const char* event) const {
  char buf[96];
  if (sid != 0) {
    std::snprintf(buf, sizeof buf, "{\"t\":%.6f,\"sid\":%llu,\"event\":\"%s\"", t,
                  static_cast<unsigned long long>(sid), event);
  } else {
    std::snprintf(buf, sizeof buf, "{\"t\":%.6f,\"event\":\"%s\"", t, event);
  }
  out += buf;
}

void ProxyConsole::open(uint64_t sid, double t, const std::string& client,
                        const std::string& upstream, const std::string* log) {
  if (!enabled()) return;
  std::string out;
  if (opt_.json) {
    json_head(out, t, sid, "open");
    out += ",\"client\":";
    append_json_string(out, bytes_of(client));
    out += ",\"upstream\":";
    append_json_string(out, bytes_of(upstream));
    if (log != nullptr) {
      out += ",\"log\":";
      append_json_string(out, bytes_of(as_view(*log)));
    }
    out += "}\n";
  } else {
    out = stamp(t) + tag(sid) + "open " + client + " -> " + upstream;
    if (log != nullptr) out += " (log " + *log + ")";
    out += '\n';
  }
  emit(out);
}

void ProxyConsole::connected(uint64_t sid, double t, const std::string& upstream,
                             const std::string& local) {
  if (!enabled()) return;
  std::string out;
  if (opt_.json) {
    json_head(out, t, sid, "connected");
    out += ",\"upstream\":";
    append_json_string(out, bytes_of(upstream));
    out += ",\"local\":";
    append_json_string(out, bytes_of(local));
    out += "}\n";
  } else {
    out = stamp(t) + tag(sid) + "connected to " + upstream + " from " + local + "\n";
  }
  emit(out);
}

void ProxyConsole::chunk(uint64_t sid, double t, Dir d, size_t total,
                         std::span<const uint8_t> bytes) {
  if (!enabled()) return;
  const size_t shown = opt_.dump ? static_cast<size_t>(std::min<uint64_t>(opt_.max_dump, bytes.size())) : 0;
  const auto head = bytes.first(shown);
  std::string out;
  if (opt_.json) {
    json_head(out, t, sid, "data");
    out += ",\"dir\":\"";
    out += arrow(d);
    out += "\",\"bytes\":" + std::to_string(total);
    if (opt_.dump) {
      // "data" for reading (UTF-8 as text, other bytes as U+FFFD),
      // "data_b64" for the exact bytes.
      const std::string_view raw(reinterpret_cast<const char*>(head.data()), head.size());
      out += ",\"data\":";
      tcpscribe::append_json_string(out, raw);
      out += ",\"data_b64\":\"" + base64(raw) + "\"";
      if (shown < total) out += ",\"more\":" + std::to_string(total - shown);
    }
    out += "}\n";
    emit(out);
    return;
  }
  out.reserve(64 + shown * (opt_.hex ? 5 : 1));
  if (opt_.color) out += d == Dir::kClientToServer ? kBlue : kRed;
  out += stamp(t);
  out += tag(sid);
  out += arrow(d);
  out += " (" + std::to_string(total) + " bytes";
  if (opt_.dump && shown < total) out += ", first " + std::to_string(shown) + " shown";
  out += ")\n";
  if (opt_.dump) {
    if (!head.empty()) {
      const char* color = opt_.color ? (d == Dir::kClientToServer ? kBlue : kRed) : nullptr;
      if (opt_.hex) append_hexdump(out, head, tag(sid), color);
      else append_text(out, head, color);
    }
    if (shown < total) out += "... " + std::to_string(total - shown) + " more bytes\n";
  }
  if (opt_.color) out += kReset;
  emit(out);
}

void ProxyConsole::message(uint64_t sid, const DecodedMessage& m) {
  if (!enabled()) return;
  // Text from the wire goes through terminal_safe(): no escape sequence
  // from a peer reaches the terminal.
  std::string out;
  if (opt_.color) out += m.dir == Dir::kClientToServer ? kBlue : kRed;
  out += stamp(static_cast<double>(m.ts - wall_start_ns_) / 1e9);
  out += tag(sid);
  out += arrow(m.dir);
  out += " [" + terminal_safe(m.proto) + "]";
  if (!m.summary.empty()) out += ' ' + terminal_safe(m.summary);
  if (m.latency >= 0) out += " (+" + latency_text(m.latency) + ")";
  out += '\n';
  for (const std::string& line : m.lines) {
    out += "    ";
    out += terminal_safe(line);
    out += '\n';
  }
  if (opt_.color) out += kReset;
  emit(out);
}

void ProxyConsole::shutdown(uint64_t sid, double t, Dir d, const std::string& error) {
  if (!enabled()) return;
  const char* who = d == Dir::kClientToServer ? "client" : "server";
  std::string out;
  if (opt_.json) {
    json_head(out, t, sid, error.empty() ? "hup" : "err");
    out += ",\"side\":\"";
    out += who;
    out += '"';
    if (!error.empty()) {
      out += ",\"error\":";
      append_json_string(out, bytes_of(error));
    }
    out += "}\n";
  } else {
    if (opt_.color) out += error.empty() ? (d == Dir::kClientToServer ? kBlue : kRed) : kYellow;
    out += stamp(t);
    out += tag(sid);
    out += arrow(d);
    out += error.empty() ? std::string(" hup (") + who + " closed its side)"
                         : std::string(" err (") + who + ": " + error + ")";
    if (opt_.color) out += kReset;
    out += '\n';
  }
  emit(out);
}

void ProxyConsole::closed(uint64_t sid, double t, const char* reason, uint64_t c2s,
                          uint64_t s2c, double duration) {
  if (!enabled()) return;
  std::string out;
  char buf[160];
  if (opt_.json) {
    json_head(out, t, sid, "close");
    std::snprintf(buf, sizeof buf,
                  ",\"reason\":\"%s\",\"c2s_bytes\":%llu,\"s2c_bytes\":%llu,\"duration\":%.6f}\n",
                  reason, static_cast<unsigned long long>(c2s),
                  static_cast<unsigned long long>(s2c), duration);
    out += buf;
  } else {
    std::snprintf(buf, sizeof buf, "closed: %s (C->S %llu bytes, S->C %llu bytes, %.3f s)\n",
                  reason, static_cast<unsigned long long>(c2s),
                  static_cast<unsigned long long>(s2c), duration);
    out = stamp(t) + tag(sid) + buf;
  }
  emit(out);
}

void ProxyConsole::note(uint64_t sid, double t, const char* event, const std::string& text) {
  if (!enabled()) return;
  std::string out;
  if (opt_.json) {
    json_head(out, t, sid, event);
    out += ",\"text\":";
    append_json_string(out, bytes_of(text));
    out += "}\n";
  } else {
    if (opt_.color) out += kYellow;
    out += stamp(t) + tag(sid) + text;
    if (opt_.color) out += kReset;
    out += '\n';
  }
  emit(out);
}

void ProxyConsole::notice(double t, const char* event, const std::string& text) {
  if (!enabled()) return;
  std::string out;
  if (opt_.json) {
    json_head(out, t, 0, event);
    out += ",\"text\":";
    append_json_string(out, bytes_of(text));
    out += "}\n";
  } else {
    out = stamp(t) + "[proxy] " + text + "\n";
  }
  emit(out);
}

void ProxyConsole::emit(const std::string& s) {
  if (capture_ != nullptr) {
    *capture_ += s;
    return;
  }
  if (writer_) writer_->push(s);
}

}  // namespace tcpscribe
