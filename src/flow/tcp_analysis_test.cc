// ConnectionTracker on crafted segments. Every scenario runs with the
// client's and the server's ISNs at 0, 2^31, 2^32-1 and 2^32-34, so
// sequence wraparound is always exercised.
#include "tcp_analysis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

using tcp_flags::kAck;
using tcp_flags::kFin;
using tcp_flags::kPsh;
using tcp_flags::kRst;
using tcp_flags::kSyn;

constexpr Timestamp kMs = 1'000'000;

/// Feeds segments given in relative sequence numbers (0 = the ISN).
class Conversation {
 public:
  Conversation(uint32_t client_isn, uint32_t server_isn) : ci_(client_isn), si_(server_isn) {
    c.client.port = 40000;
    c.server.port = 80;
    c.client.addr.bytes[0] = 10;
    c.server.addr.bytes[0] = 10;
    c.server.addr.bytes[3] = 2;
  }
  /// A client segment at relative seq/ack, `dt` after the previous one.
  void client(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len = 0,
              Timestamp dt = kMs, uint16_t window = 1000) {
    send(Dir::kClientToServer, ci_ + seq, si_ + ack, flags, len, dt, window);
  }
  void server(uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len = 0,
              Timestamp dt = kMs, uint16_t window = 1000) {
    send(Dir::kServerToClient, si_ + seq, ci_ + ack, flags, len, dt, window);
  }
  /// A client segment whose payload starts with `head`, `extra` bytes of 'x' after it.
  void client_bytes(uint32_t seq, uint32_t ack, uint8_t flags, std::vector<uint8_t> head,
                    uint32_t extra) {
    head.resize(head.size() + extra, 'x');
    next_payload_ = std::move(head);
    client(seq, ack, flags, static_cast<uint32_t>(next_payload_.size()));
  }
  /// SYN, SYN-ACK, ACK with 10 ms between packets.
  void handshake() {
    client(0, 0, kSyn, 0, 0);
    server(0, 1, kSyn | kAck, 0, 10 * kMs);
    client(1, 1, kAck, 0, 10 * kMs);
  }
  void close() { tracker.on_close(c, findings); }
  const TcpAnalysisCounts& counts(Dir d) const { return c.analysis.dir[index_of(d)]; }

  Connection c;
  ConnectionTracker tracker;
  std::vector<Finding> findings;
  Timestamp now = 1'700'000'000 * kNanosPerSecond;

 private:
  void send(Dir d, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t len, Timestamp dt,
            uint16_t window) {
    now += dt;
    Segment s;
    s.ts = now;
    s.src = c.src(d);
    s.dst = c.dst(d);
    s.seq = seq;
    s.ack = (flags & kAck) ? ack : 0;
    s.flags = flags;
    s.window = window;
    if (next_payload_.size() == len && len > 0) {
      payload_ = std::move(next_payload_);
    } else {
      payload_.assign(len, 'x');
    }
    next_payload_.clear();
    s.payload = payload_.data();
    s.payload_len = len;
    tracker.on_segment(c, d, s, findings);
  }
  uint32_t ci_, si_;
  std::vector<uint8_t> payload_;
  std::vector<uint8_t> next_payload_;
};

class TcpAnalysis : public ::testing::TestWithParam<uint32_t> {
 protected:
  // The server's ISN differs so the two directions wrap at different times.
  Conversation make() const { return Conversation(GetParam(), GetParam() - 7); }
};

INSTANTIATE_TEST_SUITE_P(Isns, TcpAnalysis,
                         ::testing::Values(0u, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFDEu));

constexpr Dir kC = Dir::kClientToServer;
constexpr Dir kS = Dir::kServerToClient;

// --- conn_state -----------------------------------------------------------

TEST_P(TcpAnalysis, S0AttemptWithoutReply) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);
  t.client(0, 0, kSyn, 0, 1000 * kMs);  // retransmitted: same seq, no new S
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "S0");
  EXPECT_EQ(t.c.analysis.history, "S");
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
  EXPECT_EQ(t.c.analysis.rtt, -1);
}

TEST_P(TcpAnalysis, S1EstablishedAndRtt) {
  Conversation t = make();
  t.handshake();
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "S1");
  EXPECT_EQ(t.c.analysis.history, "ShA");
  EXPECT_EQ(t.c.analysis.rtt, 20 * kMs);
}

TEST_P(TcpAnalysis, RttStartsAtTheLatestSyn) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);
  t.client(0, 0, kSyn, 0, 1000 * kMs);
  t.server(0, 1, kSyn | kAck, 0, 7 * kMs);
  t.client(1, 1, kAck, 0, 3 * kMs);
  t.close();
  EXPECT_EQ(t.c.analysis.rtt, 10 * kMs);
}

TEST_P(TcpAnalysis, SfBothFins) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 5);
  t.server(1, 6, kAck | kPsh, 8);
  t.client(6, 9, kAck | kFin);
  t.server(9, 7, kAck | kFin);
  t.client(7, 10, kAck);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "SF");
  EXPECT_EQ(t.c.analysis.history, "ShADdFf");
  EXPECT_TRUE(t.findings.empty());
}

TEST_P(TcpAnalysis, RejSynAnsweredByRst) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);
  t.server(0, 1, kRst | kAck);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "REJ");
  EXPECT_EQ(t.c.analysis.history, "Sr");
}

TEST_P(TcpAnalysis, S2AndS3HalfClosed) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kFin);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "S2");

  Conversation u = make();
  u.handshake();
  u.server(1, 1, kAck | kFin);
  u.close();
  EXPECT_EQ(u.c.analysis.conn_state, "S3");
  EXPECT_EQ(u.c.analysis.history, "ShAf");
}

TEST_P(TcpAnalysis, RstoAndRstr) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kRst | kAck);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "RSTO");
  EXPECT_EQ(t.c.analysis.history, "ShAR");

  Conversation u = make();
  u.handshake();
  u.server(1, 1, kRst);
  u.close();
  EXPECT_EQ(u.c.analysis.conn_state, "RSTR");
}

TEST_P(TcpAnalysis, Rstos0SynThenOriginatorRst) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);
  t.client(1, 0, kRst);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "RSTOS0");
  EXPECT_EQ(t.c.analysis.history, "SR");
}

TEST_P(TcpAnalysis, RstrhAndShrPickedUpAtTheSynAck) {
  // The flow table makes the SYN-ACK's receiver the client: '^'.
  Conversation t = make();
  t.server(0, 1, kSyn | kAck, 0, 0);
  t.server(1, 1, kRst);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "RSTRH");
  EXPECT_EQ(t.c.analysis.history, "^hr");

  Conversation u = make();
  u.server(0, 1, kSyn | kAck, 0, 0);
  u.server(1, 1, kFin | kAck);
  u.close();
  EXPECT_EQ(u.c.analysis.conn_state, "SHR");
  EXPECT_EQ(u.c.analysis.history, "^hf");
}

TEST_P(TcpAnalysis, ShSynThenFin) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);
  t.client(1, 0, kFin);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "SH");
  EXPECT_EQ(t.c.analysis.history, "SF");
}

TEST_P(TcpAnalysis, OthMidstream) {
  Conversation t = make();
  t.client(100, 50, kAck | kPsh, 10, 0);
  t.server(50, 110, kAck);
  t.close();
  EXPECT_EQ(t.c.analysis.conn_state, "OTH");
  EXPECT_EQ(t.c.analysis.history, "Da");
  EXPECT_EQ(t.c.analysis.rtt, -1);
}

// --- history letters -------------------------------------------------------

TEST_P(TcpAnalysis, FlagLettersRepeatOnlyWithANewSequenceNumber) {
  Conversation t = make();
  t.handshake();
  t.server(0, 1, kSyn | kAck);           // same seq: no new h
  t.client(1, 1, kAck);                  // A once
  t.client(1, 1, kAck | kPsh, 4);        // D
  t.client(5, 1, kAck | kPsh, 4);        // D once
  t.client(9, 1, kAck | kFin);           // F
  t.client(9, 1, kAck | kFin);           // same FIN: nothing
  t.client(9, 1, kAck | kFin, 2);        // FIN after data moves: F again
  t.server(1, 12, kRst);                 // r
  t.server(1, 12, kRst);                 // same: nothing
  t.server(2, 12, kRst);                 // another seq: r
  EXPECT_EQ(t.c.analysis.history, "ShADFFrr");
}

TEST_P(TcpAnalysis, MultiFlagPacketsAreIAndQOncePerDirection) {
  Conversation t = make();
  t.client(0, 0, kSyn | kFin, 0, 0);  // Q
  t.client(0, 0, kSyn | kRst);        // Q again: once
  t.server(0, 0, kFin | kRst);        // i (FIN+RST)
  t.server(0, 0, kFin | kRst | kAck); // once
  t.close();
  EXPECT_EQ(t.c.analysis.history, "Qi");
}

TEST_P(TcpAnalysis, RetransmissionLetterIsLogarithmic) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 10);
  for (int i = 0; i < 9; ++i) t.client(1, 1, kAck | kPsh, 10, 500 * kMs);
  EXPECT_EQ(t.c.analysis.history, "ShADT");  // the 1st
  t.client(1, 1, kAck | kPsh, 10, 500 * kMs);
  EXPECT_EQ(t.c.analysis.history, "ShADTT");  // and the 10th
  for (int i = 0; i < 89; ++i) t.client(1, 1, kAck | kPsh, 10, 500 * kMs);
  EXPECT_EQ(t.c.analysis.history, "ShADTT");  // 99 so far
  t.client(1, 1, kAck | kPsh, 10, 500 * kMs);
  EXPECT_EQ(t.c.analysis.history, "ShADTTT");  // the 100th
  EXPECT_EQ(t.counts(kC).retransmission, 100u);
}

TEST_P(TcpAnalysis, ZeroWindowGapAndChecksumLettersAreLogarithmic) {
  Conversation t = make();
  t.handshake();
  for (int i = 0; i < 10; ++i) t.server(1, 1, kAck, 0, kMs, 0);
  EXPECT_EQ(t.c.analysis.history, "ShAaww");
  EXPECT_EQ(t.counts(kS).zero_window, 10u);
  // The server ACKs client bytes never captured: a content gap on the
  // client's side (G), counted once per ACK past what was seen.
  for (uint32_t i = 1; i <= 10; ++i) t.server(1, 1 + 100 * i, kAck);
  EXPECT_EQ(t.c.analysis.history, "ShAawwGG");
  EXPECT_EQ(t.counts(kS).ack_lost_segment, 10u);
  for (int i = 0; i < 100; ++i) t.tracker.on_bad_checksum(t.c, kS);
  EXPECT_EQ(t.c.analysis.history, "ShAawwGGccc");
}

// --- Wireshark's analysis events -------------------------------------------

TEST_P(TcpAnalysis, RetransmissionAfterTheRttIsPlain) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.client(1, 1, kAck | kPsh, 100, 300 * kMs);
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
  EXPECT_EQ(t.counts(kC).out_of_order, 0u);
}

TEST_P(TcpAnalysis, HoleFilledSoonIsOutOfOrderAndTheHoleALostSegment) {
  Conversation t = make();
  t.handshake();
  t.client(101, 1, kAck | kPsh, 100);            // bytes 100..199 first
  EXPECT_EQ(t.counts(kC).lost_segment, 1u);
  t.client(1, 1, kAck | kPsh, 100, 5 * kMs);     // then 0..99, within the RTT (20 ms)
  EXPECT_EQ(t.counts(kC).out_of_order, 1u);
  EXPECT_EQ(t.counts(kC).retransmission, 0u);
  // The same, later than the RTT: a retransmission.
  t.client(301, 1, kAck | kPsh, 100);
  t.client(201, 1, kAck | kPsh, 100, 25 * kMs);
  EXPECT_EQ(t.counts(kC).lost_segment, 2u);
  EXPECT_EQ(t.counts(kC).out_of_order, 1u);
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
}

TEST_P(TcpAnalysis, CopyOfTheLastSegmentIsNotOutOfOrder) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.client(1, 1, kAck | kPsh, 100, kMs);  // ends at next expected: repeats data
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
  EXPECT_EQ(t.counts(kC).out_of_order, 0u);
}

TEST_P(TcpAnalysis, DuplicateAcksAndFastRetransmission) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.client(101, 1, kAck | kPsh, 100);
  t.server(1, 101, kAck);
  t.server(1, 101, kAck);  // dup 1
  t.server(1, 101, kAck);  // dup 2
  EXPECT_EQ(t.counts(kS).duplicate_ack, 2u);
  // Within 20 ms of the last duplicate and at its ACK number: fast, even
  // though it is also within the RTT and fills a hole (fast > out-of-order).
  t.client(101, 1, kAck | kPsh, 100, 5 * kMs);
  EXPECT_EQ(t.counts(kC).fast_retransmission, 1u);
  EXPECT_EQ(t.counts(kC).out_of_order + t.counts(kC).retransmission, 0u);
  // A changed window is a window update, not a duplicate.
  t.server(1, 101, kAck, 0, kMs, 2000);
  EXPECT_EQ(t.counts(kS).duplicate_ack, 2u);
}

TEST_P(TcpAnalysis, FastRetransmissionNeedsTwoDuplicatesWithin20Ms) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.server(1, 1, kAck);
  t.server(1, 1, kAck);
  t.server(1, 1, kAck);
  t.client(1, 1, kAck | kPsh, 100, 30 * kMs);
  EXPECT_EQ(t.counts(kC).fast_retransmission, 0u);
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
}

TEST_P(TcpAnalysis, SpuriousBeatsOutOfOrder) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.client(101, 1, kAck | kPsh, 100);
  t.server(1, 201, kAck);
  // Already acknowledged, and soon enough to be out of order: spurious.
  t.client(1, 1, kAck | kPsh, 100, kMs);
  EXPECT_EQ(t.counts(kC).spurious_retransmission, 1u);
  EXPECT_EQ(t.counts(kC).out_of_order, 0u);
  // A FIN carries no payload: its retransmission is never spurious.
  t.client(201, 1, kAck | kFin, 0, 100 * kMs);
  t.server(1, 202, kAck);
  t.client(201, 1, kAck | kFin, 0, 100 * kMs);
  EXPECT_EQ(t.counts(kC).spurious_retransmission, 1u);
  EXPECT_EQ(t.counts(kC).retransmission, 1u);
}

TEST_P(TcpAnalysis, KeepAliveBeatsSpurious) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.server(1, 101, kAck);
  // One byte at next expected - 1, already acknowledged: a keep-alive.
  t.client(100, 1, kAck, 1, 5000 * kMs);
  t.client(100, 1, kAck, 0, 5000 * kMs);  // the zero-byte form
  EXPECT_EQ(t.counts(kC).keep_alive, 2u);
  EXPECT_EQ(t.counts(kC).spurious_retransmission, 0u);
  EXPECT_EQ(t.counts(kC).retransmission, 0u);
  // The server's ACK of a keep-alive is not a duplicate ACK.
  t.server(1, 101, kAck);
  EXPECT_EQ(t.counts(kS).duplicate_ack, 0u);
}

TEST_P(TcpAnalysis, ZeroWindowAndProbe) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.server(1, 101, kAck, 0, kMs, 0);
  EXPECT_EQ(t.counts(kS).zero_window, 1u);
  // A 1-byte probe into the closed window is no event and does not move
  // next expected, so the byte sent again later is not a retransmission.
  t.client(101, 1, kAck, 1, 200 * kMs);
  t.server(1, 101, kAck, 0, kMs, 0);  // the probe's ACK: no duplicate
  EXPECT_EQ(t.counts(kS).zero_window, 2u);
  EXPECT_EQ(t.counts(kS).duplicate_ack, 0u);
  t.server(1, 101, kAck, 0, kMs, 1000);
  t.client(101, 1, kAck | kPsh, 50);
  EXPECT_EQ(t.counts(kC).retransmission + t.counts(kC).out_of_order +
                t.counts(kC).lost_segment + t.counts(kC).keep_alive,
            0u);
}

TEST_P(TcpAnalysis, AckOfUnseenSegmentOncePerHole) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.client(201, 1, kAck | kPsh, 100);   // 100..199 never captured
  EXPECT_EQ(t.counts(kC).lost_segment, 1u);
  t.server(1, 301, kAck);               // acknowledges the hole
  EXPECT_EQ(t.counts(kS).ack_lost_segment, 1u);
  t.server(1, 301, kAck);               // nothing new past what was seen
  EXPECT_EQ(t.counts(kS).ack_lost_segment, 1u);
  EXPECT_EQ(t.counts(kS).duplicate_ack, 1u);
  t.close();
  // The hole lies between captured bytes: whether it was lost or fills
  // later is the reassembly's to say (FlowTable calls on_content_gap).
  EXPECT_EQ(t.c.analysis.history, "ShADa");
}

// Zeek's `g`: the peer acknowledges bytes past every byte captured.
TEST_P(TcpAnalysis, AckPastEveryByteSeenIsAContentGap) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 100);
  t.server(1, 101, kAck);
  EXPECT_EQ(t.c.analysis.history, "ShADa");
  t.server(1, 301, kAck);  // 101..300 never captured
  EXPECT_EQ(t.counts(kS).ack_lost_segment, 1u);
  EXPECT_EQ(t.c.analysis.history, "ShADaG");
  t.tracker.on_content_gap(t.c, kS);  // the reassembly reports a hole
  EXPECT_EQ(t.c.analysis.history, "ShADaGg");
}

TEST_P(TcpAnalysis, RstIsNeverALostSegment) {
  Conversation t = make();
  t.handshake();
  t.client(5001, 1, kRst);
  EXPECT_EQ(t.counts(kC).lost_segment, 0u);
}

// --- data after the peer's FIN ----------------------------------------------

TEST_P(TcpAnalysis, RequestAfterServerFinAnsweredByRst) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 78);                  // first request
  t.server(1, 79, kAck | kPsh, 200);                // response
  t.server(201, 79, kAck | kFin);                   // server closes
  t.client(79, 202, kAck, 0, 10 * kMs);
  t.client(79, 202, kAck | kPsh, 85, 110 * kMs);    // second request, 0.120 s after FIN
  EXPECT_TRUE(t.findings.empty());                  // the answer is not known yet
  t.server(202, 0, kRst, 0, 30 * kMs);
  ASSERT_EQ(t.findings.size(), 1u);
  const Finding& f = t.findings[0];
  EXPECT_EQ(f.kind, Finding::Kind::kDataAfterPeerFin);
  EXPECT_EQ(f.dir, kC);
  EXPECT_EQ(f.offset, 78u);
  EXPECT_EQ(f.length, 85u);
  EXPECT_EQ(f.text,
            "client sent 85 bytes 0.120 s after the server closed its side (FIN); the "
            "server answered with RST. The request was never answered.");
  t.close();
  EXPECT_EQ(t.findings.size(), 1u);  // reported once
  EXPECT_EQ(t.c.analysis.conn_state, "RSTR");
}

TEST_P(TcpAnalysis, RequestAfterServerFinWithoutAnswerIsReportedAtClose) {
  Conversation t = make();
  t.handshake();
  t.server(1, 1, kAck | kFin);
  t.client(1, 2, kAck | kPsh, 40, 2500 * kMs);
  t.client(1, 2, kAck | kPsh, 40, 500 * kMs);   // retransmitted: not more bytes
  t.client(41, 2, kAck | kPsh, 10, kMs);
  EXPECT_TRUE(t.findings.empty());
  t.close();
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].offset, 0u);
  EXPECT_EQ(t.findings[0].length, 50u);
  EXPECT_EQ(t.findings[0].text,
            "client sent 50 bytes 2.500 s after the server closed its side (FIN); the "
            "server sent nothing back. The request was never answered.");
}

TEST_P(TcpAnalysis, DataAfterFinThatGotAnAnswer) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kFin);                  // client half-closes
  t.server(1, 2, kAck | kPsh, 300, 50 * kMs);   // the server still sends
  t.client(2, 301, kAck);
  t.server(301, 2, kAck | kFin);
  t.close();
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].dir, kS);
  // The client acknowledged the bytes: a half-close on purpose, a fact for
  // the reports, not an alarm.
  EXPECT_EQ(t.findings[0].text,
            "server sent 300 bytes 0.050 s after the client closed its side (FIN); the "
            "client acknowledged them (a half-close, not an error).");
  EXPECT_FALSE(t.findings[0].alarm);

  Conversation u = make();
  u.handshake();
  u.server(1, 1, kAck | kFin);
  u.client(1, 2, kAck | kPsh, 20, 1 * kMs);
  u.server(2, 21, kAck | kPsh, 7, 1 * kMs);     // an answer after all
  u.close();
  ASSERT_EQ(u.findings.size(), 1u);
  EXPECT_EQ(u.findings[0].text,
            "client sent 20 bytes 0.001 s after the server closed its side (FIN); the "
            "server answered with 7 bytes.");
}

TEST_P(TcpAnalysis, DataAfterFinTheServerOnlyAcknowledgedIsAHalfClose) {
  Conversation t = make();
  t.handshake();
  t.server(1, 1, kAck | kFin);                   // shutdown(SHUT_WR), still reading
  t.client(1, 2, kAck | kPsh, 30, 5 * kMs);
  t.server(2, 31, kAck);                         // it read the bytes
  t.client(31, 2, kAck | kFin);
  t.close();
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].text,
            "client sent 30 bytes 0.005 s after the server closed its side (FIN); the "
            "server acknowledged them (a half-close, not an error).");
  EXPECT_FALSE(t.findings[0].alarm);
}

TEST_P(TcpAnalysis, RstAfterAnAckStillMeansNeverAnswered) {
  // The kernel took the bytes, the program closed without reading them.
  Conversation t = make();
  t.handshake();
  t.server(1, 1, kAck | kFin);
  t.client(1, 2, kAck | kPsh, 30, 5 * kMs);
  t.server(2, 31, kAck);
  t.server(2, 31, kRst | kAck);
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_TRUE(t.findings[0].alarm);
  EXPECT_EQ(t.findings[0].text,
            "client sent 30 bytes 0.005 s after the server closed its side (FIN); the "
            "server answered with RST. The request was never answered.");
}

TEST_P(TcpAnalysis, ResponseToAHalfClosedClientIsNoAlarmUnlessReset) {
  for (bool rst : {false, true}) {
    Conversation t = make();
    t.handshake();
    t.client(1, 1, kAck | kPsh | kFin, 6);       // QUIT, then FIN
    t.server(1, 8, kAck | kPsh, 48, 300 * kMs);  // 221 closing
    if (rst) t.client(8, 0, kRst);              // the client was gone
    t.server(49, 8, kAck | kFin);
    t.close();
    ASSERT_EQ(t.findings.size(), 1u);
    EXPECT_EQ(t.findings[0].alarm, rst);
    EXPECT_EQ(t.findings[0].text,
              std::string("server sent 48 bytes 0.300 s after the client closed its side (FIN); "
                          "the client ") +
                  (rst ? "answered with RST." : "sent nothing back."));
  }
}

TEST_P(TcpAnalysis, UnansweredRequestAfterFinIsAnAlarm) {
  Conversation t = make();
  t.handshake();
  t.server(1, 1, kAck | kFin);
  t.client(1, 2, kAck | kPsh, 30, 5 * kMs);
  t.close();
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_TRUE(t.findings[0].alarm);
}

// A TLS closing alert after the peer's FIN ends TLS; a RST answering it
// (the peer's socket is gone) does not make it a request.
TEST_P(TcpAnalysis, TlsCloseNotifyAfterFinIsANormalClose) {
  for (bool rst : {false, true}) {
    Conversation t = make();
    t.handshake();
    t.server(1, 1, kAck | kPsh | kFin, 40);
    t.client_bytes(1, 42, kAck | kPsh, {0x15, 0x03, 0x03, 0x00, 0x12}, 18);
    if (rst) t.server(42, 0, kRst);
    t.close();
    ASSERT_EQ(t.findings.size(), 1u) << rst;
    EXPECT_FALSE(t.findings[0].alarm) << rst;
    EXPECT_EQ(t.findings[0].length, 23u);
    EXPECT_EQ(t.findings[0].text,
              "client sent 23 bytes 0.001 s after the server closed its side (FIN); they are a "
              "TLS closing alert (close_notify), a normal TLS close.")
        << rst;
  }
  // TLS 1.3: the alert is a 24-byte application-data record.
  Conversation v = make();
  v.handshake();
  v.server(1, 1, kAck | kPsh | kFin, 40);
  v.client_bytes(1, 42, kAck | kPsh, {0x17, 0x03, 0x03, 0x00, 0x13}, 19);
  v.server(42, 0, kRst);
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_FALSE(v.findings[0].alarm);
  // Other application data (type 23) is a request like any other.
  Conversation u = make();
  u.handshake();
  u.server(1, 1, kAck | kPsh | kFin, 40);
  u.client_bytes(1, 42, kAck | kPsh, {0x17, 0x03, 0x03, 0x00, 0x12}, 18);
  u.server(42, 0, kRst);
  ASSERT_EQ(u.findings.size(), 1u);
  EXPECT_TRUE(u.findings[0].alarm);
}

// --- bytes only the peer's ACKs show -----------------------------------------

TEST_P(TcpAnalysis, AckedBytesOfADirectionNeverCapturedAreAGap) {
  Conversation t = make();
  t.client(0, 0, kSyn, 0, 0);                    // the server's packets are absent
  t.client(1, 1, kAck);
  t.client(1, 1, kAck | kPsh, 100);
  t.client(101, 228, kAck | kPsh, 50);           // the server sent 227 bytes
  t.client(151, 500, kAck);
  t.close();
  EXPECT_EQ(t.c.analysis.unseen_acked[1], 499u);
  EXPECT_EQ(t.c.analysis.unseen_acked[0], 0u);
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].kind, Finding::Kind::kCaptureGap);
  EXPECT_EQ(t.findings[0].dir, kS);
  EXPECT_EQ(t.findings[0].offset, 0u);
  EXPECT_EQ(t.findings[0].length, 499u);
  EXPECT_EQ(t.findings[0].text,
            "499 bytes missing from the capture at offset 0 (the client acknowledged them; "
            "the capture holds no packet of this direction)");
  EXPECT_FALSE(t.findings[0].alarm);  // one direction captured: mostly on purpose
}

TEST_P(TcpAnalysis, AckedBytesPastTheLastCapturedPacketAreAGap) {
  Conversation t = make();
  t.handshake();
  t.client(1, 1, kAck | kPsh, 10);
  t.server(1, 11, kAck | kPsh, 100);
  t.client(11, 301, kAck);                       // 200 more than captured
  t.close();
  EXPECT_EQ(t.c.analysis.unseen_acked[1], 200u);
  ASSERT_EQ(t.findings.size(), 1u);
  EXPECT_EQ(t.findings[0].offset, 100u);
  EXPECT_EQ(t.findings[0].length, 200u);
  EXPECT_EQ(t.findings[0].text,
            "200 bytes missing from the capture at offset 100 (the client acknowledged them; "
            "they follow the last captured packet of this direction)");
  EXPECT_TRUE(t.findings[0].alarm);

  // Everything acknowledged was captured, FINs included: no gap.
  Conversation u = make();
  u.handshake();
  u.client(1, 1, kAck | kPsh, 10);
  u.server(1, 11, kAck | kPsh | kFin, 100);
  u.client(11, 102, kAck | kFin);
  u.server(102, 12, kAck);
  u.close();
  EXPECT_EQ(u.c.analysis.unseen_acked[0], 0u);
  EXPECT_EQ(u.c.analysis.unseen_acked[1], 0u);
  EXPECT_TRUE(u.findings.empty());
}

TEST(TcpAnalysisMemory, TrackerStaysSmall) {
  // Ten thousand open connections must stay cheap: no per-segment storage.
  EXPECT_LE(sizeof(ConnectionTracker), 400u);
}

}  // namespace
}  // namespace tcpscribe
