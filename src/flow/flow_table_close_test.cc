// Flow table scenarios at and after the close: the close delay, tuple
// reuse after it, content gaps, segments far outside any window.
#include "flow_table_fixture.h"

namespace tcpscribe {
namespace {

using testing::Crafter;
using testing::Reassembly;
using testing::RecordingSink;
using testing::run_frames;
using testing::A;
using testing::F;
using testing::P;
using testing::R;
using testing::S;

// Frames at given capture times (ns after the first), into a packet core
// that the caller may inspect before finish().
struct Timed {
  Timestamp at;
  std::vector<uint8_t> frame;
};
void run_timed(PacketCore& core, const std::vector<Timed>& frames) {
  std::vector<testing::TimedFrame> timed;
  for (const Timed& t : frames) timed.push_back({1'000'000'000 + t.at, t.frame});
  testing::feed_frames(core, timed);
}

// After both FINs the streams are complete, but the final ACK, a
// retransmitted FIN and duplicate ACKs are still analysed (Zeek's
// tcp_close_delay); only what comes later than that is "late".
TEST_P(Reassembly, SegmentsAfterBothFinsAreAnalysedUntilTheCloseDelay) {
  constexpr Timestamp ms = 1'000'000;
  RecordingSink r;
  PacketCore core(testing::core_config(), {&r});
  run_timed(core, {{0, k.frame(true, c0(), 0, S)},
                    {1 * ms, k.frame(false, s0(), cs(0), S | A)},
                    {2 * ms, k.frame(true, cs(0), ss(0), P | A, "GET /")},
                    {3 * ms, k.frame(false, ss(0), cs(5), P | A, "OK")},
                    {4 * ms, k.frame(false, ss(2), cs(5), F | A)},
                    {5 * ms, k.frame(true, cs(5), ss(3), F | A)}});
  EXPECT_FALSE(only(r).closed);  // streams done, connection still analysed
  EXPECT_EQ(only(r).dir[0].bytes, "GET /");
  EXPECT_EQ(r.shutdowns.size(), 2u);
  run_timed(core, {{6 * ms, k.frame(false, ss(3), cs(6), A)},       // final ACK
                    {7 * ms, k.frame(false, ss(3), cs(6), A)},       // duplicate ACK
                    {200 * ms, k.frame(true, cs(5), ss(3), F | A)}}); // FIN again
  EXPECT_FALSE(only(r).closed);
  EXPECT_EQ(core.flow_stats().late_segments, 0u);
  // Past the close delay: on_close, then late segments.
  run_timed(core, {{6 * kNanosPerSecond, k.frame(false, ss(3), cs(6), A)}});
  ASSERT_TRUE(only(r).closed);
  EXPECT_EQ(only(r).reason, CloseReason::kFin);
  EXPECT_EQ(core.flow_stats().late_segments, 1u);
  const Connection& c = only(r).info;
  EXPECT_EQ(c.analysis.history, "ShDdfFa");  // the final ACK: a
  EXPECT_EQ(c.analysis.conn_state, "SF");
  EXPECT_EQ(c.analysis.dir[1].duplicate_ack, 1u);
  EXPECT_EQ(c.analysis.dir[0].retransmission, 1u);
  EXPECT_EQ(c.dir[1].packets, 5u);  // not the late one
  EXPECT_EQ(c.dir[0].packets, 4u);
  core.finish();
  EXPECT_EQ(r.conns.size(), 1u);
}

// A closing connection whose tuple a new SYN takes keeps its own reason;
// the reuse is routine (no console line) after a clean close only.
TEST_P(Reassembly, ReuseAfterCleanCloseIsRoutine) {
  for (const bool clean : {true, false}) {
    std::vector<std::vector<uint8_t>> f;
    handshake(f);
    f.push_back(k.frame(true, cs(0), ss(0), P | A, "one"));
    if (clean) {
      close_both(f, 3, 0);
    } else {
      f.push_back(k.frame(false, ss(0), cs(3), R | A));
    }
    f.push_back(k.frame(true, c0() + 100000, 0, S));
    RecordingSink r;
    run_frames(f, r);
    ASSERT_EQ(r.conns.size(), 2u);
    EXPECT_EQ(r.conns[0].reason, clean ? CloseReason::kFin : CloseReason::kRst);
    const Finding* reuse = nullptr;
    for (const auto& [id, finding] : r.findings) {
      if (finding.kind == Finding::Kind::kTupleReuse) reuse = &finding;
    }
    ASSERT_NE(reuse, nullptr);
    EXPECT_EQ(reuse->routine, clean);
    EXPECT_EQ(reuse->text, clean ? "4-tuple reused by a new SYN (connection 1 on it; the "
                                   "previous one, #0, closed normally)"
                                 : "4-tuple reused by a new SYN (connection 1 on it; the "
                                   "previous one, #0, had not closed normally)");
  }
}

// Zeek's `G`: at the ACK that passes a hole; a hole filled before that
// ACK is none, and later ACKs of the same hole add nothing.
TEST_P(Reassembly, ContentGapInHistoryOnlyForAcknowledgedHoles) {
  for (const bool fills : {false, true}) {
    std::vector<std::vector<uint8_t>> f;
    handshake(f);
    f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
    f.push_back(k.frame(true, cs(8), ss(0), P | A, "ijkl"));
    if (fills) f.push_back(k.frame(true, cs(4), ss(0), P | A, "efgh"));
    f.push_back(k.frame(false, ss(0), cs(12), A));  // ACKs past the hole
    f.push_back(k.frame(false, ss(0), cs(12), P | A, "ok"));
    close_both(f, 12, 2);
    RecordingSink r;
    run_frames(f, r);
    EXPECT_EQ(only(r).info.analysis.history, fills ? "ShADTadFf" : "ShADaGdFf");
    EXPECT_EQ(only(r).dir[0].gaps.size(), fills ? 0u : 1u);
  }
}

// A segment far outside any window (crafted windows: 65535, unscaled, so
// at most 1 MiB past the stream) is left out and reported, unless the
// next segment continues it (a long capture outage: then both go in).
TEST_P(Reassembly, FarOutOfWindowSegmentDoesNotStretchTheStream) {
  constexpr uint32_t kFar = 3u << 20;
  for (const bool continued : {false, true}) {
    std::vector<std::vector<uint8_t>> f;
    handshake(f);
    f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
    f.push_back(k.frame(true, cs(kFar), ss(0), P | A, "FAR!"));
    if (continued) f.push_back(k.frame(true, cs(kFar + 4), ss(0), P | A, "more"));
    f.push_back(k.frame(true, cs(4), ss(0), P | A, "efgh"));
    RecordingSink r;
    PacketCore core(testing::core_config(), {&r});
    testing::feed_frames(core, f);
    core.finish();
    const auto& c = only(r);
    EXPECT_EQ(core.flow_stats().out_of_window, continued ? 0u : 1u);
    EXPECT_EQ(c.info.dir[0].dropped_bytes, continued ? 0u : 4u);  // in the capture, left out
    if (continued) {
      ASSERT_EQ(c.dir[0].gaps.size(), 1u);
      EXPECT_EQ(c.dir[0].gaps[0], std::make_pair(uint64_t{8}, uint64_t{kFar - 8}));
      EXPECT_EQ(c.dir[0].bytes.substr(kFar), "FAR!more");
      continue;
    }
    EXPECT_EQ(c.dir[0].bytes, "abcdefgh");
    EXPECT_TRUE(c.dir[0].gaps.empty());
    ASSERT_EQ(r.findings.size(), 1u);
    const Finding& w = r.findings[0].second;
    EXPECT_EQ(w.kind, Finding::Kind::kOutOfWindow);
    EXPECT_EQ(w.dir, Dir::kClientToServer);
    EXPECT_EQ(w.offset, kFar);
    EXPECT_EQ(w.length, 4u);
    EXPECT_EQ(w.text, "segment left out: it starts " + std::to_string(kFar - 8) +
                          " bytes past the stream's end, far outside any window the "
                          "connection showed (largest 65535 bytes); 4 bytes at offset " +
                          std::to_string(kFar));
  }
}

// A FIN far outside any window does not end the stream there.
TEST_P(Reassembly, FarOutOfWindowFinIsLeftOut) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "abcd"));
  f.push_back(k.frame(true, cs(50u << 20), ss(0), F | A));
  f.push_back(k.frame(false, ss(0), cs(4), F | A));
  RecordingSink r;
  run_frames(f, r);
  EXPECT_EQ(only(r).dir[0].bytes, "abcd");
  EXPECT_TRUE(only(r).dir[0].gaps.empty());
  EXPECT_EQ(only(r).reason, CloseReason::kEndOfInput);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_NE(r.findings[0].second.text.find("0 bytes at offset 52428800, and a FIN"),
            std::string::npos)
      << r.findings[0].second.text;
}

// Found by fuzz/fuzz_flow: a RST sent its direction's shutdown at once and
// the bytes it still held (after a hole) came afterwards, at the close,
// against the sink contract. They now go out first.
/// Every stream event and shutdown, in the order the sinks got them.
struct OrderSink : RecordingSink {
  void on_data(const Connection& c, Dir d, uint64_t off, std::span<const uint8_t> b,
               Timestamp ts) override {
    events.push_back("data " + std::to_string(index_of(d)) + " " + std::to_string(off));
    RecordingSink::on_data(c, d, off, b, ts);
  }
  void on_gap(const Connection& c, Dir d, uint64_t off, uint64_t len, Timestamp ts) override {
    events.push_back("gap " + std::to_string(index_of(d)) + " " + std::to_string(off));
    RecordingSink::on_gap(c, d, off, len, ts);
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    events.push_back("shutdown " + std::to_string(index_of(d)) + (reset ? " reset" : ""));
    RecordingSink::on_shutdown(c, d, reset, ts);
  }
  std::vector<std::string> events;
};

TEST_P(Reassembly, ResetDeliversWhatItsDirectionHeldBeforeTheShutdown) {

  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "ab"));
  f.push_back(k.frame(true, cs(4), ss(0), P | A, "ef"));  // "cd" never captured
  f.push_back(k.frame(true, cs(6), ss(0), R | A));
  OrderSink r;
  run_frames(f, r);
  EXPECT_EQ(r.events, (std::vector<std::string>{"data 0 0", "gap 0 2", "data 0 4",
                                                "shutdown 0 reset"}));
  EXPECT_EQ(only(r).dir[0].bytes, std::string("ab\0\0ef", 6));
  EXPECT_EQ(only(r).reason, CloseReason::kRst);
}

// Found by fuzz/fuzz_flow: once a direction's shutdown is told, nothing
// more of it reaches the sinks, whatever arrives later.
TEST_P(Reassembly, AFinBeforeAnyByteEndsTheDirection) {
  // Picked up midstream: the client's first packet is a bare FIN, then it
  // sends bytes beyond it (garbage, or a second stream on the same tuple).
  std::vector<std::vector<uint8_t>> f;
  f.push_back(k.frame(false, ss(0), cs(0), P | A, "resp"));
  f.push_back(k.frame(true, cs(0), ss(4), F | A));
  f.push_back(k.frame(true, cs(1), ss(4), P | A, "late"));
  OrderSink r;
  run_frames(f, r);
  EXPECT_EQ(r.events, (std::vector<std::string>{"data 1 0", "shutdown 0"})) << ::testing::PrintToString(r.events);
}

TEST_P(Reassembly, NothingFollowsAResetWhileThePeerStillHasHoles) {
  std::vector<std::vector<uint8_t>> f;
  handshake(f);
  f.push_back(k.frame(false, ss(4), cs(0), P | A, "late"));   // the server's 0..3 missing
  f.push_back(k.frame(true, cs(0), ss(0), P | A, "ab"));
  f.push_back(k.frame(true, cs(2), ss(0), R | A));             // the client resets
  f.push_back(k.frame(true, cs(5000), ss(0), F | A, "xyz"));   // then a FIN far beyond
  f.push_back(k.frame(true, cs(2), ss(0), P | A, "cd"));       // and bytes after the reset
  OrderSink r;
  run_frames(f, r);
  std::vector<std::string> client;
  for (const std::string& e : r.events) {
    if (e.compare(e.find(' ') + 1, 1, "0") == 0) client.push_back(e);  // direction 0
  }
  EXPECT_EQ(client, (std::vector<std::string>{"data 0 0", "shutdown 0 reset"}))
      << ::testing::PrintToString(r.events);
}

}  // namespace
}  // namespace tcpscribe
