// The connection hash that splits work by connection: --shard I/N picks the
// connections with flow_hash % N == I, and --threads N gives each worker
// the connections with flow_hash % N == its index.
//
// Symmetric: both directions of a connection hash alike (it is taken over
// the canonical FlowKey: addresses and ports of both ends, sorted). The
// VLAN tags are left out, as they are from the flow table's key (routers on
// a stick tag the two directions differently). IP fragments are rebuilt by
// the decoder before the hash is taken, so every segment of a connection
// has its ports.
//
// Unkeyed and fixed, unlike the flow table's keyed hash (keyed_hash.h):
// machines that each take one shard of the same capture must agree on
// which connection is whose, in every run and every version. Traffic chosen
// to fall into one shard can only unbalance the shards, not slow a lookup.
#pragma once

#include <cstdint>
#include <cstring>

#include "keyed_hash.h"
#include "tcpscribe/flow_key.h"

namespace tcpscribe {

/// Changing it changes which shard every connection falls in: keep it.
constexpr uint64_t kFlowHashSeed = 0x7463707363726962ULL;  // "tcpscrib"

inline uint64_t flow_hash(const FlowKey& k) {
  uint64_t w[5];
  std::memcpy(w, k.lo.addr.bytes.data(), 16);
  std::memcpy(w + 2, k.hi.addr.bytes.data(), 16);
  w[4] = uint64_t{k.lo.port} << 32 | uint64_t{k.hi.port} << 16 |
         uint64_t{k.lo.addr.v6} << 1 | uint64_t{k.hi.addr.v6};
  return keyed_hash_words(kFlowHashSeed, w);
}

/// Of the segment's connection, whichever way it goes.
inline uint64_t flow_hash(const Endpoint& a, const Endpoint& b) {
  return flow_hash(FlowKey::of(a, b));
}

/// --shard I/N: this run takes the connections with flow_hash % count == index.
struct Shard {
  uint32_t index = 0;
  uint32_t count = 1;  ///< 1: every connection

  bool takes(uint64_t hash) const { return count <= 1 || hash % count == index; }
};

}  // namespace tcpscribe
