#include "packet_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace tcpscribe {
namespace {

std::vector<uint8_t> frame(uint8_t fill, size_t n) { return std::vector<uint8_t>(n, fill); }

// A batch's buffer has a fixed size: add() refuses a packet that does not
// fit instead of reallocating (and moving) what the batch already holds.
TEST(PacketBatch, FillsUpWithoutMovingWhatItHolds) {
  PacketBatch b = PacketBatch::make();
  b.linktype = 1;
  const auto big = frame(0xab, 65536);
  size_t n = 0;
  const uint8_t* first = nullptr;
  while (b.add(static_cast<Timestamp>(n), 65536, 70000, big.data())) {
    if (n == 0) first = b.at(0).data;
    ++n;
  }
  EXPECT_EQ(n, PacketBatch::kCapacity / 65536);
  EXPECT_EQ(b.at(0).data, first);  // never moved
  EXPECT_EQ(b.at(n - 1).origlen, 70000u);
  EXPECT_EQ(b.at(n - 1).data[65535], 0xab);
  EXPECT_EQ(b.at(n - 1).linktype, 1);
  b.clear();
  const auto small = frame(7, 60);
  EXPECT_TRUE(b.add(5, 60, 60, small.data()));
  EXPECT_EQ(b.packets.size(), 1u);
  EXPECT_EQ(b.at(0).data, first);  // the buffer is reused from its start
}

TEST(PacketQueue, RecyclesBatchesAndBoundsItsMemory) {
  PacketQueue q(3 * PacketBatch::kCapacity);
  q.reserve();
  PacketBatch a = q.take_free();
  ASSERT_TRUE(a.has_buffer());
  const auto f = frame(1, 100);
  ASSERT_TRUE(a.add(1, 100, 100, f.data()));
  const uint8_t* mem = a.at(0).data;
  ASSERT_TRUE(q.push(std::move(a)));
  PacketBatch got;
  ASSERT_TRUE(q.pop(got, std::chrono::milliseconds(10)));
  EXPECT_EQ(got.at(0).data[0], 1);
  q.recycle(std::move(got));
  // The recycled batch comes back first: no fresh memory for the next one.
  PacketBatch again = q.take_free();
  EXPECT_EQ(again.packets.size(), 0u);
  ASSERT_TRUE(again.add(2, 100, 100, f.data()));
  EXPECT_EQ(again.at(0).data, mem);
  // Bounded: a batch that would pass the limit is refused (while the
  // queue holds something), and the caller keeps it.
  ASSERT_TRUE(q.push(std::move(again)));
  PacketBatch b2 = q.take_free(), b3 = q.take_free();
  ASSERT_TRUE(b2.add(3, 100, 100, f.data()));
  ASSERT_TRUE(b3.add(4, 100, 100, f.data()));
  ASSERT_TRUE(q.push(std::move(b2)));
  EXPECT_FALSE(q.push(std::move(b3)));
  EXPECT_EQ(b3.packets.size(), 1u);
}

}  // namespace
}  // namespace tcpscribe
