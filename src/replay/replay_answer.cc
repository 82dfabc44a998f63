#include "replay_answer.h"

#include <algorithm>

#include "netrecord.h"

namespace tcpscribe {

bool read_chunk(const ReplayPlan& plan, const ReplayStep& step, std::string& out,
                std::string& error) {
  NetrecordReader reader;
  NetrecordRecord r;
  if (!reader.open(plan.log, step.log_offset) ||
      reader.next(r) != NetrecordReader::Status::kRecord || r.kind != NetrecordRecord::Kind::kData ||
      r.side != 'c' || r.data.size() != step.recorded_bytes) {
    error = plan.log + ": the client's record at byte " + std::to_string(step.log_offset) +
            " could not be read again" + (reader.error().empty() ? "" : ": " + reader.error()) +
            " (was the log changed during the replay?)";
    return false;
  }
  out = std::move(r.data);
  return true;
}

std::string AnswerReader::next(size_t want) {
  std::string piece;
  // The answer ends where the plan's did: a log still being written may
  // have grown since it was loaded.
  const uint64_t total = plan_.recorded_answer_bytes;
  if (done_ || given_ >= total) {
    done_ = true;
    return piece;
  }
  if (!plan_.answer_in_log) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(want, total - given_));
    piece.assign(plan_.recorded_answer, static_cast<size_t>(given_), n);
  } else {
    NetrecordReader reader;
    if (!reader.open(plan_.log, log_offset_)) {
      error_ = reader.error();
      done_ = true;
      return piece;
    }
    NetrecordRecord r;
    while (piece.size() < want && given_ + piece.size() < total) {
      const NetrecordReader::Status st = reader.next(r);
      if (st != NetrecordReader::Status::kRecord) {
        if (st != NetrecordReader::Status::kEnd) error_ = reader.error();
        done_ = true;
        break;
      }
      log_offset_ = reader.tell();
      if (r.side != 's' || r.kind != NetrecordRecord::Kind::kData) continue;
      piece.append(r.data, 0, static_cast<size_t>(total - given_ - piece.size()));
    }
  }
  given_ += piece.size();
  if (given_ >= total) done_ = true;
  return piece;
}

}  // namespace tcpscribe
