// What the flow table remembers of tuples whose connection is gone (after
// its tombstone expired, or evicted by --max-flows, or idle): the number
// the next connection on the tuple gets (c1, c2 ... in file names), and
// for an evicted connection where its streams stood, so that its later
// packets continue it.
//
// Bounded: at most `capacity` records, the least recently retired dropped
// first (2M SYNs with --max-flows 1000 used to keep 2M records, 198 MB).
// A dropped tuple goes into a fixed-size Bloom filter; a later connection
// on a tuple the filter may have seen gets number 0 again and continues
// (appends to) that number's files instead of replacing them. What is lost
// is only the numbering (c1, c2 ...) of tuples reused after more than
// `capacity` other tuples retired; no bytes. A false positive appends to a
// file left by an earlier run instead of replacing it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "flow_index.h"

namespace tcpscribe {

struct RetiredTuple {
  uint32_t next_index = 0;  ///< reuse index of the next connection on the tuple
  uint64_t last_id = 0;     ///< the connection that had it
  bool clean = false;       ///< that connection ended by both FINs
  /// --max-flows evicted that connection; where it stood, so that later
  /// packets of it continue its streams (and files).
  bool evicted = false;
  // Of an evicted connection: enough to tell its own later packets from a
  // new connection's, as if it had stayed open. Per direction, client's first.
  Endpoint client;
  bool syn_seen[2] = {false, false};   ///< the client's SYN, the server's SYN-ACK
  uint32_t isn[2] = {0, 0};
  bool base_known[2] = {false, false}; ///< where each stream started
  uint32_t base_seq[2] = {0, 0};
  bool seq_known[2] = {false, false};
  uint32_t next_seq[2] = {0, 0};       ///< sequence number of the next byte
};

class RetiredTuples {
 public:
  explicit RetiredTuples(size_t capacity) : capacity_(capacity ? capacity : 1) {}
  ~RetiredTuples();
  RetiredTuples(const RetiredTuples&) = delete;
  RetiredTuples& operator=(const RetiredTuples&) = delete;

  /// The record of `key`, or null.
  const RetiredTuple* find(const FlowKey& key) const;
  /// Records (or replaces) `key`'s record; drops the oldest beyond capacity.
  void put(const FlowKey& key, const RetiredTuple& r);
  /// Forgets `key` (its record was used up by a continuation).
  void erase(const FlowKey& key);
  /// True when a record of `key` may have been dropped (no false negatives).
  bool maybe_dropped(const FlowKey& key) const;

  size_t size() const { return index_.size(); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Node {
    FlowKey key;
    RetiredTuple r;
    Node* lru_prev = nullptr;
    Node* lru_next = nullptr;
  };
  static constexpr size_t kBloomBits = size_t{1} << 24;  // 2 MB, made on first drop
  void unlink(Node& n);
  void push_back(Node& n);
  void bloom_bits(const FlowKey& key, size_t out[3]) const;

  size_t capacity_;
  FlowIndex<Node> index_;
  Node* head_ = nullptr;  // least recently retired
  Node* tail_ = nullptr;
  std::vector<uint64_t> bloom_;
  FlowKeyHash bloom_hash_{fmix64(run_hash_seed() ^ 0x9e3779b97f4a7c15ULL)};
  uint64_t dropped_ = 0;
};

}  // namespace tcpscribe
