// Half-open connections kept compact (flow_table_compact.cc): what they
// cost, and that nothing any sink or observer sees changes (random traffic
// through a table with and without compaction gives the same events).
#include <gtest/gtest.h>
#include <malloc.h>

#include <random>
#include <sstream>

#include "flow_table.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {
namespace {

Endpoint ep(uint8_t host, uint16_t port) {
  const uint8_t a[4] = {10, 0, 0, host};
  Endpoint e;
  e.addr = IpAddr::v4_from(a);
  e.port = port;
  return e;
}

Segment seg(Timestamp ts, const Endpoint& src, const Endpoint& dst, uint32_t seq, uint32_t ack,
            uint8_t flags) {
  Segment s;
  s.ts = ts;
  s.src = src;
  s.dst = dst;
  s.seq = seq;
  s.ack = ack;
  s.flags = flags;
  s.window = 29200;
  return s;
}

/// Every event and observer call, with everything the Connection holds.
class Trace : public Sink, public SegmentObserver {
 public:
  std::vector<std::string> lines;

  void on_open(const Connection& c) override { add("open", c); }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    add("data " + std::to_string(index_of(d)) + " " + std::to_string(offset) + " " +
            std::string(bytes.begin(), bytes.end()) + " " + std::to_string(ts), c);
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override {
    add("gap " + std::to_string(index_of(d)) + " " + std::to_string(offset) + " " +
            std::to_string(length) + " " + std::to_string(ts), c);
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    add("shutdown " + std::to_string(index_of(d)) + " " + std::to_string(reset) + " " +
            std::to_string(ts), c);
  }
  void on_finding(const Connection& c, const Finding& f) override {
    std::ostringstream o;
    o << "finding " << static_cast<int>(f.kind) << " " << index_of(f.dir) << " " << f.ts << " "
      << f.offset << " " << f.length << " " << f.alarm << f.routine << " " << f.text;
    add(o.str(), c);
  }
  void on_close(const Connection& c, CloseReason why) override {
    add(std::string("close ") + to_string(why), c);
  }
  void on_segment(const Connection& c, Dir d, const Segment& s) override {
    add("segment " + std::to_string(index_of(d)) + " " + std::to_string(s.seq) + " " +
            std::to_string(s.flags), c);
  }
  void on_segment_after_close(uint64_t id, Dir d, const Segment& s) override {
    lines.push_back("late " + std::to_string(id) + " " + std::to_string(index_of(d)) + " " +
                    std::to_string(s.seq));
  }

 private:
  void add(const std::string& what, const Connection& c) {
    std::ostringstream o;
    o << what << " | " << c.id << " " << format_endpoint(c.client) << " "
      << format_endpoint(c.server) << " v" << c.vlan[0] << "," << c.vlan[1] << " r"
      << c.reuse_index << " h" << c.handshake_seen << " " << c.first_ts << "-" << c.last_ts
      << " syn" << c.syn_ts << " synack" << c.synack_ts << " prev" << c.previous_id << " cont"
      << c.continues;
    for (const DirectionStats& d : c.dir) {
      o << " [" << d.packets << " " << d.payload_bytes << " " << d.delivered_bytes << " "
        << d.gap_bytes << " " << d.retransmitted_bytes << " " << d.conflicting_overlaps << " "
        << d.dropped_bytes << " " << d.first_ts << "-" << d.last_ts << " " << d.syn << d.fin
        << d.rst << "]";
    }
    const TcpAnalysis& a = c.analysis;
    o << " " << a.conn_state << " " << a.history << " rtt" << a.rtt << " unseen"
      << a.unseen_acked[0] << "," << a.unseen_acked[1];
    for (const TcpAnalysisCounts& n : a.dir) {
      for (const auto& [name, v] : named_counts(n)) o << " " << name << "=" << v;
    }
    lines.push_back(o.str());
  }
};

std::string stats_line(const FlowTableStats& s) {
  std::ostringstream o;
  o << s.segments << " " << s.connections << " " << s.reused_tuples << " " << s.late_segments
    << " " << s.ignored_segments << " " << s.forced_flushes << " " << s.evicted << " "
    << s.continued << " " << s.retired_dropped << " " << s.idle_closed << " "
    << s.bytes_before_start << " " << s.bytes_over_limit << " " << s.keep_alives << " "
    << s.gap_bytes << " " << s.conflicting_overlaps << " " << s.out_of_window << " "
    << s.peak_buffered;
  return o.str();
}

/// Random traffic on a few tuples: SYNs (retransmitted, changed, new
/// ISNs), SYN-ACKs, data, FINs, RSTs, pauses past the idle timeout, the
/// flow cap, segments that may not open (-R).
struct RandomRun {
  std::vector<std::string> trace;
  std::string stats;
  size_t most_compact = 0;
};

/// `young`: FlowTableLimits::young_half_open; SIZE_MAX: nothing compacted.
RandomRun random_run(uint32_t seed, size_t young) {
  FlowTableLimits limits;
  limits.compact_half_open = young != SIZE_MAX;
  limits.young_half_open = young;
  limits.idle_timeout = 20 * kNanosPerSecond;
  limits.close_delay = seed % 2 ? kNanosPerSecond : 0;
  limits.closed_linger = 5 * kNanosPerSecond;
  limits.max_flows = 12;
  limits.max_retired = 8;
  Trace t;
  RandomRun out;
  {
    FlowTable table(limits, {&t});
    table.add_observer(&t);
    std::mt19937 rng(seed);
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    constexpr int kTuples = 20;
    uint32_t isn[kTuples][2] = {};
    uint32_t sent[kTuples][2] = {};
    Timestamp ts = kNanosPerSecond;
    for (int i = 0; i < 600; ++i) {
      ts += pick(10) == 0 ? pick(30) * kNanosPerSecond : 1'000'000;
      const int k = static_cast<int>(pick(kTuples));
      const Endpoint client = ep(static_cast<uint8_t>(1 + k % 4), static_cast<uint16_t>(40000 + k));
      const Endpoint server = ep(200, 80);
      const uint32_t r = pick(100);
      Segment s;
      if (r < 40) {  // a client SYN: the same one mostly, or a new ISN
        if (isn[k][0] == 0 || pick(4) == 0) isn[k][0] = rng(), sent[k][0] = 0;
        s = seg(ts, client, server, isn[k][0], pick(3) == 0 ? rng() : 0, tcp_flags::kSyn);
        if (pick(6) == 0) s.window = 1024;
        s.wscale = static_cast<int8_t>(pick(3) == 0 ? -1 : 7);
        s.vlan = pick(8) == 0 ? 12 : -1;
        if (pick(10) == 0) s.flags |= tcp_flags::kPsh;
      } else if (r < 55) {  // the server's SYN-ACK
        if (isn[k][1] == 0) isn[k][1] = rng(), sent[k][1] = 0;
        s = seg(ts, server, client, isn[k][1], isn[k][0] + 1, tcp_flags::kSyn | tcp_flags::kAck);
        s.wscale = 7;
      } else {  // data, an ACK, a FIN or a RST from either side
        const int d = static_cast<int>(pick(2));
        const std::string payload = pick(3) == 0 ? "" : std::string(1 + pick(9), static_cast<char>('a' + pick(26)));
        const uint8_t flag = r < 90 ? 0 : r < 96 ? tcp_flags::kFin : tcp_flags::kRst;
        // Now and then far ahead: the window guard's verdict then depends on
        // the SYNs' windows and scales.
        const uint32_t jump = pick(12) == 0 ? (1 + pick(6)) << 20 : 0;
        s = seg(ts, d ? server : client, d ? client : server, isn[k][d] + 1 + sent[k][d] + jump,
                isn[k][1 - d] + 1 + sent[k][1 - d], flag | tcp_flags::kAck);
        s.payload = reinterpret_cast<const uint8_t*>(payload.data());
        s.payload_len = static_cast<uint32_t>(payload.size());
        if (pick(5) != 0) sent[k][d] += s.payload_len;
        table.on_segment(s, pick(8) != 0);
        out.most_compact = std::max(out.most_compact, table.compact_connections());
        continue;
      }
      table.on_segment(s, pick(8) != 0);
      out.most_compact = std::max(out.most_compact, table.compact_connections());
    }
    table.finish();
    out.stats = stats_line(table.stats());
  }
  out.trace = std::move(t.lines);
  return out;
}

TEST(CompactHalfOpen, RandomTrafficGivesTheSameEventsWithAndWithout) {
  // Compacted at once, and after 3 newer half-open connections.
  for (const size_t young : {size_t{0}, size_t{3}}) {
    size_t compacted = 0;
    for (uint32_t seed = 1; seed <= 25; ++seed) {
      const RandomRun whole = random_run(seed, SIZE_MAX);
      const RandomRun compact = random_run(seed, young);
      EXPECT_EQ(whole.most_compact, 0u);
      compacted += compact.most_compact;
      EXPECT_EQ(compact.stats, whole.stats) << "seed " << seed;
      ASSERT_EQ(compact.trace.size(), whole.trace.size()) << "seed " << seed;
      for (size_t i = 0; i < whole.trace.size(); ++i) {
        ASSERT_EQ(compact.trace[i], whole.trace[i])
            << "young " << young << " seed " << seed << " event " << i;
      }
    }
    EXPECT_GT(compacted, 25u) << young;  // the runs did have compact connections
  }
}

// The newest half-open connections stay whole: most get their SYN-ACK
// soon, and are then not rebuilt. The oldest beyond the limit is compacted.
TEST(CompactHalfOpen, NewestHalfOpenConnectionsStayWhole) {
  FlowTableLimits limits;
  limits.young_half_open = 2;
  Trace t;
  FlowTable table(limits, {&t});
  const Endpoint srv = ep(2, 80);
  for (uint16_t i = 0; i < 5; ++i) {
    table.on_segment(seg((1 + i) * kNanosPerSecond, ep(1, 40000 + i), srv, 1000 + i, 0,
                         tcp_flags::kSyn));
  }
  EXPECT_EQ(table.open_connections(), 5u);
  EXPECT_EQ(table.compact_connections(), 3u);  // all but the two newest
  // The fourth answers: it leaves the young list, the fifth stays whole.
  table.on_segment(seg(7 * kNanosPerSecond, srv, ep(1, 40003), 9000, 1004,
                       tcp_flags::kSyn | tcp_flags::kAck));
  table.on_segment(seg(8 * kNanosPerSecond, ep(1, 40005), srv, 7, 0, tcp_flags::kSyn));
  EXPECT_EQ(table.compact_connections(), 3u);
  table.on_segment(seg(9 * kNanosPerSecond, ep(1, 40006), srv, 8, 0, tcp_flags::kSyn));
  EXPECT_EQ(table.compact_connections(), 4u);  // the fifth now
  // A retransmitted SYN of a compact one: rebuilt, and compact again.
  table.on_segment(seg(10 * kNanosPerSecond, ep(1, 40000), srv, 1000, 0, tcp_flags::kSyn));
  EXPECT_EQ(table.compact_connections(), 4u);
  EXPECT_EQ(table.open_connections(), 7u);
}

// The SYN and six identical retransmissions stay compact; a seventh, or a
// SYN unlike the first, makes the connection whole again for good.
TEST(CompactHalfOpen, RetransmittedSynsStayCompactUpToSeven) {
  FlowTableLimits limits;
  limits.young_half_open = 0;  // compacted at once
  Trace t;
  FlowTable table(limits, {&t});
  const Endpoint c = ep(1, 40000), srv = ep(2, 80);
  for (int i = 0; i < 7; ++i) {
    table.on_segment(seg((1 + i) * kNanosPerSecond, c, srv, 1000, 0, tcp_flags::kSyn));
    EXPECT_EQ(table.compact_connections(), 1u) << i;
  }
  table.on_segment(seg(9 * kNanosPerSecond, c, srv, 1000, 0, tcp_flags::kSyn));
  EXPECT_EQ(table.compact_connections(), 0u);
  EXPECT_EQ(table.open_connections(), 1u);

  const Endpoint c2 = ep(1, 40001);
  table.on_segment(seg(10 * kNanosPerSecond, c2, srv, 5000, 0, tcp_flags::kSyn));
  EXPECT_EQ(table.compact_connections(), 1u);
  Segment other = seg(11 * kNanosPerSecond, c2, srv, 5000, 0, tcp_flags::kSyn);
  other.window = 512;  // not a copy of the first
  table.on_segment(other);
  EXPECT_EQ(table.compact_connections(), 0u);
  table.finish();
  ASSERT_FALSE(t.lines.empty());
  EXPECT_NE(t.lines.back().find("close end-of-input | 1 "), std::string::npos);
  EXPECT_NE(t.lines.back().find(" S0 "), std::string::npos);
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;  // chunks in use, and mmap'd ones (large arrays)
}

// 20,000 SYNs never answered: the heap grows by the compact record and its
// index slot per connection, not by a whole connection (~1.4 KB).
TEST(CompactHalfOpen, NeverAnsweredSynsCostLittleMemory) {
  constexpr size_t kConns = 20000;
  struct Opens : Sink {
    size_t n = 0;
    void on_open(const Connection&) override { ++n; }
    void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {}
    void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
    void on_close(const Connection&, CloseReason) override {}
  } opens;
  FlowTableLimits limits;
  limits.young_half_open = 0;  // compacted at once
  FlowTable table(limits, {&opens});
  const size_t before = heap_in_use();
  for (size_t i = 0; i < kConns; ++i) {
    const Endpoint c = ep(1, static_cast<uint16_t>(1024 + i));
    table.on_segment(seg(kNanosPerSecond + static_cast<Timestamp>(i) * 1000, c, ep(200, 80),
                         static_cast<uint32_t>(i * 7919), 0, tcp_flags::kSyn));
  }
  ASSERT_GE(heap_in_use(), before);
  const size_t grown = heap_in_use() - before;
  EXPECT_EQ(table.open_connections(), kConns);
  EXPECT_EQ(table.compact_connections(), kConns);
  EXPECT_EQ(opens.n, kConns);
  // Per connection a 160-byte record in a 176-byte malloc chunk, and the
  // index's share: 65,536 slots of 16 bytes (at most half full). A whole
  // connection would be 1,376 bytes. Within a byte: the index of whole
  // connections (64 slots), the last one's freed chunk, page rounding.
  const double per_connection = static_cast<double>(grown) / kConns;
  EXPECT_NEAR(per_connection, 176.0 + 65536.0 * 16 / kConns, 1.0);
}
#endif

}  // namespace
}  // namespace tcpscribe
