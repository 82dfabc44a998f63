#include "sink_files.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "name_template.h"

namespace tcpscribe {
namespace {

bool printable(uint8_t c) {
  return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

FileSink::FileSink(FileSinkOptions o) : opt_(std::move(o)) {
  if (opt_.name_template.empty()) opt_.name_template = kDefaultTemplate;
  max_fds_ = opt_.max_fds;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    // Leave room for the capture files, stdio and libraries.
    const size_t allowed = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 16;
    if (max_fds_ == 0 || max_fds_ > allowed) max_fds_ = allowed;
  }
  if (max_fds_ == 0) max_fds_ = 16;
}

FileSink::~FileSink() {
  for (auto& [id, cf] : conns_) {
    for (DirFile& f : cf.dir) close_fd(f);
  }
}

void FileSink::on_open(const Connection&) {}

void FileSink::fail(const std::string& what, int err) {
  if (error_.empty()) error_ = what + ": " + std::strerror(err);
}

bool FileSink::ensure_open(DirFile& f) {
  if (f.fd >= 0) {
    open_fds_.splice(open_fds_.end(), open_fds_, f.lru);
    return true;
  }
  if (!error_.empty()) return false;
  while (open_fds_.size() >= max_fds_) close_fd(*open_fds_.front());
  int flags = O_WRONLY | O_CLOEXEC;
  if (!f.created) {
    // tcpflow's '/' in a template makes directories.
    for (size_t pos = f.path.find('/', 1); pos != std::string::npos;
         pos = f.path.find('/', pos + 1)) {
      const std::string dir = f.path.substr(0, pos);
      if (dirs_made_.count(dir)) continue;
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        fail("cannot create directory " + dir, errno);
        return false;
      }
      dirs_made_.insert(dir);
    }
    flags |= O_CREAT;
    // A file left by an earlier run is replaced, not suffixed; a name that
    // an earlier connection of this run produced (a template without %c)
    // is continued after what that connection wrote.
    if (names_this_run_.insert(f.path).second) flags |= O_TRUNC;
  }
  f.fd = open(f.path.c_str(), flags, 0644);
  if (f.fd < 0) {
    fail("cannot open " + f.path + " for writing", errno);
    return false;
  }
  if (!f.created) {
    f.created = true;
    ++files_created_;
    if (!(flags & O_TRUNC)) {
      struct stat st;
      if (fstat(f.fd, &st) == 0) f.base = static_cast<uint64_t>(st.st_size);
    }
  }
  open_fds_.push_back(&f);
  f.lru = std::prev(open_fds_.end());
  return true;
}

void FileSink::close_fd(DirFile& f) {
  if (f.fd < 0) return;
  if (::close(f.fd) != 0) fail("cannot write " + f.path, errno);
  f.fd = -1;
  open_fds_.erase(f.lru);
}

void FileSink::flush(DirFile& f) {
  if (f.pending.empty() || !ensure_open(f)) {
    f.pending.clear();
    return;
  }
  const uint8_t* p = f.pending.data();
  size_t left = f.pending.size();
  off_t at = static_cast<off_t>(f.base + f.pending_offset);
  while (left > 0) {
    const ssize_t n = pwrite(f.fd, p, left, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + f.path, errno);
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
    at += n;
  }
  f.pending.clear();
}

void FileSink::write_index(DirFile& f) {
  if (f.index.empty()) return;
  const std::string path = f.path + ".findx";
  FILE* fp = std::fopen(path.c_str(), f.index_created ? "a" : "w");
  f.index_created = true;
  if (!fp) {
    fail("cannot open " + path + " for writing", errno);
    f.index.clear();
    return;
  }
  if (std::fwrite(f.index.data(), 1, f.index.size(), fp) != f.index.size()) {
    fail("cannot write " + path, errno);
  }
  if (std::fclose(fp) != 0) fail("cannot write " + path, errno);
  f.index.clear();
}

void FileSink::on_data(const Connection& c, Dir d, uint64_t offset,
                       std::span<const uint8_t> bytes, Timestamp ts) {
  DirFile& f = conns_[c.id].dir[index_of(d)];
  if (f.path.empty()) f.path = opt_.outdir + "/" + expand_name(opt_.name_template, c, d);
  if (!f.pending.empty() && f.pending_offset + f.pending.size() != offset) flush(f);
  if (f.pending.empty()) f.pending_offset = offset;
  const size_t at = f.pending.size();
  f.pending.insert(f.pending.end(), bytes.begin(), bytes.end());
  if (opt_.strip_nonprint) {
    for (size_t i = at; i < f.pending.size(); ++i) {
      if (!printable(f.pending[i])) f.pending[i] = '.';
    }
  }
  f.end = std::max(f.end, offset + bytes.size());
  if (opt_.write_index) {
    char line[96];
    std::snprintf(line, sizeof line, "%llu|%lld.%06lld|%zu\n",
                  static_cast<unsigned long long>(f.base + offset),
                  static_cast<long long>(ts / kNanosPerSecond),
                  static_cast<long long>(ts % kNanosPerSecond / 1000), bytes.size());
    f.index += line;
  }
  if (f.pending.size() >= opt_.chunk_bytes) {
    flush(f);
    write_index(f);
  }
}

void FileSink::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                      Timestamp) {
  DirFile& f = conns_[c.id].dir[index_of(d)];
  if (f.path.empty()) f.path = opt_.outdir + "/" + expand_name(opt_.name_template, c, d);
  f.end = std::max(f.end, offset + length);
}

void FileSink::finalize(DirFile& f) {
  if (f.path.empty()) return;
  flush(f);
  // A gap at the end of a stream still counts: the file keeps stream
  // offsets, so it is extended with zeros (sparse) to cover it.
  if (ensure_open(f)) {
    struct stat st;
    if (fstat(f.fd, &st) == 0 &&
        static_cast<uint64_t>(st.st_size) < f.base + f.end &&
        ftruncate(f.fd, static_cast<off_t>(f.base + f.end)) != 0) {
      fail("cannot extend " + f.path, errno);
    }
  }
  close_fd(f);
  write_index(f);
}

void FileSink::on_close(const Connection& c, CloseReason) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  for (DirFile& f : it->second.dir) finalize(f);
  conns_.erase(it);
}

void FileSink::finish() {
  for (auto& [id, cf] : conns_) {
    for (DirFile& f : cf.dir) finalize(f);
  }
  conns_.clear();
}

}  // namespace tcpscribe
