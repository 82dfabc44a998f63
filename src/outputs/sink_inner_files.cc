#include "sink_inner_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "name_template.h"

namespace tcpscribe {

InnerFilesSink::InnerFilesSink(int outdir_fd, std::string name_template, size_t max_open)
    : dir_fd_(outdir_fd), template_(std::move(name_template)), max_open_(max_open ? max_open : 1) {
  if (template_.empty()) template_ = kDefaultTemplate;
}

InnerFilesSink::~InnerFilesSink() { close_all_open(); }

void InnerFilesSink::close_all_open() {
  for (auto& [key, layers] : files_) {
    for (auto& [layer, f] : layers) {
      if (f.fd >= 0) {
        if (::close(f.fd) != 0 && error_.empty()) {
          error_ = "cannot write " + f.path + ": " + std::strerror(errno);
        }
        f.fd = -1;
      }
    }
  }
  open_ = 0;
}

int InnerFilesSink::fd_for(File& f) {
  if (f.fd >= 0) return f.fd;
  if (open_ >= max_open_) close_all_open();  // reopened on demand, kept as they are
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (!f.created) flags |= O_TRUNC;
  f.fd = ::openat(dir_fd_, f.path.c_str(), flags, 0644);
  if (f.fd < 0) {
    if (error_.empty()) error_ = "cannot create " + f.path + ": " + std::strerror(errno);
    return -1;
  }
  if (!f.created) ++created_;
  f.created = true;
  ++open_;
  return f.fd;
}

void InnerFilesSink::inner_data(const Connection& c, const char* layer, Dir d,
                                uint64_t offset, std::span<const uint8_t> bytes) {
  if (dir_fd_ < 0 || !error_.empty() || bytes.empty()) return;
  File& f = files_[{c.id, index_of(d)}][layer];
  if (f.path.empty()) f.path = expand_name(template_, c, d) + "-" + layer;
  const int fd = fd_for(f);
  if (fd < 0) return;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = "cannot write " + f.path + ": " + std::strerror(n < 0 ? errno : ENOSPC);
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void InnerFilesSink::on_close(const Connection& c, CloseReason) {
  for (int i = 0; i < 2; ++i) {
    auto it = files_.find({c.id, i});
    if (it == files_.end()) continue;
    for (auto& [layer, f] : it->second) {
      if (f.fd >= 0) {
        if (::close(f.fd) != 0 && error_.empty()) {
          error_ = "cannot write " + f.path + ": " + std::strerror(errno);
        }
        --open_;
      }
    }
    files_.erase(it);
  }
}

void InnerFilesSink::finish() { close_all_open(); }

}  // namespace tcpscribe
