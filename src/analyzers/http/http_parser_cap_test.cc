// The head cap acts at the same byte however the stream is cut (found by
// fuzz/fuzz_http: an over-long trailer block's body_wire was 162 fed whole
// and 119 in pieces).
#include <gtest/gtest.h>

#include <string>

#include "http_parser.h"

namespace tcpscribe {
namespace {

struct Events : HttpParserEvents {
  BodyFraming on_head(HttpHead& h, uint64_t offset, Timestamp, Timestamp) override {
    log += "head " + std::to_string(offset) + " " + h.method + h.target + "\n";
    if (h.has_token("transfer-encoding", "chunked")) return {BodyFraming::Kind::kChunked, 0};
    return {BodyFraming::Kind::kNone, 0};
  }
  void on_body(std::span<const uint8_t> b, Timestamp) override {
    // Body bytes come in pieces as the stream does: count them per run.
    const size_t at = log.rfind("body ");
    if (at != std::string::npos && log.find('\n', at) + 1 == log.size()) {
      const size_t n = std::stoul(log.substr(at + 5)) + b.size();
      log.resize(at);
      log += "body " + std::to_string(n) + "\n";
    } else {
      log += "body " + std::to_string(b.size()) + "\n";
    }
  }
  void on_body_gap(uint64_t n, Timestamp) override { log += "gap " + std::to_string(n) + "\n"; }
  void on_trailers(std::vector<HttpHeader>& t) override {
    log += "trailers " + std::to_string(t.size()) + "\n";
  }
  void on_message_end(const MessageEnd& e, Timestamp) override {
    log += "end wire=" + std::to_string(e.body_wire) + " complete=" + std::to_string(e.complete) +
           " " + e.problem + "\n";
  }
  void on_error(uint64_t offset, const std::string& what, Timestamp) override {
    log += "error " + std::to_string(offset) + " " + what + "\n";
  }
  std::string log;
};

std::string parse(const std::string& stream, size_t piece, size_t cap) {
  Events ev;
  HttpStreamParser p(true, ev, cap);
  for (size_t i = 0; i < stream.size(); i += piece) {
    const std::string part = stream.substr(i, piece);
    p.feed({reinterpret_cast<const uint8_t*>(part.data()), part.size()}, i, 1);
  }
  p.end(true, "", 2);
  return ev.log;
}

TEST(HttpParserCap, AnOverLongTrailerBlockEndsAtTheSameByteWhateverTheCuts) {
  const std::string stream =
      "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
      "X-Long: " + std::string(300, 'v') + "\r\nX-More: 1\r\n\r\n"
      "GET /next HTTP/1.1\r\n\r\n";
  const std::string whole = parse(stream, stream.size(), 128);
  EXPECT_NE(whole.find("trailer block too long"), std::string::npos) << whole;
  for (size_t piece : {1u, 7u, 64u, 129u}) EXPECT_EQ(parse(stream, piece, 128), whole) << piece;
}

TEST(HttpParserCap, AnOverLongHeadFailsAtTheSameByteWhateverTheCuts) {
  const std::string stream = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nX-Long: " +
                             std::string(500, 'a') + "\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
  const std::string whole = parse(stream, stream.size(), 100);
  EXPECT_NE(whole.find("header block longer than 100 bytes"), std::string::npos) << whole;
  for (size_t piece : {1u, 3u, 50u, 101u}) EXPECT_EQ(parse(stream, piece, 100), whole) << piece;
}

}  // namespace
}  // namespace tcpscribe
