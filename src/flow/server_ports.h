// Which side of a connection is the server when its SYN was not captured.
//
// A connection picked up midstream has no SYN to say who opened it. Like
// Zeek (likely_server_ports, TCPAnalyzer::WantConnection), a first packet
// sent from a well-known service port to a port that is not one is taken
// to come from the server; when both ports are service ports, the lower
// one is the server's unless the packet is a SYN-ACK. A lone SYN-ACK is
// the server's whatever its ports.
#pragma once

#include <cstdint>

#include "tcpscribe/segment.h"

namespace tcpscribe {

/// A port that services listen on (Zeek's likely_server_ports: the ports
/// its analyzers register, plus a few common databases and proxies).
bool likely_server_port(uint16_t port);

/// The first segment seen of a connection came from its server.
bool first_segment_from_server(const Segment& s);

}  // namespace tcpscribe
