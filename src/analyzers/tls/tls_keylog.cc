#include "tls_keylog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpscribe {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Hex text into `out`; false unless it is whole bytes of hex that fit.
bool parse_hex(std::string_view s, uint8_t* out, size_t max, size_t& len) {
  if (s.empty() || s.size() % 2 != 0 || s.size() / 2 > max) return false;
  for (size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i / 2] = static_cast<uint8_t>(hi * 16 + lo);
  }
  len = s.size() / 2;
  return true;
}

std::string_view next_field(std::string_view& rest) {
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  size_t end = 0;
  while (end < rest.size() && rest[end] != ' ' && rest[end] != '\t') ++end;
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end);
  return field;
}

constexpr const char* kUnused[] = {"EXPORTER_SECRET", "EARLY_EXPORTER_SECRET",
                                   "CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N",
                                   "RSA", "ECH_SECRET", "ECH_CONFIG"};

/// The field of `e` a label fills, or null for a label that is not used.
TlsSecret* slot_for(std::string_view label, TlsKeyLogEntry& e) {
  if (label == "CLIENT_RANDOM") return &e.master;
  if (label == "CLIENT_EARLY_TRAFFIC_SECRET") return &e.client_early;
  if (label == "CLIENT_HANDSHAKE_TRAFFIC_SECRET") return &e.client_handshake;
  if (label == "SERVER_HANDSHAKE_TRAFFIC_SECRET") return &e.server_handshake;
  if (label == "CLIENT_TRAFFIC_SECRET_0") return &e.client_traffic0;
  if (label == "SERVER_TRAFFIC_SECRET_0") return &e.server_traffic0;
  return nullptr;
}

}  // namespace

size_t TlsKeyLog::RandomHash::operator()(const TlsRandom& r) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, r.data(), 8);
  std::memcpy(&b, r.data() + 8, 8);
  return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ull));
}

bool TlsKeyLog::add_line(std::string_view line, uint64_t number) {
  ++counts_.lines;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto bad = [&] {
    if (++counts_.bad == 1) counts_.first_bad_line = number;
    return false;
  };
  // Any overlong line is bad, a comment too: a followed file drops such a
  // line before seeing all of it, and both ways must count the same.
  if (line.size() > kMaxLine) return bad();
  std::string_view rest = line;
  const std::string_view label = next_field(rest);
  if (label.empty() || label.front() == '#') return false;
  const std::string_view random_hex = next_field(rest);
  const std::string_view secret_hex = next_field(rest);
  if (!next_field(rest).empty() || secret_hex.empty()) return bad();
  TlsRandom random;
  TlsSecret secret;
  size_t len = 0;
  TlsKeyLogEntry probe;
  if (!slot_for(label, probe)) {
    for (const char* u : kUnused) {
      if (label == u) {
        ++counts_.unused;
        return false;
      }
    }
    return bad();
  }
  if (!parse_hex(random_hex, random.data(), random.size(), len) || len != random.size()) {
    return bad();
  }
  if (!parse_hex(secret_hex, secret.bytes.data(), secret.bytes.size(), len) || len < 16) {
    return bad();
  }
  secret.len = static_cast<uint8_t>(len);
  if (label == "CLIENT_RANDOM" && len != 48) return bad();  // RFC 5246 8.1
  auto it = entries_.find(random);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) {
      ++counts_.dropped;
      return false;
    }
    it = entries_.emplace(random, TlsKeyLogEntry{}).first;
  }
  ++counts_.secrets;
  TlsSecret* slot = slot_for(label, it->second);
  if (*slot == secret) return false;
  *slot = secret;
  return true;
}

size_t TlsKeyLog::add_text(std::span<const uint8_t> text) {
  const std::string_view all(reinterpret_cast<const char*>(text.data()), text.size());
  size_t changed = 0;
  uint64_t number = 0;
  size_t start = 0;
  while (start < all.size()) {
    size_t nl = all.find('\n', start);
    if (nl == std::string_view::npos) nl = all.size();
    changed += add_line(all.substr(start, nl - start), ++number) ? 1 : 0;
    start = nl + 1;
  }
  return changed;
}

const TlsKeyLogEntry* TlsKeyLog::find(std::span<const uint8_t> client_random) const {
  if (client_random.size() != 32) return nullptr;
  TlsRandom r;
  std::copy(client_random.begin(), client_random.end(), r.begin());
  const auto it = entries_.find(r);
  return it == entries_.end() ? nullptr : &it->second;
}

long TlsKeyLog::follow_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = path + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  const bool replaced = opened_ && (path != path_ || static_cast<uint64_t>(st.st_ino) != inode_ ||
                                    static_cast<uint64_t>(st.st_dev) != device_);
  if (replaced || (opened_ && static_cast<uint64_t>(st.st_size) < offset_)) {
    // Rotated or truncated: what is there now is read from its start. The
    // secrets already read stay (a key never stops being right).
    offset_ = 0;
    line_no_ = 0;
    skipping_ = false;
    ++counts_.rereads;
  }
  opened_ = true;
  path_ = path;
  inode_ = static_cast<uint64_t>(st.st_ino);
  device_ = static_cast<uint64_t>(st.st_dev);
  const long changed = read_from(fd, error);
  ::close(fd);
  return changed;
}

long TlsKeyLog::read_from(int fd, std::string& error) {
  long changed = 0;
  std::string pending;  // the start of a line not yet ended
  char buf[65536];
  uint64_t pos = offset_;
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = path_ + ": " + std::strerror(errno);
      return -1;
    }
    if (n == 0) break;
    pos += static_cast<uint64_t>(n);
    std::string_view chunk(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;
         chunk.remove_prefix(nl + 1)) {
      ++line_no_;
      if (skipping_) {  // the end of an overlong line, already counted bad
        skipping_ = false;
      } else if (pending.empty()) {
        changed += add_line(chunk.substr(0, nl), line_no_) ? 1 : 0;
      } else {
        pending.append(chunk.substr(0, nl));
        changed += add_line(pending, line_no_) ? 1 : 0;
        pending.clear();
      }
      offset_ = pos - chunk.size() + nl + 1;
    }
    if (!skipping_) pending.append(chunk);
    if (pending.size() > kMaxLine) {  // bad whatever follows; skip to its newline
      ++counts_.lines;
      if (++counts_.bad == 1) counts_.first_bad_line = line_no_ + 1;
      pending.clear();
      skipping_ = true;
      offset_ = pos;
    }
  }
  if (skipping_) offset_ = pos;
  return changed;
}

}  // namespace tcpscribe
