#include "server_ports.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

Segment seg(uint16_t src, uint16_t dst, uint8_t flags) {
  Segment s;
  s.src.port = src;
  s.dst.port = dst;
  s.flags = flags;
  return s;
}

constexpr uint8_t kSyn = tcp_flags::kSyn;
constexpr uint8_t kAck = tcp_flags::kAck;

TEST(ServerPorts, LikelyServerPorts) {
  for (uint16_t p : {21, 22, 25, 53, 80, 443, 3306, 5432, 6379, 8080, 8443, 27017}) {
    EXPECT_TRUE(likely_server_port(p)) << p;
  }
  for (uint16_t p : {0, 1, 1024, 19003, 40000, 54321, 65535}) {
    EXPECT_FALSE(likely_server_port(p)) << p;
  }
}

TEST(ServerPorts, FirstSegmentFromServer) {
  EXPECT_TRUE(first_segment_from_server(seg(80, 40000, kAck)));   // the server speaks
  EXPECT_FALSE(first_segment_from_server(seg(40000, 80, kAck)));  // the client speaks
  EXPECT_FALSE(first_segment_from_server(seg(19003, 40000, kAck)));  // no clue: first sender
  // Both service ports: the lower is the server's.
  EXPECT_TRUE(first_segment_from_server(seg(25, 587, kAck)));
  EXPECT_FALSE(first_segment_from_server(seg(587, 25, kAck)));
  // A SYN is the client's and a SYN-ACK the server's, whatever the ports.
  EXPECT_FALSE(first_segment_from_server(seg(80, 40000, kSyn)));
  EXPECT_TRUE(first_segment_from_server(seg(40000, 80, kSyn | kAck)));
  EXPECT_TRUE(first_segment_from_server(seg(25, 587, kSyn | kAck)));
}

}  // namespace
}  // namespace tcpscribe
