#include "tls_resume.h"

#include <gtest/gtest.h>

#include <vector>

namespace tcpscribe {
namespace {

TlsSecret secret(uint8_t fill) {
  TlsSecret s;
  s.len = 48;
  s.bytes.fill(fill);
  return s;
}

TEST(TlsResumptionCache, SessionIdsAndTicketsApart) {
  TlsResumptionCache c;
  const std::vector<uint8_t> id(32, 1), ticket(32, 1);
  c.remember_session_id(id, secret(7));
  EXPECT_EQ(c.by_ticket(ticket), nullptr);  // same bytes, other kind
  ASSERT_NE(c.by_session_id(id), nullptr);
  EXPECT_EQ(c.by_session_id(id)->bytes[0], 7);
  c.remember_ticket(ticket, secret(8));
  EXPECT_EQ(c.by_ticket(ticket)->bytes[0], 8);
  EXPECT_EQ(c.by_session_id(id)->bytes[0], 7);
  EXPECT_EQ(c.by_session_id({}), nullptr);
  c.remember_session_id({}, secret(9));  // empty ids are not kept
  EXPECT_EQ(c.size(), 2u);
}

TEST(TlsResumptionCache, OldestGoesFirstAtTheCap) {
  TlsResumptionCache c(3);
  for (uint8_t i = 0; i < 5; ++i) c.remember_session_id(std::vector<uint8_t>(8, i), secret(i));
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.evicted(), 2u);
  EXPECT_EQ(c.by_session_id(std::vector<uint8_t>(8, 0)), nullptr);
  EXPECT_EQ(c.by_session_id(std::vector<uint8_t>(8, 4))->bytes[0], 4);
  // Too long a ticket is not kept.
  c.remember_ticket(std::vector<uint8_t>(TlsResumptionCache::kMaxTicket + 1, 1), secret(1));
  EXPECT_EQ(c.evicted(), 2u);
}

}  // namespace
}  // namespace tcpscribe
