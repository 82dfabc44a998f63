#include "retired_tuples.h"

namespace tcpscribe {

RetiredTuples::~RetiredTuples() = default;

const RetiredTuple* RetiredTuples::find(const FlowKey& key) const {
  const Node* n = index_.find(key);
  return n ? &n->r : nullptr;
}

void RetiredTuples::unlink(Node& n) {
  (n.lru_prev ? n.lru_prev->lru_next : head_) = n.lru_next;
  (n.lru_next ? n.lru_next->lru_prev : tail_) = n.lru_prev;
  n.lru_prev = n.lru_next = nullptr;
}

void RetiredTuples::push_back(Node& n) {
  n.lru_prev = tail_;
  n.lru_next = nullptr;
  (tail_ ? tail_->lru_next : head_) = &n;
  tail_ = &n;
}

void RetiredTuples::bloom_bits(const FlowKey& key, size_t out[3]) const {
  // Three 24-bit windows of one keyed 64-bit hash.
  const uint64_t h = bloom_hash_(key);
  for (int i = 0; i < 3; ++i) out[i] = (h >> (i * 20)) & (kBloomBits - 1);
}

void RetiredTuples::put(const FlowKey& key, const RetiredTuple& r) {
  Node* n = index_.find(key);
  if (n) {
    unlink(*n);
  } else {
    if (index_.size() >= capacity_ && head_) {
      Node& old = *head_;
      if (bloom_.empty()) bloom_.assign(kBloomBits / 64, 0);
      size_t bits[3];
      bloom_bits(old.key, bits);
      for (size_t b : bits) bloom_[b / 64] |= uint64_t{1} << (b % 64);
      ++dropped_;
      const FlowKey gone = old.key;
      unlink(old);
      index_.erase(gone);  // destroys old
    }
    auto fresh = std::make_unique<Node>();
    fresh->key = key;
    n = index_.insert(std::move(fresh));
  }
  n->r = r;
  push_back(*n);
}

void RetiredTuples::erase(const FlowKey& key) {
  Node* n = index_.find(key);
  if (!n) return;
  unlink(*n);
  index_.erase(key);
}

bool RetiredTuples::maybe_dropped(const FlowKey& key) const {
  if (bloom_.empty()) return false;
  size_t bits[3];
  bloom_bits(key, bits);
  for (size_t b : bits) {
    if (!(bloom_[b / 64] >> (b % 64) & 1)) return false;
  }
  return true;
}

}  // namespace tcpscribe
