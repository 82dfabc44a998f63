#include "net_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>

#include <cstring>

namespace tcpscribe {

bool resolve_tcp(const std::string& host, uint16_t port, bool passive,
                 std::vector<SocketAddress>& out, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const char* name = host.empty() ? (passive ? "0.0.0.0" : nullptr) : host.c_str();
  const int rc = ::getaddrinfo(name, service.c_str(), &hints, &res);
  if (rc != 0) {
    error = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return false;
  }
  const size_t before = out.size();
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    SocketAddress addr;
    std::memcpy(&addr.sa, a->ai_addr, a->ai_addrlen);
    addr.len = a->ai_addrlen;
    out.push_back(addr);
  }
  ::freeaddrinfo(res);
  if (out.size() == before) {
    error = "'" + host + "' has no address";
    return false;
  }
  return true;
}

void unmap_ipv4(sockaddr_storage& ss) {
  if (ss.ss_family != AF_INET6) return;
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = in6->sin6_port;
  std::memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
  ss = sockaddr_storage{};
  std::memcpy(&ss, &in, sizeof in);
}

std::string describe_address(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "?";
}

Endpoint endpoint_of(const sockaddr* sa) {
  Endpoint e;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    e.addr = IpAddr::v4_from(reinterpret_cast<const uint8_t*>(&in->sin_addr));
    e.port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    e.addr = IpAddr::v6_from(reinterpret_cast<const uint8_t*>(&in6->sin6_addr));
    e.port = ntohs(in6->sin6_port);
  }
  return e;
}

int64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t realtime_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void reset_on_close(int fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

}  // namespace tcpscribe
