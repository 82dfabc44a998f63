// Addresses, endpoints and the 4-tuple (+VLAN) that identifies a TCP flow.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

namespace tcpscribe {

/// An IPv4 or IPv6 address. IPv4 lives in the first four bytes.
struct IpAddr {
  std::array<uint8_t, 16> bytes{};
  bool v6 = false;

  static IpAddr v4_from(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 4);
    return a;
  }
  static IpAddr v6_from(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.bytes.data(), p, 16);
    a.v6 = true;
    return a;
  }
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

struct Endpoint {
  IpAddr addr;
  uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

/// The direction-independent identity of a TCP conversation: the two
/// endpoints in canonical (sorted) order. The VLAN is deliberately not part
/// of it: routers on a stick and mirror ports tag the two directions of one
/// connection with different VLANs (as Wireshark, we keep them together);
/// each direction's VLAN is kept in the Connection for file names.
struct FlowKey {
  Endpoint lo;
  Endpoint hi;

  static FlowKey of(const Endpoint& a, const Endpoint& b) {
    FlowKey k;
    if (a < b) {
      k.lo = a;
      k.hi = b;
    } else {
      k.lo = b;
      k.hi = a;
    }
    return k;
  }
  /// Word-wise: this runs for every packet's table lookup.
  friend bool operator==(const FlowKey& a, const FlowKey& b) {
    uint64_t x[4], y[4];
    std::memcpy(x, a.lo.addr.bytes.data(), 16);
    std::memcpy(x + 2, a.hi.addr.bytes.data(), 16);
    std::memcpy(y, b.lo.addr.bytes.data(), 16);
    std::memcpy(y + 2, b.hi.addr.bytes.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0 &&
           a.lo.port == b.lo.port && a.hi.port == b.hi.port && a.lo.addr.v6 == b.lo.addr.v6 &&
           a.hi.addr.v6 == b.hi.addr.v6;
  }
};

/// "1.2.3.4" or "2001:db8::1" (inet_ntop form).
std::string format_addr(const IpAddr& a);
/// tcpflow's file-name form: "001.002.003.004" for IPv4, inet_ntop for IPv6.
std::string format_addr_padded(const IpAddr& a);
/// "1.2.3.4:80" or "[2001:db8::1]:80".
std::string format_endpoint(const Endpoint& e);

}  // namespace tcpscribe
