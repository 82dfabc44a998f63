// Where answers end, for conversational pacing and error counts. A client
// that speaks RESP, HTTP/1 or PostgreSQL (told by its first bytes) gets
// answers whose ends can be seen: a complete RESP reply (aggregates with
// all their elements, RESP3 attributes belong to the reply after them), an
// HTTP response (Content-Length, chunked, 204/304; 1xx are not answers), a
// PostgreSQL ReadyForQuery (and the one-byte answer to SSLRequest /
// GSSENCRequest). Replay waits for the target's Nth answer end where the
// recording showed N before the client spoke, instead of for a byte count
// and a quiet period, and counts error answers (RESP errors, HTTP status
// >= 400, PostgreSQL ErrorResponse) in both answers.
//
// The counter is streaming with bounded memory (a line or head of at most
// 64 KiB is held); bytes that do not parse stop the counting (lost()), as
// does an HTTP body that runs until the close or a 101 switch. Answers to
// HEAD requests cannot be told from the response alone: their Content-Length
// would be waited for, so such a client falls back to the quiet period.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "replay_plan.h"

namespace tcpscribe {

/// From the client's first bytes (its first chunk).
AnswerProtocol detect_answer_protocol(std::string_view client_first);
const char* answer_protocol_name(AnswerProtocol p);

class AnswerCounter {
 public:
  explicit AnswerCounter(AnswerProtocol p, bool pg_ssl_request = false);
  void feed(std::string_view bytes);
  uint64_t answers() const { return answers_; }
  uint64_t errors() const { return errors_; }
  /// Between answers: the last byte fed ended one (or nothing came yet).
  bool at_answer_end() const;
  /// Counting stopped: bytes that do not parse, or a body to the close.
  bool lost() const { return lost_; }

 private:
  void feed_resp(std::string_view& in);
  void feed_http(std::string_view& in);
  void feed_pg(std::string_view& in);
  /// Takes bytes up to a "\r\n" into line_; true when the line is whole.
  bool take_line(std::string_view& in, size_t cap);
  void resp_element_done(bool error);
  void resp_head(std::string_view line);
  void http_head(std::string_view head);
  void answer_done(bool error);


  AnswerProtocol p_;
  uint64_t answers_ = 0;
  uint64_t errors_ = 0;
  bool lost_ = false;
  std::string line_;        // a line (RESP, chunk size) or head (HTTP) being read
  uint64_t skip_ = 0;       // payload bytes to pass over
  // RESP: open aggregates, elements left in each; an attribute's frame is
  // marked so that its end is not an answer.
  struct Frame {
    int64_t left;
    bool attribute;
  };
  std::vector<Frame> frames_;
  bool resp_error_ = false;  // an error element inside the current reply
  bool skip_is_error_ = false;
  // HTTP
  enum class Http { kHead, kBody, kChunkSize, kChunkData, kTrailers } http_ = Http::kHead;
  bool http_error_ = false;
  // PostgreSQL
  bool pg_ssl_ = false;     // the next byte answers an SSLRequest / GSSENCRequest
  uint8_t pg_hdr_[5] = {0, 0, 0, 0, 0};
  size_t pg_hdr_len_ = 0;
  bool mid_ = false;        // inside an answer
};

/// Counts the recorded answer of `plan` (read as --compare reads it) and
/// sets, for each step whose wait ended at an answer's end in the
/// recording, how many answers to wait for; plus the plan's protocol and
/// recorded answer and error counts. The client's first chunk tells the
/// protocol; a plan without one is left as it is.
void count_recorded_answers(ReplayPlan& plan);

}  // namespace tcpscribe
