// Hashing of keys that the traffic chooses (addresses, ports, fragment
// ids). Whoever sends the packets or writes the capture picks the keys, so
// an unkeyed hash lets them precompute keys that all land in one bucket
// (hash flooding: 100,000 such connections took 31.8 s instead of 0.77 s).
// Every hash of such keys starts from a seed drawn at random once per run,
// so no key set collides on every run.
//
// Not a cryptographic MAC (SipHash would cost several times more per
// packet): the seed enters before the first word and every word goes
// through a full-avalanche finalizer, so which keys collide depends on the
// seed in a way the traffic cannot see (nothing tcpscribe outputs depends
// on hash order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace tcpscribe {

/// Murmur3's 64-bit finalizer: a bijection in which every input bit
/// reaches every output bit (tables index by the low bits).
inline uint64_t fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb93fe53a87ebULL;
  h ^= h >> 33;
  return h;
}

/// Random, drawn once per process (getrandom; if that fails, the clock,
/// the process id and ASLR'd addresses). Never changes during a run.
uint64_t run_hash_seed();

/// The keyed hash of N words: as cheap as an unkeyed chain of finalizers
/// (one per word), which is what it replaces. N is a constant so that the
/// chain is unrolled (it runs for every packet).
template <size_t N>
inline uint64_t keyed_hash_words(uint64_t seed, const uint64_t (&words)[N]) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    uint64_t h = seed;
    ((h = fmix64(h ^ words[I])), ...);
    return h;
  }(std::make_index_sequence<N>{});
}

}  // namespace tcpscribe
