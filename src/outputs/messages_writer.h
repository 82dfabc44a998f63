// --messages FILE: one JSON object per application exchange (a request
// with its answer), JSON Lines, written as the analyzers complete them, so
// `tail -f` follows a live run. The common keys come first (conn, proto,
// ts, end, latency, error), then the protocol's own keys in the order the
// analyzer gave them.
#pragma once

#include <cstdio>
#include <string>

#include "analyzer.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

/// A Sink only so that the output set's finish() and failure() loops
/// include it: its stream events are no-ops, the records come from add().
class MessagesWriter : public Sink {
 public:
  /// `path` "-" is standard output. With `flush_each` every line is
  /// flushed at once; without it only pipes, terminals and other
  /// non-regular files are (a regular file lets stdio buffer).
  explicit MessagesWriter(std::string path, bool flush_each = false);
  ~MessagesWriter() override;
  MessagesWriter(const MessagesWriter&) = delete;
  MessagesWriter& operator=(const MessagesWriter&) = delete;

  /// Opens (truncates) the file. On failure `error` is one line
  /// ("cannot write --messages out.jsonl: Permission denied").
  bool open(std::string& error);
  /// --flat-records: every line written flat (json_flat.h).
  void set_flat(bool flat) { flat_ = flat; }
  /// Writes the record's line; after the first failure, nothing more.
  void add(const Connection& c, const ExchangeRecord& r);

  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>,
               Timestamp) override {}
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_close(const Connection&, CloseReason) override {}
  /// Flushes and closes the file (standard output is only flushed).
  void finish() override;
  /// The first error, one line; empty while all is well.
  std::string failure() const override { return error_; }

  /// The open file's descriptor (-U: what must stay writable), -1 if none.
  int fd() const;
  const std::string& path() const { return path_; }

  /// The line for one record, without the newline.
  static std::string format(const Connection& c, const ExchangeRecord& r);
  /// format(c, r) appended to `out`.
  static void format_into(std::string& out, const Connection& c, const ExchangeRecord& r);

 private:
  void fail(int err);

  std::string path_;
  bool flush_each_;
  bool flat_ = false;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string error_;
  std::string line_;  ///< add()'s buffer, kept between records
};

}  // namespace tcpscribe
