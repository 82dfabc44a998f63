#include "dispatcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// Records what the analyzers emit.
struct Recorder : AnalyzerOutput {
  void finding(const Connection&, const Finding& f) override { findings.push_back(f.text); }
  void exchange(const Connection& c, const ExchangeRecord& r) override {
    exchanges.push_back(std::to_string(c.id) + " " + r.proto + " " + r.fields[0].second + " " +
                        r.fields[1].second + " " + r.fields[4].second);
  }
  void message(const Connection&, const DecodedMessage& m) override {
    messages.push_back(m.summary);
  }
  void http_transaction(const HttpTransaction&) override { ++transactions; }
  std::vector<std::string> findings, exchanges, messages;
  int transactions = 0;
};

/// A sink that writes down every event it gets, as text.
struct EventLog : Sink {
  void on_open(const Connection& c) override { log.push_back("open " + std::to_string(c.id)); }
  void on_data(const Connection&, Dir d, uint64_t off, std::span<const uint8_t> b,
               Timestamp) override {
    log.push_back(std::string(d == Dir::kClientToServer ? "C" : "S") + "@" + std::to_string(off) +
                  " " + std::string(b.begin(), b.end()));
  }
  void on_gap(const Connection&, Dir, uint64_t off, uint64_t len, Timestamp) override {
    log.push_back("gap@" + std::to_string(off) + "+" + std::to_string(len));
  }
  void on_shutdown(const Connection&, Dir d, bool, Timestamp) override {
    log.push_back(std::string("shut ") + (d == Dir::kClientToServer ? "C" : "S"));
  }
  void on_finding(const Connection&, const Finding& f) override { log.push_back("! " + f.text); }
  void on_close(const Connection&, CloseReason) override { log.push_back("close"); }
  std::vector<std::string> log;
};

const char kRequest[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";

struct Fixture {
  explicit Fixture(uint16_t port, bool handshake = true, bool with_view = true)
      : dispatcher({find_analyzer("http")}, settings(), with_view ? &view : nullptr) {
    c.id = 3;
    c.client.addr.bytes = {10, 0, 0, 1};
    c.client.port = 40000;
    c.server.addr.bytes = {10, 0, 0, 2};
    c.server.port = port;
    c.handshake_seen = handshake;
    dispatcher.on_open(c);
  }
  AnalyzerSettings settings() {
    AnalyzerSettings s;
    s.out = &out;
    s.decode_view = true;
    return s;
  }
  void send(Dir d, const std::string& s) {
    dispatcher.on_data(c, d, off[index_of(d)], bytes_of(s), ++ts);
    off[index_of(d)] += s.size();
  }
  void close() {
    dispatcher.on_shutdown(c, Dir::kClientToServer, false, ++ts);
    dispatcher.on_shutdown(c, Dir::kServerToClient, false, ++ts);
    dispatcher.on_close(c, CloseReason::kFin);
    dispatcher.finish();
  }
  Recorder out;
  EventLog view;
  AnalyzerDispatcher dispatcher;
  Connection c;
  uint64_t off[2] = {0, 0};
  Timestamp ts = 1'000'000'000;
};

TEST(AnalyzerDispatcher, RecognisesHttpOnAPortWithoutHint) {
  Fixture f(9999);
  f.send(Dir::kClientToServer, kRequest);
  EXPECT_STREQ(f.dispatcher.chosen(3), "http");
  f.send(Dir::kServerToClient, kResponse);
  f.close();
  EXPECT_EQ(f.out.exchanges, std::vector<std::string>{"3 http \"GET\" \"/a\" 200"});
  EXPECT_EQ(f.out.messages, (std::vector<std::string>{"GET /a", "200 OK"}));
  EXPECT_EQ(f.dispatcher.stats().claimed, 1u);
  // The view gets no bytes of a claimed connection, only its ends.
  EXPECT_EQ(f.view.log, (std::vector<std::string>{"open 3", "shut C", "shut S", "close"}));
}

// A connection gets state at its first event after the open, not at the
// open: a flood of SYNs that never carry data costs nothing here, and is
// still counted as unclaimed when it closes.
TEST(AnalyzerDispatcher, StateComesWithTheFirstEventNotTheOpen) {
  Fixture f(80);
  for (uint64_t id = 10; id < 1010; ++id) {
    Connection c = f.c;
    c.id = id;
    f.dispatcher.on_open(c);
  }
  EXPECT_EQ(f.dispatcher.states(), 0u);
  f.send(Dir::kClientToServer, kRequest);
  EXPECT_EQ(f.dispatcher.states(), 1u);
  EXPECT_STREQ(f.dispatcher.chosen(3), "http");
  for (uint64_t id = 10; id < 1010; ++id) {
    Connection c = f.c;
    c.id = id;
    f.dispatcher.on_close(c, CloseReason::kEndOfInput);
  }
  EXPECT_EQ(f.dispatcher.stats().unclaimed, 1000u);
  f.send(Dir::kServerToClient, kResponse);
  f.close();
  EXPECT_EQ(f.dispatcher.states(), 0u);
  EXPECT_EQ(f.out.exchanges, std::vector<std::string>{"3 http \"GET\" \"/a\" 200"});
  EXPECT_EQ(f.dispatcher.stats().claimed, 1u);
}

TEST(AnalyzerDispatcher, LeavesANonHttpServiceOnPort80Alone) {
  Fixture f(80);
  const std::string hello("\x16\x03\x01\x00\x05hello", 10);
  f.send(Dir::kClientToServer, hello);
  EXPECT_EQ(f.dispatcher.chosen(3), nullptr);
  f.send(Dir::kServerToClient, "HTTP/1.1 200 OK\r\n\r\n");  // too late: decided
  f.close();
  EXPECT_TRUE(f.out.exchanges.empty());
  EXPECT_TRUE(f.out.findings.empty());
  EXPECT_EQ(f.dispatcher.stats().unclaimed, 1u);
  ASSERT_EQ(f.view.log.size(), 6u);
  EXPECT_EQ(f.view.log[1], "C@0 " + hello);
  EXPECT_EQ(f.view.log[2], "S@0 HTTP/1.1 200 OK\r\n\r\n");
}

TEST(AnalyzerDispatcher, HoldsSplitFirstBytesAndReplaysThemInOrder) {
  Fixture f(9999);
  Finding x;
  x.text = "a finding while probing";
  f.send(Dir::kClientToServer, "GE");
  EXPECT_EQ(f.dispatcher.chosen(3), nullptr);
  f.dispatcher.on_finding(f.c, x);
  EXPECT_EQ(f.view.log, std::vector<std::string>{"open 3"});  // held
  f.send(Dir::kClientToServer, std::string(kRequest).substr(2));
  EXPECT_STREQ(f.dispatcher.chosen(3), "http");
  EXPECT_EQ(f.view.log, (std::vector<std::string>{"open 3", "! a finding while probing"}));
  f.send(Dir::kServerToClient, kResponse);
  f.close();
  EXPECT_EQ(f.out.exchanges, std::vector<std::string>{"3 http \"GET\" \"/a\" 200"});
}

TEST(AnalyzerDispatcher, PortHintDecidesWhenTheStartIsMissing) {
  // Picked up midstream inside a body: no line start looks like HTTP.
  for (uint16_t port : {80, 9999}) {
    Fixture f(port, /*handshake=*/false);
    f.send(Dir::kServerToClient, "tail of some body");
    EXPECT_EQ(f.dispatcher.chosen(3), nullptr) << port;
    f.dispatcher.on_close(f.c, CloseReason::kEndOfInput);
    EXPECT_EQ(f.dispatcher.stats().claimed, port == 80 ? 1u : 0u) << port;
  }
}

TEST(AnalyzerDispatcher, FindsAMessageStartInAMidstreamDirection) {
  Fixture f(9999, /*handshake=*/false);
  f.send(Dir::kClientToServer, "rest of a body\r\n" + std::string(kRequest));
  EXPECT_STREQ(f.dispatcher.chosen(3), "http");
}

ProbeResult probe_undecided(Dir, std::span<const uint8_t>) { return ProbeResult::kNeedMore; }

struct NullAnalyzer : ProtocolAnalyzer {
  void on_open(const Connection&) override { ++opened; }
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t> b, Timestamp) override {
    bytes += b.size();
  }
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_close(const Connection&, CloseReason) override {}
  static inline int opened = 0;
  static inline size_t bytes = 0;
};

std::unique_ptr<ProtocolAnalyzer> make_null(const AnalyzerSettings&) {
  return std::make_unique<NullAnalyzer>();
}

TEST(AnalyzerDispatcher, TheByteCapEndsProbingAndThePortHintDecides) {
  static const AnalyzerInfo slow{"slow", "never sure", {7777}, probe_undecided, make_null};
  for (uint16_t port : {7777, 7778}) {
    NullAnalyzer::opened = 0;
    NullAnalyzer::bytes = 0;
    EventLog view;
    AnalyzerSettings s;
    AnalyzerDispatcher d({&slow}, s, &view);
    Connection c;
    c.id = 5;
    c.handshake_seen = true;
    c.server.port = port;
    d.on_open(c);
    const std::string chunk(1000, 'x');
    for (int i = 0; i < 5; ++i) d.on_data(c, Dir::kClientToServer, i * 1000u, bytes_of(chunk), i);
    // 4096 bytes end the client's probing; the server said nothing yet, so
    // the decision waits until the bytes held pass twice the cap.
    EXPECT_EQ(d.chosen(5), nullptr);
    for (int i = 0; i < 5; ++i) d.on_data(c, Dir::kServerToClient, i * 1000u, bytes_of(chunk), i);
    EXPECT_EQ(NullAnalyzer::opened, port == 7777 ? 1 : 0) << port;
    if (port == 7777) {
      EXPECT_STREQ(d.chosen(5), "slow");
      EXPECT_EQ(NullAnalyzer::bytes, 10000u);  // nothing lost while held
      EXPECT_EQ(view.log.size(), 1u);
    } else {
      EXPECT_EQ(d.stats().unclaimed, 1u);
      EXPECT_EQ(view.log.size(), 11u);  // open + every chunk, in order
      EXPECT_EQ(view.log[1], "C@0 " + chunk);
      EXPECT_EQ(view.log[10], "S@4000 " + chunk);
    }
  }
}

TEST(AnalyzerDispatcher, WithoutAnalyzersEverythingGoesToTheView) {
  Recorder out;
  EventLog view;
  AnalyzerSettings s;
  s.out = &out;
  AnalyzerDispatcher d({}, s, &view);
  Connection c;
  c.id = 1;
  d.on_open(c);
  d.on_data(c, Dir::kClientToServer, 0, bytes_of("x"), 1);
  d.on_close(c, CloseReason::kFin);
  EXPECT_EQ(view.log, (std::vector<std::string>{"open 1", "C@0 x", "close"}));
}

// Stacking: an analyzer that uncovers an inner stream feeds a dispatcher
// of its own. Here a toy framing: each direction starts with "WRAP\n",
// the rest is the inner stream.
struct WrapAnalyzer : ProtocolAnalyzer {
  explicit WrapAnalyzer(const AnalyzerSettings& s) : inner({find_analyzer("http")}, s) {}
  void on_open(const Connection& c) override { inner.on_open(c); }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> b,
               Timestamp ts) override {
    const uint64_t skip = offset < 5 ? std::min<uint64_t>(5 - offset, b.size()) : 0;
    if (skip < b.size()) inner.on_data(c, d, offset + skip - 5, b.subspan(skip), ts);
  }
  void on_gap(const Connection& c, Dir d, uint64_t o, uint64_t n, Timestamp ts) override {
    inner.on_gap(c, d, o - 5, n, ts);
  }
  void on_shutdown(const Connection& c, Dir d, bool r, Timestamp ts) override {
    inner.on_shutdown(c, d, r, ts);
  }
  void on_close(const Connection& c, CloseReason why) override { inner.on_close(c, why); }
  void finish() override { inner.finish(); }
  AnalyzerDispatcher inner;
};

ProbeResult probe_wrap(Dir, std::span<const uint8_t> first) {
  const std::string want = "WRAP\n";
  const std::string have(first.begin(), first.end());
  if (have.size() >= want.size()) return have.compare(0, 5, want) == 0 ? ProbeResult::kYes : ProbeResult::kNo;
  return want.compare(0, have.size(), have) == 0 ? ProbeResult::kNeedMore : ProbeResult::kNo;
}

std::unique_ptr<ProtocolAnalyzer> make_wrap(const AnalyzerSettings& s) {
  return std::make_unique<WrapAnalyzer>(s);
}

TEST(AnalyzerDispatcher, StacksAnAnalyzerOnAnother) {
  static const AnalyzerInfo wrap{"wrap", "toy framing", {}, probe_wrap, make_wrap};
  Recorder out;
  AnalyzerSettings s;
  s.out = &out;
  AnalyzerDispatcher d({find_analyzer("http"), &wrap}, s);
  Connection c;
  c.id = 9;
  c.handshake_seen = true;
  c.server.port = 80;  // the hint says HTTP; the probe says no, "wrap" says yes
  d.on_open(c);
  const std::string rq = "WRAP\n" + std::string(kRequest);
  const std::string rs = "WRAP\n" + std::string(kResponse);
  d.on_data(c, Dir::kClientToServer, 0, bytes_of(rq.substr(0, 3)), 1);
  d.on_data(c, Dir::kClientToServer, 3, bytes_of(rq.substr(3)), 2);
  d.on_data(c, Dir::kServerToClient, 0, bytes_of(rs), 3);
  EXPECT_STREQ(d.chosen(9), "wrap");
  d.on_close(c, CloseReason::kFin);
  d.finish();
  EXPECT_EQ(out.exchanges, std::vector<std::string>{"9 http \"GET\" \"/a\" 200"});
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

TEST(AnalyzerDispatcher, ChooseByNameSkipsProbing) {
  Recorder out;
  AnalyzerSettings s;
  s.out = &out;
  AnalyzerDispatcher d({find_analyzer("http")}, s);
  Connection c;
  c.id = 4;
  c.handshake_seen = true;
  c.server.port = 9999;  // no hint
  d.on_open(c);
  EXPECT_FALSE(d.choose_by_name(c, "http2"));  // not enabled here
  EXPECT_TRUE(d.choose_by_name(c, "http"));
  EXPECT_STREQ(d.chosen(4), "http");  // before any byte (probing: null until one)
  d.on_data(c, Dir::kClientToServer, 0, bytes_of("GE"), 1);
  d.on_data(c, Dir::kClientToServer, 2, bytes_of(std::string(kRequest).substr(2)), 2);
  d.on_data(c, Dir::kServerToClient, 0, bytes_of(kResponse), 3);
  EXPECT_FALSE(d.choose_by_name(c, "http"));  // too late: it has events
  d.on_close(c, CloseReason::kFin);
  d.finish();
  EXPECT_EQ(out.exchanges, std::vector<std::string>{"4 http \"GET\" \"/a\" 200"});
  EXPECT_EQ(d.stats().claimed, 1u);
}

TEST(AnalyzerDispatcher, SecretsAddedReachesEveryAnalyzer) {
  static int told = 0;
  struct Counting : ProtocolAnalyzer {
    void on_open(const Connection&) override {}
    void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {}
    void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
    void on_close(const Connection&, CloseReason) override {}
    void secrets_added() override { ++told; }
  };
  static const AnalyzerInfo a{"a", "", {}, [](Dir, std::span<const uint8_t>) {
    return ProbeResult::kNo; }, [](const AnalyzerSettings&) -> std::unique_ptr<ProtocolAnalyzer> {
    return std::make_unique<Counting>(); }};
  static const AnalyzerInfo b{"b", "", {}, a.probe, a.create};
  AnalyzerDispatcher d({&a, &b}, AnalyzerSettings{});
  d.secrets_added();
  EXPECT_EQ(told, 2);
}

}  // namespace
}  // namespace tcpscribe
