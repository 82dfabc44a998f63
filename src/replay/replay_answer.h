// The recorded server's answer of one plan, read a piece at a time for
// --compare: from memory (a capture's conversation), or again from the
// netrecord log (its 's' data records), so a log's answer is never held
// whole. The log is opened for each piece and closed again, so thousands
// of connections being compared hold no descriptors.
#pragma once

#include <cstdint>
#include <string>

#include "replay_plan.h"

namespace tcpscribe {

/// A client chunk left in the log (ReplayStep::from_log): its bytes, read
/// again. False with `error` (one line) when the log cannot give them.
bool read_chunk(const ReplayPlan& plan, const ReplayStep& step, std::string& out,
                std::string& error);

class AnswerReader {
 public:
  explicit AnswerReader(const ReplayPlan& plan) : plan_(plan) {}
  /// The next piece (about `want` bytes, at least one record of a log),
  /// empty at the end. A log that cannot be read again ends the answer
  /// there, with error() set.
  std::string next(size_t want = 1u << 20);
  bool done() const { return done_; }
  uint64_t given() const { return given_; }
  const std::string& error() const { return error_; }

 private:
  const ReplayPlan& plan_;
  uint64_t given_ = 0;       // bytes handed out
  uint64_t log_offset_ = 0;  // the next record's header in the log
  bool done_ = false;
  std::string error_;
};

}  // namespace tcpscribe
