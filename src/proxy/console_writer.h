// The proxy's console output off the event loop: records (whole lines of
// the console view) go into a bounded queue that a thread of its own
// writes to the descriptor. Forwarding never waits for the console: when
// stdout is a pipe nobody reads (`| less` left unscrolled, a paused
// terminal), records beyond the queue's budget are dropped whole and
// counted, and the first record accepted after a loss is preceded by one
// line saying how many were not shown (the logs and other outputs are
// complete; only the view lost them).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace tcpscribe {

class ConsoleWriter {
 public:
  /// The queue's default budget: text waiting for the descriptor.
  static constexpr size_t kDefaultBudget = 8u << 20;

  /// `lost_line(records, bytes)`: the line announcing a loss (text or JSON).
  ConsoleWriter(int fd, size_t budget,
                std::function<std::string(uint64_t records, uint64_t bytes)> lost_line);
  ~ConsoleWriter();
  ConsoleWriter(const ConsoleWriter&) = delete;
  ConsoleWriter& operator=(const ConsoleWriter&) = delete;

  /// Queues one record; never blocks on the descriptor. False: dropped
  /// (the queue is over budget) or the descriptor failed (EPIPE).
  bool push(std::string record);

  /// Waits up to `seconds` for the queue to be written, then stops; a
  /// descriptor that still blocks is abandoned (its thread left to the
  /// process's exit). Returns the records never shown, counting those
  /// still queued.
  uint64_t finish(double seconds);

  uint64_t records_lost() const;
  uint64_t bytes_lost() const;
  /// The descriptor failed (the reader went away); nothing more is written.
  bool broken() const;

 private:
  struct State;
  static void run(std::shared_ptr<State> st);
  void start();

  std::shared_ptr<State> st_;
  std::thread thread_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace tcpscribe
