// What replay does on one connection, decided from the recording alone
// before any socket exists (so every pacing decision is a pure function of
// the recording and the options, and is unit-tested as such).
//
// Each client event of the recording (a chunk, its half-close, its reset)
// becomes a step. Before a step:
//  - conversational and original pacing wait until the target has sent, in
//    total, as many bytes as the recording shows the server sent before that
//    client event (and has closed its side, if the server had closed by
//    then), or until --response-timeout;
//  - original pacing also waits for the step's time: its recorded offset
//    from the connection's start, divided by --speed;
//  - `none` waits for nothing.
// Connections start at their recorded offset from the first connection
// (divided by --speed) with original pacing, at once otherwise.
//
// --replace rewrites the client stream as one stream: a match may span
// chunks, except across a point where the recording shows the server
// answering in between (the server answered without seeing more, so the
// held-back bytes are sent before waiting for it), or a half-close/reset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "replay_conversation.h"
#include "replay_framed.h"
#include "replay_rewrite.h"

namespace tcpscribe {

enum class Timing { kConversational, kOriginal, kNone };

/// Whose answer ends replay can see (replay_answer_count.h).
enum class AnswerProtocol { kNone, kResp, kHttp, kPostgres };

struct ReplayStep {
  enum class Kind { kSend, kHangup, kReset };
  Kind kind = Kind::kSend;
  std::string bytes;              ///< kSend: what goes out (after --replace; may be empty)
  /// kSend of a chunk left in the log (ReplayPlan::log): its record's
  /// offset there; `bytes` is then empty and the record is read when sent.
  bool from_log = false;
  uint64_t log_offset = 0;
  uint64_t size() const { return from_log ? recorded_bytes : bytes.size(); }
  uint64_t recorded_bytes = 0;    ///< kSend: the chunk's size in the recording
  uint64_t wait_server_bytes = 0; ///< the target's bytes (in total) to await first
  bool wait_server_close = false; ///< also await the target's half-close
  int64_t at_us = -1;             ///< original pacing: offset from the connection's start
  /// The recording's wait ended at the end of answer number wait_answers:
  /// the target's wait ends at its own answer's end (replay_answer_count.h).
  bool wait_on_answers = false;
  uint64_t wait_answers = 0;
};

struct ReplayPlan {
  std::string name;
  int64_t start_us = 0;          ///< offset from the replay's start (original pacing)
  std::vector<ReplayStep> steps;
  /// Everything the server sent, for --compare, when the conversation
  /// held it (a capture); a log's answer stays in `answer_log`.
  std::string recorded_answer;
  uint64_t recorded_answer_bytes = 0;  ///< its size, in either case
  std::string log;               ///< the log still holding data (Conversation::log_path)
  bool answer_in_log = false;    ///< the answer is there, not in recorded_answer
  /// Answer ends (count_recorded_answers()): the protocol, whether the
  /// client's first message was an SSLRequest / GSSENCRequest, and the
  /// recording's answers and error answers (counted to the end unless
  /// answers_lost).
  AnswerProtocol protocol = AnswerProtocol::kNone;
  bool pg_ssl_request = false;
  uint64_t recorded_answers = 0;
  uint64_t recorded_errors = 0;
  bool answers_lost = false;
  bool server_closed = false;    ///< the recording has the server's hup or err
  bool server_reset = false;     ///< ... and it was an err
  std::vector<std::string> warnings;
  /// --replace: how the client's messages were framed (replay_framed.h)
  /// and how many had their length fields rewritten.
  Framing framing = Framing::kPlain;
  uint64_t reframed = 0;
};

/// Scales a recorded duration: micros / speed, rounded to the nearest us.
int64_t scale_micros(int64_t micros, double speed);

/// `set_start_us`: the start of the earliest conversation of the set.
ReplayPlan make_plan(const Conversation& conv, int64_t set_start_us, Timing timing,
                     double speed, const std::vector<ReplaceRule>& rules);

}  // namespace tcpscribe
