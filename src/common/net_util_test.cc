#include "net_util.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace tcpscribe {
namespace {

TEST(NetUtil, ResolvesNumericAddressesAndDescribesThem) {
  std::vector<SocketAddress> v4, v6, any;
  std::string error;
  ASSERT_TRUE(resolve_tcp("127.0.0.1", 6380, false, v4, error)) << error;
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(describe_address(v4[0].get()), "127.0.0.1:6380");
  const Endpoint e = endpoint_of(v4[0].get());
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.addr, IpAddr::v4_from(std::array<uint8_t, 4>{127, 0, 0, 1}.data()));

  ASSERT_TRUE(resolve_tcp("::1", 8080, false, v6, error)) << error;
  EXPECT_EQ(describe_address(v6[0].get()), "[::1]:8080");
  EXPECT_EQ(endpoint_of(v6[0].get()).port, 8080);

  // A listener with no host listens on every IPv4 address.
  ASSERT_TRUE(resolve_tcp("", 9000, true, any, error)) << error;
  EXPECT_EQ(describe_address(any[0].get()), "0.0.0.0:9000");

  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_EQ(describe_address(&other), "?");
}

TEST(NetUtil, MappedIpv4BecomesIpv4) {
  std::vector<SocketAddress> v;
  std::string error;
  ASSERT_TRUE(resolve_tcp("::ffff:10.1.2.3", 443, false, v, error)) << error;
  sockaddr_storage ss = v[0].sa;
  EXPECT_EQ(describe_address(reinterpret_cast<sockaddr*>(&ss)), "[::ffff:10.1.2.3]:443");
  unmap_ipv4(ss);
  EXPECT_EQ(describe_address(reinterpret_cast<sockaddr*>(&ss)), "10.1.2.3:443");
  std::vector<SocketAddress> w;
  ASSERT_TRUE(resolve_tcp("2001:db8::1", 80, false, w, error)) << error;
  sockaddr_storage other = w[0].sa;
  unmap_ipv4(other);  // a real IPv6 address stays
  EXPECT_EQ(describe_address(reinterpret_cast<sockaddr*>(&other)), "[2001:db8::1]:80");
}

TEST(NetUtil, AnUnresolvableHostIsOneClearError) {
  std::vector<SocketAddress> out;
  std::string error;
  EXPECT_FALSE(resolve_tcp("no such host.invalid", 80, false, out, error));
  EXPECT_EQ(error.rfind("cannot resolve 'no such host.invalid': ", 0), 0u) << error;
  EXPECT_TRUE(out.empty());
}

TEST(NetUtil, MonotonicClockNeverGoesBack) {
  const int64_t a = monotonic_ns();
  const int64_t b = monotonic_ns();
  EXPECT_GT(a, 0);
  EXPECT_GE(b, a);
}

// On a real loopback connection: TCP_NODELAY is set, and a close after
// reset_on_close() reaches the peer as a reset, not an end of stream.
TEST(NetUtil, NodelayAndResetOnClose) {
  const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_EQ(::connect(cfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const int sfd = ::accept(lfd, nullptr, nullptr);
  ASSERT_GE(sfd, 0);

  set_nodelay(cfd);
  int on = 0;
  socklen_t olen = sizeof on;
  ASSERT_EQ(::getsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, &olen), 0);
  EXPECT_EQ(on, 1);

  reset_on_close(cfd);
  ::close(cfd);
  char buf[8];
  const ssize_t n = ::read(sfd, buf, sizeof buf);
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, ECONNRESET);
  ::close(sfd);
  ::close(lfd);
}

}  // namespace
}  // namespace tcpscribe
