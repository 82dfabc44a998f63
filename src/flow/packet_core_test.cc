#include "packet_core.h"

#include <gtest/gtest.h>

#include <map>

#include "flow_hash.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

using testing::Crafter;
using testing::RecordingSink;

constexpr uint8_t kSyn = Tins::TCP::SYN;
constexpr uint8_t kAck = Tins::TCP::ACK;
constexpr uint8_t kPsh = Tins::TCP::PSH;

struct Frames {
  std::vector<std::vector<uint8_t>> data;
  std::vector<Timestamp> ts;
  void add(std::vector<uint8_t> f, Timestamp t) {
    data.push_back(std::move(f));
    ts.push_back(t);
  }
};

/// A handshake and three client chunks "one ", "two ", "three", 1 ms apart.
Frames conversation(const Crafter& c) {
  Frames f;
  const Timestamp t0 = 5'000'000'000;
  f.add(c.frame(true, 100, 0, kSyn), t0);
  f.add(c.frame(false, 900, 101, kSyn | kAck), t0 + 1'000'000);
  f.add(c.frame(true, 101, 901, kAck), t0 + 2'000'000);
  f.add(c.frame(true, 101, 901, kAck | kPsh, "one "), t0 + 3'000'000);
  f.add(c.frame(true, 105, 901, kAck | kPsh, "two "), t0 + 4'000'000);
  f.add(c.frame(true, 109, 901, kAck | kPsh, "three"), t0 + 5'000'000);
  return f;
}

RawPacket packet(const Frames& f, size_t i, uint32_t source = 0, int linktype = 1) {
  RawPacket p;
  p.ts = f.ts[i];
  p.linktype = linktype;
  p.caplen = p.origlen = static_cast<uint32_t>(f.data[i].size());
  p.data = f.data[i].data();
  p.source = source;
  return p;
}

TEST(PacketCore, PutsPacketsBackInTimeOrderBeforeReassembly) {
  Crafter c;
  const Frames f = conversation(c);
  RecordingSink sink;
  PacketCore core({}, {&sink});
  std::string error;
  ASSERT_TRUE(core.compile_filter(error)) << error;
  // The capture holds the SYN-ACK before the SYN and the last two chunks
  // swapped (queues merged by a capture card do that).
  for (size_t i : {1, 0, 2, 3, 5, 4}) core.on_packet(packet(f, i));
  core.finish();
  ASSERT_EQ(sink.conns.size(), 1u);
  const RecordingSink::Conn& k = sink.conns.begin()->second;
  EXPECT_EQ(k.info.first_ts, f.ts[0]);  // the SYN came first after all
  EXPECT_EQ(k.info.syn_ts, f.ts[0]);
  EXPECT_EQ(k.info.client.port, 40000);
  EXPECT_EQ(sink.conns.begin()->second.dir[0].bytes, "one two three");
  EXPECT_TRUE(sink.conns.begin()->second.dir[0].gaps.empty());
  EXPECT_EQ(core.late_packets(), 0u);
  EXPECT_EQ(core.decode_stats().packets, 6u);
}

TEST(PacketCore, WithoutAWindowCaptureOrderStands) {
  Crafter c;
  const Frames f = conversation(c);
  RecordingSink sink;
  PacketCoreConfig config;
  config.reorder_window = 0;
  PacketCore core(config, {&sink});
  for (size_t i : {1, 0, 2, 3, 5, 4}) core.on_packet(packet(f, i));
  core.finish();
  ASSERT_EQ(sink.conns.size(), 1u);
  // The connection starts with the packet seen first, the SYN-ACK.
  EXPECT_EQ(sink.conns.begin()->second.info.first_ts, f.ts[1]);
}

TEST(PacketCore, TheFilterChoosesThePackets) {
  Crafter a("10.0.0.1", 40000, "10.0.0.2", 80);
  Crafter b("10.0.0.3", 40001, "10.0.0.4", 6379);
  const Frames fa = conversation(a);
  const Frames fb = conversation(b);
  RecordingSink sink;
  PacketCoreConfig config;
  config.filter = "port 6379";
  PacketCore core(config, {&sink});
  std::string error;
  ASSERT_TRUE(core.compile_filter(error)) << error;
  for (size_t i = 0; i < fa.data.size(); ++i) {
    core.on_packet(packet(fa, i));
    core.on_packet(packet(fb, i));
  }
  core.finish();
  ASSERT_EQ(sink.conns.size(), 1u);
  EXPECT_EQ(sink.conns.begin()->second.info.server.port, 6379);
  EXPECT_EQ(core.decode_stats().packets, 6u);  // the others never reached the decoder
}

TEST(PacketCore, AFilterThatDoesNotCompileIsOneLine) {
  RecordingSink sink;
  PacketCoreConfig config;
  config.filter = "port";
  PacketCore core(config, {&sink});
  std::string error;
  EXPECT_FALSE(core.compile_filter(error));
  EXPECT_NE(error.find("port"), std::string::npos) << error;
}

TEST(PacketCore, AFinishOnlySourceOnlyContinuesOpenConnections) {
  Crafter a("10.0.0.1", 40000, "10.0.0.2", 80);
  Crafter b("10.0.0.3", 40001, "10.0.0.4", 80);
  const Frames fa = conversation(a);
  const Frames fb = conversation(b);
  RecordingSink sink;
  PacketCore core({}, {&sink});
  const uint32_t first = core.add_source("first.pcap", false);
  const uint32_t rest = core.add_source("rest.pcap", true);  // -R
  for (size_t i = 0; i < 4; ++i) core.on_packet(packet(fa, i, first));
  for (size_t i = 4; i < 6; ++i) core.on_packet(packet(fa, i, rest));
  for (size_t i = 0; i < 6; ++i) core.on_packet(packet(fb, i, rest));
  core.finish();
  ASSERT_EQ(sink.conns.size(), 1u);  // b never opened
  EXPECT_EQ(sink.conns.begin()->second.dir[0].bytes, "one two three");
}

TEST(PacketCore, AnUnknownLinkTypeIsSaidOnceAndNamesItsSource) {
  Crafter c;
  const Frames f = conversation(c);
  RecordingSink sink;
  PacketCore core({}, {&sink});
  std::vector<std::tuple<std::string, std::string, bool>> said;
  core.set_problem_handler([&](const std::string& source, const std::string& text, bool bad) {
    said.emplace_back(source, text, bad);
  });
  const uint32_t src = core.add_source("odd.pcap", false);
  for (size_t i = 0; i < f.data.size(); ++i) core.on_packet(packet(f, i, src, 147));
  core.finish();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(std::get<0>(said[0]), "odd.pcap");
  EXPECT_NE(std::get<1>(said[0]).find("link type 147 is not supported"), std::string::npos);
  EXPECT_TRUE(std::get<2>(said[0]));
  EXPECT_TRUE(sink.conns.empty());
}

TEST(PacketCore, ShardsTogetherReconstructEveryConnectionOnce) {
  constexpr uint32_t kShards = 3;
  std::vector<Frames> convs;
  for (int i = 0; i < 12; ++i) {
    convs.push_back(conversation(Crafter("10.0.0.1", static_cast<uint16_t>(40000 + i))));
  }
  std::map<uint16_t, std::string> whole;  // client port -> its bytes
  {
    RecordingSink sink;
    PacketCore core({}, {&sink});
    for (size_t i = 0; i < 6; ++i) {
      for (const Frames& f : convs) core.on_packet(packet(f, i));
    }
    core.finish();
    for (const auto& [id, k] : sink.conns) whole[k.info.client.port] = k.dir[0].bytes;
  }
  ASSERT_EQ(whole.size(), 12u);
  std::map<uint16_t, std::string> united;
  for (uint32_t shard = 0; shard < kShards; ++shard) {
    RecordingSink sink;
    PacketCoreConfig config;
    config.shard = {shard, kShards};
    PacketCore core(config, {&sink});
    for (size_t i = 0; i < 6; ++i) {
      for (const Frames& f : convs) core.on_packet(packet(f, i));
    }
    core.finish();
    EXPECT_LT(sink.conns.size(), 12u) << "shard " << shard << " took every connection";
    uint64_t next_id = 0;
    for (const auto& [id, k] : sink.conns) {
      EXPECT_EQ(id, next_id++);  // ids count the shard's connections only
      EXPECT_TRUE(united.emplace(k.info.client.port, k.dir[0].bytes).second)
          << "port " << k.info.client.port << " in two shards";
      EXPECT_TRUE(Shard({shard, kShards}).takes(flow_hash(k.info.client, k.info.server)));
    }
    EXPECT_EQ(core.flow_stats().connections, sink.conns.size());
    EXPECT_EQ(core.decode_stats().tcp_segments, 72u);  // every packet is still decoded
  }
  EXPECT_EQ(united, whole);
}

TEST(PacketCore, AnotherShardsPacketsMoveTheClock) {
  // Connection a goes quiet; only connection b, in the other shard, has
  // packets 10 s later. Without them a would stay open to the end of the
  // input; with them it is closed as idle, as in the unsharded run.
  const Crafter a("10.0.0.1", 40000);
  auto hash_of = [](uint16_t port) {
    Endpoint c, s;
    c.addr.bytes = {10, 0, 0, 1};
    s.addr.bytes = {10, 0, 0, 2};
    c.port = port;
    s.port = 80;
    return flow_hash(c, s);
  };
  const uint32_t a_shard = hash_of(40000) % 2;
  uint16_t b_port = 40001;
  while (hash_of(b_port) % 2 == a_shard) ++b_port;
  const Crafter b("10.0.0.1", b_port);
  const Frames fa = conversation(a);
  Frames fb = conversation(b);
  for (Timestamp& t : fb.ts) t += 10 * kNanosPerSecond;
  for (const uint32_t shards : {1u, 2u}) {
    RecordingSink sink;
    PacketCoreConfig config;
    config.limits.idle_timeout = 2 * kNanosPerSecond;
    config.shard = {shards == 1 ? 0 : a_shard, shards};
    PacketCore core(config, {&sink});
    for (size_t i = 0; i < 6; ++i) core.on_packet(packet(fa, i));
    for (size_t i = 0; i < 6; ++i) core.on_packet(packet(fb, i));
    core.finish();
    ASSERT_EQ(sink.conns.size(), shards == 1 ? 2u : 1u);
    const RecordingSink::Conn& k = sink.conns.at(0);
    EXPECT_EQ(k.info.client.port, 40000);
    EXPECT_EQ(k.reason, CloseReason::kIdle) << shards << " shards";
  }
}

}  // namespace
}  // namespace tcpscribe
