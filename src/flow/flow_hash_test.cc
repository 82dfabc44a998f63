#include "flow_hash.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <set>

namespace tcpscribe {
namespace {

Endpoint ep(const char* addr, uint16_t port) {
  Endpoint e;
  if (inet_pton(AF_INET, addr, e.addr.bytes.data()) != 1) {
    EXPECT_EQ(inet_pton(AF_INET6, addr, e.addr.bytes.data()), 1) << addr;
    e.addr.v6 = true;
  }
  e.port = port;
  return e;
}

TEST(FlowHash, BothDirectionsOfAConnectionHashAlike) {
  const Endpoint a = ep("10.0.0.1", 40000);
  const Endpoint b = ep("10.0.0.2", 80);
  EXPECT_EQ(flow_hash(a, b), flow_hash(b, a));
  const Endpoint c = ep("2001:db8::1", 5555);
  const Endpoint d = ep("2001:db8::2", 443);
  EXPECT_EQ(flow_hash(c, d), flow_hash(d, c));
}

TEST(FlowHash, EveryFieldCounts) {
  const uint64_t h = flow_hash(ep("10.0.0.1", 40000), ep("10.0.0.2", 80));
  EXPECT_NE(h, flow_hash(ep("10.0.0.1", 40001), ep("10.0.0.2", 80)));
  EXPECT_NE(h, flow_hash(ep("10.0.0.1", 40000), ep("10.0.0.2", 81)));
  EXPECT_NE(h, flow_hash(ep("10.0.0.3", 40000), ep("10.0.0.2", 80)));
  EXPECT_NE(h, flow_hash(ep("10.0.0.1", 40000), ep("10.0.0.4", 80)));
  // The ports of the two ends are not interchangeable.
  EXPECT_NE(h, flow_hash(ep("10.0.0.1", 80), ep("10.0.0.2", 40000)));
  // ::a00:1 has the bytes of 10.0.0.1 in another place; v6 itself counts.
  Endpoint v6 = ep("10.0.0.1", 40000);
  v6.addr.v6 = true;
  EXPECT_NE(h, flow_hash(v6, ep("10.0.0.2", 80)));
}

TEST(FlowHash, IsTheSameInEveryRunAndVersion) {
  // Machines that each take one --shard of a capture must agree: the hash
  // is unkeyed, and this value pins it (changing it regroups every shard).
  EXPECT_EQ(flow_hash(ep("10.0.0.1", 40000), ep("10.0.0.2", 80)), 0xb9579c13a32a9b84ULL);
}

TEST(FlowHash, ShardsPartitionTheConnections) {
  // Every connection in exactly one of N shards, and the shards about even.
  constexpr uint32_t kShards = 3;
  size_t per_shard[kShards] = {};
  for (uint16_t port = 1000; port < 4000; ++port) {
    const uint64_t h = flow_hash(ep("192.168.1.7", port), ep("192.168.1.1", 443));
    int takers = 0;
    for (uint32_t i = 0; i < kShards; ++i) {
      if (Shard{i, kShards}.takes(h)) {
        ++takers;
        ++per_shard[i];
      }
    }
    EXPECT_EQ(takers, 1);
  }
  for (size_t n : per_shard) {
    EXPECT_GT(n, 900u);
    EXPECT_LT(n, 1100u);
  }
  EXPECT_TRUE(Shard{}.takes(12345));  // one shard: every connection
}

}  // namespace
}  // namespace tcpscribe
