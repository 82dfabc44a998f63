#include <gtest/gtest.h>

#include "proxy_internal.h"

namespace tcpscribe {
namespace {

Connection with(bool c2s_fin, bool c2s_rst, bool s2c_fin, bool s2c_rst) {
  Connection c;
  c.dir[0].fin = c2s_fin;
  c.dir[0].rst = c2s_rst;
  c.dir[1].fin = s2c_fin;
  c.dir[1].rst = s2c_rst;
  return c;
}

TEST(ProxyConnState, UpstreamNeverAccepted) {
  // connect_failed() passes the failure on as the upstream's reset.
  const Connection c = with(false, false, false, true);
  EXPECT_STREQ(proxy_conn_state(c, false, true), "REJ");
  EXPECT_STREQ(proxy_conn_state(c, false, false), "S0");
}

TEST(ProxyConnState, Established) {
  EXPECT_STREQ(proxy_conn_state(with(true, false, true, false), true, false), "SF");
  EXPECT_STREQ(proxy_conn_state(with(true, false, false, false), true, false), "S2");
  EXPECT_STREQ(proxy_conn_state(with(false, false, true, false), true, false), "S3");
  EXPECT_STREQ(proxy_conn_state(with(false, false, false, false), true, false), "S1");
  // A reset outranks the FINs before it: who reset decides.
  EXPECT_STREQ(proxy_conn_state(with(true, true, true, false), true, false), "RSTO");
  EXPECT_STREQ(proxy_conn_state(with(false, false, true, true), true, false), "RSTR");
  EXPECT_STREQ(proxy_conn_state(with(true, false, false, true), true, false), "RSTR");
}

}  // namespace
}  // namespace tcpscribe
