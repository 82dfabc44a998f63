// Link layer -> IPv4/IPv6 (with fragments) -> TCP, without exceptions.
#pragma once

#include <cstdint>
#include <vector>

#include "ip_fragments.h"
#include "tcpscribe/packet.h"
#include "tcpscribe/segment.h"

namespace tcpscribe {

/// Why packets were not turned into segments; every skipped packet is
/// counted under exactly one reason.
struct DecodeStats {
  uint64_t packets = 0;
  uint64_t tcp_segments = 0;
  uint64_t not_ip = 0;             ///< ARP, LLDP, ... (a normal sight)
  uint64_t not_tcp = 0;            ///< UDP, ICMP, ...
  uint64_t unknown_linktype = 0;
  uint64_t truncated = 0;          ///< headers cut short by the snapshot length
  uint64_t malformed = 0;          ///< headers that contradict themselves
  uint64_t fragments = 0;          ///< IP fragments fed to the defragmenter
  uint64_t fragments_cut = 0;      ///< fragments cut by the snapshot length (unusable)
  uint64_t reassembled = 0;        ///< datagrams rebuilt from fragments
};

/// True for the link types the decoder understands.
bool linktype_supported(int linktype);
const char* linktype_name(int linktype);

class Decoder {
 public:
  explicit Decoder(FragmentLimits limits = {}) : defrag_(limits) {}

  /// Decodes one frame. Returns true when it carried a TCP segment; `out`
  /// then points into `p` (or into the decoder's own buffer for a datagram
  /// rebuilt from fragments) and is valid until the next call.
  bool decode(const RawPacket& p, Segment& out);

  const DecodeStats& stats() const { return stats_; }
  const IpDefragmenter& defragmenter() const { return defrag_; }

 private:
  bool decode_ipv4(Timestamp ts, const uint8_t* ip, size_t avail, int vlan,
                   Segment& out);
  bool decode_ipv6(Timestamp ts, const uint8_t* ip, size_t avail, int vlan,
                   Segment& out);
  /// `avail` bytes of TCP header+payload are present of `announced`.
  bool decode_tcp(const uint8_t* tcp, size_t avail, size_t announced,
                  Segment& out);

  DecodeStats stats_;
  IpDefragmenter defrag_;
  std::vector<uint8_t> reassembled_;
  Timestamp last_expire_ = 0;
};

}  // namespace tcpscribe
