#include "packet_queue.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
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
  q.top_up();
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

// Pages of a batch's buffer that are in memory now.
size_t resident_pages(const PacketBatch& b) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec(PacketBatch::kCapacity / page);
  if (mincore(const_cast<uint8_t*>(b.data()), PacketBatch::kCapacity, vec.data()) != 0) return 0;
  size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

// Nothing is mapped up front: top_up() makes only the spare batches asked
// for, faulted in, and never more than the queue holds.
TEST(PacketQueue, MapsMemoryAsItIsUsedAFewBatchesAhead) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  PacketQueue q(64 * PacketBatch::kCapacity, 3);  // 256 MiB, 3 ahead
  EXPECT_EQ(q.batches_made(), 0u);
  EXPECT_EQ(q.top_up(), 3u);
  EXPECT_EQ(q.top_up(), 0u);  // enough spares
  EXPECT_EQ(q.batches_made(), 3u);
  PacketBatch a = q.take_free();
  EXPECT_EQ(resident_pages(a), PacketBatch::kCapacity / page);  // faulted in ahead
  EXPECT_EQ(q.top_up(), 1u);  // one taken, one made
  EXPECT_EQ(q.batches_made(), 4u);
  EXPECT_EQ(q.made_on_demand(), 0u);
  // A batch made fresh holds no memory until written.
  EXPECT_EQ(resident_pages(PacketBatch::make()), 0u);

  PacketQueue small(2 * PacketBatch::kCapacity, 8);  // holds 3 batches at most
  EXPECT_EQ(small.top_up(), 3u);
  PacketBatch x = small.take_free();
  EXPECT_EQ(small.top_up(), 0u);  // the bound is reached: no more ahead
  EXPECT_EQ(small.batches_made(), 3u);
}

// Batches come back through recycle() and discard(), so steady use makes
// no new memory; only when no spare is ready does take_free() make one.
TEST(PacketQueue, ReusesBatchesAndMakesOneOnDemandOnlyWhenNoneIsReady) {
  PacketQueue q(16 * PacketBatch::kCapacity, 2);
  PacketBatch first = q.take_free();  // nothing ready yet
  EXPECT_TRUE(first.has_buffer());
  EXPECT_EQ(q.made_on_demand(), 1u);
  EXPECT_TRUE(q.wait_for_demand());  // spares are short: returns at once
  EXPECT_EQ(q.top_up(), 2u);
  const auto f = frame(9, 1500);
  for (int round = 0; round < 20; ++round) {
    PacketBatch b = q.take_free();
    q.top_up();  // as the faulting thread does meanwhile
    ASSERT_TRUE(b.add(round, 1500, 1500, f.data()));
    ASSERT_TRUE(b.add(round, 1500, 1500, f.data()));
    ASSERT_TRUE(q.push(std::move(b)));
    PacketBatch got;
    ASSERT_TRUE(q.pop(got, std::chrono::milliseconds(10)));
    q.recycle(std::move(got));
  }
  EXPECT_EQ(q.batches_made(), 4u);  // first, two ahead, one replacing the one in use
  for (int i = 0; i < 3; ++i) {
    PacketBatch b = q.take_free();
    ASSERT_TRUE(b.add(i, 1500, 1500, f.data()));
    ASSERT_TRUE(q.push(std::move(b)));
  }
  EXPECT_EQ(q.queued_packets(), 3u);
  EXPECT_EQ(q.queued_bytes(), 4500u);
  EXPECT_EQ(q.discard(), 3u);
  EXPECT_EQ(q.queued_packets(), 0u);
  EXPECT_EQ(q.queued_bytes(), 0u);
  EXPECT_TRUE(q.empty());
  q.top_up();
  EXPECT_EQ(q.batches_made(), 4u);  // the discarded batches are spares again
  EXPECT_EQ(q.made_on_demand(), 1u);
}

TEST(PacketQueue, TheFaultingThreadWakesWhenSparesRunLowAndStops) {
  PacketQueue q(16 * PacketBatch::kCapacity, 2);
  std::atomic<int> rounds{0};
  std::thread faulter([&] {
    while (q.wait_for_demand()) {
      q.top_up();
      ++rounds;
    }
  });
  PacketBatch b = q.take_free();  // wakes it whether or not it had started
  for (int i = 0; i < 200 && q.batches_made() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(q.batches_made(), 3u);  // two ahead plus the one taken
  q.stop_faulting();
  faulter.join();
  EXPECT_GE(rounds.load(), 1);
}

}  // namespace
}  // namespace tcpscribe
