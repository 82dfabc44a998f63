#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace tcpscribe {

Progress::Progress() : enabled_(isatty(STDERR_FILENO) == 1) {}

void Progress::update(const std::string& name, uint64_t done, uint64_t total,
                      uint64_t packets, uint64_t flows) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  drawn_ = true;
  if (total > 0) {
    std::fprintf(stderr, "\r\033[K%s: %3.0f%%  %llu packets  %llu connections", name.c_str(),
                 100.0 * static_cast<double>(done) / static_cast<double>(total),
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows));
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu packets  %llu connections", name.c_str(),
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows));
  }
}

void Progress::clear() {
  if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

}  // namespace tcpscribe
