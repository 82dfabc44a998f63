#include "sink_netrecord.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tcpscribe {

NetrecordSink::NetrecordSink(NetrecordSinkOptions o)
    : opt_(std::move(o)), files_(opt_.root) {
  if (opt_.max_open_files == 0) opt_.max_open_files = 1;
}

NetrecordSink::~NetrecordSink() { finish(); }

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
  if (errors_++ == 0) first_error_ = msg;
  // Bounded: a caller that never collects them must not grow without limit.
  if (pending_errors_.size() < 1000) pending_errors_.push_back(std::move(msg));
}

std::vector<std::string> NetrecordSink::take_errors() {
  std::vector<std::string> out;
  out.swap(pending_errors_);
  return out;
}

void NetrecordSink::close_fd(Log& log) {
  if (log.fd < 0) return;
  ::close(log.fd);
  log.fd = -1;
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
    close_fd(logs_.at(open_lru_.front()));
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
    close_fd(logs_.at(open_lru_.front()));
  }
  Log& log = logs_[c.id];
  log = Log{};
  uint64_t number = 0;
  std::string error;
  const int fd = files_.create_next(number, log.path, error);
  if (fd < 0) {
    fail(&log, error);
    return;
  }
  ++logs_created_;
  log.fd = fd;
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
  Log& log = it->second;
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
  if (it == logs_.end() || !ensure_open(c.id, it->second)) {
    discard_from_pipe(pipe_rd, n);
    return false;
  }
  Log& log = it->second;
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
  close_fd(it->second);
  logs_.erase(it);
}

void NetrecordSink::finish() {
  for (auto& [id, log] : logs_) close_fd(log);
  logs_.clear();
}

const std::string* NetrecordSink::path_of(uint64_t conn_id) const {
  auto it = logs_.find(conn_id);
  if (it == logs_.end() || it->second.broken) return nullptr;
  return &it->second.path;
}

}  // namespace tcpscribe
