// Netrecord logs (docs/NETRECORD.md) from sink events: one file
// `<root>_<N>` per connection, numbered in the order connections open.
//
// Used by the passive pipeline (`--netrecord ROOT`) and by the proxy, so a
// capture and a proxy recording come out in the same format:
//   on_open                 -> `c <t> con`
//   on_data                 -> `c <t> N` (client to server) / `s <t> N`
//   on_shutdown(reset=no)   -> `c|s <t> hup`
//   on_shutdown(reset=yes)  -> `c|s <t> err`
// Timestamps are seconds since `start` (the first packet of the capture, or
// the proxy's start on the monotonic clock).
//
// Gaps cannot be written: the format has no record for "bytes missing".
// They are skipped (the next data record simply follows) and counted in
// gaps()/gap_bytes(), so the caller can warn that a log is not the whole
// conversation.
//
// Every record is one write(): nothing is buffered, so logs are readable
// while connections are open and complete after a signal. Open files are
// capped (`max_open_files`); beyond it the least recently used log is
// closed and reopened for append when its connection speaks again.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "netrecord.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct NetrecordSinkOptions {
  std::string root;                 ///< logs are `<root>_1`, `<root>_2`, ...
  std::optional<Timestamp> start;   ///< time zero; default: first on_open's first_ts
  size_t max_open_files = 256;
};

class NetrecordSink : public Sink {
 public:
  explicit NetrecordSink(NetrecordSinkOptions o);
  ~NetrecordSink() override;
  NetrecordSink(const NetrecordSink&) = delete;
  NetrecordSink& operator=(const NetrecordSink&) = delete;

  /// Empty, or why the root's directory does not take new files.
  std::string check_writable() const { return files_.check_writable(); }
  /// See NetrecordFiles::hold_directory().
  int hold_directory() { return files_.hold_directory(); }
  std::string directory() const { return files_.directory(); }

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset,
               std::span<const uint8_t> bytes, Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  /// on_data() for `n` bytes waiting in a pipe (the proxy's zero-copy
  /// path): writes the record header, then splices the bytes from `pipe_rd`
  /// into the log. Always consumes exactly `n` bytes from the pipe, also
  /// when the log is abandoned; returns whether they were logged.
  bool on_data_from_pipe(const Connection& c, Dir d, int pipe_rd, size_t n, Timestamp ts);
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;

  /// The log of a connection between on_open and on_close (null if its
  /// file could not be created).
  const std::string* path_of(uint64_t conn_id) const;

  /// A log could not be created or written. That connection's log is
  /// abandoned (the others go on) and stays valid: a record the write cut
  /// is taken back, and a log left without its first record is removed.
  /// error() is the first such error.
  bool failed() const { return errors_ > 0; }
  const std::string& error() const { return first_error_; }
  std::string failure() const override { return first_error_; }
  uint64_t error_count() const { return errors_; }
  /// Errors since the last call, for callers that report as they go.
  std::vector<std::string> take_errors();

  uint64_t logs_created() const { return logs_created_; }
  uint64_t gaps() const { return gaps_; }
  uint64_t gap_bytes() const { return gap_bytes_; }

 private:
  struct Log {
    std::string path;
    int fd = -1;
    bool broken = false;
    bool positioned = false;  // O_APPEND cleared for splice(), offset at the end
    uint64_t size = 0;        // bytes of whole records in the file
    std::list<uint64_t>::iterator lru;  // valid while fd >= 0
  };

  int64_t micros_of(Timestamp ts);
  void record(uint64_t conn_id, char side, Timestamp ts, std::string_view what,
              std::span<const uint8_t> data);
  bool ensure_open(uint64_t conn_id, Log& log);
  void close_fd(Log& log);
  void fail(Log* log, std::string msg);

  NetrecordSinkOptions opt_;
  NetrecordFiles files_;
  std::unordered_map<uint64_t, Log> logs_;
  std::list<uint64_t> open_lru_;  // least recently used first
  size_t open_count_ = 0;
  uint64_t logs_created_ = 0;
  uint64_t gaps_ = 0;
  uint64_t gap_bytes_ = 0;
  uint64_t errors_ = 0;
  std::string first_error_;
  std::vector<std::string> pending_errors_;
};

}  // namespace tcpscribe
