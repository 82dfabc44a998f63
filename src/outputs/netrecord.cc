#include "netrecord.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tcpscribe {

std::string format_netrecord_time(int64_t micros) {
  if (micros < 0) micros = 0;
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%lld.%06lld",
                              static_cast<long long>(micros / 1'000'000),
                              static_cast<long long>(micros % 1'000'000));
  return std::string(buf, static_cast<size_t>(n));
}

std::string netrecord_header(char side, int64_t micros, std::string_view what) {
  std::string h;
  h.reserve(32 + what.size());
  h += side;
  h += ' ';
  h += format_netrecord_time(micros);
  h += ' ';
  h += what;
  h += '\n';
  return h;
}

bool write_netrecord(int fd, char side, int64_t micros, std::string_view what,
                     std::span<const uint8_t> data, std::string& error, uint64_t* written) {
  const std::string header = netrecord_header(side, micros, what);
  iovec iov[2];
  iov[0].iov_base = const_cast<char*>(header.data());
  iov[0].iov_len = header.size();
  iov[1].iov_base = const_cast<uint8_t*>(data.data());
  iov[1].iov_len = data.size();
  int iovcnt = data.empty() ? 1 : 2;
  iovec* v = iov;
  while (iovcnt > 0) {
    const ssize_t n = ::writev(fd, v, iovcnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return false;
    }
    if (n == 0) {
      error = "write returned 0";
      return false;
    }
    // Short write (a signal, a nearly full disk): continue where it stopped.
    size_t done = static_cast<size_t>(n);
    while (iovcnt > 0 && done >= v->iov_len) {
      done -= v->iov_len;
      ++v;
      --iovcnt;
    }
    if (iovcnt > 0) {
      v->iov_base = static_cast<char*>(v->iov_base) + done;
      v->iov_len -= done;
    }
  }
  if (written != nullptr) *written = header.size() + data.size();
  return true;
}

// ---------------------------------------------------------------- files

NetrecordFiles::NetrecordFiles(std::string root) : root_(std::move(root)) {}

NetrecordFiles::~NetrecordFiles() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

namespace {

void split_root(const std::string& root, std::string& dir, std::string& base) {
  const size_t slash = root.rfind('/');
  if (slash == std::string::npos) {
    dir = ".";
    base = root;
  } else {
    dir = slash == 0 ? "/" : root.substr(0, slash);
    base = root.substr(slash + 1);
  }
}

}  // namespace

std::string NetrecordFiles::directory() const {
  std::string dir, base;
  split_root(root_, dir, base);
  return dir;
}

int NetrecordFiles::hold_directory() {
  if (dir_fd_ < 0) dir_fd_ = ::open(directory().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  // Numbering continues after the logs there now; read while the
  // directory may still be read (before -U).
  if (next_ == 0) scan_existing();
  return dir_fd_;
}

int NetrecordFiles::reopen(const std::string& path) const {
  if (dir_fd_ < 0) return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  const std::string name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  return ::openat(dir_fd_, name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
}

std::string NetrecordFiles::check_writable() const {
  std::string dir, base;
  split_root(root_, dir, base);
  if (base.empty()) return root_ + ": the log root needs a file name part (e.g. /tmp/redis)";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return dir + ": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return dir + ": not a directory";
  // An unnamed temporary file proves the directory takes new files (a
  // read-only mount, permissions, quotas) without leaving anything behind.
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return "";
  }
  if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
    // File systems without O_TMPFILE: fall back to the permission check.
    if (::access(dir.c_str(), W_OK | X_OK) == 0) return "";
  }
  return dir + ": " + std::strerror(errno);
}

void NetrecordFiles::scan_existing() {
  std::string dir, base;
  split_root(root_, dir, base);
  next_ = 1;
  const int fd = dir_fd_ >= 0 ? ::openat(dir_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  DIR* d = fd >= 0 ? ::fdopendir(fd) : ::opendir(dir.c_str());
  if (d == nullptr) {
    if (fd >= 0) ::close(fd);
    return;
  }
  const std::string prefix = base + "_";
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) continue;
    name.remove_prefix(prefix.size());
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (ec != std::errc() || p != name.data() + name.size()) continue;
    if (n >= next_) next_ = n + 1;
  }
  ::closedir(d);
}

int NetrecordFiles::create_next(uint64_t& number, std::string& path, std::string& error) {
  if (next_ == 0) scan_existing();
  for (int attempts = 0; attempts < 1000; ++attempts) {
    const uint64_t n = next_++;
    std::string p = root_ + "_" + std::to_string(n);
    constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC;
    const int fd = dir_fd_ >= 0
                       ? ::openat(dir_fd_, p.substr(p.rfind('/') + 1).c_str(), kFlags, 0644)
                       : ::open(p.c_str(), kFlags, 0644);
    if (fd >= 0) {
      number = n;
      path = std::move(p);
      return fd;
    }
    if (errno != EEXIST) {
      error = "cannot create " + p + ": " + std::strerror(errno);
      return -1;
    }
  }
  error = "cannot create " + root_ + "_N: 1000 consecutive names already exist";
  return -1;
}

// ---------------------------------------------------------------- reader

const char* to_string(NetrecordRecord::Kind k) {
  switch (k) {
    case NetrecordRecord::Kind::kConnect: return "con";
    case NetrecordRecord::Kind::kData: return "data";
    case NetrecordRecord::Kind::kHangup: return "hup";
    case NetrecordRecord::Kind::kError: return "err";
  }
  return "?";
}

bool parse_netrecord_time(std::string_view s, int64_t& micros) {
  bool negative = false;
  if (!s.empty() && s[0] == '-') {  // a wall-clock step in the original
    negative = true;
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= s.size()) return false;
  const std::string_view sec = s.substr(0, dot), frac = s.substr(dot + 1);
  if (sec.size() > 12 || frac.size() > 7) return false;
  int64_t a = 0, b = 0;
  auto r1 = std::from_chars(sec.data(), sec.data() + sec.size(), a);
  auto r2 = std::from_chars(frac.data(), frac.data() + frac.size(), b);
  if (r1.ec != std::errc() || r1.ptr != sec.data() + sec.size() || a < 0) return false;
  if (r2.ec != std::errc() || r2.ptr != frac.data() + frac.size() || b < 0) return false;
  // The fraction is an integer count of microseconds ("%d.%.6d"), not a
  // decimal fraction: "4.1000000" is 4 s + 1,000,000 us.
  micros = (negative ? -a : a) * 1'000'000 + b;
  return true;
}

NetrecordReader::~NetrecordReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool NetrecordReader::open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool NetrecordReader::open(const std::string& path, uint64_t offset) {
  if (!open(path)) return false;
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    error_ = "cannot seek in " + path + ": " + std::strerror(errno);
    return false;
  }
  consumed_ = offset;
  return true;
}

void NetrecordReader::open_string(std::string contents) {
  buf_ = std::move(contents);
  eof_ = true;
  path_ = "(string)";
}

bool NetrecordReader::fill(size_t n) {
  if (available() >= n || eof_) return true;
  if (pos_ > 0 && (pos_ >= (1u << 20) || pos_ * 2 >= buf_.size())) {
    consumed_ += pos_;
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  while (available() < n && !eof_) {
    const size_t want = std::max<size_t>(n - available(), 256 << 10);
    const size_t old = buf_.size();
    buf_.resize(old + want);
    ssize_t got;
    do {
      got = ::read(fd_, buf_.data() + old, want);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      buf_.resize(old);
      error_ = path_ + ": read error: " + std::strerror(errno);
      return false;
    }
    buf_.resize(old + static_cast<size_t>(got));
    if (got == 0) eof_ = true;
  }
  return true;
}

NetrecordReader::Status NetrecordReader::next(NetrecordRecord& r) {
  if (done_) return Status::kEnd;
  constexpr size_t kMaxHeader = 64;
  const uint64_t at = consumed_ + pos_;
  auto malformed = [&](const std::string& why) {
    done_ = true;
    error_ = path_ + ": malformed record at byte " + std::to_string(at) + ": " + why;
    return Status::kMalformed;
  };
  if (!fill(kMaxHeader)) {
    done_ = true;
    return Status::kIoError;
  }
  if (available() == 0) {
    done_ = true;
    return Status::kEnd;
  }
  const std::string_view window(buf_.data() + pos_, std::min(available(), kMaxHeader));
  const size_t nl = window.find('\n');
  if (nl == std::string_view::npos) {
    if (eof_ && available() < kMaxHeader) {
      // The file stops inside a header: the recorder was cut off.
      done_ = true;
      ended_mid_record_ = true;
      return Status::kEnd;
    }
    return malformed("no header line within " + std::to_string(kMaxHeader) + " bytes");
  }
  const std::string_view line = window.substr(0, nl);
  // "<side> <time> <what>"
  if (line.size() < 5 || (line[0] != 'c' && line[0] != 's') || line[1] != ' ') {
    return malformed("expected 'c ' or 's ' at the start of a header");
  }
  const size_t sp = line.find(' ', 2);
  if (sp == std::string_view::npos) return malformed("header has no record type");
  NetrecordRecord rec;
  rec.side = line[0];
  rec.offset = at;
  if (!parse_netrecord_time(line.substr(2, sp - 2), rec.micros)) {
    return malformed("bad timestamp '" + std::string(line.substr(2, sp - 2)) + "'");
  }
  const std::string_view what = line.substr(sp + 1);
  if (what == "con") {
    rec.kind = NetrecordRecord::Kind::kConnect;
  } else if (what == "hup") {
    rec.kind = NetrecordRecord::Kind::kHangup;
  } else if (what == "err") {
    rec.kind = NetrecordRecord::Kind::kError;
  } else {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(what.data(), what.data() + what.size(), n);
    if (what.empty() || ec != std::errc() || p != what.data() + what.size()) {
      return malformed("unknown record type '" + std::string(what) + "'");
    }
    rec.kind = NetrecordRecord::Kind::kData;
    rec.declared = n;
  }
  pos_ += nl + 1;
  if (rec.kind == NetrecordRecord::Kind::kData) {
    // Fill in pieces so a huge declared count cannot make us allocate it
    // before the bytes are really there.
    rec.data.clear();
    uint64_t left = rec.declared;
    while (left > 0) {
      const size_t piece = static_cast<size_t>(std::min<uint64_t>(left, 4u << 20));
      if (!fill(piece)) {
        done_ = true;
        return Status::kIoError;
      }
      const size_t take = std::min(piece, available());
      rec.data.append(buf_.data() + pos_, take);
      pos_ += take;
      left -= take;
      if (take < piece) break;  // end of input
    }
    if (left > 0) {
      rec.truncated = true;
      ended_mid_record_ = true;
      done_ = true;
    }
  }
  r = std::move(rec);
  return Status::kRecord;
}

}  // namespace tcpscribe
