#include "report_html.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "capture_file.h"
#include "flow_table.h"
#include "http.h"
#include "test_files.h"
#include "test_support.h"

#ifndef TCPSCRIBE_SOURCE_DIR
#define TCPSCRIBE_SOURCE_DIR "."
#endif

namespace tcpscribe {
namespace {

using testing::slurp;

using tcp_flags::kAck;
using tcp_flags::kFin;
using tcp_flags::kPsh;
using tcp_flags::kRst;
using tcp_flags::kSyn;

constexpr Timestamp kT0 = 1'700'000'000 * kNanosPerSecond;
constexpr Timestamp kUs = 1000;

Endpoint ep(uint8_t last, uint16_t port) {
  const uint8_t b[4] = {10, 0, 0, last};
  return Endpoint{IpAddr::v4_from(b), port};
}

/// Segments from client 10.0.0.1:40000 to server 10.0.0.2:80 and back.
struct Wire {
  std::vector<std::string> payloads;  // keeps payload bytes alive
  Segment seg(Dir d, uint8_t flags, uint32_t seq, uint32_t ack, std::string payload, Timestamp ts,
              uint16_t window = 1000) {
    Segment s;
    s.ts = ts;
    s.src = d == Dir::kClientToServer ? ep(1, 40000) : ep(2, 80);
    s.dst = d == Dir::kClientToServer ? ep(2, 80) : ep(1, 40000);
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = window;
    payloads.push_back(std::move(payload));
    s.payload = reinterpret_cast<const uint8_t*>(payloads.back().data());
    s.payload_len = static_cast<uint32_t>(payloads.back().size());
    return s;
  }
};

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// Driving the report directly, with the analysis counters set by hand the
// way the tracker would: a counter that moved labels the segment.
TEST(HtmlReport, KindsRelativeNumbersAndMarksFromCounters) {
  HtmlReport r("unused.html", {"x.pcap"});
  Wire w;
  Connection c;
  c.id = 7;
  c.client = ep(1, 40000);
  c.server = ep(2, 80);
  c.first_ts = kT0;
  r.on_open(c);
  const uint32_t ci = 0xFFFFFFF0u, si = 5000;  // the client's numbers wrap
  const Dir c2s = Dir::kClientToServer, s2c = Dir::kServerToClient;
  r.on_segment(c, c2s, w.seg(c2s, kSyn, ci, 0, "", kT0));
  r.on_segment(c, s2c, w.seg(s2c, kSyn | kAck, si, ci + 1, "", kT0 + 100 * kUs));
  r.on_segment(c, c2s, w.seg(c2s, kAck, ci + 1, si + 1, "", kT0 + 200 * kUs));
  r.on_segment(c, c2s, w.seg(c2s, kAck | kPsh, ci + 1, si + 1, "0123456789abcdefghij", kT0 + 300 * kUs));
  c.analysis.dir[0].retransmission = 1;
  r.on_segment(c, c2s, w.seg(c2s, kAck | kPsh, ci + 1, si + 1, "0123456789abcdefghij", kT0 + 400 * kUs));
  r.on_segment(c, s2c, w.seg(s2c, kAck, si + 1, ci + 21, "", kT0 + 500 * kUs, 0));
  c.analysis.dir[1].duplicate_ack = 1;
  r.on_segment(c, s2c, w.seg(s2c, kAck, si + 1, ci + 21, "", kT0 + 600 * kUs));
  r.on_segment(c, s2c, w.seg(s2c, kAck | kFin, si + 1, ci + 21, "", kT0 + 700 * kUs));
  r.on_segment(c, c2s, w.seg(c2s, kAck, ci + 21, si + 2, "late", kT0 + 800 * kUs));
  r.on_segment(c, s2c, w.seg(s2c, kRst, si + 2, 0, "", kT0 + 900 * kUs));
  c.last_ts = kT0 + 900 * kUs;
  r.on_close(c, CloseReason::kRst);

  ASSERT_EQ(r.connections().size(), 1u);
  const auto& p = r.connections()[0].packets;
  ASSERT_EQ(p.size(), 10u);
  using R = HtmlReport;
  const uint8_t kinds[] = {R::kSyn, R::kSynAck, R::kAck, R::kPsh, R::kPsh,
                           R::kAck, R::kAck, R::kFin, R::kData, R::kRst};
  const uint32_t seqs[] = {0, 0, 1, 1, 1, 1, 1, 1, 21, 2};
  const uint32_t acks[] = {0, 1, 1, 1, 1, 21, 21, 21, 2, 0};
  const uint16_t marks[] = {0, 0, 0, 0, R::kRetransmission, R::kZeroWindow, R::kDuplicateAck,
                            0, R::kDataAfterPeerFin, 0};
  for (size_t i = 0; i < p.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(p[i].kind, kinds[i]);
    EXPECT_EQ(p[i].seq, seqs[i]);
    EXPECT_EQ(p[i].ack, acks[i]);
    EXPECT_EQ(p[i].marks, marks[i]);
  }
  EXPECT_FALSE(p[0].has_ack);
  EXPECT_EQ(p[3].len, 20u);

  // Phases: handshake until the client's ACK, established, half-closed at
  // the server's FIN, reset at the RST.
  const auto& ph = r.connections()[0].phases;
  ASSERT_EQ(ph.size(), 4u);
  EXPECT_EQ(ph[0].phase, R::kHandshake);
  EXPECT_EQ(ph[0].start, kT0);
  EXPECT_EQ(ph[1].phase, R::kEstablished);
  EXPECT_EQ(ph[1].start, kT0 + 200 * kUs);
  EXPECT_EQ(ph[2].phase, R::kHalfClosed);
  EXPECT_EQ(ph[2].start, kT0 + 700 * kUs);
  EXPECT_EQ(ph[3].phase, R::kReset);
  EXPECT_EQ(ph[3].start, kT0 + 900 * kUs);

  // In the JSON: 7 numbers a packet, times in microseconds from the start.
  const std::string j = r.json();
  EXPECT_NE(j.find("\"pk\":[0,0,0,0,-1,1000,0,100,3,0,0,1,1000,0,200,12,0,1,1,1000,0,"
                   "300,6,20,1,1,1000,0,400,6,20,1,1,1000,1,"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"ph\":[[\"handshake\",0],[\"established\",200],[\"half-closed\",700],"
                   "[\"reset\",900]]"),
            std::string::npos);
  EXPECT_NE(j.find("\"close\":\"rst\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"totals\":{\"packets_seen\":10,\"packets_kept\":10,"), std::string::npos);
  EXPECT_NE(j.find("\"summarised\":false"), std::string::npos);
}

TEST(HtmlReport, FirstBytesAreCappedEscapedAndCannotCloseTheScript) {
  HtmlReportLimits lim;
  lim.first_bytes = 64;
  HtmlReport r("unused.html", {"</script><script>alert(1)</script>.pcap"}, lim);
  r.set_title("a <b> & \"c\"");
  Connection c;
  c.id = 1;
  c.first_ts = kT0;
  r.on_open(c);
  const std::string evil = "</script><!--\x01\xff\\\r\n\t";
  std::string first = evil + std::string(100, 'A');
  r.on_data(c, Dir::kClientToServer, 0,
            std::span(reinterpret_cast<const uint8_t*>(first.data()), first.size()), kT0);
  const std::string two = "HTTP/1.1 200 OK\r\n";
  r.on_data(c, Dir::kServerToClient, 0,
            std::span(reinterpret_cast<const uint8_t*>(two.data()), two.size()), kT0);
  r.on_gap(c, Dir::kServerToClient, two.size(), 10, kT0);
  r.on_data(c, Dir::kServerToClient, two.size() + 10,
            std::span(reinterpret_cast<const uint8_t*>(two.data()), two.size()), kT0);
  r.on_close(c, CloseReason::kFin);

  const auto& k = r.connections()[0];
  EXPECT_EQ(k.first[0].size(), 64u);
  EXPECT_EQ(k.first[0].substr(0, evil.size()), evil);
  EXPECT_TRUE(k.first_cut[0]);
  EXPECT_EQ(k.first[1], two);  // the gap ended the preview
  EXPECT_TRUE(k.first_cut[1]);

  const std::string j = r.json();
  EXPECT_EQ(j.find('<'), std::string::npos);
  EXPECT_NE(j.find("\"g\":[[1,0,17,10]]"), std::string::npos);
  // Non-printable bytes as \xHH text, a backslash doubled, CR as \r text;
  // in JSON each backslash doubles again. 64 characters at most.
  const std::string pv = r.previews_json();
  EXPECT_EQ(pv.find('<'), std::string::npos);
  const std::string shown =
      "\\u003c/script\\u003e\\u003c!--\\\\x01\\\\xff\\\\\\\\\\\\r\\n\\\\t" + std::string(36, 'A');
  EXPECT_EQ(pv, "[[\"" + shown + "\",true,\"HTTP/1.1 200 OK\\\\r\\n\",true]]") << pv;

  const std::string page = r.html();
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"), std::string::npos);
  // Three script elements (data, previews, code), three closing tags: the
  // data cannot end one early.
  EXPECT_EQ(count(page, "<script"), 3u);
  EXPECT_EQ(count(page, "</script>"), 3u);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "the page must not load anything";
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

TEST(HtmlReport, InvalidUtf8AndControlCharactersGiveValidJson) {
  HtmlReport r("unused.html", {"bad\xff\xfe name\x01.pcap"});
  const std::string j = r.json();
  EXPECT_NE(j.find("\"inputs\":[\"bad\\ufffd\\ufffd name\\u0001.pcap\"]"), std::string::npos) << j;
  EXPECT_NE(j.find("\"conns\":[]"), std::string::npos);
}

/// A connection of `data_packets` unmarked data segments between a SYN and
/// a FIN, fed straight to the report.
void feed_long_connection(HtmlReport& r, Wire& w, uint64_t id, int data_packets) {
  Connection c;
  c.id = id;
  c.first_ts = kT0;
  r.on_open(c);
  const Dir c2s = Dir::kClientToServer;
  r.on_segment(c, c2s, w.seg(c2s, kSyn, 100, 0, "", kT0));
  for (int i = 0; i < data_packets; ++i) {
    r.on_segment(c, c2s, w.seg(c2s, kAck, 101 + i * 10, 1, "0123456789", kT0 + (i + 1) * kUs));
  }
  r.on_segment(c, c2s, w.seg(c2s, kAck | kFin, 101 + data_packets * 10, 1, "",
                             kT0 + (data_packets + 1) * kUs));
  c.last_ts = kT0 + (data_packets + 1) * kUs;
  r.on_close(c, CloseReason::kFin);
}

TEST(HtmlReport, SamplesUnmarkedPacketsAboveThePerConnectionBudget) {
  HtmlReportLimits lim;
  lim.max_packets_per_connection = 10;
  HtmlReport r("unused.html", {}, lim);
  Wire w;
  feed_long_connection(r, w, 0, 1000);
  const auto& k = r.connections()[0];
  // Stride 64 would keep 16 > 10, stride 128 keeps ordinals 0, 128 ... 896.
  EXPECT_EQ(k.stride, 128u);
  ASSERT_EQ(k.packets.size(), 10u);
  EXPECT_EQ(k.packets.front().kind, HtmlReport::kSyn);
  EXPECT_EQ(k.packets.back().kind, HtmlReport::kFin);
  for (size_t i = 1; i + 1 < k.packets.size(); ++i) {
    EXPECT_EQ(k.packets[i].seq, 1 + (i - 1) * 128 * 10) << i;
  }
  EXPECT_EQ(r.packets_seen(), 1002u);
  EXPECT_EQ(r.packets_kept(), 10u);
  EXPECT_TRUE(r.summarised());
  const std::string j = r.json();
  EXPECT_NE(j.find("\"packets_seen\":1002,\"packets_kept\":10,"), std::string::npos);
  EXPECT_NE(j.find("\"summarised\":true"), std::string::npos);
  EXPECT_NE(j.find("\"pseen\":1002,\"stride\":128"), std::string::npos);
}

TEST(HtmlReport, TotalCapHalvesEveryConnectionsBudget) {
  HtmlReportLimits lim;
  lim.max_packets = 100;
  lim.max_packets_per_connection = 40;
  HtmlReport r("unused.html", {}, lim);
  Wire w;
  for (uint64_t id = 0; id < 10; ++id) feed_long_connection(r, w, id, 40);
  // 10 x (40 + SYN + FIN) = 420 > 100: budgets 40 -> 20 -> 10 -> 5 ... until
  // the total fits; every SYN and FIN stays.
  EXPECT_LE(r.packets_kept(), 100u);
  EXPECT_EQ(r.packets_seen(), 420u);
  size_t total = 0;
  for (const auto& k : r.connections()) {
    EXPECT_EQ(k.packets.front().kind, HtmlReport::kSyn);
    EXPECT_EQ(k.packets.back().kind, HtmlReport::kFin);
    EXPECT_LE(k.unmarked_kept, 5u) << k.info.id;
    EXPECT_GE(k.unmarked_kept, 3u) << k.info.id;
    total += k.packets.size();
  }
  EXPECT_EQ(total, r.packets_kept());
  EXPECT_NE(r.json().find("\"per_connection\":5,"), std::string::npos);
}

TEST(HtmlReport, ConnectionsAndHttpBeyondTheirCapsAreCountedNotKept) {
  HtmlReportLimits lim;
  lim.max_connections = 3;
  lim.max_http = 2;
  HtmlReport r("unused.html", {}, lim);
  Wire w;
  for (uint64_t id = 0; id < 5; ++id) feed_long_connection(r, w, id, 1);
  EXPECT_EQ(r.connections().size(), 3u);
  EXPECT_EQ(r.connections_seen(), 5u);
  EXPECT_EQ(r.packets_seen(), 15u);
  EXPECT_EQ(r.packets_kept(), 9u);
  for (uint64_t id : {0, 1, 4, 2}) {
    HtmlHttpTransaction t;
    t.conn_id = id;
    r.add_http(t);
  }
  const std::string j = r.json();
  EXPECT_NE(j.find("\"connections_seen\":5,\"connections_listed\":3,\"http_seen\":4,"
                   "\"http_kept\":2,"),
            std::string::npos)
      << j;
  EXPECT_TRUE(r.summarised());
}

TEST(HtmlReport, HttpTransactionsBeforeAndAfterClose) {
  HtmlReport r("unused.html", {});
  Wire w;
  feed_long_connection(r, w, 0, 3);  // closes at kT0 + 4 us
  HtmlHttpTransaction a;
  a.conn_id = 0;
  a.index = 1;
  a.method = "GET";
  a.target = "/a?q=</script>";
  a.host = "example.test";
  a.status = 200;
  a.request_start = kT0 + 1 * kUs;
  a.request_end = kT0 + 2 * kUs;
  a.response_start = kT0 + 3 * kUs;
  a.response_end = kT0 + 4 * kUs;
  a.request_bytes = 80;
  a.response_bytes = 1500;
  r.add_http(a);
  HtmlHttpTransaction b;  // never answered
  b.conn_id = 0;
  b.index = 2;
  b.method = "POST";
  b.target = "/b";
  b.request_start = kT0 + 4 * kUs;
  b.request_end = kT0 + 4 * kUs + 500;
  r.add_http(b);
  const std::string j = r.json();
  EXPECT_NE(j.find("\"http\":[{\"i\":1,\"m\":\"GET\",\"u\":\"/a?q=\\u003c/script\\u003e\","
                   "\"h\":\"example.test\",\"st\":200,\"rq0\":1,\"rq1\":2,\"rs0\":3,\"rs1\":4,"
                   "\"rqb\":80,\"rsb\":1500},{\"i\":2,\"m\":\"POST\",\"u\":\"/b\",\"h\":\"\","
                   "\"st\":0,\"rq0\":4,\"rq1\":4.500,\"rs0\":null,\"rs1\":null,\"rqb\":0,"
                   "\"rsb\":0}]"),
            std::string::npos)
      << j;
}

TEST(HtmlReport, ExchangesOfOtherProtocolsAreMarkedOnTheirConnection) {
  HtmlReport r("unused.html", {});
  Wire w;
  feed_long_connection(r, w, 0, 3);
  ExchangeRecord ok;
  ok.proto = "redis";
  ok.ts = kT0 + 1 * kUs;
  ok.end = kT0 + 3 * kUs;
  ok.latency = 1500;
  ok.fields = {{"command", "\"GET\""}, {"args", "[\"</script>\"]"}, {"reply", "\"$5\""}};
  r.add_exchange(0, ok);
  ExchangeRecord bad;
  bad.proto = "postgresql";
  bad.ts = kT0 + 4 * kUs;
  bad.end = kT0 + 5 * kUs;
  bad.latency = 500;
  bad.error_json = R"({"code":"42P01","message":"relation \"t\" does not exist"})";
  bad.fields = {{"kind", "\"query\""}, {"query", "\"SELECT * FROM t\""}, {"tag", "null"}};
  r.add_exchange(0, bad);
  ExchangeRecord lost;  // never answered
  lost.proto = "mysql";
  lost.ts = lost.end = kT0 + 6 * kUs;
  lost.error_json = R"({"code":null,"message":"unanswered"})";
  lost.fields = {{"kind", "\"ping\""}, {"query", "null"}};
  r.add_exchange(0, lost);
  r.add_exchange(77, ok);  // no such connection
  const std::string j = r.json();
  EXPECT_NE(j.find("\"ex\":[{\"p\":\"redis\",\"q\":\"GET \\u003c/script\\u003e\",\"a\":\"$5\","
                   "\"e\":null,\"t0\":1,\"t1\":3,\"lat\":1.500},"
                   "{\"p\":\"postgresql\",\"q\":\"query: SELECT * FROM t\",\"a\":\"\","
                   "\"e\":\"relation \\\"t\\\" does not exist\",\"t0\":4,\"t1\":5,\"lat\":0.500},"
                   "{\"p\":\"mysql\",\"q\":\"ping\",\"a\":\"\",\"e\":\"unanswered\",\"t0\":6,"
                   "\"t1\":6,\"lat\":null}],\"ml\":0}"),
            std::string::npos)
      << j;
  EXPECT_NE(j.find("\"exchanges_seen\":4,\"exchanges_kept\":3,\"marks_left_out\":0,"),
            std::string::npos)
      << j;
}

TEST(HtmlReport, MarksPerConnectionAreCappedAndTheRestCounted) {
  HtmlReportLimits lim;
  lim.max_marks_per_connection = 5;
  HtmlReport r("unused.html", {}, lim);
  Wire w;
  feed_long_connection(r, w, 0, 1);
  feed_long_connection(r, w, 1, 1);
  ExchangeRecord x;
  x.proto = "redis";
  x.fields = {{"command", "\"PING\""}, {"args", "[]"}, {"reply", "\"+PONG\""}};
  for (int i = 0; i < 100'000; ++i) r.add_exchange(0, x);
  HtmlHttpTransaction t;
  t.conn_id = 0;
  r.add_http(t);  // HTTP counts against the same cap
  t.conn_id = 1;
  t.stream = 3;
  r.add_http(t);
  const std::string j = r.json();
  EXPECT_EQ(count(j, "\"q\":\"PING\""), 5u);
  EXPECT_NE(j.find("\"ml\":99996}"), std::string::npos);
  EXPECT_NE(j.find("\"http\":[{\"i\":0,\"sid\":3,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"exchanges_seen\":100000,\"exchanges_kept\":5,\"marks_left_out\":99996,"),
            std::string::npos);
  EXPECT_LT(r.html().size(), 100'000u);
  EXPECT_TRUE(r.summarised());
}

TEST(HtmlReport, ConvertsTheHttpAnalyzersTransactions) {
  HttpTransaction t;
  t.conn_id = 3;
  t.index = 2;
  t.request.present = true;
  t.request.head.method = "HEAD";
  t.request.head.target = "/x";
  t.request.head.headers = {{"Accept", "*/*"}, {"HOST", "h.test:8080"}};
  t.request.head.size = 40;
  t.request.start_ts = 10;
  t.request.head_ts = 11;
  t.request.end_ts = 12;
  t.response.present = true;
  t.response.head.status = 404;
  t.response.head.size = 100;
  t.response.body_wire = 5;
  t.response.start_ts = 20;
  t.response.head_ts = 21;
  t.response.end_ts = 0;  // did not end: drawn to the head
  const HtmlHttpTransaction h = to_html_http(t);
  EXPECT_EQ(h.conn_id, 3u);
  EXPECT_EQ(h.index, 2u);
  EXPECT_EQ(h.method, "HEAD");
  EXPECT_EQ(h.target, "/x");
  EXPECT_EQ(h.host, "h.test:8080");
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.request_start, 10);
  EXPECT_EQ(h.request_end, 12);
  EXPECT_EQ(h.response_start, 20);
  EXPECT_EQ(h.response_end, 21);
  EXPECT_EQ(h.request_bytes, 40u);
  EXPECT_EQ(h.response_bytes, 105u);
}

TEST(HtmlReport, Http2StreamsTakeTheirHostFromAuthority) {
  HttpTransaction t;
  t.request.present = true;
  t.request.head.method = "GET";
  t.request.head.target = "/a";
  t.request.head.version = "HTTP/2.0";
  t.request.head.headers = {{":method", "GET"}, {":authority", "h2.test"}, {":path", "/a"}};
  t.stream = 7;
  EXPECT_EQ(to_html_http(t).host, "h2.test");
  EXPECT_EQ(to_html_http(t).stream, 7u);
}

// Through the real flow table: its own retransmission accounting, a tuple
// reused by a new SYN, findings and shutdowns.
TEST(HtmlReport, FlowTableRetransmissionReuseAndShutdowns) {
  // FlowTable::finish() lets the sinks finish: the page is written.
  const std::string path = ::testing::TempDir() + "/flow_table.html";
  HtmlReport r(path, {"crafted"});
  FlowTable table(FlowTableLimits{}, {&r});
  table.add_observer(&r);
  Wire w;
  const Dir c2s = Dir::kClientToServer, s2c = Dir::kServerToClient;
  Timestamp t = kT0;
  auto step = [&] { return t += 100 * kUs; };
  for (uint32_t isn : {1000u, 900000u}) {
    const uint32_t si = 77;
    table.on_segment(w.seg(c2s, kSyn, isn, 0, "", step()));
    table.on_segment(w.seg(s2c, kSyn | kAck, si, isn + 1, "", step()));
    table.on_segment(w.seg(c2s, kAck, isn + 1, si + 1, "", step()));
    table.on_segment(w.seg(c2s, kAck | kPsh, isn + 1, si + 1, "hello", step()));
    table.on_segment(w.seg(c2s, kAck | kPsh, isn + 1, si + 1, "hello", step()));  // again
    table.on_segment(w.seg(s2c, kAck | kFin, si + 1, isn + 6, "", step()));
    table.on_segment(w.seg(c2s, kAck | kFin, isn + 6, si + 2, "", step()));
    table.on_segment(w.seg(s2c, kAck, si + 2, isn + 7, "", step()));
  }
  table.finish();
  ASSERT_EQ(r.connections().size(), 2u);
  const auto& a = r.connections()[0];
  const auto& b = r.connections()[1];
  // The last ACK comes after both FINs ended the streams: the flow table
  // still analyses it (within its close delay) and the report draws it.
  ASSERT_EQ(a.packets.size(), 8u);
  EXPECT_EQ(a.packets[7].kind, HtmlReport::kAck);
  EXPECT_EQ(a.packets[7].dir, 1);
  EXPECT_EQ(a.packets[7].marks, 0);
  EXPECT_EQ(a.packets[7].ack, 7u);  // relative: the client's FIN
  EXPECT_EQ(a.packets_seen, 8u);
  EXPECT_EQ(a.info.dir[1].packets, 3u);  // SYN-ACK, FIN, last ACK
  EXPECT_EQ(a.info.last_ts, kT0 + 800 * kUs);
  EXPECT_EQ(table.stats().late_segments, 0u);
  EXPECT_EQ(a.packets[4].marks & HtmlReport::kRetransmission, HtmlReport::kRetransmission);
  EXPECT_EQ(a.packets[3].marks & HtmlReport::kRetransmission, 0);
  EXPECT_EQ(a.first[0], "hello");
  EXPECT_EQ(a.packets[0].marks, 0);
  EXPECT_EQ(b.info.reuse_index, 1u);
  EXPECT_EQ(b.info.previous_id, 0u);
  EXPECT_EQ(b.packets[0].marks, HtmlReport::kReuse);
  ASSERT_EQ(a.phases.size(), 4u);
  EXPECT_EQ(a.phases[2].phase, HtmlReport::kHalfClosed);
  EXPECT_EQ(a.phases[2].start, kT0 + 600 * kUs);
  EXPECT_EQ(a.phases[3].phase, HtmlReport::kClosed);
  EXPECT_EQ(a.phases[3].start, kT0 + 700 * kUs);
  EXPECT_EQ(a.close_reason, to_string(CloseReason::kFin));
  const std::string j = r.json();
  EXPECT_NE(j.find("\"reuse\":1,\"prev\":0,"), std::string::npos);
  EXPECT_EQ(slurp(path), r.html());
  std::remove(path.c_str());
}

TEST(HtmlReport, FinishWritesThePageOrSaysWhyNot) {
  const std::string path = ::testing::TempDir() + "/html_report_finish.html";
  HtmlReport r(path, {"x.pcap"});
  r.finish();
  EXPECT_FALSE(r.failed()) << r.error();
  const std::string page = slurp(path);
  EXPECT_EQ(page, r.html());
  std::remove(path.c_str());

  HtmlReport bad("/nonexistent-dir/report.html", {});
  bad.finish();
  EXPECT_EQ(bad.error().rfind("cannot create /nonexistent-dir/report.html.tmp: ", 0), 0u)
      << bad.error();
}

/// Reads a capture into a report the way the pipeline does, with the HTTP
/// analyzer's transactions and findings when it is built (zlib).
void read_capture(const std::string& file, HtmlReport& r) {
  std::string error;
  std::vector<Sink*> sinks;
#ifdef TCPSCRIBE_HAVE_ZLIB
  HttpOptions ho;
  ho.extract_bodies = false;
  HttpAnalyzer http(
      ho, [&](const Connection& c, const Finding& f) { r.on_finding(c, f); },
      [&](const HttpTransaction& t) { r.add_http(t); });
  sinks.push_back(&http);
#endif
  sinks.push_back(&r);
  PacketCore core({}, sinks);
  core.add_observer(&r);
  ASSERT_TRUE(testing::feed_capture(file, core, error)) << error;
  HtmlCaptureInfo info;
  info.packets_read = static_cast<int64_t>(core.decode_stats().packets);
  r.set_capture_info(info);
  core.finish();
}

// tests/pcaps/port_reuse_lo.pcap (tshark: 20 TCP frames, 2 streams, the
// second SYN flagged "TCP Port numbers reused"). With TCPSCRIBE_HTML_OUT
// set, the page is written there for tests/browser.
TEST(HtmlReport, PortReuseCaptureModelAndPage) {
  const char* out = std::getenv("TCPSCRIBE_HTML_OUT");
  const std::string path = out && *out ? out : ::testing::TempDir() + "/port_reuse.html";
  HtmlReport r(path, {"tests/pcaps/port_reuse_lo.pcap"});
  read_capture(std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/port_reuse_lo.pcap", r);
  ASSERT_FALSE(r.failed()) << r.error();
  // Each connection's last ACK follows both FINs: the flow table has
  // closed it, and the report still draws it, as tshark lists it.
  EXPECT_EQ(r.packets_seen(), 20u);
  EXPECT_EQ(r.packets_kept(), 20u);
  ASSERT_EQ(r.connections().size(), 2u);
  const auto& a = r.connections()[0];
  const auto& b = r.connections()[1];
  ASSERT_EQ(a.packets.size(), 10u);
  ASSERT_EQ(b.packets.size(), 10u);
  EXPECT_EQ(a.packets[9].kind, HtmlReport::kAck);
  EXPECT_EQ(b.packets[9].kind, HtmlReport::kAck);
  EXPECT_EQ(b.info.previous_id, a.info.id);
  EXPECT_EQ(b.packets[0].marks & HtmlReport::kReuse, HtmlReport::kReuse);
  EXPECT_EQ(a.first[0].size(), 7u);
  EXPECT_EQ(a.first[1].size(), 12u);
  // Frame 6: the server's 12 bytes, PSH, seq 1 ack 8 (as tshark shows).
  EXPECT_EQ(a.packets[5].kind, HtmlReport::kPsh);
  EXPECT_EQ(a.packets[5].dir, 1);
  EXPECT_EQ(a.packets[5].seq, 1u);
  EXPECT_EQ(a.packets[5].ack, 8u);
  EXPECT_EQ(a.packets[5].len, 12u);
  const std::string page = slurp(path);
  EXPECT_EQ(page, r.html());
  EXPECT_NE(page.find("\"packets_read\":20,"), std::string::npos);
  if (!out) std::remove(path.c_str());
}

#ifdef TCPSCRIBE_HAVE_ZLIB
// tests/pcaps/http_keepalive_lo.pcap: curl fetches /hello.txt and
// /x3000.txt on one connection (tshark: requests in frames 4 and 10,
// responses in frames 6-8 and 11-13, all 200).
TEST(HtmlReport, HttpTransactionsFromTheAnalyzerOnARealCapture) {
  const std::string path = ::testing::TempDir() + "/http_keepalive.html";
  HtmlReport r(path, {"http_keepalive_lo.pcap"});
  read_capture(std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/http_keepalive_lo.pcap", r);
  std::remove(path.c_str());
  ASSERT_EQ(r.connections().size(), 1u);
  const std::string j = r.json();
  // Times from the capture start, in microseconds (tshark's frame times).
  EXPECT_NE(j.find("\"http\":[{\"i\":1,\"m\":\"GET\",\"u\":\"/hello.txt\",\"h\":\"127.0.0.1:18080\","
                   "\"st\":200,\"rq0\":77,\"rq1\":77,\"rs0\":3827,\"rs1\":3877,"),
            std::string::npos)
      << j.substr(j.find("\"http\""));
  EXPECT_NE(j.find("{\"i\":2,\"m\":\"GET\",\"u\":\"/x3000.txt\",\"h\":\"127.0.0.1:18080\","
                   "\"st\":200,\"rq0\":4073,\"rq1\":4073,\"rs0\":4442,\"rs1\":47741,"),
            std::string::npos);
}
#endif

// A driver for bench/html.sh and tests/browser until the CLI has --html:
// TCPSCRIBE_HTML_CAPTURE=in.pcap TCPSCRIBE_HTML_OUT=out.html writes the
// report of any capture. Skipped without those variables.
TEST(HtmlReport, ReportOfTheCaptureNamedInTheEnvironment) {
  const char* in = std::getenv("TCPSCRIBE_HTML_CAPTURE");
  const char* out = std::getenv("TCPSCRIBE_HTML_OUT");
  if (!in || !*in || !out || !*out) GTEST_SKIP() << "TCPSCRIBE_HTML_CAPTURE/_OUT not set";
  HtmlReport r(out, {in});
  read_capture(in, r);
  ASSERT_FALSE(r.failed()) << r.error();
  std::printf("%llu TCP segments, %zu drawn, %llu connections\n",
              static_cast<unsigned long long>(r.packets_seen()), r.packets_kept(),
              static_cast<unsigned long long>(r.connections_seen()));
}

}  // namespace
}  // namespace tcpscribe
