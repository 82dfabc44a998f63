// The flow table with the reassembler and the TCP analysis, fed a
// structured sequence of segments decoded from the input: four 4-tuples,
// both directions, flags, sequence and acknowledgement numbers near each
// direction's cursor (with the occasional far jump), windows, payload and
// snapshot-cut lengths, capture time in small steps, small caps chosen by
// the input so that eviction, buffer limits, -b and timeouts all act, and
// half-open connections kept compact (or not).
//
// Payload bytes are a function of (tuple, direction, sequence number), so
// a checking sink can verify the sink contract (include/tcpscribe/sink.h):
//  - every event belongs to a connection between its on_open and on_close,
//    on_open and on_close come once per connection;
//  - per direction, data and gap events start at offset 0 and are
//    contiguous: every offset is covered by exactly one event;
//  - on_shutdown at most once per direction, and nothing after it in that
//    direction;
//  - every delivered byte is the byte sent at its sequence number: one
//    stream base (ISN + 1) explains every data byte of a direction;
//  - at on_close the connection's delivered/gap counts equal what the sink
//    got (with -b: at least that, and nothing past the limit reached the
//    sink); after finish() every connection is closed.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <map>
#include <vector>

#include "flow_table.h"
#include "fuzz_check.h"

using namespace tcpscribe;
using tcpscribe::fuzz::stream_byte;

namespace {

constexpr int kTuples = 4;

/// FUZZ_TRACE=1: every segment and event on stderr, to read a reproducer.
bool trace() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

Endpoint side_a(int t) {
  Endpoint e;
  e.addr.bytes = {10, 0, 0, 1};
  e.port = static_cast<uint16_t>(40000 + t);
  return e;
}
Endpoint side_b(int t) {
  Endpoint e;
  e.addr.bytes = {10, 0, 0, 2};
  // Two tuples on a well-known server port, two on high ports, so that the
  // midstream client/server guess goes both ways.
  e.port = static_cast<uint16_t>(t < 2 ? 80 : 50000 + t);
  return e;
}

/// What the harness sent: payload ranges per (tuple, direction).
struct Sent {
  std::vector<std::pair<uint32_t, uint32_t>> ranges[kTuples][2];  // (seq, len)
};

class CheckingSink : public Sink {
 public:
  CheckingSink(const Sent& sent, uint64_t limit) : sent_(sent), limit_(limit) {}

  void on_open(const Connection& c) override {
    FUZZ_CHECK(!conns_.contains(c.id), "on_open twice for connection %llu", id(c));
    Conn& k = conns_[c.id];
    k.tuple = tuple_of(c, k.client_is_a);
  }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp) override {
    if (trace()) std::fprintf(stderr, "data c%llu d%d %llu+%zu\n", id(c), index_of(d),
                              static_cast<unsigned long long>(offset), bytes.size());
    Side& s = side(c, d, "data");
    FUZZ_CHECK(offset == s.next, "data at %llu, expected %llu (connection %llu)",
               static_cast<unsigned long long>(offset), static_cast<unsigned long long>(s.next),
               id(c));
    check_bytes(conns_[c.id], d, s, offset, bytes);
    s.next += bytes.size();
    s.data += bytes.size();
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp) override {
    if (trace()) std::fprintf(stderr, "gap c%llu d%d %llu+%llu\n", id(c), index_of(d),
                              static_cast<unsigned long long>(offset),
                              static_cast<unsigned long long>(length));
    Side& s = side(c, d, "gap");
    FUZZ_CHECK(offset == s.next, "gap at %llu, expected %llu",
               static_cast<unsigned long long>(offset), static_cast<unsigned long long>(s.next));
    FUZZ_CHECK(length > 0, "an empty gap");
    s.next += length;
    s.gaps += length;
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp) override {
    if (trace()) std::fprintf(stderr, "shutdown c%llu d%d reset %d\n", id(c), index_of(d), reset);
    Side& s = side(c, d, "shutdown");
    s.shut = true;
  }
  void on_finding(const Connection& c, const Finding& f) override {
    FUZZ_CHECK(open(c), "finding for connection %llu outside open..close: %s", id(c),
               f.text.c_str());
  }
  void on_close(const Connection& c, CloseReason) override {
    FUZZ_CHECK(open(c), "on_close of connection %llu that is not open", id(c));
    Conn& k = conns_[c.id];
    for (int d = 0; d < 2; ++d) {
      const Side& s = k.dir[d];
      if (limit_ == 0) {
        FUZZ_CHECK(c.dir[d].delivered_bytes == s.data && c.dir[d].gap_bytes == s.gaps,
                   "connection %llu dir %d: delivered/gap bytes %llu/%llu, the sink got "
                   "%llu/%llu", id(c), d,
                   static_cast<unsigned long long>(c.dir[d].delivered_bytes),
                   static_cast<unsigned long long>(c.dir[d].gap_bytes),
                   static_cast<unsigned long long>(s.data),
                   static_cast<unsigned long long>(s.gaps));
      } else {
        // -b: the counts include what the limit kept from the sinks.
        FUZZ_CHECK(c.dir[d].delivered_bytes >= s.data && c.dir[d].gap_bytes >= s.gaps &&
                       s.next <= limit_,
                   "connection %llu dir %d: -b %llu, sink got up to %llu", id(c), d,
                   static_cast<unsigned long long>(limit_),
                   static_cast<unsigned long long>(s.next));
      }
    }
    k.closed = true;
  }
  void check_all_closed() const {
    for (const auto& [i, k] : conns_) {
      FUZZ_CHECK(k.closed, "connection %llu never closed", static_cast<unsigned long long>(i));
    }
  }

 private:
  struct Side {
    uint64_t next = 0, data = 0, gaps = 0;
    bool shut = false;
    bool based = false;
    std::vector<uint32_t> bases;  // stream bases that explain every byte so far
  };
  struct Conn {
    int tuple = 0;
    bool client_is_a = true;
    bool closed = false;
    Side dir[2];
  };

  static unsigned long long id(const Connection& c) { return c.id; }
  bool open(const Connection& c) const {
    auto it = conns_.find(c.id);
    return it != conns_.end() && !it->second.closed;
  }
  static int tuple_of(const Connection& c, bool& client_is_a) {
    for (int t = 0; t < kTuples; ++t) {
      if (c.client == side_a(t) && c.server == side_b(t)) return client_is_a = true, t;
      if (c.client == side_b(t) && c.server == side_a(t)) return client_is_a = false, t;
    }
    FUZZ_CHECK(false, "connection %llu between endpoints the harness never used", id(c));
    return 0;
  }
  Side& side(const Connection& c, Dir d, const char* what) {
    FUZZ_CHECK(open(c), "%s for connection %llu outside open..close", what, id(c));
    Side& s = conns_[c.id].dir[index_of(d)];
    FUZZ_CHECK(!s.shut, "%s after the shutdown of direction %d (connection %llu)", what,
               index_of(d), id(c));
    return s;
  }
  /// Keeps the stream bases under which every byte so far is the byte the
  /// harness sent at base + offset.
  void check_bytes(const Conn& k, Dir d, Side& s, uint64_t offset,
                   std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    // Harness direction 0 is a -> b.
    const int hd = (index_of(d) == 0) == k.client_is_a ? 0 : 1;
    const auto off = static_cast<uint32_t>(offset);
    if (!s.based) {
      s.based = true;
      for (const auto& [seq, len] : sent_.ranges[k.tuple][hd]) {
        for (uint32_t i = 0; i < len; ++i) {
          if (stream_byte(k.tuple, hd, seq + i) == bytes[0]) s.bases.push_back(seq + i - off);
        }
      }
      std::sort(s.bases.begin(), s.bases.end());
      s.bases.erase(std::unique(s.bases.begin(), s.bases.end()), s.bases.end());
    }
    std::erase_if(s.bases, [&](uint32_t base) {
      for (size_t i = 0; i < bytes.size(); ++i) {
        if (stream_byte(k.tuple, hd, base + off + static_cast<uint32_t>(i)) != bytes[i]) {
          return true;
        }
      }
      return false;
    });
    FUZZ_CHECK(!s.bases.empty(),
               "tuple %d dir %d: bytes at offset %llu (+%zu) are not the bytes sent at any "
               "one sequence base", k.tuple, hd, static_cast<unsigned long long>(offset),
               bytes.size());
  }

  const Sent& sent_;
  uint64_t limit_;  // -b
  std::map<uint64_t, Conn> conns_;
};

FlowTableLimits limits_from(FuzzedDataProvider& in) {
  FlowTableLimits l;
  const auto a = in.ConsumeIntegral<uint8_t>();
  const auto b = in.ConsumeIntegral<uint8_t>();
  l.max_flows = (a & 1) ? 1 + (a >> 1 & 3) : 1000;
  const size_t bufs[] = {16, 300, 4096, 16u << 20};
  l.max_buffer_per_direction = bufs[a >> 3 & 3];
  l.max_buffer_total = bufs[a >> 5 & 3] * 2;
  l.idle_timeout = (b & 1) ? 3 * kNanosPerSecond : 900 * kNanosPerSecond;
  l.closed_linger = (b & 2) ? kNanosPerSecond : 120 * kNanosPerSecond;
  l.close_delay = (b & 4) ? 0 : kNanosPerSecond;
  l.max_bytes_per_direction = (b & 8) ? 200 : 0;
  l.ack_proof_packets = (b & 16) ? 1 : 16;
  l.ack_proof_time = (b & 32) ? 0 : kNanosPerSecond;
  // Half-open connections compacted at once, after one newer, or (with
  // four tuples) never: rebuilt from their SYNs at their next segment.
  l.young_half_open = (b & 64) ? 0 : (b & 128) ? 1 : 16384;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const FlowTableLimits limits = limits_from(in);
  Sent sent;
  CheckingSink sink(sent, limits.max_bytes_per_direction);
  FlowTable table(limits, {&sink});
  // Each direction's cursor: where its next in-order byte goes.
  uint32_t cursor[kTuples][2];
  for (auto& t : cursor) {
    for (auto& c : t) c = in.ConsumeIntegral<uint32_t>();
  }
  Timestamp ts = 1'000'000'000;
  std::vector<uint8_t> payload;
  size_t budget = 200'000;  // payload bytes per input, to keep runs fast
  for (int step = 0; step < 2000 && in.remaining_bytes() > 0; ++step) {
    const auto op = in.ConsumeIntegral<uint8_t>();
    const int t = op & 3;
    const int hd = op >> 2 & 1;
    const int how = op >> 3;  // 0..31
    if (how == 31) {
      ts += in.ConsumeIntegralInRange<int64_t>(0, 10) * kNanosPerSecond;
      table.expire(ts);
      continue;
    }
    ts += in.ConsumeIntegralInRange<int64_t>(0, 50'000'000);
    Segment s;
    s.ts = ts;
    s.src = hd == 0 ? side_a(t) : side_b(t);
    s.dst = hd == 0 ? side_b(t) : side_a(t);
    s.flags = in.ConsumeIntegral<uint8_t>() & 0x3F;
    // Sequence number: at the cursor, near it, or anywhere.
    uint32_t seq = cursor[t][hd];
    if (how >= 20 && how < 28) {
      seq += static_cast<uint32_t>(in.ConsumeIntegralInRange<int32_t>(-3000, 3000));
    } else if (how >= 28) {
      seq = in.ConsumeBool() ? seq + 0x80000000u : in.ConsumeIntegral<uint32_t>();
    }
    s.seq = seq;
    s.ack = cursor[t][1 - hd] + static_cast<uint32_t>(in.ConsumeIntegralInRange<int32_t>(-2, 2) *
                                                      in.ConsumeIntegralInRange<int32_t>(0, 1500));
    s.window = in.ConsumeIntegral<uint16_t>();
    s.wscale = s.has(tcp_flags::kSyn) ? in.ConsumeIntegralInRange<int8_t>(-1, 14) : -1;
    uint32_t len = in.ConsumeIntegralInRange<uint32_t>(0, how < 4 ? 0 : 700);
    len = static_cast<uint32_t>(std::min<size_t>(len, budget));
    budget -= len;
    if (how == 19) s.missing_len = in.ConsumeIntegralInRange<uint32_t>(1, 1000);
    const uint32_t data_seq = seq + (s.has(tcp_flags::kSyn) ? 1 : 0);
    payload.resize(len);
    for (uint32_t i = 0; i < len; ++i) payload[i] = stream_byte(t, hd, data_seq + i);
    s.payload = payload.data();
    s.payload_len = len;
    if (len > 0) sent.ranges[t][hd].emplace_back(data_seq, len);
    // The cursor follows what was sent most of the time.
    if (how < 24) cursor[t][hd] = seq + s.seq_len();
    if (trace()) {
      std::fprintf(stderr, "seg t%d %s seq %u ack %u flags %02x len %u+%u ts %lld\n", t,
                   hd ? "b>a" : "a>b", s.seq, s.ack, s.flags, len, s.missing_len,
                   static_cast<long long>(ts));
    }
    table.on_segment(s);
  }
  table.finish();
  sink.check_all_closed();
  return 0;
}
