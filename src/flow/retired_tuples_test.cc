#include "retired_tuples.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

FlowKey tuple(uint16_t port) {
  Endpoint a, b;
  a.addr.bytes[0] = 10;
  a.addr.bytes[3] = 1;
  a.port = port;
  b.addr.bytes[0] = 10;
  b.addr.bytes[3] = 2;
  b.port = 80;
  return FlowKey::of(a, b);
}

RetiredTuple numbered(uint32_t next) {
  RetiredTuple r;
  r.next_index = next;
  r.last_id = next * 10;
  return r;
}

// At capacity the least recently retired record goes; re-retiring a tuple
// makes it the most recent. A dropped tuple is known to the filter.
TEST(RetiredTuples, KeepsAtMostCapacityDroppingTheOldest) {
  RetiredTuples t(3);
  t.put(tuple(1), numbered(1));
  t.put(tuple(2), numbered(2));
  t.put(tuple(3), numbered(3));
  EXPECT_FALSE(t.maybe_dropped(tuple(1)));
  t.put(tuple(1), numbered(4));  // tuple 1 retired again: now the newest
  t.put(tuple(4), numbered(5));  // drops tuple 2
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.dropped(), 1u);
  EXPECT_EQ(t.find(tuple(2)), nullptr);
  EXPECT_TRUE(t.maybe_dropped(tuple(2)));
  ASSERT_NE(t.find(tuple(1)), nullptr);
  EXPECT_EQ(t.find(tuple(1))->next_index, 4u);
  EXPECT_EQ(t.find(tuple(3))->last_id, 30u);
  t.erase(tuple(3));
  EXPECT_EQ(t.find(tuple(3)), nullptr);
  EXPECT_FALSE(t.maybe_dropped(tuple(3)));  // erased, not dropped
  EXPECT_EQ(t.size(), 2u);
}

// 100,000 tuples through a capacity of 1,000: memory stays at the cap;
// the filter has no false negatives and few false positives.
TEST(RetiredTuples, StaysBoundedUnderManyTuples) {
  RetiredTuples t(1000);
  for (uint32_t i = 0; i < 100'000; ++i) {
    Endpoint a, b;
    a.addr.bytes = {10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8),
                    static_cast<uint8_t>(i)};
    a.port = 40000;
    b.port = 443;
    t.put(FlowKey::of(a, b), numbered(1));
  }
  EXPECT_EQ(t.size(), 1000u);
  EXPECT_EQ(t.dropped(), 99'000u);
  int false_positives = 0;
  for (uint32_t i = 0; i < 10'000; ++i) {
    Endpoint a, b;
    a.addr.bytes = {192, 168, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    b.port = 443;
    false_positives += t.maybe_dropped(FlowKey::of(a, b));
  }
  EXPECT_LT(false_positives, 10);
}

}  // namespace
}  // namespace tcpscribe
