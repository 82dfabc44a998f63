#include "sink_console.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "byte_colors.h"
#include "color.h"
#include "message_view.h"
#include "name_template.h"
#include "progress.h"

namespace tcpscribe {
namespace {

constexpr const char* kBlue = kColorClientToServer;
constexpr const char* kRed = kColorServerToClient;
constexpr const char* kYellow = kColorFinding;
constexpr const char* kReset = kColorReset;

constexpr bool printable(uint8_t c) {
  return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t';
}

// Each byte as shown without -B: itself, or '.'. A table, not a branch:
// random payload made the branch a coin toss (4 ns a byte).
constexpr std::array<char, 256> kShown = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = printable(static_cast<uint8_t>(c)) ? static_cast<char>(c) : '.';
  }
  return t;
}();

}  // namespace

ConsoleSink::ConsoleSink(ConsoleOptions o, std::FILE* out)
    : opt_(std::move(o)),
      out_(out),
      // Gaps already have their marker line in the conversation.
      findings_(opt_.name_template.empty() ? kDefaultTemplate : opt_.name_template,
                opt_.color, false, opt_.routine_findings) {
  if (opt_.name_template.empty()) opt_.name_template = kDefaultTemplate;
  exact_ = !opt_.header && opt_.binary && !opt_.newline && !opt_.hex;
  if (exact_) opt_.color = false;  // escape sequences are not bytes of the stream
}

void ConsoleSink::on_finding(const Connection& c, const Finding& f) {
  if (!opt_.findings) return;
  const std::string s = findings_.line(c, f);
  if (!s.empty()) exact_ ? note(s) : write(s);
}

void ConsoleSink::on_close(const Connection& c, CloseReason) {
  if (!inner_.empty()) inner_.erase(c.id);
  mark_resets(c);
  if (!opt_.findings) return;
  const std::string s = findings_.close_line(c);
  if (!s.empty()) exact_ ? note(s) : write(s);
}

void ConsoleSink::begin(std::string& out, const Connection& c, Dir d) const {
  if (opt_.color) out += d == Dir::kClientToServer ? kBlue : kRed;
  if (opt_.header) {
    out += expand_name(opt_.name_template, c, d);
    out += ": ";
  }
}

void ConsoleSink::end(std::string& out) const {
  if (opt_.color) out += kReset;
}

void ConsoleSink::append_hex(std::string& out, std::span<const uint8_t> bytes,
                             uint64_t offset, const char* color) {
  static const char* kDigits = "0123456789abcdef";
  ByteColorizer paint(out, color);
  for (size_t line = 0; line < bytes.size(); line += 32) {
    char addr[24];
    std::snprintf(addr, sizeof addr, "%04llx: ",
                  static_cast<unsigned long long>(offset + line));
    paint.plain();
    out += addr;
    const size_t n = std::min<size_t>(32, bytes.size() - line);
    for (size_t i = 0; i < 32; ++i) {
      if (i < n) {
        const uint8_t b = bytes[line + i];
        paint.before_byte(b);
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
      } else {
        out += "  ";
      }
      if (i % 2 == 1) out += ' ';
    }
    paint.plain();
    out += ' ';
    for (size_t i = 0; i < n; ++i) {
      const uint8_t b = bytes[line + i];
      paint.before_byte(b);
      out += (b >= 0x20 && b < 0x7F) ? static_cast<char>(b) : '.';
    }
    paint.plain();
    out += '\n';
  }
}

void ConsoleSink::append_shown(std::string& out, std::span<const uint8_t> bytes,
                               const char* color) {
  ByteColorizer paint(out, color);
  for (const uint8_t b : bytes) {
    paint.before_byte(b);
    out += kShown[b];
  }
  paint.plain();
}

void ConsoleSink::on_data(const Connection& c, Dir d, uint64_t offset,
                          std::span<const uint8_t> bytes, Timestamp) {
  if (!inner_.empty() && inner_.count(c.id) != 0) return;
  show(c, d, offset, bytes);
}

void ConsoleSink::inner_data(const Connection& c, Dir d, uint64_t offset,
                             std::span<const uint8_t> bytes, Timestamp) {
  show(c, d, offset, bytes);
}

void ConsoleSink::inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset,
                            uint64_t length) {
  std::string text = "[" + std::string(layer) + ": up to " + std::to_string(length) +
                     " bytes could not be decrypted at offset " + std::to_string(offset) + "]\n";
  if (exact_) {
    if (opt_.findings) note(expand_name(opt_.name_template, c, d) + ": " + text);
    return;
  }
  std::string out;
  if (opt_.color) out += kYellow;
  if (opt_.header) {
    out += expand_name(opt_.name_template, c, d);
    out += ": ";
  }
  out += text;
  end(out);
  write(out);
}

void ConsoleSink::show(const Connection& c, Dir d, uint64_t offset,
                       std::span<const uint8_t> bytes) {
  if (!ends_.empty()) mark_closed_peer(c, d);
  std::string out;
  out.reserve(bytes.size() * (opt_.hex ? 4 : 1) + 64);
  begin(out, c, d);
  const char* color = opt_.color ? (d == Dir::kClientToServer ? kBlue : kRed) : nullptr;
  if (opt_.hex) {
    out += '\n';
    append_hex(out, bytes, offset, color);
  } else if (color != nullptr && !opt_.binary) {
    // Byte by byte, for the colors (a terminal's speed, not a file's).
    append_shown(out, bytes, color);
    if (opt_.newline) out += '\n';
  } else {
    // In one piece, not a byte at a time: 10 GiB through -C -B took 22 s
    // of CPU here against tcpflow's 4.
    const size_t at = out.size();
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!opt_.binary) {
      for (char* p = out.data() + at; p != out.data() + out.size(); ++p) {
        *p = kShown[static_cast<uint8_t>(*p)];
      }
    }
    if (opt_.newline) out += '\n';
  }
  end(out);
  write(out);
}

void ConsoleSink::on_gap(const Connection& c, Dir d, uint64_t offset,
                         uint64_t length, Timestamp) {
  if (!inner_.empty() && inner_.count(c.id) != 0) return;
  std::string out;
  if (exact_) {
    write_zeros(length);
    if (!opt_.findings) return;  // -q
    note(expand_name(opt_.name_template, c, d) + ": [gap: " + std::to_string(length) +
         " bytes missing from the capture at offset " + std::to_string(offset) +
         ", written as zero bytes]\n");
    return;
  }
  if (opt_.color) out += kYellow;
  if (opt_.header) {
    out += expand_name(opt_.name_template, c, d);
    out += ": ";
  }
  out += "[gap: " + std::to_string(length) + " bytes missing from the capture at offset " +
         std::to_string(offset) + "]\n";
  end(out);
  write(out);
}

void ConsoleSink::on_message(const Connection& c, const DecodedMessage& m) {
  MessageViewOptions v;
  v.color = opt_.color;
  v.name_template = opt_.name_template;
  write(format_message(c, m, v));
}

void ConsoleSink::write(const std::string& s) {
  if (failed_) return;
  progress_clear_line(s);
  if (std::fwrite(s.data(), 1, s.size(), out_) != s.size()) fail();
  if (opt_.flush_each && std::fflush(out_) != 0) fail();
}

// A direction's end is a line like the gap marker: "src-dst: [reset]" when
// it ends with a RST, which otherwise leaves no trace on the console.
// "[closed]" (its FIN) is printed only when the peer still sends data after
// it, just before that data: a half-close, or data after the peer closed.
// Not with -0: chunks are not lines there, and -C -B -0 must stay the
// exact stream.
void ConsoleSink::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp) {
  if (!end_markers()) return;
  Ends& e = ends_[c.id];
  if (reset) {
    e.reset_marked[index_of(d)] = true;
    end_marker(c, d, "[reset]");
  } else {
    e.fin_unmarked[index_of(d)] = true;
  }
}

void ConsoleSink::mark_closed_peer(const Connection& c, Dir d) {
  auto it = ends_.find(c.id);
  if (it == ends_.end()) return;
  bool& unmarked = it->second.fin_unmarked[1 - index_of(d)];
  if (!unmarked) return;
  unmarked = false;
  end_marker(c, reverse(d), "[closed]");
}

// A RST after its direction's FIN comes without on_shutdown: the close
// marks it.
void ConsoleSink::mark_resets(const Connection& c) {
  auto it = ends_.find(c.id);
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    const bool marked = it != ends_.end() && it->second.reset_marked[index_of(d)];
    if (end_markers() && c.dir[index_of(d)].rst && !marked) end_marker(c, d, "[reset]");
  }
  if (it != ends_.end()) ends_.erase(it);
}

void ConsoleSink::end_marker(const Connection& c, Dir d, const char* what) {
  std::string out;
  if (opt_.color) out += kYellow;
  if (opt_.header) {
    out += expand_name(opt_.name_template, c, d);
    out += ": ";
  }
  out += what;
  out += '\n';
  end(out);
  write(out);
}

void ConsoleSink::fail() {
  if (!failed_) errno_ = errno;
  failed_ = true;
}

std::string ConsoleSink::failure() const {
  if (!failed_) return {};
  return std::string("cannot write to standard output: ") + std::strerror(errno_ ? errno_ : EIO);
}

void ConsoleSink::write_zeros(uint64_t length) {
  static const char kZeros[64 << 10] = {};
  while (length > 0 && !failed_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length, sizeof kZeros));
    if (std::fwrite(kZeros, 1, n, out_) != n) fail();
    length -= n;
  }
  if (opt_.flush_each && std::fflush(out_) != 0) fail();
}

void ConsoleSink::note(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), opt_.notes);
  std::fflush(opt_.notes);
}

void ConsoleSink::finish() {
  if (std::fflush(out_) != 0) fail();
}

}  // namespace tcpscribe
