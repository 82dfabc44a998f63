#include "tcpscribe/flow_key.h"

#include <arpa/inet.h>


namespace tcpscribe {

std::string format_addr(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
  return buf;
}

std::string format_addr_padded(const IpAddr& a) {
  if (a.v6) return format_addr(a);
  // Hot when naming 100,000 files: no printf.
  std::string out(15, '.');
  for (int i = 0; i < 4; ++i) {
    const uint8_t b = a.bytes[i];
    out[i * 4] = static_cast<char>('0' + b / 100);
    out[i * 4 + 1] = static_cast<char>('0' + b / 10 % 10);
    out[i * 4 + 2] = static_cast<char>('0' + b % 10);
  }
  return out;
}

std::string format_endpoint(const Endpoint& e) {
  std::string out;
  out.reserve(64);
  if (e.addr.v6) out += '[';
  out += format_addr(e.addr);
  if (e.addr.v6) out += ']';
  out += ':';
  out += std::to_string(e.port);
  return out;
}

}  // namespace tcpscribe
