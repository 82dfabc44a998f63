#include "keyed_hash.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>

namespace tcpscribe {
namespace {

uint64_t draw_seed() {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof s) && s != 0) {
    return s;
  }
  // No entropy yet (early boot) or no getrandom: still different per run.
  static int anchor;
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return fmix64(static_cast<uint64_t>(now) ^ fmix64(static_cast<uint64_t>(getpid())) ^
                reinterpret_cast<uintptr_t>(&anchor) ^ 0x243f6a8885a308d3ULL);
}

}  // namespace

uint64_t run_hash_seed() {
  static const uint64_t seed = draw_seed();
  return seed;
}

}  // namespace tcpscribe
