#include "http_body.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpscribe {

void BodyFile::append(std::span<const uint8_t> bytes) {
  if (bytes.empty() || closed_) return;
  if (pending_.empty()) pending_offset_ = end_;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  end_ += bytes.size();
  if (pending_.size() >= chunk_) flush(false);
}

void BodyFile::hole(uint64_t length) {
  if (length == 0 || closed_) return;
  if (!pending_.empty()) flush(false);
  end_ += length;
}

bool BodyFile::flush(bool final) {
  if (!error_.empty()) {
    pending_.clear();
    return false;
  }
  if (pending_.empty() && !final) return true;
  if (pending_.empty() && !created_ && end_ == 0) return true;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (!created_) flags |= O_TRUNC;
  const int fd = dir_fd_ >= 0 ? ::openat(dir_fd_, name_.c_str(), flags, 0644)
                              : ::open(path_.c_str(), flags, 0644);
  if (fd < 0) {
    error_ = "cannot write " + path_ + ": " + std::strerror(errno);
    pending_.clear();
    return false;
  }
  created_ = true;
  size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::pwrite(fd, pending_.data() + done, pending_.size() - done,
                               static_cast<off_t>(pending_offset_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = "cannot write " + path_ + ": " + std::strerror(n < 0 ? errno : ENOSPC);
      break;
    }
    done += static_cast<size_t>(n);
  }
  // A body that ends in a hole still has its full length.
  if (final && error_.empty() && ::ftruncate(fd, static_cast<off_t>(end_)) != 0) {
    error_ = "cannot write " + path_ + ": " + std::strerror(errno);
  }
  if (final && error_.empty() && mtime_ > 0) {
    const timespec t{static_cast<time_t>(mtime_ / kNanosPerSecond),
                     static_cast<long>(mtime_ % kNanosPerSecond)};
    const timespec times[2] = {t, t};
    // A file system that refuses times loses no data: not an error.
    (void)::futimens(fd, times);
  }
  if (::close(fd) != 0 && error_.empty()) {
    error_ = "cannot write " + path_ + ": " + std::strerror(errno);
  }
  pending_.clear();
  return error_.empty();
}

bool BodyFile::close() {
  if (closed_) return error_.empty();
  const bool ok = flush(true);
  closed_ = true;
  return ok;
}

}  // namespace tcpscribe
