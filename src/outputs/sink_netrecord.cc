#include "sink_netrecord.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tcpscribe {

NetrecordSink::NetrecordSink(NetrecordSinkOptions o)
    : opt_(std::move(o)), files_(opt_.root) {
  if (opt_.max_open_files == 0) opt_.max_open_files = 1;
  if (opt_.writer_thread) {
    opt_.max_open_files = SIZE_MAX;  // files are closed by the writer, never capped
    writer_ = std::thread([this] { writer_loop(); });
  }
}

NetrecordSink::~NetrecordSink() {
  finish();
  for (const auto& p : slots_) {
    ::close(p[0]);
    ::close(p[1]);
  }
}

int64_t NetrecordSink::micros_of(Timestamp ts) {
  if (!opt_.start) opt_.start = ts;
  const Timestamp rel = ts - *opt_.start;
  return rel < 0 ? 0 : rel / 1000;
}

void NetrecordSink::fail(Log* log, std::string msg) {
  if (log != nullptr) {
    // A full disk may have taken part of the record: what stays in the log
    // is whole records only.
    if (log->fd >= 0 && log->size > 0 && ::ftruncate(log->fd, static_cast<off_t>(log->size)) == 0) {
      msg += " (the log ends at its last whole record)";
    } else if (log->fd >= 0 && log->size == 0 && ::unlink(log->path.c_str()) == 0) {
      msg += " (the log had nothing yet and is removed)";
    }
    log->broken = true;
    close_fd(*log);
  }
  std::lock_guard<std::mutex> lock(error_mu_);
  if (errors_++ == 0) first_error_ = msg;
  // Bounded: a caller that never collects them must not grow without limit.
  if (pending_errors_.size() < 1000) pending_errors_.push_back(std::move(msg));
}

std::string NetrecordSink::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return first_error_;
}

uint64_t NetrecordSink::error_count() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return errors_;
}

std::vector<std::string> NetrecordSink::take_errors() {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(error_mu_);
  out.swap(pending_errors_);
  return out;
}

void NetrecordSink::close_fd(Log& log) {
  if (log.fd < 0) return;
  ::close(log.fd);
  log.fd = -1;
  if (opt_.writer_thread) return;  // no open-file cap: not in the LRU list
  open_lru_.erase(log.lru);
  --open_count_;
}

bool NetrecordSink::ensure_open(uint64_t conn_id, Log& log) {
  if (log.broken) return false;
  if (log.fd >= 0) {
    open_lru_.splice(open_lru_.end(), open_lru_, log.lru);
    return true;
  }
  while (open_count_ >= opt_.max_open_files && !open_lru_.empty()) {
    close_fd(*logs_.at(open_lru_.front()));
  }
  log.fd = files_.reopen(log.path);
  log.positioned = false;
  if (log.fd < 0) {
    fail(&log, "cannot reopen " + log.path + ": " + std::strerror(errno));
    return false;
  }
  log.lru = open_lru_.insert(open_lru_.end(), conn_id);
  ++open_count_;
  return true;
}

void NetrecordSink::on_open(const Connection& c) {
  const Timestamp ts = c.syn_ts != 0 ? c.syn_ts : c.first_ts;
  const int64_t us = micros_of(ts);
  while (open_count_ >= opt_.max_open_files && !open_lru_.empty()) {
    close_fd(*logs_.at(open_lru_.front()));
  }
  auto owned = std::make_shared<Log>();
  logs_[c.id] = owned;
  Log& log = *owned;
  uint64_t number = 0;
  std::string error;
  const int fd = files_.create_next(number, log.path, error);
  if (fd < 0) {
    fail(&log, error);
    return;
  }
  ++logs_created_;
  log.fd = fd;
  if (opt_.writer_thread) {
    Op op;
    op.kind = Op::Kind::kOpen;
    op.log = std::move(owned);
    op.micros = us;
    push(std::move(op));
    return;
  }
  log.lru = open_lru_.insert(open_lru_.end(), c.id);
  ++open_count_;
  if (!write_netrecord(fd, 'c', us, "con", {}, error, &log.size)) {
    fail(&log, "cannot write " + log.path + ": " + error);
  }
}

void NetrecordSink::record(uint64_t conn_id, char side, Timestamp ts, std::string_view what,
                           std::span<const uint8_t> data) {
  auto it = logs_.find(conn_id);
  if (it == logs_.end()) return;
  if (opt_.writer_thread) {
    if (it->second->broken) return;
    Op op;
    op.kind = Op::Kind::kRecord;
    op.log = it->second;
    op.side = side;
    op.micros = micros_of(ts);
    op.what = what;
    op.data.assign(data.begin(), data.end());
    push(std::move(op));
    return;
  }
  Log& log = *it->second;
  if (!ensure_open(conn_id, log)) return;
  std::string error;
  uint64_t written = 0;
  if (!write_netrecord(log.fd, side, micros_of(ts), what, data, error, &written)) {
    fail(&log, "cannot write " + log.path + ": " + error);
    return;
  }
  log.size += written;
}

void NetrecordSink::on_data(const Connection& c, Dir d, uint64_t,
                            std::span<const uint8_t> bytes, Timestamp ts) {
  if (bytes.empty()) return;
  record(c.id, d == Dir::kClientToServer ? 'c' : 's', ts, std::to_string(bytes.size()), bytes);
}

namespace {

// Reads and drops `n` bytes from a pipe that holds at least that many.
void discard_from_pipe(int pipe_rd, size_t n) {
  std::vector<uint8_t> buf(std::min<size_t>(n, 64 * 1024));
  while (n > 0) {
    const ssize_t r = ::read(pipe_rd, buf.data(), std::min(n, buf.size()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    n -= static_cast<size_t>(r);
  }
}

}  // namespace

bool NetrecordSink::on_data_from_pipe(const Connection& c, Dir d, int pipe_rd, size_t n,
                                      Timestamp ts) {
  if (n == 0) return true;
  auto it = logs_.find(c.id);
  if (opt_.writer_thread) {
    if (it == logs_.end() || it->second->broken) {
      discard_from_pipe(pipe_rd, n);
      return false;
    }
    Op op;
    op.kind = Op::Kind::kPipe;
    op.log = it->second;
    op.side = d == Dir::kClientToServer ? 'c' : 's';
    op.micros = micros_of(ts);
    op.n = n;
    op.slot = take_slot(n, pipe_rd);
    // Pipe to pipe: the pages move, nothing is copied.
    size_t left = n;
    while (op.slot >= 0 && left > 0) {
      const ssize_t w = ::splice(pipe_rd, nullptr, slots_[static_cast<size_t>(op.slot)][1],
                                 nullptr, left, SPLICE_F_MOVE);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      left -= static_cast<size_t>(w);
    }
    if (op.slot < 0 || left > 0) {
      // No writer pipe (or it took part): the bytes go through memory.
      if (op.slot >= 0) {
        std::vector<uint8_t> head(n - left);
        const ssize_t r = ::read(slots_[static_cast<size_t>(op.slot)][0], head.data(), head.size());
        op.data.assign(head.begin(), head.begin() + std::max<ssize_t>(r, 0));
        std::lock_guard<std::mutex> lock(mu_);
        free_slots_.push_back(op.slot);
        op.slot = -1;
      }
      const size_t have = op.data.size();
      op.data.resize(n);
      size_t got = have;
      while (got < n) {
        const ssize_t r = ::read(pipe_rd, op.data.data() + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      op.data.resize(got);
      op.kind = Op::Kind::kRecord;
      op.what = std::to_string(op.data.size());
    }
    push(std::move(op));
    return true;
  }
  if (it == logs_.end() || !ensure_open(c.id, *it->second)) {
    discard_from_pipe(pipe_rd, n);
    return false;
  }
  Log& log = *it->second;
  if (!log.positioned) {
    // splice() refuses files opened for append; a sole writer at the end of
    // the file writes at the same place without it.
    const int flags = ::fcntl(log.fd, F_GETFL);
    if (flags < 0 || ::fcntl(log.fd, F_SETFL, flags & ~O_APPEND) != 0 ||
        ::lseek(log.fd, 0, SEEK_END) < 0) {
      fail(&log, "cannot write " + log.path + ": " + std::strerror(errno));
      discard_from_pipe(pipe_rd, n);
      return false;
    }
    log.positioned = true;
  }
  std::string error;
  uint64_t written = 0;
  if (!write_netrecord(log.fd, d == Dir::kClientToServer ? 'c' : 's', micros_of(ts),
                       std::to_string(n), {}, error, &written)) {
    fail(&log, "cannot write " + log.path + ": " + error);
    discard_from_pipe(pipe_rd, n);
    return false;
  }
  size_t left = n;
  while (left > 0) {
    const ssize_t w = ::splice(pipe_rd, nullptr, log.fd, nullptr, left, SPLICE_F_MOVE);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      fail(&log, "cannot write " + log.path + ": " +
                     (w < 0 ? std::strerror(errno) : "splice wrote nothing"));
      discard_from_pipe(pipe_rd, left);
      return false;
    }
    left -= static_cast<size_t>(w);
  }
  log.size += written + n;
  return true;
}

void NetrecordSink::on_gap(const Connection&, Dir, uint64_t, uint64_t length, Timestamp) {
  ++gaps_;
  gap_bytes_ += length;
}

void NetrecordSink::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  record(c.id, d == Dir::kClientToServer ? 'c' : 's', ts, reset ? "err" : "hup", {});
}

void NetrecordSink::on_close(const Connection& c, CloseReason) {
  auto it = logs_.find(c.id);
  if (it == logs_.end()) return;
  if (opt_.writer_thread) {
    Op op;
    op.kind = Op::Kind::kClose;
    op.log = std::move(it->second);
    logs_.erase(it);
    push(std::move(op));
    return;
  }
  close_fd(*it->second);
  logs_.erase(it);
}

void NetrecordSink::finish() {
  stop_writer();  // everything queued is written first
  for (auto& [id, log] : logs_) close_fd(*log);
  logs_.clear();
}

const std::string* NetrecordSink::path_of(uint64_t conn_id) const {
  auto it = logs_.find(conn_id);
  if (it == logs_.end() || it->second->broken) return nullptr;
  return &it->second->path;
}

// ---------------------------------------------------------------- writer thread

void NetrecordSink::push(Op op) {
  const size_t bytes = op.data.size();
  std::unique_lock<std::mutex> lock(mu_);
  // Bounded: the caller waits while the writer is this far behind (a
  // record larger than the bound waits for an empty queue).
  space_cv_.wait(lock, [&] {
    return queued_bytes_ == 0 || queued_bytes_ + bytes <= kWriterQueueBytes;
  });
  queued_bytes_ += bytes;
  queue_.push_back(std::move(op));
  lock.unlock();
  work_cv_.notify_one();
}

int NetrecordSink::take_slot(size_t n, int pipe_rd) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    for (size_t i = 0; i < free_slots_.size(); ++i) {
      const int s = free_slots_[i];
      if (slot_size_[static_cast<size_t>(s)] >= n) {
        free_slots_.erase(free_slots_.begin() + static_cast<std::ptrdiff_t>(i));
        return s;
      }
    }
    if (slots_.size() < kWriterSlots && !slots_failed_) {
      std::array<int, 2> p{};
      if (::pipe2(p.data(), O_CLOEXEC) == 0) {
        // As large as the caller's pipe: every chunk it holds fits.
        const int theirs = ::fcntl(pipe_rd, F_GETPIPE_SZ);
        const int want = static_cast<int>(std::min<size_t>(
            std::max<size_t>(n, theirs > 0 ? static_cast<size_t>(theirs) : 0), 1u << 30));
        const int got = ::fcntl(p[1], F_SETPIPE_SZ, want) >= 0 ? ::fcntl(p[1], F_GETPIPE_SZ) : -1;
        if (got >= 0 && static_cast<size_t>(got) >= n) {
          slots_.push_back(p);
          slot_size_.push_back(static_cast<size_t>(got));
          return static_cast<int>(slots_.size() - 1);
        }
        ::close(p[0]);
        ::close(p[1]);
      }
      slots_failed_ = true;  // the pipe limits: copies from now on
    }
    // Every pipe that fits is in use (or none can be made): a big enough
    // one comes back, or there is none.
    bool any_fits = false;
    for (size_t sz : slot_size_) any_fits = any_fits || sz >= n;
    if (!any_fits) return -1;
    space_cv_.wait(lock);
  }
}

void NetrecordSink::writer_loop() {
  // The caller's thread handles the signals.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  while (true) {
    std::unique_lock<std::mutex> lock(mu_);
    work_cv_.wait(lock, [this] { return !queue_.empty(); });
    Op op = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    if (op.kind == Op::Kind::kStop) return;
    write_op(op);
    lock.lock();
    queued_bytes_ -= op.data.size();
    if (op.slot >= 0) free_slots_.push_back(op.slot);
    lock.unlock();
    space_cv_.notify_all();
  }
}

void NetrecordSink::write_op(Op& op) {
  Log& log = *op.log;
  std::string error;
  switch (op.kind) {
    case Op::Kind::kOpen:
      if (log.broken) return;
      if (!write_netrecord(log.fd, 'c', op.micros, "con", {}, error, &log.size)) {
        fail(&log, "cannot write " + log.path + ": " + error);
      }
      return;
    case Op::Kind::kRecord: {
      if (log.broken || log.fd < 0) return;
      uint64_t written = 0;
      if (!write_netrecord(log.fd, op.side, op.micros, op.what, op.data, error, &written)) {
        fail(&log, "cannot write " + log.path + ": " + error);
        return;
      }
      log.size += written;
      return;
    }
    case Op::Kind::kPipe: {
      const int rd = slots_[static_cast<size_t>(op.slot)][0];
      if (log.broken || log.fd < 0) {
        discard_from_pipe(rd, op.n);
        return;
      }
      if (!log.positioned) {
        // splice() refuses files opened for append (see on_data_from_pipe).
        const int flags = ::fcntl(log.fd, F_GETFL);
        if (flags < 0 || ::fcntl(log.fd, F_SETFL, flags & ~O_APPEND) != 0 ||
            ::lseek(log.fd, 0, SEEK_END) < 0) {
          fail(&log, "cannot write " + log.path + ": " + std::strerror(errno));
          discard_from_pipe(rd, op.n);
          return;
        }
        log.positioned = true;
      }
      uint64_t written = 0;
      if (!write_netrecord(log.fd, op.side, op.micros, std::to_string(op.n), {}, error,
                           &written)) {
        fail(&log, "cannot write " + log.path + ": " + error);
        discard_from_pipe(rd, op.n);
        return;
      }
      size_t left = op.n;
      while (left > 0) {
        const ssize_t w = ::splice(rd, nullptr, log.fd, nullptr, left, SPLICE_F_MOVE);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          fail(&log, "cannot write " + log.path + ": " +
                         (w < 0 ? std::strerror(errno) : "splice wrote nothing"));
          discard_from_pipe(rd, left);
          return;
        }
        left -= static_cast<size_t>(w);
      }
      log.size += written + op.n;
      return;
    }
    case Op::Kind::kClose:
      close_fd(log);
      return;
    case Op::Kind::kStop:
      return;
  }
}

void NetrecordSink::stop_writer() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Op op;
    op.kind = Op::Kind::kStop;
    queue_.push_back(std::move(op));
  }
  work_cv_.notify_one();
  writer_.join();
}

}  // namespace tcpscribe
