#include "reorder_window.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::vector<Timestamp> run(size_t window, const std::vector<Timestamp>& in) {
  ReorderWindow w(window);
  std::vector<Timestamp> out;
  std::vector<uint8_t> data(4);
  auto emit = [&](const RawPacket& p) {
    EXPECT_EQ(p.caplen, 4u);
    EXPECT_EQ(p.data[0], static_cast<uint8_t>(p.ts));
    out.push_back(p.ts);
  };
  for (Timestamp t : in) {
    data[0] = static_cast<uint8_t>(t);
    RawPacket p{t, 1, 4, 4, data.data()};
    w.push(p, emit);
  }
  w.drain(emit);
  return out;
}

TEST(ReorderWindow, RestoresOrderWithinWindow) {
  EXPECT_EQ(run(4, {3, 1, 2, 6, 4, 5, 9, 7, 8}),
            (std::vector<Timestamp>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ReorderWindow, ZeroWindowPassesThrough) {
  EXPECT_EQ(run(0, {3, 1, 2}), (std::vector<Timestamp>{3, 1, 2}));
}

TEST(ReorderWindow, TooLateIsReleasedAndCounted) {
  ReorderWindow w(1);
  std::vector<Timestamp> out;
  std::vector<uint8_t> data(1);
  auto emit = [&](const RawPacket& p) { out.push_back(p.ts); };
  for (Timestamp t : {5, 6, 7, 1}) {
    RawPacket p{t, 1, 1, 1, data.data()};
    w.push(p, emit);
  }
  w.drain(emit);
  EXPECT_EQ(out, (std::vector<Timestamp>{5, 6, 1, 7}));
  EXPECT_EQ(w.late(), 1u);
}

TEST(ReorderWindow, EqualTimestampsKeepCaptureOrder) {
  ReorderWindow w(8);
  std::vector<uint8_t> out;
  std::vector<uint8_t> data(1);
  auto emit = [&](const RawPacket& p) { out.push_back(p.data[0]); };
  for (uint8_t i = 0; i < 5; ++i) {
    data[0] = i;
    RawPacket p{42, 1, 1, 1, data.data()};
    w.push(p, emit);
  }
  w.drain(emit);
  EXPECT_EQ(out, (std::vector<uint8_t>{0, 1, 2, 3, 4}));
}


// A packet in a region is held by a reference to the region, not copied:
// it leaves the window at the same address, still naming its region, and
// the window lets go of the region once the packet is out.
TEST(ReorderWindow, PacketsInARegionAreHeldByReference) {
  std::vector<uint8_t> bytes{10, 20, 30, 40};
  auto region = std::make_shared<const ByteRegion>(ByteRegion{bytes.data(), bytes.size()});
  ReorderWindow w(2);
  std::vector<const uint8_t*> seen;
  std::vector<long> uses;
  auto emit = [&](const RawPacket& p) {
    seen.push_back(p.data);
    ASSERT_TRUE(p.region);
    EXPECT_EQ(*p.region, region);
    uses.push_back(region.use_count());
  };
  for (Timestamp t : {3, 1, 2}) {
    RawPacket p{t, 1, 1, 1, bytes.data() + t, 0, &region};
    w.push(p, emit);
  }
  EXPECT_EQ(region.use_count(), 3);  // two packets held
  w.drain(emit);
  EXPECT_EQ(seen, (std::vector<const uint8_t*>{&bytes[1], &bytes[2], &bytes[3]}));
  EXPECT_EQ(uses, (std::vector<long>{4, 3, 2}));  // each held until emitted
  EXPECT_EQ(region.use_count(), 1);
}

}  // namespace
}  // namespace tcpscribe
