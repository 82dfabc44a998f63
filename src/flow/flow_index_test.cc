#include "flow_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <vector>
#include <random>

namespace tcpscribe {
namespace {

struct Item {
  FlowKey key;
  int value = 0;
};

FlowKey key_of(uint32_t n) {
  Endpoint a, b;
  a.addr.bytes[15] = static_cast<uint8_t>(n);
  a.addr.bytes[14] = static_cast<uint8_t>(n >> 8);
  a.port = static_cast<uint16_t>(n >> 16);
  b.port = 80;
  return FlowKey::of(a, b);
}

// Random inserts, erases and lookups against std::map: erase's backward
// shift and the shrinking rehash must never lose or misplace an entry.
TEST(FlowIndex, AgreesWithAMapUnderRandomChurn) {
  std::mt19937 rng(12345);
  FlowIndex<Item> index;
  std::map<uint32_t, int> truth;
  for (int step = 0; step < 200000; ++step) {
    // A small key space so that probe runs collide and wrap; phases that
    // grow and then drain the table exercise growing and shrinking.
    const uint32_t space = (step / 20000) % 2 == 0 ? 5000 : 300;
    const uint32_t n = rng() % space;
    const int op = static_cast<int>(rng() % 3);
    Item* found = index.find(key_of(n));
    auto it = truth.find(n);
    ASSERT_EQ(found != nullptr, it != truth.end()) << "step " << step << " key " << n;
    if (found) {
      ASSERT_EQ(found->value, it->second);
    }
    if (op == 0 && !found) {
      auto item = std::make_unique<Item>();
      item->key = key_of(n);
      item->value = step;
      ASSERT_EQ(index.insert(std::move(item))->value, step);
      truth[n] = step;
    } else if (op == 1 || (op == 2 && (step / 20000) % 2 == 1)) {
      index.erase(key_of(n));
      truth.erase(n);
    }
    ASSERT_EQ(index.size(), truth.size());
  }
  for (const auto& [n, v] : truth) {
    Item* f = index.find(key_of(n));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->value, v);
  }
}

// The flow index's hash before it was keyed: a fixed chain of splitmix64
// finalizers, each a bijection, so tuples with any chosen hash can be
// computed backwards (what a hostile capture can do).
uint64_t splitmix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t inverse_mod_2_64(uint64_t c) {  // c odd; Newton's iteration
  uint64_t x = c;
  for (int i = 0; i < 6; ++i) x *= 2 - c * x;
  return x;
}

uint64_t unxorshift(uint64_t y, int s) {
  uint64_t x = y;
  for (int i = 0; i < 64 / s + 1; ++i) x = y ^ (x >> s);
  return x;
}

uint64_t unsplitmix(uint64_t x) {
  x = unxorshift(x, 31);
  x *= inverse_mod_2_64(0x94d049bb133111ebULL);
  x = unxorshift(x, 27);
  x *= inverse_mod_2_64(0xbf58476d1ce4e5b9ULL);
  return unxorshift(x, 30);
}

uint64_t old_unkeyed_hash(const FlowKey& k) {
  uint64_t w[4];
  std::memcpy(w, k.lo.addr.bytes.data(), 16);
  std::memcpy(w + 2, k.hi.addr.bytes.data(), 16);
  uint64_t h = splitmix(w[0] ^ (uint64_t{k.lo.port} << 48 | uint64_t{k.hi.port} << 32));
  h = splitmix(h ^ w[1]);
  h = splitmix(h ^ w[2]);
  return splitmix(h ^ w[3]);
}

// IPv6 tuples whose old hash is one and the same value: the last word of
// the higher address is solved for.
std::vector<FlowKey> colliding_tuples(size_t n, uint64_t target) {
  std::vector<FlowKey> out;
  for (size_t i = 0; i < n; ++i) {
    FlowKey k;
    k.lo.addr.v6 = k.hi.addr.v6 = true;
    k.lo.addr.bytes[0] = 0x20;
    k.lo.addr.bytes[15] = static_cast<uint8_t>(i);
    k.lo.addr.bytes[14] = static_cast<uint8_t>(i >> 8);
    k.lo.addr.bytes[13] = static_cast<uint8_t>(i >> 16);
    k.lo.port = 40000;
    k.hi.addr.bytes[0] = 0xfd;  // above lo: the key stays canonical
    k.hi.port = 443;
    uint64_t w[3];
    std::memcpy(w, k.lo.addr.bytes.data(), 16);
    std::memcpy(w + 2, k.hi.addr.bytes.data(), 8);
    uint64_t h = splitmix(w[0] ^ (uint64_t{k.lo.port} << 48 | uint64_t{k.hi.port} << 32));
    h = splitmix(splitmix(h ^ w[1]) ^ w[2]);
    const uint64_t last = unsplitmix(target) ^ h;
    std::memcpy(k.hi.addr.bytes.data() + 8, &last, 8);
    out.push_back(k);
  }
  return out;
}

// Hash flooding: 100,000 tuples that all shared one hash (so one home slot
// and a single probe run: quadratic work) under the unkeyed hash. With the
// run's keyed hash their probe runs stay as short as random tuples'.
TEST(FlowIndex, CraftedCollisionsOfTheUnkeyedHashDoNotLengthenProbes) {
  const std::vector<FlowKey> keys = colliding_tuples(100'000, 0x5eed5eed5eed5eedULL);
  std::set<FlowKey, bool (*)(const FlowKey&, const FlowKey&)> distinct(
      [](const FlowKey& a, const FlowKey& b) {
        return std::tie(a.lo, a.hi) < std::tie(b.lo, b.hi);
      });
  for (const FlowKey& k : keys) {
    ASSERT_EQ(old_unkeyed_hash(k), 0x5eed5eed5eed5eedULL);
    distinct.insert(k);
  }
  ASSERT_EQ(distinct.size(), keys.size());
  FlowIndex<Item> index;
  for (const FlowKey& k : keys) {
    auto item = std::make_unique<Item>();
    item->key = k;
    index.insert(std::move(item));
  }
  ASSERT_EQ(index.size(), keys.size());
  uint64_t total = 0;
  size_t longest = 0;
  for (const FlowKey& k : keys) {
    const size_t n = index.probe_length(k);
    ASSERT_NE(index.find(k), nullptr);
    total += n;
    longest = std::max(longest, n);
  }
  // Linear probing at most half full: about 1.5 slots per hit on average,
  // the longest run a few dozen; colliding keys would average 50,000.
  EXPECT_LT(static_cast<double>(total) / keys.size(), 3.0);
  EXPECT_LT(longest, 100u);
  // A tuple that is not there stops at the end of a short run as well.
  EXPECT_LT(index.probe_length(colliding_tuples(100'001, 0x5eed5eed5eed5eedULL).back()), 100u);
}

// The hash is keyed: two seeds spread the same tuples differently.
TEST(FlowIndex, HashDependsOnTheSeed) {
  const std::vector<FlowKey> keys = colliding_tuples(64, 1);
  FlowKeyHash a{1}, b{2};
  int same = 0;
  for (const FlowKey& k : keys) same += (a(k) & 0xffff) == (b(k) & 0xffff);
  EXPECT_LE(same, 2);
  EXPECT_NE(run_hash_seed(), 0u);
  EXPECT_EQ(run_hash_seed(), run_hash_seed());
}

}  // namespace
}  // namespace tcpscribe
