// The analyzer dispatcher (src/analyzers/dispatcher) with every registered
// analyzer (HTTP and its probe) and a stand-in second protocol, over
// structured sink events for three connections: data of any size (past
// the probe cap), gaps, shutdowns, findings, closes, with or without the
// handshake, on hinted and other ports. Each analyzer is wrapped so the
// harness sees what it receives. Properties:
//  - every byte (and gap) the dispatcher receives reaches exactly one of
//    the chosen analyzer or the view, at its offset, in order: per
//    connection and direction, what the two received together is what was
//    sent, and only one of them received any;
//  - an analyzer gets on_open before any event of a connection and
//    on_close after its last; the view gets on_close once per connection.
#include <fuzzer/FuzzedDataProvider.h>

#include <map>
#include <string>
#include <vector>

#include "analyzer.h"
#include "dispatcher.h"
#include "fuzz_check.h"

using namespace tcpscribe;

namespace {

/// A direction's stream as received: bytes, with gaps as a mask.
struct Stream {
  std::string bytes;
  std::string is_gap;  // '1' where a gap was
  void data(uint64_t offset, std::span<const uint8_t> b) {
    FUZZ_CHECK(offset == bytes.size(), "data at %llu, expected %zu",
               static_cast<unsigned long long>(offset), bytes.size());
    bytes.append(b.begin(), b.end());
    is_gap.append(b.size(), '0');
  }
  void gap(uint64_t offset, uint64_t length) {
    FUZZ_CHECK(offset == bytes.size(), "gap at %llu, expected %zu",
               static_cast<unsigned long long>(offset), bytes.size());
    bytes.append(length, '\0');
    is_gap.append(length, '1');
  }
  bool operator==(const Stream&) const = default;
};

struct Received {
  Stream dir[2];
  bool opened = false, closed = false;
  int closes = 0;
};

/// Everything the analyzers and the view received, by connection id.
struct Log {
  std::map<uint64_t, Received> analyzer, view;
};
Log* g_log = nullptr;

/// Records what a real (or stand-in) analyzer gets and passes it on.
class Recording : public ProtocolAnalyzer {
 public:
  explicit Recording(std::unique_ptr<ProtocolAnalyzer> inner) : inner_(std::move(inner)) {}
  void on_open(const Connection& c) override {
    Received& r = g_log->analyzer[c.id];
    FUZZ_CHECK(!r.opened, "an analyzer opened connection %llu twice",
               static_cast<unsigned long long>(c.id));
    r.opened = true;
    if (inner_) inner_->on_open(c);
  }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    open(c).dir[index_of(d)].data(offset, bytes);
    if (inner_) inner_->on_data(c, d, offset, bytes, ts);
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override {
    open(c).dir[index_of(d)].gap(offset, length);
    if (inner_) inner_->on_gap(c, d, offset, length, ts);
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    open(c);
    if (inner_) inner_->on_shutdown(c, d, reset, ts);
  }
  void on_finding(const Connection& c, const Finding& f) override {
    open(c);
    if (inner_) inner_->on_finding(c, f);
  }
  void on_close(const Connection& c, CloseReason why) override {
    open(c).closed = true;
    if (inner_) inner_->on_close(c, why);
  }
  void finish() override {
    if (inner_) inner_->finish();
  }

 private:
  static Received& open(const Connection& c) {
    Received& r = g_log->analyzer[c.id];
    FUZZ_CHECK(r.opened && !r.closed, "an analyzer got an event of connection %llu outside "
               "open..close", static_cast<unsigned long long>(c.id));
    return r;
  }
  std::unique_ptr<ProtocolAnalyzer> inner_;
};

class View : public Sink {
 public:
  void on_open(const Connection& c) override { g_log->view[c.id].opened = true; }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp) override {
    g_log->view[c.id].dir[index_of(d)].data(offset, bytes);
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp) override {
    g_log->view[c.id].dir[index_of(d)].gap(offset, length);
  }
  void on_close(const Connection& c, CloseReason) override { ++g_log->view[c.id].closes; }
};

template <size_t I>
std::unique_ptr<ProtocolAnalyzer> wrap(const AnalyzerSettings& s) {
  return std::make_unique<Recording>(analyzer_registry()[I].create(s));
}
constexpr size_t kMaxRegistered = 8;
template <size_t... I>
auto make_wrappers(std::index_sequence<I...>) {
  return std::array<std::unique_ptr<ProtocolAnalyzer> (*)(const AnalyzerSettings&),
                    sizeof...(I)>{wrap<I>...};
}

/// A stand-in second protocol: the client starts with '*' (as Redis does).
ProbeResult probe_star(Dir d, std::span<const uint8_t> first) {
  if (first.empty()) return ProbeResult::kNeedMore;
  return d == Dir::kClientToServer && first[0] == '*' ? ProbeResult::kYes : ProbeResult::kNo;
}
std::unique_ptr<ProtocolAnalyzer> make_star(const AnalyzerSettings&) {
  return std::make_unique<Recording>(nullptr);
}

const std::vector<AnalyzerInfo>& infos() {
  static const std::vector<AnalyzerInfo> all = [] {
    static const auto wrappers = make_wrappers(std::make_index_sequence<kMaxRegistered>());
    FUZZ_CHECK(analyzer_registry().size() <= kMaxRegistered, "raise kMaxRegistered");
    std::vector<AnalyzerInfo> v;
    for (size_t i = 0; i < analyzer_registry().size(); ++i) {
      AnalyzerInfo a = analyzer_registry()[i];
      a.create = wrappers[i];
      v.push_back(a);
    }
    v.push_back({"star", "a stand-in", {6379}, probe_star, make_star});
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Log log;
  g_log = &log;
  std::vector<const AnalyzerInfo*> enabled;
  for (const AnalyzerInfo& a : infos()) enabled.push_back(&a);
  if (in.ConsumeBool()) std::swap(enabled.front(), enabled.back());
  AnalyzerSettings settings;
  View view;
  AnalyzerDispatcher dispatcher(enabled, settings, &view);

  constexpr int kConns = 3;
  static const uint16_t kPorts[] = {80, 6379, 5000, 8080};
  Connection conns[kConns];
  Stream sent[kConns][2];
  bool open[kConns] = {}, shut[kConns][2] = {};
  uint64_t next_id = 0;
  Timestamp ts = 1000;
  while (in.remaining_bytes() > 0) {
    const auto op = in.ConsumeIntegral<uint8_t>();
    const int k = op % kConns;
    const int d = op >> 2 & 1;
    const int what = op >> 3 & 7;
    Connection& c = conns[k];
    ts += 10;
    if (!open[k]) {
      c = Connection{};
      c.id = next_id++;
      c.client.port = static_cast<uint16_t>(40000 + k);
      c.server.port = kPorts[op >> 3 & 3];
      c.handshake_seen = op & 0x20;
      sent[k][0] = sent[k][1] = Stream{};
      shut[k][0] = shut[k][1] = false;
      open[k] = true;
      dispatcher.on_open(c);
      continue;
    }
    if (what == 7) {
      dispatcher.on_close(c, CloseReason::kFin);
      open[k] = false;
      for (int i = 0; i < 2; ++i) {
        const Stream& a = log.analyzer[c.id].dir[i];
        const Stream& v = log.view[c.id].dir[i];
        FUZZ_CHECK(a.bytes.empty() || v.bytes.empty(),
                   "connection %llu dir %d: bytes went to both the analyzer and the view",
                   static_cast<unsigned long long>(c.id), i);
        FUZZ_CHECK((a.bytes.empty() ? v : a) == sent[k][i],
                   "connection %llu dir %d: %zu bytes sent, analyzer %zu, view %zu",
                   static_cast<unsigned long long>(c.id), i, sent[k][i].bytes.size(),
                   a.bytes.size(), v.bytes.size());
      }
      FUZZ_CHECK(log.view[c.id].closes == 1, "the view saw %d closes", log.view[c.id].closes);
      FUZZ_CHECK(!log.analyzer[c.id].opened || log.analyzer[c.id].closed,
                 "the analyzer did not get on_close");
      continue;
    }
    const Dir dir = d ? Dir::kServerToClient : Dir::kClientToServer;
    if (shut[k][d]) continue;  // the sink contract: nothing after a shutdown
    Stream& s = sent[k][d];
    if (what == 5) {
      const auto len = in.ConsumeIntegralInRange<uint64_t>(1, 3000);
      dispatcher.on_gap(c, dir, s.bytes.size(), len, ts);
      s.gap(s.bytes.size(), len);
    } else if (what == 6) {
      if (op & 0x40) {
        Finding f;
        f.dir = dir;
        f.text = "a finding";
        dispatcher.on_finding(c, f);
      } else {
        shut[k][d] = true;
        dispatcher.on_shutdown(c, dir, op & 0x80, ts);
      }
    } else {
      // Data: some input bytes, sometimes many (past the probe cap).
      const size_t len = in.ConsumeIntegralInRange<size_t>(0, (op & 0x80) ? 6000 : 200);
      const std::string b = in.ConsumeBytesAsString(len);
      if (b.empty()) continue;
      const auto bytes = tcpscribe::fuzz::bytes_of(b);
      dispatcher.on_data(c, dir, s.bytes.size(), bytes, ts);
      s.data(s.bytes.size(), bytes);
    }
  }
  for (int k = 0; k < kConns; ++k) {
    if (open[k]) dispatcher.on_close(conns[k], CloseReason::kEndOfInput);
  }
  dispatcher.finish();
  g_log = nullptr;
  return 0;
}
