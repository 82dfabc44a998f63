// What the harnesses share: a property check that stops the run with a
// message (libFuzzer then saves the input as a crash), and small helpers.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

/// Aborts with the failed property and where, so that libFuzzer reports
/// the input as a crash and run.sh names its reproducer.
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "\n*** property violated at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                           \
      std::fprintf(stderr, "    " __VA_ARGS__);                                \
      std::fprintf(stderr, "\n");                                              \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace tcpscribe::fuzz {

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// One byte of a harness-made stream, a function of where it is, so that
/// any byte delivered later can be checked against what was sent there.
inline uint8_t stream_byte(uint64_t a, uint64_t b, uint64_t position) {
  uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ position;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<uint8_t>(h);
}

}  // namespace tcpscribe::fuzz
