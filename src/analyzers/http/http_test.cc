// The build links zlib (CMake: ZLIB::ZLIB on tcpscribe_core, with
// TCPSCRIBE_HAVE_ZLIB defined); without it this file only says so.
#ifndef TCPSCRIBE_HAVE_ZLIB
#include <gtest/gtest.h>

TEST(HttpSetup, NeedsZlib) {
  GTEST_SKIP() << "built without TCPSCRIBE_HAVE_ZLIB: add find_package(ZLIB REQUIRED), "
                  "link ZLIB::ZLIB to tcpscribe_core and define TCPSCRIBE_HAVE_ZLIB";
}
#else
#include "http.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <filesystem>

#include "capture_file.h"
#include "flow_table.h"
#include "http_decode.h"
#include "http_test_support.h"
#include "test_support.h"

#ifndef TCPSCRIBE_SOURCE_DIR
#define TCPSCRIBE_SOURCE_DIR "."
#endif

namespace tcpscribe {
namespace {

using testing::compress;
using testing::HttpHarness;
using testing::read_file;

constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;

std::string big_text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i) + " of some text\n";
  s.resize(n);
  return s;
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n" + extra + "\r\n";
}

std::string ok(const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 200 OK\r\n" + extra + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string chunked(const std::string& body, size_t piece) {
  std::string out;
  char hex[32];
  for (size_t i = 0; i < body.size(); i += piece) {
    const size_t n = std::min(piece, body.size() - i);
    std::snprintf(hex, sizeof hex, "%zx\r\n", n);
    out += hex + body.substr(i, n) + "\r\n";
  }
  return out;
}

// ------------------------------------------------------------ framing

TEST(HttpFraming, FollowsRfc9112) {
  HttpHead h;
  h.is_request = false;
  h.status = 200;
  h.headers = {{"Content-Length", "12"}};
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kLength);
  EXPECT_EQ(framing_for(h, "GET").length, 12u);
  EXPECT_EQ(framing_for(h, "HEAD").kind, BodyFraming::Kind::kNone);
  h.headers = {{"content-length", "12, 12"}};
  EXPECT_EQ(framing_for(h, "GET").length, 12u);
  h.headers = {{"Content-Length", "12"}, {"Content-Length", "13"}};
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kInvalid);
  h.headers = {{"Content-Length", "12"}, {"Transfer-Encoding", "gzip, chunked"}};
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kChunked);
  h.headers = {};
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kUntilClose);
  h.status = 204;
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kNone);
  h.status = 101;
  EXPECT_EQ(framing_for(h, "GET").kind, BodyFraming::Kind::kTunnel);
  h.status = 200;
  EXPECT_EQ(framing_for(h, "CONNECT").kind, BodyFraming::Kind::kTunnel);
  h.is_request = true;
  EXPECT_EQ(framing_for(h, "").kind, BodyFraming::Kind::kNone);
  h.headers = {{"Transfer-Encoding", "gzip"}};
  EXPECT_EQ(framing_for(h, "").kind, BodyFraming::Kind::kInvalid);
}

TEST(HttpDecode, NamesCodings) {
  EXPECT_EQ(parse_content_coding(""), ContentCoding::kIdentity);
  EXPECT_EQ(parse_content_coding(" GZIP "), ContentCoding::kGzip);
  EXPECT_EQ(parse_content_coding("x-gzip"), ContentCoding::kGzip);
  EXPECT_EQ(parse_content_coding("deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(parse_content_coding("br"), ContentCoding::kBrotli);
  EXPECT_EQ(parse_content_coding("zstd"), ContentCoding::kZstd);
  EXPECT_EQ(parse_content_coding("compress"), ContentCoding::kUnsupported);
  EXPECT_EQ(parse_content_coding("gzip, gzip"), ContentCoding::kUnsupported);
}

// ------------------------------------------------------------ bodies

TEST(HttpBodies, ChunkedWithTrailers) {
  HttpHarness h;
  h.client(get("/c"));
  const std::string body = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 42\r\nX-More: a\r\n\r\n";
  h.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" + body);
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  const HttpMessage& r = h.txns[0].response;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.body_wire, body.size());
  EXPECT_EQ(r.body_bytes, 12u);
  ASSERT_EQ(r.trailers.size(), 2u);
  EXPECT_EQ(r.trailers[0].name, "X-Sum");
  EXPECT_EQ(r.trailers[0].value, "42");
  EXPECT_EQ(h.body(kS2C, 1), "hello, world");
  EXPECT_EQ(r.body_path, h.flow(kS2C) + "-HTTPBODY-001");
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpBodies, FileNamesBesideFlowFilesAndNoDeduplication) {
  HttpHarness h;
  h.client(get("/1") + get("/2"));
  h.server(ok("same bytes") + ok("same bytes"));
  h.close();
  EXPECT_EQ(h.flow(kS2C), h.dir() + "/010.000.000.002.00080-010.000.000.001.40000");
  EXPECT_EQ(h.body(kS2C, 1), "same bytes");
  EXPECT_EQ(h.body(kS2C, 2), "same bytes");
  EXPECT_EQ(h.analyzer().stats().bodies, 2u);
}

class HttpCodings : public ::testing::TestWithParam<std::tuple<const char*, int, bool>> {};

TEST_P(HttpCodings, DecodedOrKeptEncoded) {
  const auto [name, window, keep] = GetParam();
  HttpOptions o;
  o.keep_encoded = keep;
  HttpHarness h(o);
  const std::string plain = big_text(100'000);
  const std::string packed = compress(plain, window);
  ASSERT_LT(packed.size(), plain.size() / 4);
  h.client(get("/z", "Accept-Encoding: gzip, deflate\r\n"));
  h.server(ok(packed, std::string("Content-Encoding: ") + name + "\r\n"));
  // The same body again, chunked in odd pieces.
  h.client(get("/z2"));
  h.server("HTTP/1.1 200 OK\r\nContent-Encoding: " + std::string(name) +
           "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(packed, 333) + "0\r\n\r\n");
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const HttpMessage& r = h.txns[i].response;
    EXPECT_TRUE(r.complete);
    EXPECT_TRUE(r.decoded) << r.decode_error;
    EXPECT_EQ(r.body_bytes, packed.size());
    EXPECT_EQ(r.decoded_bytes, plain.size());
    EXPECT_EQ(h.body(kS2C, i + 1), keep ? packed : plain);
  }
  EXPECT_TRUE(h.findings.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Http, HttpCodings,
    ::testing::Values(std::make_tuple("gzip", 15 + 16, false),
                      std::make_tuple("x-gzip", 15 + 16, false),
                      std::make_tuple("deflate", 15, false),    // zlib stream (RFC)
                      std::make_tuple("deflate", -15, false),   // raw deflate (common)
                      std::make_tuple("gzip", 15 + 16, true),
                      std::make_tuple("deflate", -15, true)));

TEST(HttpBodies, GzipMembersBackToBack) {
  HttpHarness h;
  h.client(get("/m"));
  h.server(ok(compress("first ", 31) + compress("second", 31), "Content-Encoding: gzip\r\n"));
  h.close();
  EXPECT_EQ(h.body(kS2C, 1), "first second");
}

TEST(HttpBodies, ZstdBodyIsDecoded) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "zstd line " + std::to_string(i) + "\n";
  std::string packed(ZSTD_compressBound(text.size()), '\0');
  packed.resize(ZSTD_compress(packed.data(), packed.size(), text.data(), text.size(), 3));
  HttpHarness h;
  h.client(get("/z"));
  h.server(ok(packed, "Content-Encoding: zstd\r\n"));
  h.close();
  EXPECT_EQ(h.body(kS2C, 1), text);
}

TEST(HttpBodies, RequestBodiesAreExtractedToo) {
  HttpHarness h;
  h.client("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\npayload");
  h.server(ok("done"));
  h.close();
  EXPECT_EQ(h.body(kC2S, 1), "payload");
  EXPECT_EQ(h.body(kS2C, 1), "done");
}

TEST(HttpBodies, NoBodyForHeadNoContentNotModifiedAndInterim) {
  HttpHarness h;
  h.client("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n" + get("/b") + get("/c") + get("/d"));
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
           "HTTP/1.1 204 No Content\r\n\r\n"
           "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n"
           "HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  h.close();
  ASSERT_EQ(h.txns.size(), 4u);
  const int want[] = {200, 204, 304, 200};
  const char* paths[] = {"/a", "/b", "/c", "/d"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(h.txns[i].request.head.target, paths[i]);
    EXPECT_EQ(h.txns[i].response.head.status, want[i]);
    EXPECT_EQ(h.txns[i].response.number, static_cast<uint32_t>(i + 1));
    EXPECT_TRUE(h.txns[i].response.complete);
  }
  EXPECT_EQ(h.txns[0].response.body_wire, 0u);
  EXPECT_FALSE(h.body_exists(kS2C, 1));
  EXPECT_FALSE(h.body_exists(kS2C, 2));
  EXPECT_FALSE(h.body_exists(kS2C, 3));
  EXPECT_EQ(h.body(kS2C, 4), "abc");
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpBodies, PipelinedRequestsPairInOrder) {
  HttpHarness h;
  h.client(get("/1") + "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\ndata" + get("/3"));
  h.server(ok("one"));
  h.server(ok("two") + ok("three"));
  h.shutdown(kC2S);
  h.shutdown(kS2C);
  h.close();
  ASSERT_EQ(h.txns.size(), 3u);
  const char* bodies[] = {"one", "two", "three"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.txns[i].request.head.target, "/" + std::to_string(i + 1));
    EXPECT_EQ(read_file(h.txns[i].response.body_path), bodies[i]);
  }
  EXPECT_EQ(h.body(kC2S, 2), "data");
  EXPECT_FALSE(h.body_exists(kC2S, 1));
  // Timing: requests all at the first packet, responses later.
  EXPECT_EQ(h.txns[2].request.start_ts, h.txns[0].request.start_ts);
  EXPECT_GT(h.txns[1].response.start_ts, h.txns[0].response.start_ts);
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpBodies, ResponseUntilClose) {
  HttpHarness h;
  h.client("GET / HTTP/1.0\r\n\r\n");
  h.server("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\n");
  h.server("and more");
  h.shutdown(kS2C);
  h.shutdown(kC2S);
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_TRUE(h.txns[0].response.complete);
  EXPECT_EQ(h.body(kS2C, 1), "all of it\nand more");
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpBodies, ResponseUntilCloseCutByReset) {
  HttpHarness h;
  h.client("GET / HTTP/1.0\r\n\r\n");
  h.server("HTTP/1.0 200 OK\r\n\r\npartial");
  h.shutdown(kS2C, /*reset=*/true);
  h.close(CloseReason::kRst);
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_FALSE(h.txns[0].response.complete);
  EXPECT_EQ(h.body(kS2C, 1), "partial");
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"response 1 (200 OK) unfinished: body read until close "
                                     "(the connection was reset)"});
}

// ------------------------------------------------------------ gaps

TEST(HttpGaps, GapInsideLengthBodyKeepsOffsets) {
  HttpHarness h;
  h.client(get("/g") + get("/h"));
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  h.gap(kS2C, 4);
  h.server("xyz" + ok("ok"));
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  const HttpMessage& r = h.txns[0].response;
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.missing, 4u);
  EXPECT_EQ(r.problem, "4 bytes missing from the capture");
  EXPECT_EQ(h.body(kS2C, 1), std::string("abc\0\0\0\0xyz", 10));
  EXPECT_TRUE(h.txns[1].response.complete);
  EXPECT_EQ(h.body(kS2C, 2), "ok");
  // Capture gaps are the TCP layer's findings, not HTTP ones.
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpGaps, GapPastAChunkResynchronisesAtNextResponse) {
  HttpHarness h;
  h.client(get("/1") + get("/2"));
  h.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  h.gap(kS2C, 20);
  h.server("lo\r\n0\r\n\r\n" + ok("ok"));
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_FALSE(h.txns[0].response.complete);
  EXPECT_EQ(h.txns[0].response.problem, "chunked framing cut by 20 bytes missing from the capture");
  EXPECT_EQ(h.txns[1].request.head.target, "/2");
  EXPECT_TRUE(h.txns[1].response.complete);
  EXPECT_EQ(h.body(kS2C, 2), "ok");
}

TEST(HttpGaps, GapInsideGzipStopsDecodingWithoutFinding) {
  HttpHarness h;
  const std::string packed = compress(big_text(50'000), 31);
  h.client(get("/z"));
  h.server("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(packed.size()) + "\r\n\r\n" + packed.substr(0, 100));
  h.gap(kS2C, 50);
  h.server(packed.substr(150));
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_EQ(h.txns[0].response.decode_error, "decoding stopped: 50 bytes missing from the capture");
  EXPECT_FALSE(h.txns[0].response.decoded);
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpGaps, MidstreamPickupFindsTheNextMessage) {
  HttpHarness h(HttpOptions(), /*handshake=*/false);
  h.client("of an earlier request body\r\n" + get("/n"));
  h.server("tail of a body\r\nmore\r\n" + ok("ok"));
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_EQ(h.txns[0].request.head.target, "/n");
  EXPECT_EQ(h.body(kS2C, 1), "ok");
  EXPECT_TRUE(h.findings.empty());
}

// ------------------------------------------------------------ findings

TEST(HttpFindings, RequestAfterResponseSaidClose) {
  HttpHarness h;
  h.client(get("/1"));
  h.server(ok("hi", "Connection: close\r\n"));
  const std::string second = get("/2");
  h.client(second);
  h.server(ok("yo"));
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_TRUE(h.txns[1].after_close_header);
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"request 2 (GET /2, " + std::to_string(second.size()) +
                                     " bytes) was sent after response 1 said \"Connection: "
                                     "close\"; it was answered anyway (200)"});
  EXPECT_EQ(h.findings[0].kind, Finding::Kind::kHttp);
  EXPECT_EQ(h.findings[0].dir, kC2S);
  EXPECT_EQ(h.findings[0].offset, get("/1").size());
  EXPECT_EQ(h.findings[0].length, second.size());
}

TEST(HttpFindings, RequestAfterRequestSaidClose) {
  HttpHarness h;
  h.client(get("/1", "Connection: close\r\n") + get("/2"));
  h.server(ok("a"));
  h.shutdown(kS2C);
  h.close();
  ASSERT_EQ(h.findings.size(), 1u);
  EXPECT_EQ(h.findings[0].text,
            "request 2 (GET /2, " + std::to_string(get("/2").size()) +
                " bytes) was sent after request 1 said \"Connection: close\"; it was never "
                "answered");
}

TEST(HttpFindings, RequestAfterServerFinAndClose) {
  // The motivating case: the server said close and sent FIN; the client
  // wrote another request on the same connection; the server reset it.
  HttpHarness h;
  h.client(get("/1"));
  h.server(ok("hi", "Connection: close\r\n"));
  h.shutdown(kS2C);
  h.client(get("/again"));
  h.mark_rst(kS2C);
  h.close(CloseReason::kRst);
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_TRUE(h.txns[1].after_server_close);
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{
                "request 2 (GET /again, " + std::to_string(get("/again").size()) +
                " bytes) was sent 0.001 s after the server closed its "
                "side (FIN) and after response 1 said \"Connection: close\"; the server answered "
                "with RST; it was never answered"});
}

TEST(HttpFindings, RequestAfterServerFinWithoutCloseHeader) {
  HttpHarness h;
  h.client(get("/1"));
  h.server(ok("hi"));
  h.shutdown(kS2C);
  h.client(get("/b"));
  h.close(CloseReason::kEndOfInput);
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"request 2 (GET /b, " + std::to_string(get("/b").size()) +
                                     " bytes) was sent 0.001 s after the server closed its side "
                                     "(FIN); it was never answered"});
}

TEST(HttpFindings, NeverAnswered) {
  HttpHarness h;
  h.client(get("/slow"));
  h.close(CloseReason::kEndOfInput);
  EXPECT_EQ(h.finding_texts(), std::vector<std::string>{
                                   "request 1 (GET /slow) was never answered (the capture ended)"});
}

TEST(HttpFindings, ResponseAcknowledgedButNotCapturedIsNotNeverAnswered) {
  // Only the client's packets were captured; its ACKs show the server sent
  // 2263 bytes (the TCP analysis says so at the close).
  HttpHarness h;
  h.client(get("/a"));
  h.client(get("/b"));
  h.conn().analysis.unseen_acked[index_of(kS2C)] = 2263;
  h.close(CloseReason::kEndOfInput);
  ASSERT_EQ(h.findings.size(), 2u);
  EXPECT_EQ(h.findings[0].text,
            "request 1 (GET /a) has no response in the capture, which lacks 2263 bytes the "
            "server sent");
  EXPECT_FALSE(h.findings[0].alarm);
  EXPECT_FALSE(h.findings[1].alarm);
}

TEST(HttpFindings, ResponseLostInACaptureGapIsNotNeverAnswered) {
  HttpHarness h;
  h.client(get("/upload"));
  h.gap(kS2C, 143);
  h.close(CloseReason::kEndOfInput);
  ASSERT_EQ(h.findings.size(), 1u);
  EXPECT_EQ(h.findings[0].text,
            "request 1 (GET /upload) has no response in the capture, which lacks 143 bytes the "
            "server sent");
  EXPECT_FALSE(h.findings[0].alarm);
}

TEST(HttpFindings, TellsTheTcpStoryOfARequestAfterServerFin) {
  HttpHarness h;
  const uint64_t second = get("/1").size();
  h.client(get("/1"));
  h.server(ok("hi"));
  Finding tcp;
  tcp.kind = Finding::Kind::kDataAfterPeerFin;
  tcp.dir = kC2S;
  tcp.offset = second;
  tcp.length = get("/again").size();
  EXPECT_FALSE(h.analyzer().tells(h.conn(), tcp));  // no request after a FIN yet
  h.shutdown(kS2C);
  h.client(get("/again"));
  EXPECT_TRUE(h.analyzer().tells(h.conn(), tcp));
  Finding other = tcp;
  other.dir = kS2C;
  EXPECT_FALSE(h.analyzer().tells(h.conn(), other));
  other = tcp;
  other.kind = Finding::Kind::kCaptureGap;
  EXPECT_FALSE(h.analyzer().tells(h.conn(), other));
  other = tcp;
  other.offset = 0;
  other.length = second;                             // bytes before that request
  EXPECT_FALSE(h.analyzer().tells(h.conn(), other));
  h.close(CloseReason::kEndOfInput);
  ASSERT_EQ(h.findings.size(), 1u);                  // and it does tell it
  EXPECT_TRUE(h.findings[0].alarm);
}

TEST(HttpFindings, ResponseWithoutRequest) {
  HttpHarness h;
  h.server(ok("unasked"));
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_FALSE(h.txns[0].request.present);
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"response 1 (200 OK) without a request"});
  EXPECT_EQ(h.findings[0].dir, kS2C);
}

TEST(HttpFindings, UnfinishedMessagesAtEnd) {
  HttpHarness h;
  h.client("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n12345");
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
  h.close(CloseReason::kEndOfInput);
  EXPECT_EQ(h.finding_texts(),
            (std::vector<std::string>{
                "request 1 (POST /u) unfinished: 5 of 50 body bytes (the capture ended)",
                "response 1 (200 OK) unfinished: 10 of 100 body bytes (the capture ended)"}));
}

TEST(HttpFindings, CorruptGzip) {
  HttpHarness h;
  h.client(get("/bad"));
  h.server(ok("this is not gzip", "Content-Encoding: gzip\r\n"));
  h.close();
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"response 1 (200 OK): gzip body not decoded: gzip data is "
                                     "corrupt (incorrect header check) after 0 decoded bytes"});
}

TEST(HttpFindings, GarbageBetweenResponses) {
  HttpHarness h;
  h.client(get("/1") + get("/2"));
  const std::string first = ok("a");
  h.server(first + "garbage\r\n" + ok("b"));
  h.close();
  EXPECT_EQ(h.finding_texts(),
            std::vector<std::string>{"server stream at offset " + std::to_string(first.size()) +
                                     ": not an HTTP status line; looking for the next message"});
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_EQ(h.body(kS2C, 2), "b");
}

TEST(HttpFindings, HeadBlockOverTheCap) {
  HttpOptions o;
  o.max_head_bytes = 1024;
  HttpHarness h(o);
  const std::string first = get("/1");
  h.client(first + get("/2", "X-Big: " + std::string(2000, 'x') + "\r\n") + get("/3"));
  h.close(CloseReason::kEndOfInput);
  ASSERT_GE(h.findings.size(), 1u);
  EXPECT_EQ(h.findings[0].text, "client stream at offset " + std::to_string(first.size()) +
                                    ": header block longer than 1024 bytes; looking for the "
                                    "next message");
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_EQ(h.txns[1].request.head.target, "/3");
}

TEST(HttpFindings, OtherProtocolsAreIgnored) {
  HttpHarness h;
  h.client("*1\r\n$4\r\nPING\r\n");
  h.server("+PONG\r\n");
  h.client(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  h.close();
  EXPECT_TRUE(h.txns.empty());
  EXPECT_TRUE(h.findings.empty());
  EXPECT_TRUE(std::filesystem::is_empty(h.dir()));
}

// ------------------------------------------------------------ protocol switches

TEST(HttpUpgrade, WebSocketBecomesATunnel) {
  HttpHarness h;
  h.client(get("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n") +
           std::string("\x81\x85\x01\x02\x03\x04hello", 11));
  h.server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" +
           std::string("\x81\x05hello", 7));
  h.client(std::string("\x88\x80\x00\x00\x00\x00", 6));
  h.close();
  ASSERT_EQ(h.txns.size(), 1u);
  EXPECT_EQ(h.txns[0].response.head.status, 101);
  EXPECT_TRUE(h.findings.empty());
}

TEST(HttpUpgrade, RefusedUpgradeKeepsParsing) {
  HttpHarness h;
  h.client(get("/1", "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AA\r\n") +
           get("/2"));
  h.server(ok("one"));
  h.server(ok("two"));
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  EXPECT_EQ(h.txns[1].request.head.target, "/2");
  EXPECT_EQ(h.body(kS2C, 2), "two");
  EXPECT_TRUE(h.findings.empty());
}

// ------------------------------------------------------------ delivery independence

/// Two streams with most features: gzip in chunks with trailers, a chunked
/// request body, HEAD, an interim 100, a cookie, a body read until close.
std::pair<std::string, std::string> mixed_streams() {
  const std::string packed = compress("the decoded text of the first response", 31);
  const std::string client =
      get("/a", "Accept-Encoding: gzip\r\n") +
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n" +
      "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n" + get("/z", "Expect: 100-continue\r\n") +
      "\r\n" + get("/last");
  const std::string server =
      "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
      chunked(packed, 10) + "0\r\nX-T: 1\r\n\r\n" + "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + "HTTP/1.1 100 Continue\r\n\r\n" +
      ok("zz", "Set-Cookie: a=b; Path=/\r\n") +
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
  return {client, server};
}

/// The mixed streams fed with the given cut points (or byte by byte).
std::string run_mixed(std::vector<size_t> client_cuts, std::vector<size_t> server_cuts,
                      bool one_byte = false, bool keep_encoded = false) {
  HttpOptions o;
  o.keep_encoded = keep_encoded;
  o.max_text_bytes = 1 << 20;
  HttpHarness h(o);
  const auto [client, server] = mixed_streams();
  if (one_byte) {
    h.client(client, 1);
    h.server(server, 1);
  } else {
    h.send_cuts(kC2S, client, std::move(client_cuts));
    h.send_cuts(kS2C, server, std::move(server_cuts));
  }
  h.shutdown(kS2C);
  h.shutdown(kC2S);
  h.close();
  return h.digest();
}

TEST(HttpDelivery, SameResultsWhateverThePieces) {
  const std::string whole = run_mixed({}, {});
  // The reference run is right, so the comparisons below mean something.
  EXPECT_NE(whole.find("file=010.000.000.002.00080-010.000.000.001.40000-HTTPBODY-001:38:the "
                       "decoded text of the first response"),
            std::string::npos)
      << whole;
  EXPECT_NE(whole.find("{T X-T:1}"), std::string::npos) << whole;
  EXPECT_NE(whole.find("-HTTPBODY-002:4:abcd"), std::string::npos) << whole;
  EXPECT_NE(whole.find("-HTTPBODY-005:11:until close"), std::string::npos) << whole;
  EXPECT_EQ(whole.find("finding"), std::string::npos) << whole;
  EXPECT_EQ(run_mixed({}, {}, /*one_byte=*/true), whole);
  const auto [client, server] = mixed_streams();
  for (size_t cut = 1; cut < client.size(); ++cut) {
    ASSERT_EQ(run_mixed({cut}, {}), whole) << "client cut at " << cut;
  }
  for (size_t cut = 1; cut < server.size(); ++cut) {
    ASSERT_EQ(run_mixed({}, {cut}), whole) << "server cut at " << cut;
  }
  const std::string kept = run_mixed({}, {}, false, true);
  EXPECT_NE(kept, whole);
  EXPECT_EQ(run_mixed({}, {}, true, true), kept);
}

// ------------------------------------------------------------ real capture

/// Runs a capture the way `tcpscribe -r ... -e http` does.
void analyze_capture(const std::string& file, HttpAnalyzer& http) {
  std::string error;
  PacketCore core({}, {&http});
  ASSERT_TRUE(testing::feed_capture(file, core, error)) << error;
  core.finish();
}

TEST(HttpCapture, RequestAfterServerClosedFromRealPrograms) {
  // tests/integration/http_request_after_close.sh made this capture: a
  // python3 server answers with "Connection: close" and closes; the python3
  // client reads the answer, waits 0.12 s and writes a second request on
  // the same socket; the server's kernel answers with RST.
  testing::TempDir dir;
  HttpOptions o;
  o.outdir = dir.path();
  std::vector<std::string> findings;
  std::vector<HttpTransaction> txns;
  HttpAnalyzer http(
      o, [&](const Connection&, const Finding& f) { findings.push_back(f.text); },
      [&](const HttpTransaction& t) { txns.push_back(t); });
  analyze_capture(std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/http_request_after_close.pcap",
                  http);
  EXPECT_EQ(findings, std::vector<std::string>{
                          "request 2 (GET /second, 77 bytes) was sent 0.120 s after the server "
                          "closed its side (FIN) and after response 1 said \"Connection: "
                          "close\"; the server answered with RST; it was never answered"});
  ASSERT_EQ(txns.size(), 2u);
  EXPECT_EQ(txns[0].url(), "http://127.0.0.1:52315/first");
  EXPECT_EQ(read_file(txns[0].response.body_path), "hello\n");
  EXPECT_EQ(txns[0].response.body_path,
            dir.path() + "/127.000.000.001.52315-127.000.000.001.47560-HTTPBODY-001");
  EXPECT_FALSE(txns[1].response.present);
}

}  // namespace
}  // namespace tcpscribe

#endif  // TCPSCRIBE_HAVE_ZLIB
