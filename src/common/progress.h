// A one-line progress display on stderr, only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tcpscribe {

class Progress {
 public:
  Progress();
  bool enabled() const { return enabled_; }
  /// Redraws at most every 200 ms. `total` 0 means the size is unknown.
  void update(const std::string& name, uint64_t done, uint64_t total,
              uint64_t packets, uint64_t flows);
  /// Erases the line.
  void clear();

 private:
  bool enabled_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace tcpscribe
