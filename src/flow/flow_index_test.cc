#include "flow_index.h"

#include <gtest/gtest.h>

#include <map>
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

}  // namespace
}  // namespace tcpscribe
