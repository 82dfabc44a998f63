// Socket helpers shared by the proxy and replay: name resolution, address
// text, the monotonic clock, and the socket options both set.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tcpscribe/flow_key.h"

namespace tcpscribe {

/// A resolved socket address.
struct SocketAddress {
  sockaddr_storage sa{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&sa); }
};

/// Resolves HOST and PORT for a TCP socket, every address in the resolver's
/// order. An empty host is 0.0.0.0 when `passive` (a listener), else the
/// loopback. False with `error` set ("cannot resolve 'x': ...").
bool resolve_tcp(const std::string& host, uint16_t port, bool passive,
                 std::vector<SocketAddress>& out, std::string& error);

/// "1.2.3.4:80", "[::1]:80"; "?" for other families.
std::string describe_address(const sockaddr* sa);

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
/// reports for IPv4 peers) becomes the plain IPv4 address; others stay.
void unmap_ipv4(sockaddr_storage& ss);

/// The address and port as the rest of tcpscribe names them.
Endpoint endpoint_of(const sockaddr* sa);

/// CLOCK_MONOTONIC in nanoseconds.
int64_t monotonic_ns();
/// CLOCK_REALTIME in nanoseconds since the epoch.
int64_t realtime_ns();

/// Sends small writes at once (TCP_NODELAY).
void set_nodelay(int fd);

/// Makes the next close() of `fd` send a RST instead of a FIN (SO_LINGER 0).
void reset_on_close(int fd);

}  // namespace tcpscribe
