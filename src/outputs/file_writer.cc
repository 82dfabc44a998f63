#include "file_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tcpscribe {

FileWriter::FileWriter(int dirfd, std::string display_dir, size_t threads, size_t max_fds,
                       size_t max_queued, int thread_nice)
    : dirfd_(dirfd), thread_nice_(thread_nice), display_dir_(std::move(display_dir)),
      max_queued_(max_queued) {
  const size_t share = std::max<size_t>(4, max_fds / std::max<size_t>(threads, 1));
  inline_.max_fds = share;
  for (size_t i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>());
    Worker& w = *workers_.back();
    w.max_fds = share;
    w.thread = std::thread([this, &w] { run(w); });
  }
}

FileWriter::~FileWriter() {
  drain();
  for (auto& w : workers_) {
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->stop = true;
    }
    w->cv.notify_all();
    w->thread.join();
  }
  for (Worker* w : {&inline_}) {
    for (auto& [id, f] : w->files) {
      if (f.fd >= 0) ::close(f.fd);
    }
  }
}

void FileWriter::fail(const std::string& what, int err) {
  std::lock_guard<std::mutex> lock(error_mu_);
  if (error_.empty()) error_ = what + ": " + std::strerror(err);
  failed_ = true;
}

std::string FileWriter::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

std::vector<uint8_t> FileWriter::take_buffer(size_t capacity) {
  std::vector<uint8_t> b;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      b = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  b.reserve(capacity);
  return b;
}

void FileWriter::recycle(std::vector<uint8_t>&& buffer) {
  if (buffer.capacity() < (16u << 10) || buffer.capacity() > (1u << 20)) return;
  buffer.clear();
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (pool_.size() < kPoolBuffers) pool_.push_back(std::move(buffer));
}

void FileWriter::submit(WriteJob job, size_t route) {
  if (workers_.empty()) {
    std::vector<iovec> iov;
    JobView v;
    for (const auto& view : job.views) {
      iov.push_back({const_cast<uint8_t*>(view.data()), view.size()});
      v.view_bytes += view.size();
    }
    v.views = reinterpret_cast<const uint8_t*>(iov.data());
    v.view_count = iov.size();
    v.file = job.file;
    v.path = job.path;
    v.continue_file = job.continue_file;
    v.offset = job.offset;
    v.data = job.data;
    v.index = job.index;
    v.extend_to = job.extend_to;
    v.mtime_ns = job.mtime_ns;
    v.final = job.final;
    execute(inline_, v);
    recycle(std::move(job.data));
    return;
  }
  add_to_block(*workers_[route % workers_.size()], job);
}

std::unique_ptr<FileWriter::Block> FileWriter::new_block() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!free_blocks_.empty()) {
      std::unique_ptr<Block> b = std::move(free_blocks_.back());
      free_blocks_.pop_back();
      return b;
    }
  }
  auto b = std::make_unique<Block>();
  b->bytes.reserve(kBlockBytes);
  return b;
}

void FileWriter::add_to_block(Worker& w, WriteJob& job) {
  const bool move = job.data.size() >= kMoveAtLeast;
  const size_t path_bytes = job.path.empty() ? 0 : job.path.size() + 1;
  const size_t view_bytes = job.views.size() * sizeof(iovec);
  const size_t need = sizeof(Record) + view_bytes + path_bytes + (move ? 0 : job.data.size()) +
                      job.index.size();
  const size_t padded = (need + 7) & ~size_t{7};
  if (w.filling && !w.filling->bytes.empty() &&
      w.filling->bytes.size() + padded > w.filling->bytes.capacity()) {
    hand_over(w);
  }
  if (!w.filling) w.filling = new_block();
  Block& b = *w.filling;

  Record r{};
  r.file = job.file;
  r.offset = job.offset;
  r.extend_to = job.extend_to;
  r.mtime_ns = job.mtime_ns;
  r.path_len = static_cast<uint32_t>(job.path.size());
  r.index_len = static_cast<uint32_t>(job.index.size());
  r.continue_file = job.continue_file;
  r.final = job.final;
  r.views = static_cast<uint32_t>(job.views.size());
  for (const auto& view : job.views) b.queued += view.size();
  if (job.keep) {
    if (job.keep.get() != b.last_kept) {
      b.last_kept = job.keep.get();
      b.pinned += job.keep->size;
    }
    b.keep.push_back(std::move(job.keep));
  }
  if (move) {
    b.queued += job.data.size();
    b.moved.push_back(std::move(job.data));
    r.moved = static_cast<uint32_t>(b.moved.size());
  } else {
    r.data_len = static_cast<uint32_t>(job.data.size());
  }
  const size_t at = b.bytes.size();
  b.bytes.resize(at + padded);
  uint8_t* p = b.bytes.data() + at;
  std::memcpy(p, &r, sizeof r);
  p += sizeof r;
  for (const auto& view : job.views) {
    const iovec v{const_cast<uint8_t*>(view.data()), view.size()};
    std::memcpy(p, &v, sizeof v);
    p += sizeof v;
  }
  if (path_bytes) {
    std::memcpy(p, job.path.data(), path_bytes);  // with its NUL
    p += path_bytes;
  }
  if (r.data_len) {
    std::memcpy(p, job.data.data(), r.data_len);
    p += r.data_len;
  }
  if (r.index_len) std::memcpy(p, job.index.data(), r.index_len);
  b.queued += padded;
  if (b.queued >= kBlockBytes) hand_over(w);
}

void FileWriter::hand_over(Worker& w) {
  if (!w.filling) return;
  std::unique_ptr<Block> b = std::move(w.filling);
  {
    std::unique_lock<std::mutex> lock(queued_mu_);
    queued_cv_.wait(lock, [&] { return queued_bytes_ < max_queued_ || queued_bytes_ == 0; });
    queued_bytes_ += b->queued + b->pinned;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.queue.push_back(std::move(b));
    wake = w.sleeping;
  }
  if (wake) w.cv.notify_one();
}

void FileWriter::kick() {
  for (auto& w : workers_) hand_over(*w);
}

void FileWriter::drain() {
  kick();
  for (auto& w : workers_) {
    std::unique_lock<std::mutex> lock(w->mu);
    w->idle_cv.wait(lock, [&] { return w->queue.empty() && !w->busy; });
  }
}

void FileWriter::execute_block(Worker& w, Block& b) {
  const uint8_t* p = b.bytes.data();
  const uint8_t* end = p + b.bytes.size();
  while (p < end) {
    Record r;
    std::memcpy(&r, p, sizeof r);
    const uint8_t* q = p + sizeof r;
    JobView v;
    v.file = r.file;
    v.continue_file = r.continue_file != 0;
    v.offset = r.offset;
    v.extend_to = r.extend_to;
    v.mtime_ns = r.mtime_ns;
    v.final = r.final != 0;
    v.views = q;
    v.view_count = r.views;
    for (uint32_t i = 0; i < r.views; ++i) {
      iovec iv;
      std::memcpy(&iv, q, sizeof iv);
      v.view_bytes += iv.iov_len;
      q += sizeof iv;
    }
    if (r.path_len) {
      v.path = std::string_view(reinterpret_cast<const char*>(q), r.path_len);
      q += r.path_len + 1;
    }
    if (r.moved) {
      v.data = b.moved[r.moved - 1];
    } else {
      v.data = std::span<const uint8_t>(q, r.data_len);
      q += r.data_len;
    }
    v.index = std::string_view(reinterpret_cast<const char*>(q), r.index_len);
    q += r.index_len;
    execute(w, v);
    p += (static_cast<size_t>(q - p) + 7) & ~size_t{7};
  }
}

void FileWriter::run(Worker& w) {
  pthread_setname_np(pthread_self(), "ts-writer");
  // Live capture asks the writers to yield to the capture thread.
  if (thread_nice_ != 0) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), thread_nice_);
  }
  for (;;) {
    std::unique_ptr<Block> b;
    {
      std::unique_lock<std::mutex> lock(w.mu);
      w.busy = false;
      if (w.queue.empty()) {
        w.idle_cv.notify_all();  // drain() may be waiting
        w.sleeping = true;
        w.cv.wait(lock, [&] { return w.stop || !w.queue.empty(); });
        w.sleeping = false;
      }
      if (w.queue.empty()) break;
      b = std::move(w.queue.front());
      w.queue.pop_front();
      w.busy = true;
    }
    execute_block(w, *b);
    const size_t bytes = b->queued + b->pinned;
    for (auto& data : b->moved) recycle(std::move(data));
    b->moved.clear();
    b->keep.clear();
    b->last_kept = nullptr;
    b->bytes.clear();
    b->queued = 0;
    b->pinned = 0;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (free_blocks_.size() < kPoolBlocks) free_blocks_.push_back(std::move(b));
    }
    {
      std::lock_guard<std::mutex> lock(queued_mu_);
      queued_bytes_ -= bytes;
    }
    queued_cv_.notify_all();
  }
  for (auto& [id, f] : w.files) {
    if (f.fd >= 0) ::close(f.fd);
  }
  w.files.clear();
}

void FileWriter::close_fd(Worker& w, OpenFile& f) {
  if (f.fd < 0) return;
  if (::close(f.fd) != 0) fail("cannot write " + shown(f.path), errno);
  f.fd = -1;
  w.open_fds.erase(f.lru);
}

bool FileWriter::ensure_open(Worker& w, OpenFile& f, uint64_t id, bool create, bool keep) {
  if (f.fd >= 0) {
    w.open_fds.splice(w.open_fds.end(), w.open_fds, f.lru);
    return true;
  }
  make_room(w);
  f.fd = open_file(w, f.path, create, keep, f.base);
  if (f.fd < 0) return false;
  w.open_fds.push_back(id);
  f.lru = std::prev(w.open_fds.end());
  return true;
}

void FileWriter::make_room(Worker& w) {
  while (w.open_fds.size() >= w.max_fds) close_fd(w, w.files[w.open_fds.front()]);
}

int FileWriter::open_file(Worker& w, std::string_view path, bool create, bool keep,
                          uint64_t& base) {
  int flags = O_WRONLY | O_CLOEXEC;
  if (create) {
    // tcpflow's '/' in a template makes directories.
    for (size_t pos = path.find('/', 1); pos != std::string_view::npos;
         pos = path.find('/', pos + 1)) {
      std::string dir(path.substr(0, pos));
      if (w.dirs_made.count(dir)) continue;
      if (mkdirat(dirfd_, dir.c_str(), 0755) != 0 && errno != EEXIST) {
        fail("cannot create directory " + shown(dir), errno);
        return -1;
      }
      w.dirs_made.insert(std::move(dir));
    }
    flags |= O_CREAT | (keep ? 0 : O_TRUNC);
  }
  const int fd = openat(dirfd_, path.data(), flags, 0644);  // path is NUL-terminated
  if (fd < 0) {
    fail("cannot open " + shown(path) + " for writing", errno);
    return -1;
  }
  if (create) {
    if (keep) {
      struct stat st;
      if (fstat(fd, &st) == 0) base = static_cast<uint64_t>(st.st_size);
    }
    // A continued file (kept, not empty) was counted when it was created.
    if (!keep || base == 0) ++files_created_;
  }
  return fd;
}

bool FileWriter::write_bytes(int fd, std::string_view path, const JobView& job, off_t at) {
  // The job's own data, then its views: one pwritev.
  iovec iov[kMaxViews + 1];
  size_t count = 0;
  if (!job.data.empty()) iov[count++] = {const_cast<uint8_t*>(job.data.data()), job.data.size()};
  for (size_t i = 0; i < job.view_count && i < kMaxViews; ++i) {
    std::memcpy(&iov[count], job.views + i * sizeof(iovec), sizeof(iovec));
    if (iov[count].iov_len > 0) ++count;
  }
  size_t first = 0;
  while (first < count) {
    const ssize_t n = pwritev(fd, iov + first, static_cast<int>(count - first), at);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + shown(path), errno);
      return false;
    }
    at += n;
    // Past what was written (a short write continues mid-iovec).
    for (auto left = static_cast<size_t>(n); left > 0;) {
      const size_t step = std::min(left, iov[first].iov_len);
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + step;
      iov[first].iov_len -= step;
      left -= step;
      if (iov[first].iov_len == 0) ++first;
    }
  }
  return true;
}

bool FileWriter::write_job(OpenFile& f, std::string_view path, const JobView& job) {
  f.written_end =
      std::max<uint64_t>(f.written_end, job.offset + job.data.size() + job.view_bytes);
  if (!write_bytes(f.fd, path, job, static_cast<off_t>(f.base + job.offset))) return false;
  if (!job.index.empty()) {
    const std::string index_path = std::string(path) + ".findx";
    const int fd = openat(dirfd_, index_path.c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC | (f.index_started ? O_APPEND : O_TRUNC),
                          0644);
    f.index_started = true;
    if (fd < 0) {
      fail("cannot open " + shown(index_path) + " for writing", errno);
      return false;
    }
    const ssize_t n = ::write(fd, job.index.data(), job.index.size());
    if (n != static_cast<ssize_t>(job.index.size())) fail("cannot write " + shown(index_path), errno);
    if (::close(fd) != 0) fail("cannot write " + shown(index_path), errno);
  }
  if (job.final) {
    // A gap at the end of a stream still counts: the file keeps stream
    // offsets, so it is extended with zeros (sparse) to cover it.
    // Only a stream that ends in a gap needs it (no fstat per file).
    if (job.extend_to > f.written_end &&
        ftruncate(f.fd, static_cast<off_t>(f.base + job.extend_to)) != 0) {
      fail("cannot extend " + shown(path), errno);
    }
  }
  return true;
}

void FileWriter::set_times(int fd, const JobView& job) {
  if (job.mtime_ns == 0) return;
  const timespec t{static_cast<time_t>(job.mtime_ns / 1'000'000'000),
                   static_cast<long>(job.mtime_ns % 1'000'000'000)};
  const timespec times[2] = {t, t};
  // As tcpflow does. A file system that refuses times loses no data, so a
  // failure here is not an error.
  (void)::futimens(fd, times);
}

void FileWriter::execute(Worker& w, const JobView& job) {
  if (failed()) return;  // stop at the first error; the caller reports it
  if (job.final && !w.files.contains(job.file)) {
    // The usual short flow: one job creates, writes and closes the file.
    // It needs no entry among the open files (no allocations per file),
    // only room for one more descriptor.
    OpenFile f;
    make_room(w);
    f.fd = open_file(w, job.path, true, job.continue_file, f.base);
    if (f.fd < 0) return;
    if (write_job(f, job.path, job)) set_times(f.fd, job);
    if (::close(f.fd) != 0) fail("cannot write " + shown(job.path), errno);
    return;
  }
  auto [it, created] = w.files.try_emplace(job.file);
  OpenFile& f = it->second;
  if (created) f.path = job.path;
  if (!job.data.empty() || job.view_count > 0 || job.final || created) {
    if (!ensure_open(w, f, job.file, created, job.continue_file)) return;
  }
  if (!write_job(f, f.path, job)) return;
  if (job.final) {
    set_times(f.fd, job);  // open: a final job always opens its file above
    close_fd(w, f);
    w.files.erase(it);
  }
}

}  // namespace tcpscribe
