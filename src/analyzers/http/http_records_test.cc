#include "http_records.h"

#include <gtest/gtest.h>

#include "http_test_support.h"

namespace tcpscribe {
namespace {

using testing::HttpHarness;

/// Feeds one exchange through a real HttpAnalyzer and records what the
/// seam gets.
struct Seam : AnalyzerOutput {
  void finding(const Connection&, const Finding&) override {}
  void exchange(const Connection&, const ExchangeRecord& r) override { records.push_back(r); }
  void message(const Connection&, const DecodedMessage& m) override { messages.push_back(m); }
  void http_transaction(const HttpTransaction&) override {}
  std::vector<ExchangeRecord> records;
  std::vector<DecodedMessage> messages;
};

std::string fields(const ExchangeRecord& r) {
  std::string out;
  for (const auto& [k, v] : r.fields) out += k + "=" + v + " ";
  return out;
}

TEST(HttpRecords, ExchangeAndMessagesOfAnAnsweredRequest) {
  Seam seam;
  HttpOptions o;
  o.out = &seam;
  o.decode_view = true;
  o.extract_bodies = false;
  HttpHarness h(o);
  h.client("POST /api?x=1 HTTP/1.1\r\nHost: example.test\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"
           "Content-Length: 5\r\n\r\nhello");
  const Timestamp request_end = h.now();
  h.server("HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nok\n");
  const Timestamp response_start = h.now();
  h.close();
  ASSERT_EQ(seam.records.size(), 1u);
  const ExchangeRecord& r = seam.records[0];
  EXPECT_EQ(r.proto, "http");
  EXPECT_EQ(r.latency, response_start - request_end);
  EXPECT_EQ(r.error_json, "");
  EXPECT_EQ(fields(r),
            "method=\"POST\" target=\"/api?x=1\" host=\"example.test\" version=\"HTTP/1.1\" "
            "status=201 reason=\"Created\" request_body_bytes=5 response_body_bytes=3 "
            "scheme=\"http\" ");
  ASSERT_EQ(seam.messages.size(), 2u);
  const DecodedMessage& rq = seam.messages[0];
  EXPECT_EQ(rq.summary, "POST /api?x=1");
  EXPECT_EQ(rq.latency, -1);
  EXPECT_EQ(rq.lines, (std::vector<std::string>{
                          "POST /api?x=1 HTTP/1.1", "Host: example.test",
                          "Authorization: Basic [redacted, 12 bytes]", "Content-Length: 5",
                          "body: 5 bytes: \"hello\""}));
  const DecodedMessage& rs = seam.messages[1];
  EXPECT_EQ(rs.dir, Dir::kServerToClient);
  EXPECT_EQ(rs.summary, "201 Created");
  EXPECT_EQ(rs.latency, response_start - request_end);
  EXPECT_EQ(rs.lines.back(), "body: 3 bytes: \"ok.\"");  // the newline shown as '.'
}

TEST(HttpRecords, UnansweredAndErrorExchanges) {
  Seam seam;
  HttpOptions o;
  o.out = &seam;
  o.extract_bodies = false;
  HttpHarness h(o);
  h.client("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
  h.server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  h.client("GET /never HTTP/1.1\r\nHost: a\r\n\r\n");
  h.shutdown(Dir::kServerToClient, /*reset=*/true);
  h.close(CloseReason::kRst);
  ASSERT_EQ(seam.records.size(), 2u);
  EXPECT_EQ(seam.records[0].error_json, "\"404 Not Found\"");
  EXPECT_EQ(seam.records[1].error_json, "\"unanswered (the connection was reset)\"");
  EXPECT_FALSE(seam.records[1].latency.has_value());
  EXPECT_EQ(fields(seam.records[1]),
            "method=\"GET\" target=\"/never\" host=\"a\" version=\"HTTP/1.1\" status=null "
            "reason=null request_body_bytes=0 response_body_bytes=null scheme=\"http\" ");
  EXPECT_TRUE(seam.messages.empty());  // no decode view asked for
}

// A refused CONNECT: the requests after it wait for the answer's end, and
// the --decode messages come in the same order however the streams are
// cut (found by fuzz_http: byte by byte the next requests came out
// before the refusal, in packets after it).
TEST(HttpRecords, MessagesAfterARefusedConnectInTheSameOrderWhateverThePieces) {
  const std::string client = "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"
                             "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string server = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\n"
                             "no!HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo";
  std::vector<std::string> order[2];
  for (size_t piece : {SIZE_MAX, size_t{1}}) {
    Seam seam;
    HttpOptions o;
    o.out = &seam;
    o.decode_view = true;
    o.extract_bodies = false;
    HttpHarness h(o);
    h.client(client, piece);
    h.server(server, piece);
    h.close();
    ASSERT_EQ(seam.records.size(), 2u);
    for (const DecodedMessage& m : seam.messages) order[piece == 1].push_back(m.summary);
  }
  const std::vector<std::string> want = {"CONNECT h:443", "407 Proxy Authentication Required",
                                         "GET /2", "200 OK"};
  EXPECT_EQ(order[0], want);
  EXPECT_EQ(order[1], want);
}

}  // namespace
}  // namespace tcpscribe
