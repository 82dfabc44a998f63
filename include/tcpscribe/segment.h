// A decoded TCP segment: what the flow table and the reassembler consume.
#pragma once

#include <cstdint>

#include "tcpscribe/flow_key.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

namespace tcp_flags {
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
}  // namespace tcp_flags

struct Segment {
  Timestamp ts = 0;
  Endpoint src;
  Endpoint dst;
  int vlan = -1;  ///< Outermost 802.1Q/802.1ad tag, -1 when untagged.
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  /// A SYN's window scale option (RFC 7323), 0..14; -1: none (or no SYN).
  int8_t wscale = -1;
  /// Payload bytes present in the capture.
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;
  /// Payload bytes the IP header announces beyond what the capture holds
  /// (cut by the snapshot length). They follow `payload` in sequence space.
  uint32_t missing_len = 0;
  /// The frame the segment came in (for the DFXML report): its length on
  /// the wire and in the capture, and its Ethernet destination and source
  /// addresses (12 bytes at `mac`; null for other link types). Like
  /// `payload`, `mac` is valid only while the segment is being handled.
  uint32_t frame_len = 0;
  uint32_t frame_caplen = 0;
  const uint8_t* mac = nullptr;

  bool has(uint8_t f) const { return (flags & f) != 0; }
  /// Sequence space the segment occupies (SYN and FIN count one each).
  uint32_t seq_len() const {
    return payload_len + missing_len + (has(tcp_flags::kSyn) ? 1 : 0) +
           (has(tcp_flags::kFin) ? 1 : 0);
  }
};

}  // namespace tcpscribe
