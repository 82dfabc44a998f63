#include "report_json.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "json_flat.h"
#include "test_files.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;

Connection sample() {
  Connection c;
  c.id = 7;
  const uint8_t a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 0, 2};
  c.client.addr = IpAddr::v4_from(a);
  c.client.port = 54442;
  c.server.addr = IpAddr::v4_from(b);
  c.server.port = 80;
  c.vlan[0] = 12;
  c.vlan[1] = -1;
  c.reuse_index = 1;
  c.previous_id = 3;
  c.handshake_seen = true;
  c.first_ts = 1'700'000'000'123'456'789;
  c.last_ts = 1'700'000'002'000'000'000;
  c.dir[0].packets = 6;
  c.dir[0].payload_bytes = 163;
  c.dir[0].delivered_bytes = 163;
  c.dir[0].fin = true;
  c.dir[1].packets = 5;
  c.dir[1].payload_bytes = 1200;
  c.dir[1].delivered_bytes = 1000;
  c.dir[1].retransmitted_bytes = 200;
  c.dir[1].gap_bytes = 10;
  c.dir[1].rst = true;
  c.analysis.conn_state = "RSTR";
  c.analysis.history = "ShADadFr";
  c.analysis.rtt = 20'000'500;
  c.analysis.dir[1].retransmission = 1;
  c.analysis.dir[1].keep_alive = 2;
  return c;
}

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
  EXPECT_EQ(json_quote("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_quote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(json_quote(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
}

TEST(JsonQuote, KeepsUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json_quote("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(json_quote("\xc3"), "\"\\ufffd\"");             // cut short
  EXPECT_EQ(json_quote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");  // overlong '/'
  EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(JsonSeconds, SixDecimalsRounded) {
  EXPECT_EQ(json_seconds(0), "0.000000");
  EXPECT_EQ(json_seconds(1'500'000'000), "1.500000");
  EXPECT_EQ(json_seconds(1'700'000'000'123'456'789), "1700000000.123457");
  EXPECT_EQ(json_seconds(999), "0.000001");
  EXPECT_EQ(json_seconds(-1'500'000), "-0.001500");
}

TEST(JsonReport, FormatsEveryKey) {
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.dir = Dir::kClientToServer;
  f.ts = 1'700'000'001'000'000'000;
  f.offset = 78;
  f.length = 85;
  f.text = "client sent 85 bytes \"quoted\"";
  EXPECT_EQ(
      JsonReportSink::format(sample(), CloseReason::kRst, {f}),
      "{\"id\":7,\"client_ip\":\"198.18.0.1\",\"client_port\":54442,"
      "\"server_ip\":\"198.18.0.2\",\"server_port\":80,\"ip_version\":4,"
      "\"reuse_index\":1,\"previous_id\":3,\"start\":1700000000.123457,"
      "\"end\":1700000002.000000,\"duration\":1.876543,\"handshake_seen\":true,"
      "\"rtt\":0.020001,\"conn_state\":\"RSTR\",\"history\":\"ShADadFr\","
      "\"close_reason\":\"rst\","
      "\"c2s\":{\"vlan\":12,\"packets\":6,\"payload_bytes\":163,\"unique_bytes\":163,"
      "\"retransmitted_bytes\":0,\"gap_bytes\":0,\"dropped_bytes\":0,"
      "\"conflicting_overlaps\":0,\"fin\":true,\"rst\":false,\"retransmission\":0,"
      "\"fast_retransmission\":0,\"spurious_retransmission\":0,\"out_of_order\":0,"
      "\"lost_segment\":0,\"ack_lost_segment\":0,\"duplicate_ack\":0,\"zero_window\":0,"
      "\"keep_alive\":0},"
      "\"s2c\":{\"vlan\":null,\"packets\":5,\"payload_bytes\":1200,\"unique_bytes\":1000,"
      "\"retransmitted_bytes\":200,\"gap_bytes\":10,\"dropped_bytes\":0,"
      "\"conflicting_overlaps\":0,\"fin\":false,\"rst\":true,\"retransmission\":1,"
      "\"fast_retransmission\":0,\"spurious_retransmission\":0,\"out_of_order\":0,"
      "\"lost_segment\":0,\"ack_lost_segment\":0,\"duplicate_ack\":0,\"zero_window\":0,"
      "\"keep_alive\":2},"
      "\"findings\":[{\"kind\":\"data_after_peer_fin\",\"dir\":\"c2s\","
      "\"ts\":1700000001.000000,\"offset\":78,\"length\":85,"
      "\"text\":\"client sent 85 bytes \\\"quoted\\\"\"}]}");
}

TEST(JsonReport, UnknownValuesAreNull) {
  Connection c = sample();
  c.previous_id = UINT64_MAX;
  c.analysis = TcpAnalysis{};
  const std::string line = JsonReportSink::format(c, CloseReason::kEndOfInput, {});
  EXPECT_NE(line.find("\"previous_id\":null,"), std::string::npos) << line;
  EXPECT_NE(line.find("\"rtt\":null,\"conn_state\":null,\"history\":\"\","
                      "\"close_reason\":\"end-of-input\""),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("\"findings\":[]}"), std::string::npos) << line;
}

TEST(JsonReport, OneFlushedLinePerConnectionWithItsFindings) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_test.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  Connection a = sample();
  Connection b = sample();
  b.id = 8;
  Finding f;
  f.kind = Finding::Kind::kCaptureGap;
  f.dir = Dir::kServerToClient;
  f.text = "10 bytes missing";
  sink.on_open(a);
  sink.on_open(b);
  sink.on_finding(b, f);
  sink.on_close(a, CloseReason::kFin);
  // Readable before the run ends (a live capture's report).
  EXPECT_EQ(slurp(p), JsonReportSink::format(a, CloseReason::kFin, {}) + "\n");
  sink.on_close(b, CloseReason::kIdle);
  sink.finish();
  EXPECT_FALSE(sink.failed());
  EXPECT_EQ(slurp(p), JsonReportSink::format(a, CloseReason::kFin, {}) + "\n" +
                          JsonReportSink::format(b, CloseReason::kIdle, {f}) + "\n");
  fs::remove(p);
}

TEST(JsonReport, ExchangesAreCountedPerConnectionAndProtocol) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_exchanges.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  Connection a = sample();
  Connection b = sample();
  b.id = 8;
  sink.on_open(a);
  sink.on_open(b);
  sink.add_exchange(a.id, "redis", false, false);
  sink.add_exchange(a.id, "redis", true, false);
  sink.add_exchange(a.id, "redis", true, true);
  sink.add_exchange(a.id, "http", false, true);
  sink.on_close(a, CloseReason::kFin);
  sink.on_close(b, CloseReason::kFin);
  sink.finish();
  std::string a_line = JsonReportSink::format(a, CloseReason::kFin, {});
  a_line.pop_back();
  a_line += ",\"exchanges\":{\"redis\":{\"count\":3,\"errors\":2,\"slow\":1},"
            "\"http\":{\"count\":1,\"errors\":0,\"slow\":1}}}";
  // A connection without exchanges has no key.
  EXPECT_EQ(slurp(p), a_line + "\n" + JsonReportSink::format(b, CloseReason::kFin, {}) + "\n");
  fs::remove(p);
}

TEST(JsonReport, ThroughTheFlowTable) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_flow.jsonl";
  {
    JsonReportSink sink(p.string());
    testing::Crafter k;
    testing::run_frames({k.frame(true, 100, 0, Tins::TCP::SYN),
                         k.frame(false, 500, 101, Tins::TCP::SYN | Tins::TCP::ACK),
                         k.frame(true, 101, 501, Tins::TCP::ACK, "GET / HTTP/1.0\r\n\r\n"),
                         k.frame(false, 501, 119, Tins::TCP::ACK | Tins::TCP::FIN, "hi"),
                         k.frame(true, 119, 504, Tins::TCP::ACK | Tins::TCP::FIN)},
                        sink);
    EXPECT_FALSE(sink.failed());
  }
  const std::string out = slurp(p);
  EXPECT_EQ(out.rfind("{\"id\":0,\"client_ip\":\"10.0.0.1\",\"client_port\":40000,", 0), 0u)
      << out;
  EXPECT_NE(out.find("\"close_reason\":\"fin\",\"c2s\":{\"vlan\":null,\"packets\":3,"
                     "\"payload_bytes\":18,\"unique_bytes\":18,"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"s2c\":{\"vlan\":null,\"packets\":2,\"payload_bytes\":2,"
                     "\"unique_bytes\":2,"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  fs::remove(p);
}

// The run line: every counter under its key, unknown drops null.
TEST(JsonReport, RunLineFormatsEveryKey) {
  RunTotals t;
  uint64_t* const counters[] = {
      &t.packets, &t.tcp_segments, &t.connections, &t.late_packets, &t.not_ip, &t.not_tcp,
      &t.truncated, &t.malformed, &t.unknown_link_type, &t.fragments, &t.fragments_cut,
      &t.fragments_malformed, &t.fragment_conflicts, &t.datagrams_rebuilt,
      &t.datagrams_timed_out, &t.datagrams_evicted, &t.datagrams_incomplete,
      &t.connections_evicted, &t.evicted_continued, &t.tuple_records_dropped,
      &t.holes_flushed, &t.out_of_window, &t.late_segments};
  uint64_t v = 1;
  for (uint64_t* c : counters) *c = v++;
  t.kernel_drops = 0;
  EXPECT_EQ(JsonReportSink::format_run(t),
            "{\"run\":{\"packets\":1,\"tcp_segments\":2,\"connections\":3,\"late_packets\":4,"
            "\"skipped\":{\"not_ip\":5,\"not_tcp\":6,\"truncated\":7,\"malformed\":8,"
            "\"unknown_link_type\":9},"
            "\"ip_fragments\":{\"seen\":10,\"cut\":11,\"malformed\":12,"
            "\"conflicting_overlaps\":13,\"datagrams_rebuilt\":14,\"datagrams_timed_out\":15,"
            "\"datagrams_evicted\":16,\"datagrams_incomplete\":17},"
            "\"caps\":{\"connections_evicted\":18,\"evicted_continued\":19,"
            "\"tuple_records_dropped\":20,\"holes_flushed\":21,\"out_of_window\":22,"
            "\"late_segments\":23},\"kernel_drops\":0,\"interface_drops\":null}}");
}

// With run totals the report ends with the run line, once, after every
// connection; the numbers are asked for at the end, not when set.
TEST(JsonReport, RunLineComesLastAndOnce) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_run.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  RunTotals t;
  sink.set_run_totals([&t] { return t; });
  t.packets = 12;
  t.datagrams_incomplete = 3;
  sink.on_close(sample(), CloseReason::kFin);
  sink.finish();
  sink.finish();
  EXPECT_FALSE(sink.failed());
  EXPECT_EQ(slurp(p), JsonReportSink::format(sample(), CloseReason::kFin, {}) + "\n" +
                          JsonReportSink::format_run(t) + "\n");
  EXPECT_NE(slurp(p).find("\"packets\":12,"), std::string::npos);
  fs::remove(p);
}

// --flat-records: the same lines, connection and run, spread into dotted
// keys and per-key arrays (json_flat.h).
TEST(JsonReport, FlatLinesAreTheLinesFlattened) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_flat.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  sink.set_flat(true);
  RunTotals t;
  t.packets = 12;
  sink.set_run_totals([&t] { return t; });
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.dir = Dir::kClientToServer;
  f.ts = 1'700'000'001'000'000'000;
  f.offset = 76;
  f.length = 77;
  f.text = "late";
  const Connection c = sample();
  sink.on_finding(c, f);
  sink.add_exchange(c.id, "redis", true, false);
  sink.on_close(c, CloseReason::kFin);
  sink.finish();
  ASSERT_FALSE(sink.failed()) << sink.error();
  std::string want = JsonReportSink::format(c, CloseReason::kFin, {f});
  want.pop_back();
  want += ",\"exchanges\":{\"redis\":{\"count\":1,\"errors\":1,\"slow\":0}}}";
  const std::string got = slurp(p);
  EXPECT_EQ(got, flatten_json_object(want) + "\n" + flatten_json_object(JsonReportSink::format_run(t)) + "\n");
  for (const char* key : {"{\"id\":7,", "\"c2s.fin\":true,", "\"s2c.rst\":true,",
                          "\"findings.kind\":[\"data_after_peer_fin\"],", "\"findings.offset\":[76],",
                          "\"exchanges.redis.errors\":1,", "{\"run.packets\":12,",
                          "\"run.skipped.not_ip\":0,"}) {
    EXPECT_NE(got.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(got.find("{\"kind\""), std::string::npos);
  fs::remove(p);
}

// A connection with a finding per segment (a million out-of-window
// segments) lists the first kMaxFindings, then one per kind counting the
// rest: the memory held per connection is bounded.
TEST(JsonReport, FindingsPerConnectionAreBoundedAndTheRestCounted) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_many.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  const Connection c = sample();
  Finding w;
  w.kind = Finding::Kind::kOutOfWindow;
  w.length = 1;
  w.text = "segment left out";
  for (size_t i = 0; i < JsonReportSink::kMaxFindings + 500; ++i) {
    w.offset = i;
    sink.on_finding(c, w);
  }
  Finding g;
  g.kind = Finding::Kind::kCaptureGap;
  g.offset = 7;
  g.length = 10;
  g.text = "gap";
  sink.on_finding(c, g);
  sink.on_finding(c, g);
  sink.on_close(c, CloseReason::kFin);
  sink.finish();
  std::vector<Finding> want(JsonReportSink::kMaxFindings, w);
  for (size_t i = 0; i < want.size(); ++i) want[i].offset = i;
  Finding more_w = w;
  more_w.offset = JsonReportSink::kMaxFindings;
  more_w.length = 500;
  more_w.text = "500 more out_of_window findings not listed (the report lists 1000 per connection)";
  Finding more_g = g;
  more_g.length = 20;
  more_g.text = "2 more capture_gap findings not listed (the report lists 1000 per connection)";
  want.push_back(more_w);
  want.push_back(more_g);
  EXPECT_EQ(slurp(p), JsonReportSink::format(c, CloseReason::kFin, want) + "\n");
  fs::remove(p);
}

TEST(JsonReport, UnwritablePathIsAnError) {
  JsonReportSink sink("/nonexistent-dir/report.jsonl");
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.error().rfind("cannot open /nonexistent-dir/report.jsonl: ", 0), 0u)
      << sink.error();
  sink.on_close(sample(), CloseReason::kFin);  // ignored, no crash
  sink.finish();
}

TEST(JsonReport, FullDiskIsAnError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "/dev/full is absent";
  JsonReportSink sink("/dev/full");
  ASSERT_FALSE(sink.failed());
  sink.on_close(sample(), CloseReason::kFin);
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.error(), "cannot write /dev/full: No space left on device");
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

TEST(JsonReport, AnAnalyzersObjectJoinsItsConnectionsLine) {
  const fs::path p = fs::temp_directory_path() / "tcpscribe_report_json_info_test.jsonl";
  JsonReportSink sink(p.string());
  ASSERT_FALSE(sink.failed()) << sink.error();
  Connection a = sample();
  Connection b = sample();
  b.id = 8;
  sink.add_info(a.id, "tls", "{\"version\":\"TLS 1.3\"}");
  sink.on_close(b, CloseReason::kFin);  // b has none
  sink.on_close(a, CloseReason::kFin);
  sink.on_close(a, CloseReason::kFin);  // given once: a later line has none
  sink.finish();
  const std::string base_a = JsonReportSink::format(a, CloseReason::kFin, {});
  const std::string with = base_a.substr(0, base_a.size() - 1) +
                           ",\"tls\":{\"version\":\"TLS 1.3\"}}";
  EXPECT_EQ(slurp(p), JsonReportSink::format(b, CloseReason::kFin, {}) + "\n" + with + "\n" +
                          base_a + "\n");
  fs::remove(p);
}

}  // namespace
}  // namespace tcpscribe
