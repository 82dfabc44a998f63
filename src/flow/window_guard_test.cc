#include "window_guard.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

constexpr Dir kC = Dir::kClientToServer;
constexpr Dir kS = Dir::kServerToClient;

Segment seg(uint8_t flags, uint16_t window, int8_t wscale = -1, uint32_t len = 0) {
  static const uint8_t bytes[16] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
                                    'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'};
  Segment s;
  s.flags = flags;
  s.window = window;
  s.wscale = wscale;
  s.payload = bytes;
  s.payload_len = len;
  return s;
}

constexpr uint8_t kSyn = tcp_flags::kSyn;
constexpr uint8_t kAck = tcp_flags::kAck;

TEST(WindowGuard, WindowsScaleOnlyWhenBothSynsAgree) {
  WindowGuard both;
  both.observe(kC, seg(kSyn, 64240, 7));
  both.observe(kS, seg(kSyn | kAck, 65160, 8));
  EXPECT_EQ(both.largest_window(), 65160u);  // SYN windows are not scaled
  both.observe(kC, seg(kAck, 1000));
  EXPECT_EQ(both.largest_window(), 1000u << 7);
  both.observe(kS, seg(kAck, 1000));
  EXPECT_EQ(both.largest_window(), 1000u << 8);
  EXPECT_EQ(both.reach(), WindowGuard::kMinReach);  // at least 1 MiB
  both.observe(kS, seg(kAck, 60000));
  EXPECT_EQ(both.reach(), 2u * (60000u << 8));

  WindowGuard one;  // the SYN-ACK has no option: no scaling at all
  one.observe(kC, seg(kSyn, 100, 7));
  one.observe(kS, seg(kSyn | kAck, 100));
  one.observe(kC, seg(kAck, 30000));
  EXPECT_EQ(one.largest_window(), 30000u);
  EXPECT_EQ(one.reach(), WindowGuard::kMinReach);

  WindowGuard midstream;  // no handshake: the largest scale, to be safe
  midstream.observe(kC, seg(kAck, 2));
  EXPECT_EQ(midstream.largest_window(), 2u << 14);
}

TEST(WindowGuard, FarSegmentIsHeldThenRejectedOrConfirmed) {
  WindowGuard g;
  g.observe(kC, seg(kSyn, 100, 0));
  g.observe(kS, seg(kSyn | kAck, 100, 0));
  g.accepted(0, 10);
  std::unique_ptr<WindowGuard::Held> rejected;
  const Segment far = seg(kAck, 100, -1, 8);
  const uint64_t at = 10 + WindowGuard::kMinReach + 1;
  EXPECT_EQ(g.judge(0, 10 + WindowGuard::kMinReach, 0, far, rejected),
            WindowGuard::Verdict::kTake);  // just within reach
  EXPECT_EQ(g.judge(0, static_cast<int64_t>(at), 77, far, rejected),
            WindowGuard::Verdict::kHold);
  ASSERT_TRUE(g.held(0));
  EXPECT_EQ(std::string(g.held(0)->seg.payload, g.held(0)->seg.payload + 8), "abcdefgh");
  EXPECT_EQ(g.held(0)->data_seq, 77u);
  // In-window data meanwhile leaves it held; a segment that continues it
  // confirms the jump.
  EXPECT_EQ(g.judge(0, 12, 0, far, rejected), WindowGuard::Verdict::kTake);
  EXPECT_EQ(g.judge(0, static_cast<int64_t>(at + 8), 0, far, rejected),
            WindowGuard::Verdict::kTakeHeldFirst);
  EXPECT_FALSE(rejected);
  EXPECT_EQ(g.take_held(0)->offset, at);
  EXPECT_FALSE(g.held(0));
  // Another far segment elsewhere replaces a held one, which is rejected.
  EXPECT_EQ(g.judge(0, static_cast<int64_t>(at), 0, far, rejected),
            WindowGuard::Verdict::kHold);
  EXPECT_EQ(g.judge(0, static_cast<int64_t>(3 * at), 0, far, rejected),
            WindowGuard::Verdict::kHold);
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->offset, at);
  // The peer's ACK up to the held segment puts it in window.
  EXPECT_FALSE(g.release_if_in_window(0));
  g.acked(0, 3 * at);
  ASSERT_TRUE(g.release_if_in_window(0));
  EXPECT_FALSE(g.held(0));
}

}  // namespace
}  // namespace tcpscribe
