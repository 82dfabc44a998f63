#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpscribe {

AtomicFile::~AtomicFile() { abandon(); }

bool AtomicFile::open(const std::string& path, std::string& error) {
  abandon();
  path_ = path;
  if (path == "-") {
    out_ = stdout;
    is_stdout_ = true;
    return true;
  }
  const size_t slash = path.find_last_of('/');
  dir_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  base_ = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base_.empty()) {
    error = "cannot write " + path + ": it names a directory, not a file";
    return false;
  }
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    error = "cannot create " + path + ".tmp: " + std::strerror(errno);
    return false;
  }
  const std::string tmp = base_ + ".tmp";
  const int fd = ::openat(dir_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + path + ".tmp: " + std::strerror(errno);
    close_all();
    return false;
  }
  out_ = ::fdopen(fd, "w");
  if (!out_) {
    error = "cannot create " + path + ".tmp: " + std::strerror(errno);
    ::close(fd);
    ::unlinkat(dir_fd_, tmp.c_str(), 0);
    close_all();
    return false;
  }
  return true;
}

bool AtomicFile::chown_to(uid_t uid, gid_t gid) const {
  if (!out_ || is_stdout_) return true;
  return ::fchown(::fileno(out_), uid, gid) == 0;
}

bool AtomicFile::commit(std::string& error) {
  if (!out_) {
    error = "cannot write " + path_ + ": not open";
    return false;
  }
  if (is_stdout_) {
    const bool ok = std::fflush(out_) == 0;
    if (!ok) error = "cannot write " + path_ + ": " + std::strerror(errno);
    out_ = nullptr;
    return ok;
  }
  // ferror: a write that failed before (the caller may not have checked).
  errno = 0;
  const bool flushed = std::fflush(out_) == 0 && !std::ferror(out_);
  int err = errno ? errno : EIO;
  // Without fsync a crash right after the rename could still leave an
  // empty file; with it, a full disk is seen here and not later.
  const bool synced = flushed && ::fsync(::fileno(out_)) == 0;
  if (flushed && !synced) err = errno;
  const bool closed = std::fclose(out_) == 0;
  if (synced && !closed) err = errno;
  out_ = nullptr;
  const std::string tmp = base_ + ".tmp";
  if (!flushed || !synced || !closed) {
    error = "cannot write " + path_ + ".tmp: " + std::strerror(err) + " (" + path_ +
            " is left as it was)";
    ::unlinkat(dir_fd_, tmp.c_str(), 0);
    close_all();
    return false;
  }
  if (::renameat(dir_fd_, tmp.c_str(), dir_fd_, base_.c_str()) != 0) {
    error = "cannot rename " + path_ + ".tmp to " + path_ + ": " + std::strerror(errno) +
            "; the complete report is in " + path_ + ".tmp";
    close_all();
    return false;
  }
  close_all();
  return true;
}

void AtomicFile::abandon() {
  if (out_ && !is_stdout_) {
    std::fclose(out_);
    ::unlinkat(dir_fd_, (base_ + ".tmp").c_str(), 0);
  }
  out_ = nullptr;
  close_all();
}

void AtomicFile::close_all() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = -1;
}

}  // namespace tcpscribe
