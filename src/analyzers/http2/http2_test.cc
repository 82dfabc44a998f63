#include "http2.h"

#include <gtest/gtest.h>

#include "hpack.h"
#include "http2_test_support.h"
#include "http_test_support.h"

namespace tcpscribe {
namespace {

using h2test::Encoder;
using h2test::frame;
using h2test::Recorder;
using h2test::Wire;
constexpr Dir kC = Dir::kClientToServer;
constexpr Dir kS = Dir::kServerToClient;

struct H2Setup {
  explicit H2Setup(const std::string& dir = "", bool keep_encoded = false, bool decode = true) {
    Http2Options o;
    o.outdir = dir.empty() ? "." : dir;
    o.extract_bodies = !dir.empty();
    o.keep_encoded = keep_encoded;
    o.out = &rec;
    o.decode_view = decode;
    o.max_text_bytes = 1 << 16;
    an = std::make_unique<Http2Analyzer>(
        o, [this](const Connection& c, const Finding& f) { rec.finding(c, f); },
        [this](const HttpTransaction& t) { rec.http_transaction(t); });
  }
  Recorder rec;
  std::unique_ptr<Http2Analyzer> an;
};

/// A client and server exchange: GET /a answered 200 with a gzip body
/// "hello world" in two DATA frames (one padded), the request's HEADERS
/// with priority fields and a CONTINUATION.
struct Exchange {
  std::string client, server;
  Exchange() {
    Encoder ce, se;
    const std::string req = ce.block(h2test::get("/a"));
    client = std::string(kH2Preface, kH2PrefaceLen) + h2test::settings({{4, 1 << 20}}) +
             frame(H2Type::kHeaders, h2flag::kPriority | h2flag::kEndStream, 1,
                   h2test::be32(0) + std::string(1, '\x10') + req.substr(0, 3)) +
             frame(H2Type::kContinuation, h2flag::kEndHeaders, 1, req.substr(3));
    const std::string body = testing::compress("hello world", 15 + 16);
    server = h2test::settings() + frame(H2Type::kSettings, h2flag::kAck, 0, "") +
             frame(H2Type::kHeaders, h2flag::kEndHeaders, 1,
                   se.block({{":status", "200"}, {"content-encoding", "gzip"},
                             {"content-type", "text/plain"}})) +
             frame(H2Type::kData, h2flag::kPadded, 1,
                   std::string(1, '\x03') + body.substr(0, 5) + std::string(3, '\0')) +
             frame(H2Type::kData, h2flag::kEndStream, 1, body.substr(5));
  }
};

TEST(Http2, RequestAndResponseBecomeOneTransactionWhateverThePieces) {
  for (size_t piece : {0, 1, 7}) {
    SCOPED_TRACE(piece);
    testing::TempDir dir;
    H2Setup s(dir.path());
    Wire w(*s.an);
    Exchange x;
    w.send(kC, x.client, piece);
    w.send(kS, x.server, piece);
    ASSERT_EQ(s.rec.txns.size(), 1u);
    const HttpTransaction& t = s.rec.txns[0];
    EXPECT_EQ(t.request.head.method, "GET");
    EXPECT_EQ(t.request.head.target, "/a");
    EXPECT_EQ(t.request.head.version, "HTTP/2.0");
    EXPECT_EQ(t.response.head.status, 200);
    EXPECT_EQ(t.url(), "http://example.test/a");
    EXPECT_TRUE(t.response.complete) << t.response.problem;
    EXPECT_TRUE(t.response.decoded);
    EXPECT_EQ(t.response.decoded_bytes, 11u);
    EXPECT_EQ(t.response.body_text, "hello world");
    ASSERT_FALSE(t.response.body_path.empty());
    EXPECT_EQ(testing::read_file(t.response.body_path), "hello world");
    EXPECT_NE(t.response.body_path.find("-HTTPBODY-001"), std::string::npos);
    ASSERT_EQ(s.rec.records.size(), 1u);
    const ExchangeRecord& r = s.rec.records[0];
    EXPECT_EQ(r.proto, "http2");
    EXPECT_EQ(Recorder::field(r, "stream"), "1");
    EXPECT_EQ(Recorder::field(r, "method"), "\"GET\"");
    EXPECT_EQ(Recorder::field(r, "authority"), "\"example.test\"");
    EXPECT_EQ(Recorder::field(r, "status"), "200");
    EXPECT_TRUE(r.error_json.empty());
    EXPECT_TRUE(r.latency.has_value());
    EXPECT_TRUE(s.rec.findings.empty()) << s.rec.findings[0];
  }
}

TEST(Http2, KeepEncodedWritesTheBodyAsSent) {
  testing::TempDir dir;
  H2Setup s(dir.path(), true);
  Wire w(*s.an);
  Exchange x;
  w.send(kC, x.client);
  w.send(kS, x.server);
  ASSERT_EQ(s.rec.txns.size(), 1u);
  EXPECT_EQ(testing::read_file(s.rec.txns[0].response.body_path),
            testing::compress("hello world", 15 + 16));
}

TEST(Http2, DecodeViewShowsEachMessageWithItsStream) {
  H2Setup s;
  Wire w(*s.an);
  Exchange x;
  w.send(kC, x.client);
  w.send(kS, x.server);
  std::vector<std::string> summaries;
  for (const DecodedMessage& m : s.rec.messages) summaries.push_back(m.summary);
  EXPECT_EQ(summaries, (std::vector<std::string>{"SETTINGS", "stream 1: GET /a", "SETTINGS",
                                                 "stream 1: 200"}));
  const DecodedMessage& rs = s.rec.messages.back();
  EXPECT_EQ(rs.lines[0], ":status: 200");
  EXPECT_EQ(rs.lines.back(), "body: 31 bytes gzip, 11 decoded: \"hello world\"");
  EXPECT_EQ(s.rec.messages[0].lines, std::vector<std::string>{"INITIAL_WINDOW_SIZE = 1048576"});
}

TEST(Http2, ResetStreamIsAFindingWithTheCodeName) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) + h2test::settings() +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/slow"))));
  w.send(kS, h2test::settings() + frame(H2Type::kRstStream, 0, 1, h2test::be32(7)) +
                 frame(H2Type::kGoaway, 0, 0, h2test::be32(1) + h2test::be32(2) + "bye"));
  ASSERT_EQ(s.rec.findings.size(), 2u);
  EXPECT_EQ(s.rec.findings[0], "HTTP/2 stream 1 (GET /slow) reset by the server: REFUSED_STREAM (7)");
  EXPECT_EQ(s.rec.findings[1],
            "HTTP/2 server sent GOAWAY: last stream 1, INTERNAL_ERROR (2), \"bye\"");
  ASSERT_EQ(s.rec.records.size(), 1u);
  EXPECT_EQ(s.rec.records[0].error_json, "\"reset by the server (REFUSED_STREAM)\"");
}

TEST(Http2, UnansweredStreamAndFramesAfterEndStream) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) + h2test::settings() +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/one"))) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 3,
                       ce.block(h2test::get("/two"))));
  w.send(kS, h2test::settings() +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       se.block({{":status", "204"}})) +
                 frame(H2Type::kData, 0, 1, "late"));
  w.close();
  ASSERT_EQ(s.rec.findings.size(), 2u);
  EXPECT_EQ(s.rec.findings[0], "HTTP/2 server sent DATA on stream 1 after ending it (END_STREAM)");
  EXPECT_EQ(s.rec.findings[1],
            "HTTP/2 stream 3 (GET /two) was never answered (the connection was closed)");
  ASSERT_EQ(s.rec.records.size(), 2u);
  EXPECT_EQ(s.rec.records[1].error_json, "\"unanswered (the connection was closed)\"");
}

TEST(Http2, BadFrameIsToldAndParsingGoesOn) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) + h2test::settings() +
                 frame(H2Type::kWindowUpdate, 0, 0, "12345") +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/ok"))));
  w.send(kS, frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                   se.block({{":status", "200"}})));
  ASSERT_EQ(s.rec.findings.size(), 1u);
  EXPECT_EQ(s.rec.findings[0],
            "HTTP/2 client frame at offset 33: WINDOW_UPDATE not 4 bytes; skipped");
  ASSERT_EQ(s.rec.txns.size(), 1u);
  EXPECT_EQ(s.rec.txns[0].response.head.status, 200);
}

TEST(Http2, GapInsideDataIsAHoleAndTheStreamGoesOn) {
  testing::TempDir dir;
  H2Setup s(dir.path());
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/f"))));
  const std::string data = frame(H2Type::kData, h2flag::kEndStream, 1, "abcdefgh");
  w.send(kS, frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}})) +
                 data.substr(0, 11));
  w.gap(kS, 3);
  w.send(kS, data.substr(14));
  ASSERT_EQ(s.rec.txns.size(), 1u);
  const HttpMessage& rs = s.rec.txns[0].response;
  EXPECT_EQ(rs.missing, 3u);
  EXPECT_FALSE(rs.complete);
  EXPECT_EQ(testing::read_file(rs.body_path), std::string("ab\0\0\0fgh", 8));
}

TEST(Http2, LostBoundariesAreFoundAgain) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/1"))) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 3,
                       ce.block(h2test::get("/3"))));
  w.send(kS, frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}})));
  w.gap(kS, 4);  // inside the next frame header: boundaries lost
  w.send(kS, std::string(5, 'x') + frame(H2Type::kPing, 0, 0, std::string(8, 'p')) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 3,
                       std::string(1, '\x88')));  // :status 200 from the static table
  w.close();
  // Stream 3 ends first (after the resync); stream 1 at the close.
  ASSERT_EQ(s.rec.txns.size(), 2u);
  EXPECT_EQ(s.rec.txns[0].request.head.target, "/3");
  EXPECT_EQ(s.rec.txns[0].response.head.status, 200);
  EXPECT_TRUE(s.rec.txns[0].response.complete);
  EXPECT_EQ(s.rec.txns[1].request.head.target, "/1");
  EXPECT_EQ(s.rec.txns[1].response.head.status, 200);
  EXPECT_FALSE(s.rec.txns[1].response.complete);
  ASSERT_GE(s.rec.findings.size(), 1u);
  EXPECT_EQ(s.rec.findings[0],
            "HTTP/2 server stream at offset 10: HTTP/2 frame boundaries lost (the capture lacks 4 "
            "bytes); looking for the next frame");
}

TEST(Http2, GrpcMessagesStatusAndRawProtobuf) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  // message {1: 150, 2: "hello", 3 {1: 1}}
  const std::string pb = "\x08\x96\x01\x12\x05hello\x1a\x02\x08\x01";
  const std::string msg = std::string(1, '\0') + h2test::be32(static_cast<uint32_t>(pb.size())) + pb;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders, 1,
                       ce.block({{":method", "POST"}, {":scheme", "http"}, {":authority", "g"},
                                 {":path", "/pkg.Greeter/SayHello"},
                                 {"content-type", "application/grpc"}, {"te", "trailers"}})) +
                 frame(H2Type::kData, h2flag::kEndStream, 1, msg));
  w.send(kS, frame(H2Type::kHeaders, h2flag::kEndHeaders, 1,
                   se.block({{":status", "200"}, {"content-type", "application/grpc"}})) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       se.block({{"grpc-status", "5"}, {"grpc-message", "no such greeting"}})));
  ASSERT_EQ(s.rec.records.size(), 1u);
  const ExchangeRecord& r = s.rec.records[0];
  EXPECT_EQ(Recorder::field(r, "grpc_service"), "\"pkg.Greeter\"");
  EXPECT_EQ(Recorder::field(r, "grpc_method"), "\"SayHello\"");
  EXPECT_EQ(Recorder::field(r, "grpc_status"), "5");
  EXPECT_EQ(Recorder::field(r, "grpc_status_name"), "\"NOT_FOUND\"");
  EXPECT_EQ(Recorder::field(r, "grpc_request_messages"), "1");
  EXPECT_EQ(Recorder::field(r, "grpc_request_messages_decoded"),
            "[{\"compressed\":false,\"size\":14,\"decoded\":\"1: 150 2: \\\"hello\\\" 3 { 1: 1 }\"}]");
  EXPECT_EQ(r.error_json, "\"grpc 5 NOT_FOUND: no such greeting\"");
  const DecodedMessage& rq = s.rec.messages[0];
  EXPECT_EQ(rq.summary, "stream 1: POST /pkg.Greeter/SayHello");
  const std::vector<std::string> tail(rq.lines.end() - 7, rq.lines.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"grpc: pkg.Greeter / SayHello",
                                            "grpc message 1: 14 bytes", "  1: 150", "  2: \"hello\"",
                                            "  3 {", "    1: 1", "  }"}));
  EXPECT_EQ(s.rec.messages[1].lines.back(), "grpc-status: 5 NOT_FOUND: no such greeting");
}

TEST(Http2, MidstreamHeadersUseOnlyTheStaticTable) {
  H2Setup s;
  Wire w(*s.an, /*handshake=*/false);
  Encoder ce;
  ce.block(h2test::get("/first", "cached.example"));  // fills the client's table
  const std::string second = ce.block(h2test::get("/second", "cached.example"));
  w.send(kC, frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 3, second) +
                 frame(H2Type::kPing, 0, 0, std::string(8, '\0')));
  w.close();
  ASSERT_EQ(s.rec.txns.size(), 1u);
  const HttpHead& h = s.rec.txns[0].request.head;
  EXPECT_TRUE(h.truncated);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/second");
  // :authority came from the dynamic table, which the capture lacks.
  EXPECT_EQ(h.find(":authority"), nullptr);
  int unknown = 0;
  for (const HttpHeader& f : h.headers) unknown += f.name == kHpackUnknown && f.value == kHpackUnknown;
  EXPECT_EQ(unknown, 1);
}

/// The HTTP/1 analyzer (which hands h2c upgrades to HTTP/2) recording
/// into `rec`.
struct Http1Setup {
  static HttpOptions options(Recorder& r) {
    HttpOptions o;
    o.extract_bodies = false;
    o.out = &r;
    return o;
  }
  Recorder rec;
  HttpAnalyzer an{options(rec), [this](const Connection& c, const Finding& f) { rec.finding(c, f); },
                  [this](const HttpTransaction& t) { rec.http_transaction(t); }};
};

// h2c by upgrade: the HTTP/1 analyzer settles the 101 and hands the rest
// of the connection over; the client's preface follows its request in
// the same packet, the server's first frames follow the 101 in one.
TEST(Http2, UpgradeFromHttp1HandsTheConnectionOver) {
  for (size_t piece : {0, 1}) {
    SCOPED_TRACE(piece);
    Http1Setup h1;
    Recorder& rec = h1.rec;
    Wire w(h1.an);
    Encoder se;
    w.send(kC, "GET /up HTTP/1.1\r\nHost: h2.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n" +
                   std::string(kH2Preface, kH2PrefaceLen) + h2test::settings(),
           piece);
    w.send(kS, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" +
                   h2test::settings() +
                   frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}})) +
                   frame(H2Type::kData, h2flag::kEndStream, 1, "upgraded body"),
           piece);
    w.close();
    ASSERT_EQ(rec.records.size(), 2u);
    EXPECT_EQ(rec.records[0].proto, "http");
    EXPECT_EQ(Recorder::field(rec.records[0], "status"), "101");
    const ExchangeRecord& r = rec.records[1];
    EXPECT_EQ(r.proto, "http2");
    EXPECT_EQ(Recorder::field(r, "stream"), "1");
    EXPECT_EQ(Recorder::field(r, "method"), "\"GET\"");
    EXPECT_EQ(Recorder::field(r, "path"), "\"/up\"");
    EXPECT_EQ(Recorder::field(r, "authority"), "\"h2.test\"");
    EXPECT_EQ(Recorder::field(r, "status"), "200");
    EXPECT_EQ(Recorder::field(r, "response_body_bytes"), "13");
    EXPECT_TRUE(r.error_json.empty()) << r.error_json;
    EXPECT_TRUE(rec.findings.empty()) << rec.findings[0];
  }
}

// Pipelined: the upgrade is asked by the second request. The answer to the
// first one (a 200, or a stray 101 naming h2c) neither cancels nor
// triggers the switch; only the answer to the request that asked does.
// (fuzz/corpus/http/http-h2c-upgrade-packets-vs-bytes: a 101 answering the
// first request handed the connection over from the wrong offset, and the
// result depended on how the client's bytes were cut.)
TEST(Http2, UpgradeIsSettledByTheAnswerToTheRequestThatAskedForIt) {
  for (const char* first_status : {"200 OK", "101 Switching Protocols"}) {
    for (size_t piece : {0, 1}) {
      SCOPED_TRACE(std::string(first_status) + " piece " + std::to_string(piece));
      Http1Setup h1;
      Recorder& rec = h1.rec;
      Wire w(h1.an);
      Encoder se;
      w.send(kC, "GET /a HTTP/1.1\r\nHost: h2.test\r\n\r\n"
                 "GET /up HTTP/1.1\r\nHost: h2.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                 "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n" +
                     std::string(kH2Preface, kH2PrefaceLen) + h2test::settings(),
             piece);
      const bool stray = std::string(first_status).starts_with("101");
      w.send(kS, "HTTP/1.1 " + std::string(first_status) +
                     (stray ? "\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                            : "\r\nContent-Length: 2\r\n\r\nok"),
             piece);
      if (!stray) {
        w.send(kS, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" +
                       h2test::settings() +
                       frame(H2Type::kHeaders, h2flag::kEndHeaders, 1,
                             se.block({{":status", "200"}})) +
                       frame(H2Type::kData, h2flag::kEndStream, 1, "upgraded body"),
               piece);
      }
      w.close();
      std::vector<std::string> got;
      for (const ExchangeRecord& r : rec.records) {
        got.push_back(r.proto + " " + Recorder::field(r, r.proto == "http" ? "target" : "path") +
                      " " + Recorder::field(r, "status"));
      }
      if (stray) {
        // The server switched without being asked: not followed as HTTP/2.
        for (const std::string& g : got) EXPECT_FALSE(g.starts_with("http2")) << g;
      } else {
        EXPECT_EQ(got, (std::vector<std::string>{"http \"/a\" 200", "http \"/up\" 101",
                                                 "http2 \"/up\" 200"}));
        EXPECT_TRUE(rec.findings.empty()) << rec.findings[0];
      }
    }
  }
}

TEST(Http2, StreamStalledOnFlowControl) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) + h2test::settings() +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/big"))));
  // The default window, 65,535 bytes, sent in full; the client grants no more.
  std::string server = h2test::settings() +
                       frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}}));
  for (size_t left = 65535; left > 0;) {
    const size_t n = std::min<size_t>(left, 16384);
    server += frame(H2Type::kData, 0, 1, std::string(n, 'z'));
    left -= n;
  }
  w.send(kS, server);
  w.close();
  ASSERT_EQ(s.rec.findings.size(), 1u);
  EXPECT_EQ(s.rec.findings[0],
            "HTTP/2 stream 1 (GET /big) stalled on flow control: the server had no send window "
            "left (stream 0, connection 0 bytes) and the client granted no more");
}

TEST(Http2, WindowUpdatesKeepAStreamFromStalling) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) + h2test::settings() +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/big"))) +
                 frame(H2Type::kWindowUpdate, 0, 0, h2test::be32(100)) +
                 frame(H2Type::kWindowUpdate, 0, 1, h2test::be32(100)));
  w.send(kS, frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}})) +
                 frame(H2Type::kData, 0, 1, std::string(16384, 'z')) +
                 frame(H2Type::kData, 0, 1, std::string(16384, 'z')) +
                 frame(H2Type::kData, 0, 1, std::string(16384, 'z')) +
                 frame(H2Type::kData, 0, 1, std::string(16383, 'z')));
  w.close();
  ASSERT_EQ(s.rec.findings.size(), 0u) << s.rec.findings[0];
}

TEST(Http2, PushPromiseIsAStreamOfItsOwn) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 1,
                       ce.block(h2test::get("/page"))));
  w.send(kS, frame(H2Type::kPushPromise, h2flag::kEndHeaders, 1,
                   h2test::be32(2) + se.block(h2test::get("/style.css"))) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders, 1, se.block({{":status", "200"}})) +
                 frame(H2Type::kData, h2flag::kEndStream, 1, "<page>") +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders, 2, se.block({{":status", "200"}})) +
                 frame(H2Type::kData, h2flag::kEndStream, 2, "css"));
  ASSERT_EQ(s.rec.records.size(), 2u);
  EXPECT_EQ(Recorder::field(s.rec.records[0], "path"), "\"/page\"");
  EXPECT_EQ(Recorder::field(s.rec.records[1], "stream"), "2");
  EXPECT_EQ(Recorder::field(s.rec.records[1], "path"), "\"/style.css\"");
  EXPECT_EQ(Recorder::field(s.rec.records[1], "pushed"), "true");
  EXPECT_EQ(Recorder::field(s.rec.records[1], "response_body_bytes"), "3");
  EXPECT_TRUE(s.rec.findings.empty()) << s.rec.findings[0];
}

// Client and server stream ids rise each on their own (RFC 9113 5.1.1): a
// push of stream 2 on a request of stream 13 (nghttp's requests start past
// its PRIORITY streams) is a new stream, not "already in use"; a push that
// goes back below the server's last one is. (nginx's http2_push seen by
// nghttp in tests/integration/http2_nginx.sh.)
TEST(Http2, PushedStreamIdsRiseApartFromTheClients) {
  H2Setup s;
  Wire w(*s.an);
  Encoder ce, se;
  w.send(kC, std::string(kH2Preface, kH2PrefaceLen) +
                 frame(H2Type::kHeaders, h2flag::kEndHeaders | h2flag::kEndStream, 13,
                       ce.block(h2test::get("/page"))));
  std::string server;
  for (uint32_t promised : {2u, 4u}) {
    server += frame(H2Type::kPushPromise, h2flag::kEndHeaders, 13,
                    h2test::be32(promised) +
                        se.block(h2test::get("/pushed" + std::to_string(promised))));
  }
  server += frame(H2Type::kHeaders, h2flag::kEndHeaders, 13, se.block({{":status", "200"}})) +
            frame(H2Type::kData, h2flag::kEndStream, 13, "<page>");
  for (uint32_t id : {2u, 4u}) {
    server += frame(H2Type::kHeaders, h2flag::kEndHeaders, id, se.block({{":status", "200"}})) +
              frame(H2Type::kData, h2flag::kEndStream, id, "pushed");
  }
  w.send(kS, server);
  ASSERT_EQ(s.rec.records.size(), 3u) << (s.rec.findings.empty() ? "" : s.rec.findings[0]);
  EXPECT_EQ(Recorder::field(s.rec.records[1], "stream"), "2");
  EXPECT_EQ(Recorder::field(s.rec.records[1], "pushed"), "true");
  EXPECT_EQ(Recorder::field(s.rec.records[2], "stream"), "4");
  EXPECT_EQ(Recorder::field(s.rec.records[2], "path"), "\"/pushed4\"");
  EXPECT_TRUE(s.rec.findings.empty()) << s.rec.findings[0];

  // A promise that goes back to an even id already passed.
  w.send(kS, frame(H2Type::kPushPromise, h2flag::kEndHeaders, 13,
                   h2test::be32(2) + se.block(h2test::get("/again"))));
  ASSERT_EQ(s.rec.findings.size(), 1u);
  EXPECT_NE(s.rec.findings[0].find("PUSH_PROMISE of stream 2, a stream already in use"),
            std::string::npos) << s.rec.findings[0];
}

TEST(Http2, Probe) {
  const std::string p(kH2Preface, kH2PrefaceLen);
  const auto b = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(probe_http2(kC, b(p)), ProbeResult::kYes);
  EXPECT_EQ(probe_http2(kC, b(p.substr(0, 10))), ProbeResult::kNeedMore);
  EXPECT_EQ(probe_http2(kC, b("GET / HTTP/1.1\r\n")), ProbeResult::kNo);
  EXPECT_EQ(probe_http2(kS, b(h2test::settings())), ProbeResult::kYes);
  EXPECT_EQ(probe_http2(kS, b("HTTP/1.1 200 OK\r\n")), ProbeResult::kNo);
}

}  // namespace
}  // namespace tcpscribe
