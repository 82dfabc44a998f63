#include "decode.h"

#include <algorithm>

namespace tcpscribe {
namespace {

// Link types by their LINKTYPE/DLT numbers (libpcap maps LINKTYPE_RAW 101 to
// DLT_RAW 12 on Linux; pcapng hands us the LINKTYPE value).
constexpr int kNull = 0;
constexpr int kEthernet = 1;
constexpr int kRaw = 12;
constexpr int kRawOpenBsd = 14;
constexpr int kLinktypeRaw = 101;
constexpr int kLoop = 108;
constexpr int kSll = 113;
constexpr int kIpv4 = 228;
constexpr int kIpv6 = 229;
constexpr int kEthernetMpacket = 274;
constexpr int kSll2 = 276;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86DD;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88A8;
constexpr uint16_t kEtherQinQOld = 0x9100;
constexpr uint16_t kEtherPppoeSession = 0x8864;
constexpr uint16_t kEtherMpls = 0x8847;
constexpr uint16_t kEtherMplsMulticast = 0x8848;

constexpr uint8_t kProtoTcp = 6;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

bool linktype_supported(int lt) {
  switch (lt) {
    case kNull: case kEthernet: case kRaw: case kRawOpenBsd: case kLinktypeRaw:
    case kLoop: case kSll: case kIpv4: case kIpv6: case kEthernetMpacket:
    case kSll2:
      return true;
    default:
      return false;
  }
}

const char* linktype_name(int lt) {
  switch (lt) {
    case kNull: return "NULL (BSD loopback)";
    case kEthernet: return "Ethernet";
    case kRaw: case kRawOpenBsd: case kLinktypeRaw: return "raw IP";
    case kLoop: return "OpenBSD loopback";
    case kSll: return "Linux cooked (SLL)";
    case kIpv4: return "raw IPv4";
    case kIpv6: return "raw IPv6";
    case kEthernetMpacket: return "Ethernet mPacket";
    case kSll2: return "Linux cooked v2 (SLL2)";
    default: return "unknown";
  }
}

bool Decoder::decode(const RawPacket& p, Segment& out) {
  ++stats_.packets;
  const uint8_t* d = p.data;
  size_t n = p.caplen;
  uint16_t ethertype = 0;
  int vlan = -1;
  out.frame_len = p.origlen;
  out.frame_caplen = p.caplen;
  out.mac = nullptr;

  switch (p.linktype) {
    case kEthernetMpacket:
      // 7 bytes of preamble and the SMD precede an ordinary Ethernet frame.
      if (n < 8) { ++stats_.truncated; return false; }
      d += 8;
      n -= 8;
      [[fallthrough]];
    case kEthernet:
      if (n < 14) { ++stats_.truncated; return false; }
      out.mac = d;
      ethertype = be16(d + 12);
      d += 14;
      n -= 14;
      break;
    case kSll:
      if (n < 16) { ++stats_.truncated; return false; }
      ethertype = be16(d + 14);
      d += 16;
      n -= 16;
      break;
    case kSll2:
      if (n < 20) { ++stats_.truncated; return false; }
      ethertype = be16(d);
      d += 20;
      n -= 20;
      break;
    case kNull:
    case kLoop: {
      if (n < 4) { ++stats_.truncated; return false; }
      // DLT_NULL stores the family in the capturing host's byte order;
      // accept either. AF_INET is 2 everywhere, AF_INET6 is 10, 24, 28 or 30.
      uint32_t fam = d[0] | d[1] << 8 | d[2] << 16 | uint32_t{d[3]} << 24;
      if (fam > 0xFFFF) fam = be32(d);
      d += 4;
      n -= 4;
      if (fam == 2) ethertype = kEtherIpv4;
      else if (fam == 10 || fam == 24 || fam == 28 || fam == 30) ethertype = kEtherIpv6;
      else { ++stats_.not_ip; return false; }
      break;
    }
    case kRaw: case kRawOpenBsd: case kLinktypeRaw: case kIpv4: case kIpv6:
      if (n < 1) { ++stats_.truncated; return false; }
      ethertype = (d[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
      break;
    default:
      ++stats_.unknown_linktype;
      return false;
  }

  // 802.1Q, 802.1ad and the old QinQ type, stacked in any number; the
  // outermost tag names the VLAN (as tcpflow does).
  while (ethertype == kEtherVlan || ethertype == kEtherQinQ ||
         ethertype == kEtherQinQOld) {
    if (n < 4) { ++stats_.truncated; return false; }
    if (vlan < 0) vlan = be16(d) & 0x0FFF;
    ethertype = be16(d + 2);
    d += 4;
    n -= 4;
  }
  if (ethertype == kEtherPppoeSession) {
    // PPPoE session header (6 bytes) and the PPP protocol number.
    if (n < 8) { ++stats_.truncated; return false; }
    const uint16_t ppp = be16(d + 6);
    d += 8;
    n -= 8;
    if (ppp == 0x0021) ethertype = kEtherIpv4;
    else if (ppp == 0x0057) ethertype = kEtherIpv6;
    else { ++stats_.not_ip; return false; }
  } else if (ethertype == kEtherMpls || ethertype == kEtherMplsMulticast) {
    // Labels up to the one with the bottom-of-stack bit; IP follows.
    for (;;) {
      if (n < 4) { ++stats_.truncated; return false; }
      const bool bottom = d[2] & 1;
      d += 4;
      n -= 4;
      if (bottom) break;
    }
    if (n < 1) { ++stats_.truncated; return false; }
    ethertype = (d[0] >> 4) == 6 ? kEtherIpv6 : (d[0] >> 4) == 4 ? kEtherIpv4 : 0;
  }
  if (ethertype == kEtherIpv4) return decode_ipv4(p.ts, d, n, vlan, out);
  if (ethertype == kEtherIpv6) return decode_ipv6(p.ts, d, n, vlan, out);
  ++stats_.not_ip;
  return false;
}

bool Decoder::decode_ipv4(Timestamp ts, const uint8_t* ip, size_t avail, int vlan,
                          Segment& out) {
  if (avail < 20) { ++stats_.truncated; return false; }
  if ((ip[0] >> 4) != 4) { ++stats_.malformed; return false; }
  const size_t ihl = (ip[0] & 0x0F) * 4u;
  if (ihl < 20) { ++stats_.malformed; return false; }
  if (avail < ihl) { ++stats_.truncated; return false; }
  size_t total = be16(ip + 2);
  // A total length of 0 comes from TSO senders: the frame holds it all.
  if (total == 0) total = avail;
  if (total < ihl) { ++stats_.malformed; return false; }
  const uint8_t proto = ip[9];
  if (proto != kProtoTcp) { ++stats_.not_tcp; return false; }
  // The IP total length decides where the datagram ends, so Ethernet
  // padding never becomes payload; bytes past the capture are missing.
  const size_t present = std::min(avail, total);
  out.src.addr = IpAddr::v4_from(ip + 12);
  out.dst.addr = IpAddr::v4_from(ip + 16);
  out.vlan = vlan;
  out.ts = ts;

  const uint16_t frag = be16(ip + 6);
  const bool more = frag & 0x2000;
  const uint32_t frag_offset = (frag & 0x1FFFu) * 8u;
  if (more || frag_offset != 0) {
    ++stats_.fragments;
    if (present < total) { ++stats_.fragments_cut; return false; }
    if (!defrag_.add(ts, out.src.addr, out.dst.addr, be16(ip + 4), proto,
                     frag_offset, more, ip + ihl, total - ihl, reassembled_)) {
      return false;
    }
    ++stats_.reassembled;
    return decode_tcp(reassembled_.data(), reassembled_.size(),
                      reassembled_.size(), out);
  }
  if (ts - last_expire_ > kNanosPerSecond && stats_.fragments > 0) {
    defrag_.expire(ts);
    last_expire_ = ts;
  }
  return decode_tcp(ip + ihl, present - ihl, total - ihl, out);
}

bool Decoder::decode_ipv6(Timestamp ts, const uint8_t* ip, size_t avail, int vlan,
                          Segment& out) {
  if (avail < 40) { ++stats_.truncated; return false; }
  if ((ip[0] >> 4) != 6) { ++stats_.malformed; return false; }
  size_t payload = be16(ip + 4);
  if (payload == 0) payload = avail - 40;  // jumbogram or TSO: trust the frame
  size_t total = 40 + payload;
  const size_t present = std::min(avail, total);
  out.src.addr = IpAddr::v6_from(ip + 8);
  out.dst.addr = IpAddr::v6_from(ip + 24);
  out.vlan = vlan;
  out.ts = ts;

  uint8_t next = ip[6];
  size_t off = 40;
  bool fragmented = false;
  uint32_t frag_id = 0, frag_offset = 0;
  bool more = false;
  // Walk the extension headers up to the transport header.
  for (;;) {
    if (next == kProtoTcp) break;
    if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44) {
      if (present < off + 8) { ++stats_.truncated; return false; }
      if (next == 44) {
        const uint16_t fo = be16(ip + off + 2);
        frag_offset = (fo & 0xFFF8u);
        more = fo & 1;
        frag_id = be32(ip + off + 4);
        fragmented = true;
        next = ip[off];
        off += 8;
        break;  // what follows belongs to the fragmented part
      }
      const size_t len = next == 51 ? (ip[off + 1] + 2u) * 4u : (ip[off + 1] + 1u) * 8u;
      next = ip[off];
      off += len;
      if (off > total) { ++stats_.malformed; return false; }
      continue;
    }
    ++stats_.not_tcp;
    return false;
  }
  if (off > total) { ++stats_.malformed; return false; }
  if (fragmented) {
    ++stats_.fragments;
    if (present < total) { ++stats_.fragments_cut; return false; }
    if (!defrag_.add(ts, out.src.addr, out.dst.addr, frag_id, next, frag_offset,
                     more, ip + off, total - off, reassembled_)) {
      return false;
    }
    ++stats_.reassembled;
    if (next != kProtoTcp) { ++stats_.not_tcp; return false; }
    return decode_tcp(reassembled_.data(), reassembled_.size(),
                      reassembled_.size(), out);
  }
  if (off > present) { ++stats_.truncated; return false; }
  return decode_tcp(ip + off, present - off, total - off, out);
}

namespace {

// The window scale option of a SYN's options, -1 when absent or malformed.
int8_t window_scale(const uint8_t* opt, size_t len) {
  size_t i = 0;
  while (i < len) {
    const uint8_t kind = opt[i];
    if (kind == 0) break;  // end of options
    if (kind == 1) {       // no-op
      ++i;
      continue;
    }
    if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) break;
    if (kind == 3 && opt[i + 1] == 3) return static_cast<int8_t>(std::min<uint8_t>(opt[i + 2], 14));
    i += opt[i + 1];
  }
  return -1;
}

}  // namespace

bool Decoder::decode_tcp(const uint8_t* tcp, size_t avail, size_t announced,
                         Segment& out) {
  if (avail < 20) { ++stats_.truncated; return false; }
  const size_t doff = (tcp[12] >> 4) * 4u;
  if (doff < 20 || doff > announced) { ++stats_.malformed; return false; }
  out.src.port = be16(tcp);
  out.dst.port = be16(tcp + 2);
  out.seq = be32(tcp + 4);
  out.ack = be32(tcp + 8);
  out.flags = tcp[13];
  out.window = be16(tcp + 14);
  out.wscale = (out.flags & tcp_flags::kSyn) ? window_scale(tcp + 20, std::min(avail, doff) - 20)
                                             : -1;
  const size_t present_payload = avail > doff ? avail - doff : 0;
  out.payload = tcp + std::min(avail, doff);
  out.payload_len = static_cast<uint32_t>(present_payload);
  out.missing_len = static_cast<uint32_t>(announced - doff - present_payload);
  ++stats_.tcp_segments;
  return true;
}

}  // namespace tcpscribe
