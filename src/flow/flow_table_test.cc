// Reassembly scenarios with crafted segments, each replayed at initial
// sequence numbers around the 32-bit wrap (libtins' technique), so every
// scenario crosses 2^32 somewhere.
#include "flow_table_fixture.h"

namespace tcpscribe {
namespace {

using testing::A;
using testing::Crafter;
using testing::F;
using testing::P;
using testing::R;
using testing::Reassembly;
using testing::RecordingSink;
using testing::run_frames;
using testing::S;

TEST_P(Reassembly, InOrder) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "hello "));
  f.push_back(k.frame(true, cs(6), ss(0), P | A, "world"));
  f.push_back(k.frame(false, ss(0), cs(11), P | A, "HTTP/1.1 200 OK\r\n"));
  close_both(f, 11, 17);
  RecordingSink r;
  run_frames(f, r);
  const auto& c = only(r);
  EXPECT_EQ(c.dir[0].bytes, "hello world");
  EXPECT_EQ(c.dir[1].bytes, "HTTP/1.1 200 OK\r\n");
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.reason, CloseReason::kFin);
  EXPECT_TRUE(c.info.handshake_seen);
  EXPECT_EQ(c.info.client.port, 40000);
  EXPECT_EQ(c.info.dir[0].delivered_bytes, 11u);
}

TEST_P(Reassembly, Reordered) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(8), ss(0), P | A, "IJKLMNOP"));
  f.push_back(k.frame(true, cs(16), ss(0), P | A, "QR"));
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "ABCDEFGH"));
  close_both(f, 18, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "ABCDEFGHIJKLMNOPQR");
  EXPECT_TRUE(only(r).dir[0].gaps.empty());
}

TEST_P(Reassembly, DuplicatedSegmentsAppearOnce) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
  f.push_back(k.frame(true, cs(4), ss(0), P | A, "efgh"));
  f.push_back(k.frame(true, cs(4), ss(0), P | A, "efgh"));
  close_both(f, 8, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abcdefgh");
  EXPECT_EQ(only(r).info.dir[0].retransmitted_bytes, 8u);
  EXPECT_EQ(only(r).info.dir[0].conflicting_overlaps, 0u);
}

TEST_P(Reassembly, OverlapWithSameBytes) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "0123456789"));
  f.push_back(k.frame(true, cs(5), ss(0), P | A, "56789abcde"));
  close_both(f, 15, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "0123456789abcde");
  EXPECT_EQ(only(r).info.dir[0].conflicting_overlaps, 0u);
}

TEST_P(Reassembly, ConflictingOverlapFirstCopyWins) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "0123456789"));
  f.push_back(k.frame(true, cs(5), ss(0), P | A, "XXXXXabcde"));
  close_both(f, 15, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "0123456789abcde");
  EXPECT_EQ(only(r).info.dir[0].conflicting_overlaps, 1u);
}

TEST_P(Reassembly, ConflictInsideOutOfOrderBuffer) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(4), ss(0), P | A, "efgh"));
  f.push_back(k.frame(true, cs(2), ss(0), P | A, "CDEFGH"));  // differs on 4..7
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "ab"));
  close_both(f, 8, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abCDefgh");
  EXPECT_EQ(only(r).info.dir[0].conflicting_overlaps, 1u);
}

TEST_P(Reassembly, HoleAtStartBecomesGap) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  // Bytes 0..4 never captured.
  f.push_back(k.frame(true, cs(5), ss(0), P | A, "world"));
  close_both(f, 10, 0);
  RecordingSink r;
  run_frames(f, r);
  const auto& c = only(r);
  EXPECT_EQ(c.dir[0].bytes, std::string(5, '\0') + "world");
  ASSERT_EQ(c.dir[0].gaps.size(), 1u);
  EXPECT_EQ(c.dir[0].gaps[0], std::make_pair(uint64_t{0}, uint64_t{5}));
  EXPECT_EQ(c.info.dir[0].gap_bytes, 5u);
}

TEST_P(Reassembly, HoleInMiddleBecomesGap) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(7), ss(0), P | A, "hij"));
  close_both(f, 10, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, std::string("abc") + std::string(4, '\0') + "hij");
  ASSERT_EQ(only(r).dir[0].gaps.size(), 1u);
  EXPECT_EQ(only(r).dir[0].gaps[0], std::make_pair(uint64_t{3}, uint64_t{4}));
}

TEST_P(Reassembly, HoleAtEndProvenByFin) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  // Bytes 3..9 lost; the FIN at offset 10 proves they were sent, and the
  // server's ACK of the FIN proves nothing more will come.
  close_both(f, 10, 0);
  FlowTableLimits limits;
  limits.ack_proof_packets = 1;
  RecordingSink r;
  run_frames(f, r, limits);
  EXPECT_EQ(only(r).dir[0].bytes, std::string("abc") + std::string(7, '\0'));
  EXPECT_EQ(only(r).reason, CloseReason::kFin);
}

TEST_P(Reassembly, AckPastHoleDeclaresGapWithoutWaitingForClose) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(6), ss(0), P | A, "ghi"));
  // The server acknowledges everything: bytes 3..5 crossed the wire.
  for (int i = 0; i < 20; ++i) f.push_back(k.frame(false, ss(0), cs(9), A));
  FlowTableLimits limits;
  limits.ack_proof_packets = 4;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  testing::feed_frames(core, f);
  EXPECT_EQ(core.decode_stats().tcp_segments, f.size());
  // Before the end of input, the gap and the data after it are out.
  const auto& c = r.conns.begin()->second;
  EXPECT_EQ(c.dir[0].bytes, std::string("abc") + std::string(3, '\0') + "ghi");
  EXPECT_FALSE(c.closed);
  core.finish();
}

TEST_P(Reassembly, FinCapturedBeforeLastDataKeepsData) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(6), ss(0), F | A));
  f.push_back(k.frame(false, ss(0), cs(7), F | A));
  f.push_back(k.frame(true, cs(3), ss(0), P | A, "def"));  // sent before the FIN
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abcdef");
  EXPECT_EQ(only(r).reason, CloseReason::kFin);
  EXPECT_TRUE(only(r).dir[0].gaps.empty());
}

TEST_P(Reassembly, LatePacketsAfterCloseDoNotOpenSwappedFlow) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  close_both(f, 3, 0);
  f.push_back(k.frame(false, ss(0), cs(4), F | A));  // retransmitted FIN
  f.push_back(k.frame(true, cs(4), ss(1), A));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(r.conns.size(), 1u);
}

TEST_P(Reassembly, RstEndsConnectionAfterItsData) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "GET /"));
  f.push_back(k.frame(false, ss(0), cs(5), R | A));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "GET /");
  EXPECT_EQ(only(r).reason, CloseReason::kRst);
  EXPECT_TRUE(only(r).info.dir[1].rst);
}

TEST_P(Reassembly, KeepAliveProbesAreNotData) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(2), ss(0), A, std::string(1, '\0')));  // probe
  f.push_back(k.frame(true, cs(2), ss(0), A));                         // probe, no byte
  f.push_back(k.frame(true, cs(3), ss(0), P | A, "def"));
  close_both(f, 6, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abcdef");
  EXPECT_EQ(only(r).info.dir[0].conflicting_overlaps, 0u);
}

TEST_P(Reassembly, MidstreamPickupStartsAtFirstByteSeen) {
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(true, cs(100), ss(50), A));  // pure ACK does not anchor
  f.push_back(k.frame(true, cs(100), ss(50), P | A, "midstream"));
  f.push_back(k.frame(false, ss(50), cs(109), P | A, "reply"));
  RecordingSink r;
  run_frames(f, r);
  const auto& c = only(r);
  EXPECT_FALSE(c.info.handshake_seen);
  EXPECT_EQ(c.info.client.port, 40000);
  EXPECT_EQ(c.dir[0].bytes, "midstream");
  EXPECT_EQ(c.dir[1].bytes, "reply");
  EXPECT_EQ(c.reason, CloseReason::kEndOfInput);
}

// Midstream, the server (port 80) speaks first: the port says it is the
// server, as Zeek's likely_server_ports does.
TEST_P(Reassembly, MidstreamServerOnServicePortStaysTheServer) {
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(false, ss(0), cs(0), P | A, "220 ready"));
  f.push_back(k.frame(true, cs(0), ss(9), P | A, "EHLO"));
  RecordingSink r;
  run_frames(f, r);
  const auto& c = only(r);
  EXPECT_EQ(c.info.client.port, 40000);
  EXPECT_EQ(c.info.server.port, 80);
  EXPECT_EQ(c.dir[1].bytes, "220 ready");
  EXPECT_EQ(c.dir[0].bytes, "EHLO");
  // Zeek's history of a connection whose roles were flipped starts with ^.
  EXPECT_EQ(c.info.analysis.history, "^dD");
}

// Neither port is a service port: the first packet's sender is the client.
TEST_P(Reassembly, MidstreamWithoutServicePortFirstSenderIsTheClient) {
  Crafter high("10.0.0.1", 40000, "10.0.0.2", 19003);
  std::vector<std::vector<uint8_t>> f;
  f.push_back(high.frame(false, ss(0), cs(0), P | A, "hello"));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).info.client.port, 19003);
  EXPECT_EQ(only(r).dir[0].bytes, "hello");
}

TEST_P(Reassembly, DataOnSyn) {
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(true, c0(), 0, S, "fastopen"));
  f.push_back(k.frame(false, s0(), cs(8), S | A));
  f.push_back(k.frame(true, cs(8), ss(0), P | A, "!"));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "fastopen!");
}

TEST_P(Reassembly, EthernetPaddingNeverBecomesData) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  auto small = k.frame(true, cs(0), ss(0), P | A, "ab");
  small.resize(14 + 20 + 20 + 2);
  small.insert(small.end(), {'P', 'A', 'D', 'P', 'A', 'D'});  // to the 60-byte minimum
  f.push_back(small);
  f.push_back(k.frame(true, cs(2), ss(0), P | A, "cd"));
  close_both(f, 4, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abcd");
}

TEST_P(Reassembly, ZeroIpTotalLengthUsesCapturedLength) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  auto tso = k.frame(true, cs(0), ss(0), P | A, "segmentation offload");
  tso[14 + 2] = tso[14 + 3] = 0;
  f.push_back(tso);
  close_both(f, 20, 0);
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "segmentation offload");
}

// A new SYN on the same 4-tuple starts connection c1, whether its ISN is far
// from the old one or inside the old connection's window.
void reuse_case(const Crafter& k, uint32_t isn1, uint32_t isn2, bool close_first) {
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(true, isn1, 0, S));
  f.push_back(k.frame(false, 5000, isn1 + 1, S | A));
  f.push_back(k.frame(true, isn1 + 1, 5001, P | A, "first"));
  if (close_first) {
    f.push_back(k.frame(true, isn1 + 6, 5001, F | A));
    f.push_back(k.frame(false, 5001, isn1 + 7, F | A));
    f.push_back(k.frame(true, isn1 + 7, 5002, A));
  }
  f.push_back(k.frame(true, isn2, 0, S));
  f.push_back(k.frame(false, 9000, isn2 + 1, S | A));
  f.push_back(k.frame(true, isn2 + 1, 9001, P | A, "second"));
  RecordingSink r;
  run_frames(f, r);
  ASSERT_EQ(r.conns.size(), 2u);
  EXPECT_EQ(r.conns[0].dir[0].bytes, "first");
  EXPECT_EQ(r.conns[0].info.reuse_index, 0u);
  EXPECT_EQ(r.conns[0].reason, close_first ? CloseReason::kFin : CloseReason::kReused);
  EXPECT_EQ(r.conns[1].dir[0].bytes, "second");
  EXPECT_EQ(r.conns[1].info.reuse_index, 1u);
  EXPECT_EQ(r.conns[1].info.previous_id, 0u);
  int reuse_findings = 0;
  for (const auto& [id, finding] : r.findings) {
    if (finding.kind != Finding::Kind::kTupleReuse) continue;
    ++reuse_findings;
    EXPECT_EQ(id, 1u);
    EXPECT_NE(finding.text.find("4-tuple reused by a new SYN"), std::string::npos)
        << finding.text;
  }
  EXPECT_EQ(reuse_findings, 1);
}

TEST_P(Reassembly, ReusedTupleFarIsn) {
  reuse_case(k, c0(), c0() + 0x40000000u, true);
  reuse_case(k, c0(), c0() + 0x40000000u, false);
}

TEST_P(Reassembly, ReusedTupleNearIsnInsideOldWindow) {
  reuse_case(k, c0(), c0() + 3, true);
  reuse_case(k, c0(), c0() + 3, false);
}

TEST_P(Reassembly, RetransmittedSynIsSameConnection) {
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(true, c0(), 0, S));
  f.push_back(k.frame(true, c0(), 0, S));
  f.push_back(k.frame(false, s0(), cs(0), S | A));
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "x"));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(r.conns.size(), 1u);
}

TEST_P(Reassembly, MaxBytesPerDirection) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "0123456789"));
  FlowTableLimits limits;
  limits.max_bytes_per_direction = 4;
  RecordingSink r;
  run_frames(f, r, limits);
  EXPECT_EQ(only(r).dir[0].bytes, "0123");
}

TEST_P(Reassembly, BufferCapDeclaresHoleAndReportsIt) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(10), ss(0), P | A, std::string(100, 'a')));
  f.push_back(k.frame(true, cs(110), ss(0), P | A, std::string(100, 'b')));
  FlowTableLimits limits;
  limits.max_buffer_per_direction = 150;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  testing::feed_frames(core, f);
  EXPECT_EQ(core.decode_stats().tcp_segments, f.size());
  EXPECT_EQ(core.flow_stats().forced_flushes, 1u);
  EXPECT_EQ(r.conns[0].dir[0].bytes.size(), 210u);  // delivered before the end
  core.finish();
}

// The cap counts memory, not payload: 20,000 one-byte pieces in reverse
// order are 20,000 bytes (under a 64 KiB cap) but cost ~2.5 MB, so the cap
// triggers and the buffer's memory stays under it.
TEST_P(Reassembly, BufferCapCountsTheMemoryOfTinyPieces) {
  constexpr uint32_t kPieces = 20000;
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  for (uint32_t o = kPieces; o-- > 1;) {
    f.push_back(k.frame(true, cs(o), ss(0), A, std::string(1, static_cast<char>('a' + o % 26))));
  }
  FlowTableLimits limits;
  limits.max_buffer_per_direction = 64u << 10;
  RecordingSink r;
  PacketCore core(testing::core_config(limits), {&r});
  testing::feed_frames(core, f);
  EXPECT_GT(core.flow_stats().forced_flushes, 0u);
  EXPECT_GT(core.flow_stats().peak_buffered, limits.max_buffer_per_direction / 2);
  EXPECT_LE(core.flow_stats().peak_buffered, limits.max_buffer_per_direction);
  core.finish();
  // Every byte of the stream is delivered or declared a gap.
  EXPECT_EQ(r.conns.begin()->second.dir[0].bytes.size(), kPieces);
}

TEST_P(Reassembly, ShutdownsFollowSequenceOrder) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abc"));
  f.push_back(k.frame(true, cs(6), ss(0), F | A));           // FIN before bytes 3..5
  f.push_back(k.frame(true, cs(3), ss(0), P | A, "def"));    // now complete
  f.push_back(k.frame(false, ss(0), cs(7), R | A));
  RecordingSink r;
  run_frames(f, r);
  ASSERT_EQ(r.shutdowns.size(), 2u);
  EXPECT_EQ(r.shutdowns[0], std::make_tuple(uint64_t{0}, Dir::kClientToServer, false));
  EXPECT_EQ(r.shutdowns[1], std::make_tuple(uint64_t{0}, Dir::kServerToClient, true));
  EXPECT_EQ(only(r).dir[0].bytes, "abcdef");
}

TEST_P(Reassembly, GapsAndConflictsAreFindings) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abXd"));
  f.push_back(k.frame(true, cs(8), ss(0), P | A, "ijkl"));
  close_both(f, 12, 0);
  RecordingSink r;
  run_frames(f, r);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].second.kind, Finding::Kind::kConflictingOverlap);
  EXPECT_EQ(r.findings[1].second.kind, Finding::Kind::kCaptureGap);
  EXPECT_EQ(r.findings[1].second.offset, 4u);
  EXPECT_EQ(r.findings[1].second.length, 4u);
}

INSTANTIATE_TEST_SUITE_P(Isns, Reassembly,
                         ::testing::Values(0u, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFDEu),
                         [](const ::testing::TestParamInfo<uint32_t>& i) {
                           return "isn_" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace tcpscribe
