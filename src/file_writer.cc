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
    execute(inline_, job);
    recycle(std::move(job.data));
    return;
  }
  const size_t bytes = job.data.size() + job.index.size();
  {
    std::unique_lock<std::mutex> lock(queued_mu_);
    if (queued_bytes_ >= max_queued_ && queued_bytes_ > 0) {
      lock.unlock();
      kick();  // the workers must run for the queue to shrink
      lock.lock();
    }
    queued_cv_.wait(lock, [&] { return queued_bytes_ < max_queued_ || queued_bytes_ == 0; });
    queued_bytes_ += bytes;
  }
  Worker& w = *workers_[route % workers_.size()];
  bool wake;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.queue.push_back(std::move(job));
    // A busy worker finds the job when it looks again; a sleeping one is
    // woken for a batch, not for every file.
    wake = w.sleeping && w.queue.size() >= kWakeBatch;
  }
  if (wake) w.cv.notify_one();
}

void FileWriter::kick() {
  for (auto& w : workers_) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      wake = w->sleeping && !w->queue.empty();
    }
    if (wake) w->cv.notify_one();
  }
}

void FileWriter::drain() {
  kick();
  for (auto& w : workers_) {
    std::unique_lock<std::mutex> lock(w->mu);
    w->idle_cv.wait(lock, [&] { return w->queue.empty() && !w->busy; });
  }
}

void FileWriter::run(Worker& w) {
  pthread_setname_np(pthread_self(), "ts-writer");
  // Live capture asks the writers to yield to the capture thread.
  if (thread_nice_ != 0) {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), thread_nice_);
  }
  for (;;) {
    WriteJob job;
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
      job = std::move(w.queue.front());
      w.queue.pop_front();
      w.busy = true;
    }
    const size_t bytes = job.data.size() + job.index.size();
    execute(w, job);
    recycle(std::move(job.data));
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
  if (!open_file(w, f, create, keep)) return false;
  w.open_fds.push_back(id);
  f.lru = std::prev(w.open_fds.end());
  return true;
}

void FileWriter::make_room(Worker& w) {
  while (w.open_fds.size() >= w.max_fds) close_fd(w, w.files[w.open_fds.front()]);
}

bool FileWriter::open_file(Worker& w, OpenFile& f, bool create, bool keep) {
  int flags = O_WRONLY | O_CLOEXEC;
  if (create) {
    // tcpflow's '/' in a template makes directories.
    for (size_t pos = f.path.find('/', 1); pos != std::string::npos;
         pos = f.path.find('/', pos + 1)) {
      std::string dir = f.path.substr(0, pos);
      if (w.dirs_made.count(dir)) continue;
      if (mkdirat(dirfd_, dir.c_str(), 0755) != 0 && errno != EEXIST) {
        fail("cannot create directory " + shown(dir), errno);
        return false;
      }
      w.dirs_made.insert(std::move(dir));
    }
    flags |= O_CREAT | (keep ? 0 : O_TRUNC);
  }
  f.fd = openat(dirfd_, f.path.c_str(), flags, 0644);
  if (f.fd < 0) {
    fail("cannot open " + shown(f.path) + " for writing", errno);
    return false;
  }
  if (create) {
    ++files_created_;
    if (keep) {
      struct stat st;
      if (fstat(f.fd, &st) == 0) f.base = static_cast<uint64_t>(st.st_size);
    }
  }
  return true;
}

bool FileWriter::write_job(OpenFile& f, const WriteJob& job) {
  f.written_end = std::max<uint64_t>(f.written_end, job.offset + job.data.size());
  const uint8_t* p = job.data.data();
  size_t left = job.data.size();
  off_t at = static_cast<off_t>(f.base + job.offset);
  while (left > 0) {
    const ssize_t n = pwrite(f.fd, p, left, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + shown(f.path), errno);
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
    at += n;
  }
  if (!job.index.empty()) {
    const std::string path = f.path + ".findx";
    const int fd = openat(dirfd_, path.c_str(),
                          O_WRONLY | O_CREAT | O_CLOEXEC | (f.index_started ? O_APPEND : O_TRUNC),
                          0644);
    f.index_started = true;
    if (fd < 0) {
      fail("cannot open " + shown(path) + " for writing", errno);
      return false;
    }
    const ssize_t n = ::write(fd, job.index.data(), job.index.size());
    if (n != static_cast<ssize_t>(job.index.size())) fail("cannot write " + shown(path), errno);
    if (::close(fd) != 0) fail("cannot write " + shown(path), errno);
  }
  if (job.final) {
    // A gap at the end of a stream still counts: the file keeps stream
    // offsets, so it is extended with zeros (sparse) to cover it.
    // Only a stream that ends in a gap needs it (no fstat per file).
    if (job.extend_to > f.written_end &&
        ftruncate(f.fd, static_cast<off_t>(f.base + job.extend_to)) != 0) {
      fail("cannot extend " + shown(f.path), errno);
    }
  }
  return true;
}

void FileWriter::execute(Worker& w, WriteJob& job) {
  if (failed()) return;  // stop at the first error; the caller reports it
  if (job.final && !w.files.contains(job.file)) {
    // The usual short flow: one job creates, writes and closes the file.
    // It needs no entry among the open files (no allocations per file),
    // only room for one more descriptor.
    OpenFile f;
    f.path = std::move(job.path);
    make_room(w);
    if (!open_file(w, f, true, job.continue_file)) return;
    write_job(f, job);
    if (::close(f.fd) != 0) fail("cannot write " + shown(f.path), errno);
    return;
  }
  auto [it, created] = w.files.try_emplace(job.file);
  OpenFile& f = it->second;
  if (created) f.path = std::move(job.path);
  if (!job.data.empty() || job.final || created) {
    if (!ensure_open(w, f, job.file, created, job.continue_file)) return;
  }
  if (!write_job(f, job)) return;
  if (job.final) {
    close_fd(w, f);
    w.files.erase(it);
  }
}

}  // namespace tcpscribe
