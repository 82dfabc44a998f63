#include "tcpscribe/flow_key.h"

#include <arpa/inet.h>

#include <cstdio>

namespace tcpscribe {

std::string format_addr(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string format_addr_padded(const IpAddr& a) {
  if (a.v6) return format_addr(a);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%03u.%03u.%03u.%03u", a.bytes[0], a.bytes[1],
                a.bytes[2], a.bytes[3]);
  return buf;
}

std::string format_endpoint(const Endpoint& e) {
  if (e.addr.v6) return "[" + format_addr(e.addr) + "]:" + std::to_string(e.port);
  return format_addr(e.addr) + ":" + std::to_string(e.port);
}

}  // namespace tcpscribe
