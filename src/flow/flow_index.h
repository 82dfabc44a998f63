// The flow table's index of open connections: FlowKey -> owned object that
// carries its own key (T::key).
//
// Every packet looks its connection up. std::unordered_map costs three
// dependent cache misses per lookup on a large table (the bucket's
// predecessor node, the node, the object it points to); here the slots are
// a compact array holding each hash next to its pointer, so a lookup reads
// one slot and then the object itself, which the caller needs anyway.
// Open addressing with linear probing; erase shifts the following entries
// back, so there are no deleted markers and no degradation over time.
// The tuples come from the traffic: the hash is keyed with the run's random
// seed (keyed_hash.h), so no set of tuples can be crafted to share a probe
// run (hash flooding).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "keyed_hash.h"
#include "tcpscribe/flow_key.h"

namespace tcpscribe {

/// The flow tuple's hash, keyed (keyed_hash.h).
struct FlowKeyHash {
  uint64_t seed = run_hash_seed();
  // Deliberately not noexcept: in a std::unordered_map libstdc++ then stores
  // each node's hash in the node, so a lookup compares hashes before keys.
  size_t operator()(const FlowKey& k) const {
    // The addresses and ports as four words: one finalizer each, as the
    // unkeyed hash this replaces (no slower per packet).
    uint64_t w[4];
    std::memcpy(w, k.lo.addr.bytes.data(), 16);
    std::memcpy(w + 2, k.hi.addr.bytes.data(), 16);
    w[0] ^= uint64_t{k.lo.port} << 48 | uint64_t{k.hi.port} << 32;
    return static_cast<size_t>(keyed_hash_words(seed, w));
  }
};

template <typename T>
class FlowIndex {
 public:
  size_t size() const { return size_; }

  T* find(const FlowKey& key) const {
    if (size_ == 0) return nullptr;
    const size_t h = hash_(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (!s.value) return nullptr;
      if (s.hash == h && s.value->key == key) return s.value.get();
    }
  }

  /// Adds `v`, whose key must not be present yet.
  T* insert(std::unique_ptr<T> v) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<size_t>(kMinSlots, slots_.size() * 2));
    const size_t h = hash_(v->key);
    T* raw = v.get();
    place(h, std::move(v));
    ++size_;
    return raw;
  }

  /// Removes and destroys the object with `key`, if any.
  void erase(const FlowKey& key) { take(key); }

  /// Removes the object with `key` and hands it over (null: none).
  std::unique_ptr<T> take(const FlowKey& key) {
    if (size_ == 0) return nullptr;
    const size_t h = hash_(key);
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
      if (!slots_[i].value) return nullptr;
      if (slots_[i].hash == h && slots_[i].value->key == key) break;
    }
    std::unique_ptr<T> out = std::move(slots_[i].value);
    --size_;
    // Backward shift: move later entries of the probe run into the hole
    // unless their home slot lies cyclically after the hole.
    for (size_t j = (i + 1) & mask; slots_[j].value; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash & mask;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
    // Give memory back after a burst of connections (bounded memory).
    if (slots_.size() > kMinSlots && size_ * 8 < slots_.size()) rehash(slots_.size() / 2);
    return out;
  }

  /// Slots a find() of `key` reads (tests: probe runs stay short).
  size_t probe_length(const FlowKey& key) const {
    if (size_ == 0) return 0;
    const size_t h = hash_(key);
    const size_t mask = slots_.size() - 1;
    size_t n = 1;
    for (size_t i = h & mask;; i = (i + 1) & mask, ++n) {
      const Slot& s = slots_[i];
      if (!s.value || (s.hash == h && s.value->key == key)) return n;
    }
  }

 private:
  static constexpr size_t kMinSlots = 64;
  struct Slot {
    size_t hash = 0;
    std::unique_ptr<T> value;  // null: empty
  };

  void place(size_t h, std::unique_ptr<T> v) {
    const size_t mask = slots_.size() - 1;
    size_t i = h & mask;
    while (slots_[i].value) i = (i + 1) & mask;
    slots_[i].hash = h;
    slots_[i].value = std::move(v);
  }

  void rehash(size_t n) {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(n));
    for (Slot& s : old) {
      if (s.value) place(s.hash, std::move(s.value));
    }
  }

  FlowKeyHash hash_;
  std::vector<Slot> slots_;  // a power of two, at most half full
  size_t size_ = 0;
};

}  // namespace tcpscribe
