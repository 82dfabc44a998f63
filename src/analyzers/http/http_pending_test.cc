// The pending-transaction caps: a client that pipelines requests the
// server does not answer (or answers late) holds their parsed heads; past
// HttpOptions::max_pending_bytes the oldest go out unanswered, once said
// in a finding, and the responses that come later are not paired with the
// wrong requests.
#include <gtest/gtest.h>

#include "http_test_support.h"

namespace tcpscribe {
namespace {

using testing::HttpHarness;
constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;

/// A request whose head is mostly short header lines: each costs a
/// 64-byte HttpHeader, many times its 8 bytes on the wire.
std::string fat_get(int i) {
  std::string r = "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n";
  for (int k = 0; k < 200; ++k) r += "X" + std::to_string(k % 10) + ": v\r\n";
  return r + "\r\n";
}

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpPending, MemoryCapDeliversTheOldestUnansweredAndKeepsPairing) {
  constexpr int kRequests = 20;
  HttpOptions o;
  o.max_pending_bytes = 64u << 10;
  HttpHarness h(o);
  size_t most = 0;
  for (int i = 1; i <= kRequests; ++i) {
    h.client(fat_get(i));
    most = std::max(most, h.analyzer().pending_bytes(h.conn().id));
  }
  // Under the cap, but for the transaction that went over it.
  ASSERT_FALSE(h.txns.empty());
  const size_t one = h.txns.front().held_bytes;
  EXPECT_GT(one, 200 * sizeof(HttpHeader));
  EXPECT_LE(most, o.max_pending_bytes + one);
  const size_t early = h.txns.size();
  EXPECT_GT(early, 0u);
  EXPECT_LT(early, static_cast<size_t>(kRequests));
  for (int i = 1; i <= kRequests; ++i) h.server(ok("r" + std::to_string(i)));
  h.shutdown(kC2S);
  h.shutdown(kS2C);
  h.close();
  ASSERT_EQ(h.txns.size(), static_cast<size_t>(kRequests));
  for (size_t i = 0; i < h.txns.size(); ++i) {
    const HttpTransaction& t = h.txns[i];
    EXPECT_EQ(t.request.head.target, "/" + std::to_string(i + 1));
    EXPECT_EQ(t.delivered_early, i < early) << i;
    if (i < early) {
      EXPECT_FALSE(t.response.present) << i;
    } else {
      ASSERT_TRUE(t.response.present) << i;
      EXPECT_EQ(testing::read_file(t.response.body_path), "r" + std::to_string(i + 1)) << i;
    }
  }
  // The early requests' responses are still extracted, numbered as theirs.
  EXPECT_EQ(h.body(kS2C, 1), "r1");
  const std::vector<std::string> f = h.finding_texts();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_NE(f[0].find("bytes of parsed messages (caps: 1000 transactions, 65536 bytes per "
                      "connection): from request 1 (GET /1) on, the oldest are delivered "
                      "unanswered and their responses are not paired"),
            std::string::npos)
      << f[0];
  EXPECT_EQ(f[1], std::to_string(early) +
                      " transactions in all were delivered before their responses "
                      "(pending-transaction cap)");
  EXPECT_EQ(h.analyzer().pending_bytes(h.conn().id), 0u);
}

// Pipelining under the caps delivers nothing early and reports nothing.
TEST(HttpPending, UnderTheCapsNothingIsDeliveredEarly) {
  HttpHarness h;
  for (int i = 1; i <= 20; ++i) h.client(fat_get(i));
  EXPECT_TRUE(h.txns.empty());
  EXPECT_GT(h.analyzer().pending_bytes(h.conn().id), 20 * 200 * sizeof(HttpHeader));
  for (int i = 1; i <= 20; ++i) h.server(ok("r" + std::to_string(i)));
  EXPECT_EQ(h.txns.size(), 20u);
  EXPECT_EQ(h.analyzer().pending_bytes(h.conn().id), 0u);
  h.close();
  EXPECT_TRUE(h.findings.empty());
}

}  // namespace
}  // namespace tcpscribe
