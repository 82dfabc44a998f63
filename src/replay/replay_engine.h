// Drives replay plans against the target: one thread, one epoll loop,
// non-blocking sockets, however many connections are open.
//
// Timing: every time is on CLOCK_MONOTONIC in nanoseconds and every
// deadline is absolute (replay start + scheduled offset), so lateness never
// accumulates. The loop sleeps in epoll_pwait2 (nanosecond timeout, timer
// slack lowered to 1 ns) until kSpinNs before the earliest deadline, then
// spins on the clock for the rest: a sleeping thread wakes tens of
// microseconds late, a spinning one within a clock read. Sockets have
// TCP_NODELAY, so a chunk leaves when it is written.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "replay_plan.h"

namespace tcpscribe {

struct EngineOptions {
  sockaddr_storage target{};
  socklen_t target_len = 0;
  std::string target_text;             ///< for messages: "127.0.0.1:6379"
  int64_t response_timeout_ns = 2'000'000'000;
  int64_t connect_timeout_ns = 3'000'000'000;
  /// A wait ends early once the target sent part of the answer and has
  /// been quiet this long (0: never).
  int64_t settle_ns = 200'000'000;
  /// Called after each turn of the loop (the callee throttles): connections
  /// finished, their number, bytes sent and received so far.
  std::function<void(size_t done, size_t total, uint64_t sent, uint64_t received)> progress;
  size_t concurrency = 0;              ///< open connections at most (0: no limit)
  /// Given what the target sends, as it comes (--compare), per job.
  std::function<void(size_t job, std::string_view bytes)> on_answer;
  std::string record_root;             ///< --record: netrecord logs of the replay
  bool realtime = false;               ///< --realtime: SCHED_FIFO, so busy CPUs cannot delay sends
};

struct ReplayJob {
  const ReplayPlan* plan = nullptr;
  unsigned iteration = 0;  ///< 0 .. --repeat-1
};

struct JobResult {
  enum class Status { kNotRun, kDone, kConnectFailed, kFailed };
  Status status = Status::kNotRun;
  std::string error;             ///< why it failed, one line
  uint64_t sent_bytes = 0;
  uint64_t received_bytes = 0;
  uint64_t steps_done = 0;
  uint64_t waits_timed_out = 0;  ///< steps sent after --response-timeout
  uint64_t waits_settled = 0;    ///< steps sent after a shorter answer went quiet (--settle)
  uint64_t first_timeout_wanted = 0;  ///< bytes awaited at the first timeout
  uint64_t first_timeout_had = 0;
  uint64_t answers = 0;          ///< answer ends seen (the plan's protocol)
  uint64_t error_answers = 0;
  bool answers_lost = false;     ///< the target's bytes stopped parsing
  bool target_closed = false;
  bool target_reset = false;
  std::string record_path;       ///< --record: this connection's log
};

/// One scheduled action (a timed send or a connection start) and when it
/// actually happened, in ns since the replay started.
struct TimingSample {
  int64_t scheduled_ns = 0;
  int64_t actual_ns = 0;
  size_t job = 0;
  size_t step = 0;  ///< SIZE_MAX for a connection start
};

struct EngineResult {
  std::vector<JobResult> jobs;
  std::vector<TimingSample> sends;   ///< timed sends whose deadline was the binding constraint
  std::vector<TimingSample> starts;  ///< connection starts not held back by --concurrency
  uint64_t sends_held_by_target = 0; ///< timed sends that had to wait for the target instead
  int64_t elapsed_ns = 0;
  std::string record_error;          ///< a --record log could not be written (first error)
  std::string realtime_error;        ///< --realtime could not be had (why)
};

/// Kept below the next deadline by the sleeping part of the loop.
constexpr int64_t kSpinNs = 200'000;

EngineResult run_replay_engine(const std::vector<ReplayJob>& jobs, const EngineOptions& opt);

}  // namespace tcpscribe
