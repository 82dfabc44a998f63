#include "http_probe.h"

#include <gtest/gtest.h>

#include <string>

namespace tcpscribe {
namespace {

ProbeResult probe(Dir d, const std::string& s) {
  return probe_http1(d, {reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

constexpr Dir kC = Dir::kClientToServer;
constexpr Dir kS = Dir::kServerToClient;

TEST(HttpProbe, RequestsFromTheClient) {
  EXPECT_EQ(probe(kC, "GET / HTTP/1.1\r\n"), ProbeResult::kYes);
  EXPECT_EQ(probe(kC, "PROPFIND /dav HTTP/1.1\r\n"), ProbeResult::kYes);
  EXPECT_EQ(probe(kC, "OPTIONS "), ProbeResult::kYes);
  EXPECT_EQ(probe(kC, ""), ProbeResult::kNeedMore);
  EXPECT_EQ(probe(kC, "G"), ProbeResult::kNeedMore);
  EXPECT_EQ(probe(kC, "POS"), ProbeResult::kNeedMore);
  EXPECT_EQ(probe(kC, "GETX / HTTP/1.1"), ProbeResult::kNo);
  EXPECT_EQ(probe(kC, "get / HTTP/1.1"), ProbeResult::kNo);  // methods are case-sensitive
  // HTTP/2's preface, TLS, SSH, Redis: not HTTP/1.
  EXPECT_EQ(probe(kC, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ProbeResult::kNo);
  EXPECT_EQ(probe(kC, std::string("\x16\x03\x01\x02\x00", 5)), ProbeResult::kNo);
  EXPECT_EQ(probe(kC, "SSH-2.0-OpenSSH_9.2\r\n"), ProbeResult::kNo);
  EXPECT_EQ(probe(kC, "*1\r\n$4\r\nPING\r\n"), ProbeResult::kNo);
}

TEST(HttpProbe, ResponsesFromTheServer) {
  EXPECT_EQ(probe(kS, "HTTP/1.1 200 OK\r\n"), ProbeResult::kYes);
  EXPECT_EQ(probe(kS, "HTTP/1.0 404"), ProbeResult::kYes);
  EXPECT_EQ(probe(kS, "HTTP/"), ProbeResult::kNeedMore);
  EXPECT_EQ(probe(kS, "HTTP/2"), ProbeResult::kNo);
  EXPECT_EQ(probe(kS, "220 mail.example ESMTP\r\n"), ProbeResult::kNo);
  EXPECT_EQ(probe(kS, "GET / HTTP/1.1\r\n"), ProbeResult::kNo);  // a request from the server
}

}  // namespace
}  // namespace tcpscribe
