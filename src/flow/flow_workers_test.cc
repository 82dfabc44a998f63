#include "flow_workers.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "flow_hash.h"

namespace tcpscribe {
namespace {

/// Every event and what the sinks would read of the connection then, one
/// line each.
class EventLog : public Sink, public SegmentObserver {
 public:
  std::vector<std::string> lines;
  bool finished = false;

  void on_open(const Connection& c) override { add("open", c); }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    add("data " + std::to_string(index_of(d)) + " @" + std::to_string(offset) + " " +
            std::string(bytes.begin(), bytes.end()) + " t" + std::to_string(ts),
        c);
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override {
    add("gap " + std::to_string(index_of(d)) + " @" + std::to_string(offset) + "+" +
            std::to_string(length) + " t" + std::to_string(ts),
        c);
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    add("shutdown " + std::to_string(index_of(d)) + (reset ? " rst" : "") + " t" +
            std::to_string(ts),
        c);
  }
  void on_finding(const Connection& c, const Finding& f) override {
    add("finding " + std::to_string(static_cast<int>(f.kind)) + " " + f.text, c);
  }
  void on_close(const Connection& c, CloseReason why) override {
    add(std::string("close ") + to_string(why), c);
  }
  void finish() override {
    EXPECT_FALSE(finished);
    finished = true;
    lines.push_back("finish");
  }
  void on_segment(const Connection& c, Dir d, const Segment& s) override {
    add("segment " + std::to_string(index_of(d)) + " seq " + std::to_string(s.seq) + " " +
            std::string(reinterpret_cast<const char*>(s.payload), s.payload_len),
        c);
  }
  void on_segment_after_close(uint64_t id, Dir d, const Segment& s) override {
    lines.push_back("late #" + std::to_string(id) + " " + std::to_string(index_of(d)) +
                    " seq " + std::to_string(s.seq));
  }

 private:
  void add(const std::string& what, const Connection& c) {
    std::string l = "#" + std::to_string(c.id) + " " + what + " | prev " +
                    std::to_string(c.previous_id) + " port " + std::to_string(c.client.port) +
                    " r" + std::to_string(c.reuse_index) + " last " + std::to_string(c.last_ts) +
                    " " + c.analysis.conn_state + " " + c.analysis.history;
    for (const DirectionStats& s : c.dir) {
      l += " [" + std::to_string(s.packets) + " " + std::to_string(s.delivered_bytes) + " " +
           std::to_string(s.gap_bytes) + "]";
    }
    lines.push_back(l);
  }
};

Endpoint ep(uint8_t last, uint16_t port) {
  Endpoint e;
  e.addr.bytes = {10, 0, 0, last};
  e.port = port;
  return e;
}

/// Segments of many connections, interleaved, over a few minutes of capture
/// time: handshakes, data both ways (some out of order, some lost), FIN and
/// RST closes (on_close after close_delay, late ACKs after that), a tuple
/// reused after its close, connections that go idle, and ones still open at
/// the end.
struct Traffic {
  std::vector<Segment> segs;
  std::vector<std::string> payloads;  // stable storage

  explicit Traffic(uint32_t seed) {
    payloads.reserve(10000);
    std::mt19937 rng(seed);
    std::vector<std::vector<Segment>> conns;
    for (int i = 0; i < 40; ++i) {
      const Endpoint c = ep(1, static_cast<uint16_t>(20000 + i));
      const Endpoint s = ep(static_cast<uint8_t>(2 + i % 3), 80);
      std::vector<Segment> v;
      uint32_t cs = 1000u * static_cast<uint32_t>(i + 1), ss = 7000000u + 3u * cs;
      auto seg = [&](bool from_client, uint8_t flags, std::string data = "") {
        Segment x;
        x.src = from_client ? c : s;
        x.dst = from_client ? s : c;
        x.flags = flags;
        x.seq = from_client ? cs : ss;
        x.ack = from_client ? ss : cs;
        x.window = 1000;
        payloads.push_back(std::move(data));
        x.payload = reinterpret_cast<const uint8_t*>(payloads.back().data());
        x.payload_len = static_cast<uint32_t>(payloads.back().size());
        (from_client ? cs : ss) += x.seq_len();
        return x;
      };
      using namespace tcp_flags;
      const int kind = i % 5;
      for (int reuse = 0; reuse < (kind == 4 ? 2 : 1); ++reuse) {
        if (reuse == 1) cs += 100000;  // a new ISN on the same tuple
        v.push_back(seg(true, kSyn));
        v.push_back(seg(false, kSyn | kAck));
        v.push_back(seg(true, kAck));
        const int exchanges = 1 + static_cast<int>(rng() % 4);
        for (int k = 0; k < exchanges; ++k) {
          const std::string req = "req" + std::to_string(i) + "." + std::to_string(k) + ";";
          v.push_back(seg(true, kAck | kPsh, req));
          Segment a = seg(false, kAck | kPsh, "resp" + std::to_string(i) + "a;");
          Segment b = seg(false, kAck | kPsh, "resp" + std::to_string(i) + "b;");
          if (kind == 1 && k == 0) {
            v.push_back(b);  // out of order: held, then delivered from the buffer
            v.push_back(a);
          } else if (kind == 2 && k == 0) {
            v.push_back(b);  // a lost: a gap
          } else {
            v.push_back(a);
            v.push_back(b);
          }
        }
        if (kind == 0 || kind == 1 || kind == 4) {
          v.push_back(seg(true, kFin | kAck));
          v.push_back(seg(false, kFin | kAck));
          v.push_back(seg(true, kAck));
          v.push_back(v.back());  // a late duplicate ACK
        } else if (kind == 2) {
          v.push_back(seg(true, kRst));
        }
        // kind 3: left open (idle, or open at the end)
      }
      conns.push_back(std::move(v));
    }
    // Interleave at random, keeping each connection's order; 0.2 to 2 s
    // apart, with a pause of 150 s (idle expiry) now and then.
    std::vector<size_t> next(conns.size());
    Timestamp t = 1'000'000'000'000;
    for (;;) {
      std::vector<size_t> live;
      for (size_t k = 0; k < conns.size(); ++k) {
        if (next[k] < conns[k].size()) live.push_back(k);
      }
      if (live.empty()) break;
      const size_t k = live[rng() % live.size()];
      Segment s = conns[k][next[k]++];
      t += 200'000'000 + static_cast<Timestamp>(rng() % 1'800'000'000);
      if (rng() % 150 == 0) t += 150 * kNanosPerSecond;
      s.ts = t;
      segs.push_back(s);
    }
    // Two connections still open at the end of the input.
    for (uint16_t port : {30000, 30001}) {
      Segment s;
      s.src = ep(1, port);
      s.dst = ep(9, 443);
      s.flags = tcp_flags::kSyn;
      s.seq = 5;
      s.ts = t += 1000;
      segs.push_back(s);
      std::swap(s.src, s.dst);
      s.flags = tcp_flags::kSyn | tcp_flags::kAck;
      s.ack = 6;
      s.ts = t += 1000;
      segs.push_back(s);
    }
  }
};

FlowTableLimits limits() {
  FlowTableLimits l;
  l.idle_timeout = 120 * kNanosPerSecond;
  l.close_delay = 5 * kNanosPerSecond;
  return l;
}

std::vector<std::string> one_table(const Traffic& t) {
  EventLog log;
  FlowTable table(limits(), {&log});
  table.add_observer(&log);
  for (const Segment& s : t.segs) table.on_segment(s);
  table.finish();
  return log.lines;
}

std::vector<std::string> workers(const Traffic& t, size_t n) {
  EventLog log;
  FlowWorkers w(n, limits(), {&log}, {&log});
  for (const Segment& s : t.segs) w.on_segment(s, flow_hash(s.src, s.dst), true);
  w.finish();
  EXPECT_TRUE(log.finished);
  EXPECT_EQ(w.stats().segments, t.segs.size());
  return log.lines;
}

TEST(FlowWorkers, TellEveryEventInTheOrderOfOneTable) {
  for (const uint32_t seed : {1u, 2u, 3u}) {
    const Traffic t(seed);
    const std::vector<std::string> want = one_table(t);
    // The test means something: each kind of event is there.
    std::string all;
    for (const std::string& l : want) all += l + "\n";
    for (const char* what : {"close idle", "close fin", "close rst", "close end-of-input",
                             "finding 1 ", "gap ", "late #", "segment "}) {
      EXPECT_NE(all.find(what), std::string::npos) << what;
    }
    for (const size_t n : {1u, 2u, 3u, 4u}) {
      const std::vector<std::string> got = workers(t, n);
      ASSERT_EQ(got.size(), want.size()) << n << " workers, seed " << seed;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << "event " << i << ", " << n << " workers, seed " << seed;
      }
    }
  }
}

TEST(FlowWorkers, TheConnectionsAreSpreadOverTheWorkers) {
  const Traffic t(1);
  std::set<size_t> used;
  for (const Segment& s : t.segs) used.insert(FlowWorkers::worker_of(flow_hash(s.src, s.dst), 4));
  EXPECT_EQ(used.size(), 4u);
}

TEST(FlowWorkers, PostsRunBetweenTheEventsOfTheSegmentsAroundThem) {
  const Traffic t(2);
  EventLog log;
  FlowWorkers w(3, limits(), {&log}, {});
  std::vector<size_t> seen_at;  // how many events were told when each post ran
  for (size_t i = 0; i < t.segs.size(); ++i) {
    if (i == 100 || i == 700) w.post([&] { seen_at.push_back(log.lines.size()); });
    w.on_segment(t.segs[i], flow_hash(t.segs[i].src, t.segs[i].dst), true);
  }
  w.post([&] { seen_at.push_back(log.lines.size()); });
  w.finish();
  // The same point in one table's events: after the segments before it.
  EventLog one;
  FlowTable table(limits(), {&one});
  std::vector<size_t> want;
  for (size_t i = 0; i < t.segs.size(); ++i) {
    if (i == 100 || i == 700) want.push_back(one.lines.size());
    table.on_segment(t.segs[i]);
  }
  want.push_back(one.lines.size());
  table.finish();
  EXPECT_EQ(seen_at, want);
  EXPECT_EQ(log.lines, one.lines);
}

TEST(FlowWorkers, AnotherShardsSegmentsOnlyMoveTheClock) {
  const Traffic t(3);
  EventLog log;
  FlowWorkers w(2, limits(), {&log}, {});
  for (const Segment& s : t.segs) w.on_segment(s, flow_hash(s.src, s.dst), true, false);
  w.finish();
  EXPECT_EQ(log.lines, std::vector<std::string>{"finish"});
  EXPECT_EQ(w.stats().connections, 0u);
}

}  // namespace
}  // namespace tcpscribe
