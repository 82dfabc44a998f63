#include "name_template.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

Endpoint ep(const char* addr, uint16_t port) {
  Endpoint e;
  uint8_t b[16];
  if (inet_pton(AF_INET, addr, b) == 1) e.addr = IpAddr::v4_from(b);
  else if (inet_pton(AF_INET6, addr, b) == 1) e.addr = IpAddr::v6_from(b);
  e.port = port;
  return e;
}

Connection conn(const char* c, uint16_t cp, const char* s, uint16_t sp) {
  Connection k;
  k.client = ep(c, cp);
  k.server = ep(s, sp);
  k.first_ts = 1700000000LL * kNanosPerSecond;
  return k;
}

TEST(NameTemplate, TcpflowDefault) {
  Connection c = conn("198.18.0.1", 52068, "198.18.0.2", 8080);
  EXPECT_EQ(expand_name(kDefaultTemplate, c, Dir::kClientToServer),
            "198.018.000.001.52068-198.018.000.002.08080");
  EXPECT_EQ(expand_name(kDefaultTemplate, c, Dir::kServerToClient),
            "198.018.000.002.08080-198.018.000.001.52068");
  c.reuse_index = 2;
  c.vlan[0] = 201;
  c.vlan[1] = 200;
  EXPECT_EQ(expand_name(kDefaultTemplate, c, Dir::kClientToServer),
            "198.018.000.001.52068-198.018.000.002.08080--201c2");
  EXPECT_EQ(expand_name(kDefaultTemplate, c, Dir::kServerToClient),
            "198.018.000.002.08080-198.018.000.001.52068--200c2");
}

TEST(NameTemplate, Ipv6AsTcpflowPrintsIt) {
  Connection c = conn("2001:470:1f11:81f:c999:d94:aa7c:2e3e", 49185, "2001:470:4867:99::21", 21);
  EXPECT_EQ(expand_name(kDefaultTemplate, c, Dir::kClientToServer),
            "2001:470:1f11:81f:c999:d94:aa7c:2e3e.49185-2001:470:4867:99::21.00021");
}

TEST(NameTemplate, TimesCountsAndBins) {
  Connection c = conn("10.0.0.1", 1, "10.0.0.2", 2);
  c.id = 1234567;
  EXPECT_EQ(expand_name("%T|%t|%#|%N|%K|%M|%G|%%", c, Dir::kClientToServer),
            "2023-11-14T22:13:20Z|1700000000|0|567|234|001|000|%");
}

TEST(NameTemplate, PrefixLetters) {
  std::string t = kDefaultTemplate, err;
  ASSERT_TRUE(apply_name_prefixes("k", t, err));
  EXPECT_EQ(t, "%K/%A.%a-%B.%b%V%v%C%c");
  t = kDefaultTemplate;
  ASSERT_TRUE(apply_name_prefixes("c", t, err));
  Connection c = conn("10.0.0.1", 1, "10.0.0.2", 2);
  EXPECT_EQ(expand_name(t, c, Dir::kClientToServer), "010.000.000.001.00001-010.000.000.002.00002c0");
  t = kDefaultTemplate;
  ASSERT_TRUE(apply_name_prefixes("tT", t, err));
  EXPECT_EQ(t, "%T%tT%A.%a-%B.%b%V%v%C%c");
  EXPECT_FALSE(apply_name_prefixes("z", t, err));
  EXPECT_NE(err.find("unknown letter 'z'"), std::string::npos);
}

TEST(NameTemplate, Validation) {
  std::string err;
  EXPECT_TRUE(validate_template("%A/%a/%B/%b/%c%N.flow", err));
  EXPECT_FALSE(validate_template("%Q", err));
  EXPECT_FALSE(validate_template("trailing%", err));
  EXPECT_FALSE(validate_template("", err));
}

}  // namespace
}  // namespace tcpscribe
