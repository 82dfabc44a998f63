// Flow table caps that act: --max-flows eviction and what follows it, the
// bound on the records of finished tuples.
#include "flow_table_fixture.h"

namespace tcpscribe {
namespace {

using testing::Crafter;
using testing::Reassembly;
using testing::RecordingSink;
using testing::A;
using testing::F;
using testing::P;
using testing::S;

int tuple_reuse_findings(const RecordingSink& r) {
  int n = 0;
  for (const auto& [id, f] : r.findings) n += f.kind == Finding::Kind::kTupleReuse;
  return n;
}

// With --max-flows 1 two interleaved connections evict each other at every
// turn. An evicted connection's later packets continue it (same roles,
// same number, offsets from where its streams ended, marked `continues`
// for the files) instead of opening c1, c2 ... one per segment.
TEST_P(Reassembly, EvictedConnectionContinuesWhereItsStreamsEnded) {
  const Crafter b("10.0.0.3", 40001, "10.0.0.2", 80);
  FlowTableLimits limits;
  limits.max_flows = 1;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(false, ss(0), cs(3), P | A, "xy"));
  f.push_back(b.frame(true, 1000, 0, S));                   // evicts A
  f.push_back(k.frame(true, cs(3), ss(2), P | A, "def"));   // A again: evicts B
  f.push_back(k.frame(false, ss(2), cs(6), P | A, "z"));
  f.push_back(b.frame(false, 5000, 1001, S | A));           // B's SYN-ACK: evicts A
  testing::feed_frames(core, f);
  core.finish();
  ASSERT_EQ(r.conns.size(), 4u);
  const auto& a1 = r.conns.at(0);
  const auto& b1 = r.conns.at(1);
  const auto& a2 = r.conns.at(2);
  const auto& b2 = r.conns.at(3);
  EXPECT_EQ(a1.reason, CloseReason::kEvicted);
  EXPECT_EQ(b1.reason, CloseReason::kEvicted);
  EXPECT_EQ(a2.reason, CloseReason::kEvicted);
  EXPECT_EQ(b2.reason, CloseReason::kEndOfInput);
  EXPECT_EQ(a1.dir[0].bytes, "abc");
  EXPECT_EQ(a1.dir[1].bytes, "xy");
  EXPECT_FALSE(a1.info.continues);
  EXPECT_TRUE(a2.info.continues);
  EXPECT_EQ(a2.info.reuse_index, 0u);
  EXPECT_EQ(a2.info.previous_id, 0u);
  EXPECT_EQ(format_endpoint(a2.info.client), "10.0.0.1:40000");
  EXPECT_EQ(a2.dir[0].bytes, "def");  // from offset 0: the end of a1's
  EXPECT_EQ(a2.dir[1].bytes, "z");
  EXPECT_TRUE(a2.dir[0].gaps.empty());
  // B's continuation starts with a packet from its server: roles kept.
  EXPECT_TRUE(b2.info.continues);
  EXPECT_EQ(b2.info.reuse_index, 0u);
  EXPECT_EQ(format_endpoint(b2.info.client), "10.0.0.3:40001");
  EXPECT_EQ(tuple_reuse_findings(r), 0);
  const FlowTableStats& st = core.flow_stats();
  EXPECT_EQ(st.evicted, 3u);
  EXPECT_EQ(st.continued, 2u);
  EXPECT_EQ(st.connections, 2u);
  EXPECT_EQ(st.reused_tuples, 0u);
}

// A new SYN (another ISN) on an evicted tuple is a new connection, c1.
TEST_P(Reassembly, NewSynOnAnEvictedTupleIsANewConnection) {
  const Crafter b("10.0.0.3", 40001, "10.0.0.2", 80);
  FlowTableLimits limits;
  limits.max_flows = 1;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(b.frame(true, 1000, 0, S));                 // evicts A
  f.push_back(k.frame(true, c0() + 99, 0, S));            // A's tuple, new ISN
  testing::feed_frames(core, f);
  core.finish();
  ASSERT_EQ(r.conns.size(), 3u);
  EXPECT_FALSE(r.conns.at(2).info.continues);
  EXPECT_EQ(r.conns.at(2).info.reuse_index, 1u);
  EXPECT_EQ(core.flow_stats().continued, 0u);
  EXPECT_EQ(core.flow_stats().connections, 3u);
}

// Records of finished tuples are bounded (max_retired): 300 SYNs through
// --max-flows 2 keep 32. A tuple whose record was dropped starts again at
// number 0, continuing its files; one whose record is kept gets c1.
TEST_P(Reassembly, RecordsOfFinishedTuplesAreBounded) {
  FlowTableLimits limits;
  limits.max_flows = 2;
  limits.max_retired = 32;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  std::vector<std::vector<uint8_t>> f;
  for (uint16_t i = 0; i < 300; ++i) {
    f.push_back(Crafter("10.0.0.1", static_cast<uint16_t>(20000 + i)).frame(true, c0(), 0, S));
  }
  // Again, with other ISNs: the first tuple (record dropped), the 290th (kept).
  f.push_back(Crafter("10.0.0.1", 20000).frame(true, c0() + 5, 0, S));
  f.push_back(Crafter("10.0.0.1", 20290).frame(true, c0() + 5, 0, S));
  testing::feed_frames(core, f);
  const FlowTableStats& st = core.flow_stats();
  EXPECT_EQ(st.evicted, 300u);
  EXPECT_EQ(st.retired_dropped, 300u - 32u);
  const auto& again_dropped = r.conns.at(300);
  const auto& again_kept = r.conns.at(301);
  EXPECT_EQ(again_dropped.info.reuse_index, 0u);
  EXPECT_TRUE(again_dropped.info.continues);
  EXPECT_EQ(again_kept.info.reuse_index, 1u);
  EXPECT_FALSE(again_kept.info.continues);
  EXPECT_FALSE(r.conns.at(299).info.continues);  // never seen before
  core.finish();
}

// A sequence jump of exactly 2^31 mid-stream: the later data and the FIN
// cannot be placed (they look 2 GiB old). They are left out, and a finding
// says where; the stats count the segments.
TEST_P(Reassembly, SequenceJumpOfTwoToThe31IsReported) {
  constexpr uint32_t kJump = 0x80000000u;
  RecordingSink r;
  PacketCore core(testing::core_config(), {&r});
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(3) + kJump, ss(0), P | A, "def"));
  f.push_back(k.frame(true, cs(6) + kJump, ss(0), P | A, "ghi"));
  f.push_back(k.frame(true, cs(9) + kJump, ss(0), F | A));
  testing::feed_frames(core, f);
  core.finish();
  const auto& c = only(r);
  EXPECT_EQ(c.dir[0].bytes, "abc");
  EXPECT_EQ(c.info.dir[0].dropped_bytes, 6u);
  EXPECT_EQ(core.flow_stats().out_of_window, 3u);
  int jumps = 0;
  for (const auto& [id, fd] : r.findings) {
    if (fd.kind != Finding::Kind::kOutOfWindow) continue;
    ++jumps;
    EXPECT_EQ(fd.offset, 3u);
    EXPECT_EQ(fd.dir, Dir::kClientToServer);
    EXPECT_NE(fd.text.find("jumped by 2147483648 at offset 3"), std::string::npos) << fd.text;
  }
  EXPECT_EQ(jumps, 1);
}

// A hole the out-of-order cap gives up on is the cap's doing: its finding
// says so (the bytes were in the capture, last first), not "missing from
// the capture". Holes the capture really lacks keep that text.
TEST_P(Reassembly, HoleDeclaredByTheBufferCapNamesTheCap) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(1000), ss(0), P | A, std::string(100, 'c')));
  f.push_back(k.frame(true, cs(500), ss(0), P | A, std::string(100, 'b')));
  f.push_back(k.frame(true, cs(0), ss(0), P | A, std::string(100, 'a')));
  f.push_back(k.frame(true, cs(1100), ss(0), F | A));
  FlowTableLimits limits;
  limits.max_buffer_per_direction = 300;  // two pieces of 100 (+96 each): over
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  testing::feed_frames(core, f);
  core.finish();
  EXPECT_EQ(core.flow_stats().forced_flushes, 1u);
  std::vector<std::string> texts;
  for (const auto& [id, fd] : r.findings) {
    if (fd.kind == Finding::Kind::kCaptureGap) texts.push_back(fd.text);
  }
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts[0], "500 bytes at offset 0 declared lost: the out-of-order buffer was full "
                      "(raise --max-flow-buffer/--max-buffer)");
  EXPECT_EQ(texts[1], "400 bytes missing from the capture at offset 600");
}

}  // namespace
}  // namespace tcpscribe
