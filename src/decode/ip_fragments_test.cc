#include "ip_fragments.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace tcpscribe {
namespace {

constexpr Timestamp kT0 = 1'700'000'000 * kNanosPerSecond;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kTcp = 6;

IpAddr V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  return IpAddr::v4_from(bytes);
}

IpAddr V6(uint8_t last) {
  uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
  bytes[15] = last;
  return IpAddr::v6_from(bytes);
}

// Bytes that differ at every position of a datagram (and between
// datagrams with different seeds), so misplaced data shows up.
std::vector<uint8_t> Pattern(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<uint8_t>(i * 7 + seed + (i >> 8));
  }
  return v;
}

// One datagram's identity plus its whole payload; Feed() hands a slice of
// that payload to the defragmenter as a fragment.
struct Datagram {
  IpAddr src = V4(10, 0, 0, 1);
  IpAddr dst = V4(10, 0, 0, 2);
  uint32_t id = 0x1234;
  uint8_t protocol = kTcp;
  std::vector<uint8_t> payload;

  bool Feed(IpDefragmenter& d, Timestamp ts, uint32_t off, size_t len,
            bool more, std::vector<uint8_t>& out) const {
    return FeedBytes(d, ts, off, payload.data() + off, len, more, out);
  }
  bool FeedBytes(IpDefragmenter& d, Timestamp ts, uint32_t off,
                 const uint8_t* data, size_t len, bool more,
                 std::vector<uint8_t>& out) const {
    return d.add(ts, src, dst, id, protocol, off, more, data, len, out);
  }
  // The last fragment: [off, payload.size()).
  bool FeedTail(IpDefragmenter& d, Timestamp ts, uint32_t off,
                std::vector<uint8_t>& out) const {
    return Feed(d, ts, off, payload.size() - off, false, out);
  }
};

Datagram MakeDatagram(size_t n, uint8_t seed = 1) {
  Datagram g;
  g.payload = Pattern(n, seed);
  return g;
}

void ExpectIdle(const IpDefragmenter& d) {
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.pending_datagrams(), 0u);
}

TEST(IpDefragmenter, InOrder) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 0, 1480, true, out));
  EXPECT_FALSE(g.Feed(d, kT0 + 1, 1480, 1480, true, out));
  EXPECT_GT(d.pending_bytes(), 0u);
  EXPECT_TRUE(out.empty());  // Untouched while incomplete.
  ASSERT_TRUE(g.FeedTail(d, kT0 + 2, 2960, out));
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().fragments, 3u);
  EXPECT_EQ(d.stats().reassembled, 1u);
  EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
  EXPECT_EQ(d.stats().malformed, 0u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, ReverseOrder) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.FeedTail(d, kT0, 2960, out));
  EXPECT_FALSE(g.Feed(d, kT0, 1480, 1480, true, out));
  ASSERT_TRUE(g.Feed(d, kT0, 0, 1480, true, out));
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().reassembled, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, MiddleFirst) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 1480, 1480, true, out));
  EXPECT_FALSE(g.Feed(d, kT0, 0, 1480, true, out));
  ASSERT_TRUE(g.FeedTail(d, kT0, 2960, out));
  EXPECT_EQ(out, g.payload);
  ExpectIdle(d);
}

TEST(IpDefragmenter, Duplicates) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.FeedTail(d, kT0, 2960, out));
  EXPECT_FALSE(g.FeedTail(d, kT0, 2960, out));
  EXPECT_FALSE(g.Feed(d, kT0, 0, 1480, true, out));
  EXPECT_FALSE(g.Feed(d, kT0, 0, 1480, true, out));
  ASSERT_TRUE(g.Feed(d, kT0, 1480, 1480, true, out));
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().fragments, 5u);
  EXPECT_EQ(d.stats().reassembled, 1u);
  EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
  EXPECT_EQ(d.stats().malformed, 0u);
  ExpectIdle(d);

  // A retransmitted fragment after completion starts a new datagram, which
  // cannot complete on its own; it must not replay the finished one.
  out.clear();
  EXPECT_FALSE(g.Feed(d, kT0, 1480, 1480, true, out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.pending_datagrams(), 1u);
}

TEST(IpDefragmenter, OverlappingSameBytes) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 16, 24, true, out));  // [16, 40)
  EXPECT_FALSE(g.Feed(d, kT0, 0, 24, true, out));   // [0, 24) overlaps
  EXPECT_FALSE(g.Feed(d, kT0, 8, 48, true, out));   // [8, 56) covers both
  ASSERT_TRUE(g.Feed(d, kT0, 32, 32, false, out));  // [32, 64)
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, OverlappingDifferentBytesFirstWins) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(48);
  std::vector<uint8_t> forged = g.payload;
  for (size_t i = 8; i < 24; ++i) forged[i] ^= 0xff;
  std::vector<uint8_t> out;

  EXPECT_FALSE(g.Feed(d, kT0, 0, 16, true, out));  // Genuine [0, 16).
  // [8, 32) disagrees on [8, 24): [8, 16) is already there and stays,
  // [16, 24) is new and is taken from this copy.
  EXPECT_FALSE(g.FeedBytes(d, kT0, 8, forged.data() + 8, 24, true, out));
  EXPECT_EQ(d.stats().overlaps_conflicting, 1u);
  // The genuine copy of [16, 24) now loses to the forged one seen first.
  EXPECT_FALSE(g.Feed(d, kT0, 16, 16, true, out));
  EXPECT_EQ(d.stats().overlaps_conflicting, 2u);
  ASSERT_TRUE(g.FeedTail(d, kT0, 32, out));

  std::vector<uint8_t> want = g.payload;
  for (size_t i = 16; i < 24; ++i) want[i] = forged[i];
  EXPECT_EQ(out, want);
  EXPECT_EQ(d.stats().reassembled, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, OverlapFirstSeenWinsNotLowestOffset) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(40);
  std::vector<uint8_t> forged = g.payload;
  for (uint8_t& b : forged) b = static_cast<uint8_t>(~b);
  std::vector<uint8_t> out;
  // A forged middle piece arrives before a genuine fragment spanning it.
  EXPECT_FALSE(g.FeedBytes(d, kT0, 8, forged.data() + 8, 16, true, out));
  EXPECT_FALSE(g.Feed(d, kT0, 0, 32, true, out));
  EXPECT_EQ(d.stats().overlaps_conflicting, 1u);
  ASSERT_TRUE(g.FeedTail(d, kT0, 32, out));
  std::vector<uint8_t> want = g.payload;
  std::copy(forged.begin() + 8, forged.begin() + 24, want.begin() + 8);
  EXPECT_EQ(out, want);
}

// Like captures made with tiny MTUs / fragroute: a 20-byte TCP header plus
// data split into 8-byte fragments, in order.
TEST(IpDefragmenter, TinyEightByteFragmentsInOrder) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(45);  // Last fragment is 5 bytes.
  std::vector<uint8_t> out;
  for (uint32_t off = 0; off < 40; off += 8) {
    EXPECT_FALSE(g.Feed(d, kT0, off, 8, true, out)) << off;
  }
  ASSERT_TRUE(g.FeedTail(d, kT0, 40, out));
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().fragments, 6u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, TwentyFourByteFragmentsShuffled) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(100);
  std::vector<uint32_t> offsets;
  for (uint32_t off = 0; off < 100; off += 24) offsets.push_back(off);
  std::mt19937 rng(7);
  std::shuffle(offsets.begin(), offsets.end(), rng);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < offsets.size(); ++i) {
    const uint32_t off = offsets[i];
    const size_t len = std::min<size_t>(24, 100 - off);
    const bool done = g.Feed(d, kT0, off, len, off + len < 100, out);
    EXPECT_EQ(done, i + 1 == offsets.size()) << "offset " << off;
  }
  EXPECT_EQ(out, g.payload);
  ExpectIdle(d);
}

TEST(IpDefragmenter, ManyTinyFragmentsReverseOrder) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(8 * 1000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.FeedTail(d, kT0, 8 * 999, out));
  for (uint32_t i = 999; i-- > 1;) {
    EXPECT_FALSE(g.Feed(d, kT0, i * 8, 8, true, out));
  }
  ASSERT_TRUE(g.Feed(d, kT0, 0, 8, true, out));
  EXPECT_EQ(out, g.payload);
  ExpectIdle(d);
}

TEST(IpDefragmenter, MissingFirstFragmentNeverCompletesAndTimesOut) {
  IpDefragmenter d;  // 30 s timeout.
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 1480, 1480, true, out));
  EXPECT_FALSE(g.FeedTail(d, kT0 + kNanosPerSecond, 2960, out));
  EXPECT_FALSE(g.Feed(d, kT0 + 2 * kNanosPerSecond, 1480, 1480, true, out));
  EXPECT_EQ(d.pending_datagrams(), 1u);
  EXPECT_GT(d.pending_bytes(), 0u);

  d.expire(kT0 + 30 * kNanosPerSecond);  // Exactly the timeout: kept.
  EXPECT_EQ(d.pending_datagrams(), 1u);
  EXPECT_EQ(d.stats().timed_out, 0u);
  d.expire(kT0 + 30 * kNanosPerSecond + 1);  // Counted from the first.
  EXPECT_EQ(d.stats().timed_out, 1u);
  ExpectIdle(d);

  // The first fragment arriving late does not resurrect the datagram.
  EXPECT_FALSE(g.Feed(d, kT0 + 31 * kNanosPerSecond, 0, 1480, true, out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().reassembled, 0u);
}

TEST(IpDefragmenter, ExpireIsLazyInsideAdd) {
  FragmentLimits limits;
  limits.timeout = 5 * kNanosPerSecond;
  IpDefragmenter d(limits);
  Datagram a = MakeDatagram(100, 1);
  Datagram b = MakeDatagram(100, 2);
  b.id = a.id + 1;
  std::vector<uint8_t> out;
  EXPECT_FALSE(a.Feed(d, kT0, 0, 48, true, out));
  EXPECT_FALSE(b.Feed(d, kT0 + 4 * kNanosPerSecond, 0, 48, true, out));
  EXPECT_EQ(d.pending_datagrams(), 2u);
  // Six seconds in, a's first fragment is stale: the next add() drops it
  // before looking at its own fragment.
  EXPECT_FALSE(a.FeedTail(d, kT0 + 6 * kNanosPerSecond, 48, out));
  EXPECT_EQ(d.stats().timed_out, 1u);
  EXPECT_EQ(d.pending_datagrams(), 2u);  // b, and a's new tail.
  ASSERT_TRUE(b.FeedTail(d, kT0 + 6 * kNanosPerSecond, 48, out));
  EXPECT_EQ(out, b.payload);
  d.expire(kT0 + 12 * kNanosPerSecond);
  EXPECT_EQ(d.stats().timed_out, 2u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, MaxDatagramsEvictsOldest) {
  FragmentLimits limits;
  limits.max_datagrams = 2;
  IpDefragmenter d(limits);
  std::vector<Datagram> g;
  for (uint8_t i = 0; i < 3; ++i) {
    g.push_back(MakeDatagram(64, i));
    g.back().id = 100 + i;
  }
  std::vector<uint8_t> out;
  // Timestamps are deliberately not in arrival order: "oldest" is by
  // the capture time of the first fragment.
  EXPECT_FALSE(g[0].Feed(d, kT0 + 2, 0, 32, true, out));
  EXPECT_FALSE(g[1].Feed(d, kT0 + 1, 0, 32, true, out));
  EXPECT_FALSE(g[2].Feed(d, kT0 + 3, 0, 32, true, out));
  EXPECT_EQ(d.stats().evicted_for_limits, 1u);
  EXPECT_EQ(d.pending_datagrams(), 2u);

  ASSERT_TRUE(g[0].FeedTail(d, kT0 + 4, 32, out));
  EXPECT_EQ(out, g[0].payload);
  ASSERT_TRUE(g[2].FeedTail(d, kT0 + 4, 32, out));
  EXPECT_EQ(out, g[2].payload);
  // g[1] was evicted; its tail alone starts over and cannot complete.
  EXPECT_FALSE(g[1].FeedTail(d, kT0 + 4, 32, out));
  EXPECT_EQ(d.stats().reassembled, 2u);
}

TEST(IpDefragmenter, MaxBytesEvictsOldest) {
  FragmentLimits limits;
  limits.max_bytes = 4000;
  IpDefragmenter d(limits);
  std::vector<Datagram> g;
  for (uint8_t i = 0; i < 3; ++i) {
    g.push_back(MakeDatagram(2000, i));
    g.back().id = 200 + i;
  }
  std::vector<uint8_t> out;
  EXPECT_FALSE(g[0].Feed(d, kT0, 0, 1480, true, out));
  EXPECT_FALSE(g[1].Feed(d, kT0 + 1, 0, 1480, true, out));
  EXPECT_EQ(d.pending_bytes(), 2960u);
  EXPECT_EQ(d.stats().evicted_for_limits, 0u);
  EXPECT_FALSE(g[2].Feed(d, kT0 + 2, 0, 1480, true, out));
  EXPECT_EQ(d.stats().evicted_for_limits, 1u);
  EXPECT_LE(d.pending_bytes(), limits.max_bytes);
  EXPECT_EQ(d.pending_datagrams(), 2u);

  // Finishing g[1] needs 2000 bytes for it; g[2] (1480) still fits.
  ASSERT_TRUE(g[1].FeedTail(d, kT0 + 3, 1480, out));
  EXPECT_EQ(out, g[1].payload);
  ASSERT_TRUE(g[2].FeedTail(d, kT0 + 3, 1480, out));
  EXPECT_EQ(out, g[2].payload);
  EXPECT_FALSE(g[0].FeedTail(d, kT0 + 3, 1480, out));
  EXPECT_EQ(d.stats().reassembled, 2u);
}

TEST(IpDefragmenter, GrowingDatagramEvictsOthersNotItself) {
  FragmentLimits limits;
  limits.max_bytes = 3000;
  IpDefragmenter d(limits);
  Datagram old_one = MakeDatagram(2960, 1);
  Datagram newer = MakeDatagram(1000, 2);
  newer.id = old_one.id + 1;
  std::vector<uint8_t> out;
  EXPECT_FALSE(old_one.Feed(d, kT0, 0, 1480, true, out));
  EXPECT_FALSE(newer.Feed(d, kT0 + 1, 0, 504, true, out));
  // The oldest datagram grows past the budget: the other one goes.
  ASSERT_TRUE(old_one.FeedTail(d, kT0 + 2, 1480, out));
  EXPECT_EQ(out, old_one.payload);
  EXPECT_EQ(d.stats().evicted_for_limits, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, DatagramLargerThanMaxBytesIsDropped) {
  FragmentLimits limits;
  limits.max_bytes = 1000;
  IpDefragmenter d(limits);
  const Datagram g = MakeDatagram(3000);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 0, 504, true, out));
  EXPECT_FALSE(g.Feed(d, kT0, 1480, 1480, true, out));
  EXPECT_EQ(d.stats().evicted_for_limits, 1u);
  ExpectIdle(d);
}

// Never-completing fragments with fresh keys and high offsets, the cheapest
// way for a sender to make a reassembler allocate: memory and datagram
// count stay within the limits throughout.
TEST(IpDefragmenter, FragmentFloodStaysBounded) {
  FragmentLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_datagrams = 64;
  IpDefragmenter d(limits);
  std::mt19937 rng(42);
  const std::vector<uint8_t> junk = Pattern(1500);
  std::vector<uint8_t> out;
  for (uint32_t i = 0; i < 20000; ++i) {
    const IpAddr src = V4(192, 0, 2, static_cast<uint8_t>(rng()));
    const uint32_t off = (rng() % 8190) * 8 + 8;
    const size_t len = std::min<size_t>(rng() % 1500, 65535 - off);
    d.add(kT0 + i, src, V4(10, 0, 0, 2), rng() % 4096, kUdp, off, true,
          junk.data(), len, out);
    ASSERT_LE(d.pending_bytes(), limits.max_bytes);
    ASSERT_LE(d.pending_datagrams(), limits.max_datagrams);
  }
  EXPECT_GT(d.stats().evicted_for_limits, 0u);
  EXPECT_EQ(d.stats().reassembled, 0u);
  d.expire(kT0 + 100 * kNanosPerSecond);
  ExpectIdle(d);
}

TEST(IpDefragmenter, Ipv6SameIdDifferentSourceAreSeparate) {
  IpDefragmenter d;
  Datagram a = MakeDatagram(200, 1);
  Datagram b = MakeDatagram(200, 2);
  a.src = V6(1);
  b.src = V6(2);
  a.dst = b.dst = V6(9);
  a.id = b.id = 0xdeadbeef;  // 32-bit IPv6 identification.
  a.protocol = b.protocol = kTcp;
  std::vector<uint8_t> out;
  EXPECT_FALSE(a.Feed(d, kT0, 0, 96, true, out));
  EXPECT_FALSE(b.FeedTail(d, kT0, 96, out));
  // Same id, so a mix-up would complete a with b's tail here.
  ASSERT_TRUE(b.Feed(d, kT0, 0, 96, true, out));
  EXPECT_EQ(out, b.payload);
  out.clear();
  ASSERT_TRUE(a.FeedTail(d, kT0, 96, out));
  EXPECT_EQ(out, a.payload);
  EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
  EXPECT_EQ(d.stats().reassembled, 2u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, KeyIncludesProtocolAndIpVersion) {
  IpDefragmenter d;
  Datagram tcp4 = MakeDatagram(64, 1);
  Datagram udp4 = MakeDatagram(64, 2);
  udp4.protocol = kUdp;
  // Same 16 address bytes as tcp4's, but IPv6.
  Datagram tcp6 = MakeDatagram(64, 3);
  tcp6.src = tcp4.src;
  tcp6.src.v6 = true;
  tcp6.dst = tcp4.dst;
  tcp6.dst.v6 = true;
  std::vector<uint8_t> out;
  for (const Datagram* g : {&tcp4, &udp4, &tcp6}) {
    EXPECT_FALSE(g->Feed(d, kT0, 0, 32, true, out));
  }
  EXPECT_EQ(d.pending_datagrams(), 3u);
  for (const Datagram* g : {&tcp4, &udp4, &tcp6}) {
    ASSERT_TRUE(g->FeedTail(d, kT0, 32, out));
    EXPECT_EQ(out, g->payload);
  }
  EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, TwoDifferentEndsAreMalformed) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 32, 16, false, out));  // Ends at 48.
  EXPECT_FALSE(g.Feed(d, kT0, 32, 16, false, out));  // Same end: fine.
  EXPECT_EQ(d.stats().malformed, 0u);
  EXPECT_FALSE(g.Feed(d, kT0, 40, 24, false, out));  // Ends at 64.
  EXPECT_EQ(d.stats().malformed, 1u);
  ExpectIdle(d);
  // What follows starts a new datagram that lacks the dropped pieces.
  EXPECT_FALSE(g.Feed(d, kT0, 0, 32, true, out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.stats().reassembled, 0u);
}

TEST(IpDefragmenter, DataBeyondKnownEndIsMalformed) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 16, 16, false, out));  // End at 32.
  EXPECT_FALSE(g.Feed(d, kT0, 8, 8, true, out));
  EXPECT_EQ(d.stats().malformed, 0u);
  EXPECT_FALSE(g.Feed(d, kT0, 24, 16, true, out));  // Reaches 40.
  EXPECT_EQ(d.stats().malformed, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, EndBeforeReceivedDataIsMalformed) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 32, 32, true, out));  // Up to 64.
  EXPECT_FALSE(g.Feed(d, kT0, 0, 16, false, out));  // Claims end 16.
  EXPECT_EQ(d.stats().malformed, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, BeyondMaxPayloadIsMalformed) {
  IpDefragmenter d;
  const std::vector<uint8_t> junk = Pattern(64);
  const IpAddr src = V4(10, 0, 0, 1);
  const IpAddr dst = V4(10, 0, 0, 2);
  std::vector<uint8_t> out;
  EXPECT_FALSE(d.add(kT0, src, dst, 7, kUdp, 0, true, junk.data(), 64, out));
  // 8191 * 8 + 16 > 65535: the classic ping-of-death fragment.
  EXPECT_FALSE(
      d.add(kT0, src, dst, 7, kUdp, 8191 * 8, false, junk.data(), 16, out));
  EXPECT_EQ(d.stats().malformed, 1u);
  ExpectIdle(d);
  // Exactly 65535 is fine.
  EXPECT_FALSE(
      d.add(kT0, src, dst, 8, kUdp, 8191 * 8, false, junk.data(), 7, out));
  EXPECT_EQ(d.stats().malformed, 1u);
  EXPECT_EQ(d.pending_datagrams(), 1u);
}

TEST(IpDefragmenter, MaximumSizeDatagram) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(IpDefragmenter::kMaxPayload);
  std::vector<uint8_t> out;
  uint32_t off = 0;
  for (; off + 1480 < g.payload.size(); off += 1480) {
    EXPECT_FALSE(g.Feed(d, kT0, off, 1480, true, out));
  }
  ASSERT_TRUE(g.FeedTail(d, kT0, off, out));
  EXPECT_EQ(out, g.payload);
  ExpectIdle(d);
}

TEST(IpDefragmenter, MovedInstanceKeepsPendingDatagrams) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 0, 32, true, out));
  IpDefragmenter moved(std::move(d));
  ASSERT_TRUE(g.FeedTail(moved, kT0, 32, out));
  EXPECT_EQ(out, g.payload);
  ExpectIdle(moved);
}

TEST(IpDefragmenter, UnalignedOffsetIsMalformed) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(64);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 4, 8, true, out));
  EXPECT_EQ(d.stats().malformed, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, UnfragmentedCompletesImmediately) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(100);
  std::vector<uint8_t> out;
  ASSERT_TRUE(g.FeedTail(d, kT0, 0, out));
  EXPECT_EQ(out, g.payload);
  EXPECT_EQ(d.stats().reassembled, 1u);
  ExpectIdle(d);
}

TEST(IpDefragmenter, EmptyFinalFragment) {
  IpDefragmenter d;
  const Datagram g = MakeDatagram(32);
  std::vector<uint8_t> out;
  EXPECT_FALSE(g.Feed(d, kT0, 0, 32, true, out));
  ASSERT_TRUE(g.Feed(d, kT0, 32, 0, false, out));
  EXPECT_EQ(out, g.payload);
  ExpectIdle(d);
}

// Random fragmentations of random datagrams, delivered shuffled and with
// duplicates, several datagrams interleaved: each comes back byte-exact,
// exactly when its last missing byte arrives.
TEST(IpDefragmenter, RandomizedRoundTrip) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 200; ++round) {
    IpDefragmenter d;
    struct Piece {
      size_t datagram;
      uint32_t off;
      size_t len;
      bool more;
    };
    std::vector<Datagram> grams;
    std::vector<Piece> pieces;
    const size_t n = 1 + rng() % 4;
    for (size_t k = 0; k < n; ++k) {
      Datagram g = MakeDatagram(1 + rng() % 5000, static_cast<uint8_t>(k));
      g.id = static_cast<uint32_t>(k);
      const uint32_t unit = 8 * (1 + rng() % 200);
      for (uint32_t off = 0; off < g.payload.size(); off += unit) {
        const size_t len = std::min<size_t>(unit, g.payload.size() - off);
        const bool more = off + len < g.payload.size();
        const int copies = rng() % 4 == 0 ? 2 : 1;
        for (int c = 0; c < copies; ++c) pieces.push_back({k, off, len, more});
        // Sometimes an extra overlapping copy spanning two units.
        if (more && rng() % 3 == 0) {
          const size_t span =
              std::min<size_t>(2 * unit, g.payload.size() - off);
          pieces.push_back({k, off, span, off + span < g.payload.size()});
        }
      }
      grams.push_back(std::move(g));
    }
    std::shuffle(pieces.begin(), pieces.end(), rng);

    std::vector<bool> done(n, false);
    std::vector<uint8_t> out;
    for (const Piece& p : pieces) {
      if (done[p.datagram]) continue;  // Late duplicates would start anew.
      if (grams[p.datagram].Feed(d, kT0, p.off, p.len, p.more, out)) {
        ASSERT_EQ(out, grams[p.datagram].payload) << "round " << round;
        done[p.datagram] = true;
      }
    }
    for (size_t k = 0; k < n; ++k) EXPECT_TRUE(done[k]) << "round " << round;
    EXPECT_EQ(d.stats().reassembled, n);
    EXPECT_EQ(d.stats().overlaps_conflicting, 0u);
    EXPECT_EQ(d.stats().malformed, 0u);
    ExpectIdle(d);
  }
}

// Arbitrary (mostly invalid) input must neither crash nor break the limits;
// run under ASan/UBSan this checks the range bookkeeping.
TEST(IpDefragmenter, GarbageInputKeepsInvariants) {
  FragmentLimits limits;
  limits.max_bytes = 200000;
  limits.max_datagrams = 16;
  limits.timeout = 1000;
  IpDefragmenter d(limits);
  std::mt19937 rng(99);
  const std::vector<uint8_t> junk = Pattern(70000);
  std::vector<uint8_t> out;
  for (int i = 0; i < 50000; ++i) {
    const uint32_t off = rng() % 5 == 0 ? rng() : (rng() % 512) * 8;
    const size_t len = rng() % 3 == 0 ? rng() % 70000 : rng() % 64;
    const Timestamp ts = kT0 + static_cast<Timestamp>(rng() % 100000);
    const bool complete = d.add(ts, V4(1, 1, 1, 1), V4(2, 2, 2, 2), rng() % 8,
                                static_cast<uint8_t>(rng() % 2), off,
                                rng() % 2 == 0, junk.data(), len, out);
    if (complete) {
      ASSERT_LE(out.size(), IpDefragmenter::kMaxPayload);
    }
    ASSERT_LE(d.pending_bytes(), limits.max_bytes);
    ASSERT_LE(d.pending_datagrams(), limits.max_datagrams);
  }
  EXPECT_EQ(d.stats().fragments, 50000u);
  d.expire(kT0 + 1'000'000);
  ExpectIdle(d);
}

}  // namespace
}  // namespace tcpscribe
