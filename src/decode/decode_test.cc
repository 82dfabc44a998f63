#include "decode.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

namespace tcpscribe {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes ipv4_tcp(const std::string& payload, uint16_t sport = 1234, uint16_t dport = 80) {
  Tins::IP ip("192.0.2.2", "192.0.2.1");
  Tins::TCP tcp(dport, sport);
  tcp.seq(1000);
  tcp.flags(Tins::TCP::PSH | Tins::TCP::ACK);
  ip /= tcp / Tins::RawPDU(payload);
  return ip.serialize();
}

Bytes ipv6_tcp(const std::string& payload) {
  Tins::IPv6 ip("2001:db8::2", "2001:db8::1");
  Tins::TCP tcp(80, 1234);
  tcp.seq(1000);
  ip /= tcp / Tins::RawPDU(payload);
  return ip.serialize();
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Decoded {
  bool ok;
  Segment seg;
  std::string payload;
};

Decoded decode(const Bytes& frame, int linktype, Decoder& dec, uint32_t caplen = 0) {
  RawPacket p{7, linktype, caplen ? caplen : static_cast<uint32_t>(frame.size()),
              static_cast<uint32_t>(frame.size()), frame.data()};
  Decoded d;
  d.ok = dec.decode(p, d.seg);
  if (d.ok) d.payload.assign(d.seg.payload, d.seg.payload + d.seg.payload_len);
  return d;
}

Decoded decode(const Bytes& frame, int linktype) {
  Decoder dec;
  return decode(frame, linktype, dec);
}

const Bytes kEtherHeader = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

TEST(Decoder, EthernetIpv4) {
  auto d = decode(cat(cat(kEtherHeader, {0x08, 0x00}), ipv4_tcp("hello")), 1);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.payload, "hello");
  EXPECT_EQ(d.seg.src.port, 1234);
  EXPECT_EQ(d.seg.dst.port, 80);
  EXPECT_EQ(d.seg.seq, 1000u);
  EXPECT_EQ(format_addr(d.seg.src.addr), "192.0.2.1");
  EXPECT_EQ(d.seg.vlan, -1);
  EXPECT_EQ(d.seg.missing_len, 0u);
}

TEST(Decoder, WindowScaleOfASyn) {
  auto syn = [](uint8_t flags, int scale) {
    Tins::IP ip("192.0.2.2", "192.0.2.1");
    Tins::TCP tcp(80, 1234);
    tcp.flags(flags);
    tcp.mss(1460);
    if (scale >= 0) tcp.winscale(static_cast<uint8_t>(scale));
    tcp.sack_permitted();
    ip /= tcp;
    return ip.serialize();
  };
  EXPECT_EQ(decode(syn(Tins::TCP::SYN, 7), 101).seg.wscale, 7);
  EXPECT_EQ(decode(syn(Tins::TCP::SYN | Tins::TCP::ACK, 0), 101).seg.wscale, 0);
  EXPECT_EQ(decode(syn(Tins::TCP::SYN, 15), 101).seg.wscale, 14);  // RFC 7323's limit
  EXPECT_EQ(decode(syn(Tins::TCP::SYN, -1), 101).seg.wscale, -1);
  EXPECT_EQ(decode(syn(Tins::TCP::ACK, 7), 101).seg.wscale, -1);   // only on a SYN
}

TEST(Decoder, EthernetPaddingIsNotPayload) {
  Bytes f = cat(cat(kEtherHeader, {0x08, 0x00}), ipv4_tcp("ab"));
  f.insert(f.end(), {'P', 'A', 'D', 'P', 'A', 'D'});
  auto d = decode(f, 1);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.payload, "ab");
}

TEST(Decoder, IpTotalLengthZeroUsesFrame) {
  Bytes ip = ipv4_tcp("tso-data");
  ip[2] = ip[3] = 0;
  auto d = decode(cat(cat(kEtherHeader, {0x08, 0x00}), ip), 1);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.payload, "tso-data");
}

TEST(Decoder, SnaplenCutPayloadIsMissing) {
  Bytes f = cat(cat(kEtherHeader, {0x08, 0x00}), ipv4_tcp("0123456789"));
  Decoder dec;
  auto d = decode(f, 1, dec, static_cast<uint32_t>(f.size() - 6));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.payload, "0123");
  EXPECT_EQ(d.seg.missing_len, 6u);
}

TEST(Decoder, VlanAndQinQTakeOutermostTag) {
  Bytes f = cat(kEtherHeader, {0x88, 0xa8, 0x01, 0x2c, 0x81, 0x00, 0x00, 0x2a, 0x08, 0x00});
  auto d = decode(cat(f, ipv4_tcp("q")), 1);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.seg.vlan, 300);
  EXPECT_EQ(d.payload, "q");
}

TEST(Decoder, PppoeAndMpls) {
  Bytes pppoe = cat(kEtherHeader, {0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x00, 0x30, 0x00, 0x21});
  EXPECT_EQ(decode(cat(pppoe, ipv4_tcp("ppp")), 1).payload, "ppp");
  Bytes mpls = cat(kEtherHeader, {0x88, 0x47, 0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40});
  EXPECT_EQ(decode(cat(mpls, ipv4_tcp("mpls")), 1).payload, "mpls");
}

TEST(Decoder, LinuxCookedV1AndV2) {
  Bytes sll(16, 0);
  sll[14] = 0x08;
  EXPECT_EQ(decode(cat(sll, ipv4_tcp("sll")), 113).payload, "sll");
  Bytes sll2(20, 0);
  sll2[0] = 0x86;
  sll2[1] = 0xdd;
  EXPECT_EQ(decode(cat(sll2, ipv6_tcp("sll2")), 276).payload, "sll2");
}

TEST(Decoder, BsdLoopbackEitherByteOrder) {
  EXPECT_EQ(decode(cat({2, 0, 0, 0}, ipv4_tcp("le")), 0).payload, "le");
  EXPECT_EQ(decode(cat({0, 0, 0, 2}, ipv4_tcp("be")), 0).payload, "be");
  EXPECT_EQ(decode(cat({30, 0, 0, 0}, ipv6_tcp("v6")), 0).payload, "v6");
  EXPECT_EQ(decode(cat({0, 0, 0, 24}, ipv6_tcp("loop")), 108).payload, "loop");
}

TEST(Decoder, RawIpLinkTypes) {
  for (int lt : {12, 14, 101, 228}) EXPECT_EQ(decode(ipv4_tcp("raw4"), lt).payload, "raw4");
  for (int lt : {12, 101, 229}) EXPECT_EQ(decode(ipv6_tcp("raw6"), lt).payload, "raw6");
}

TEST(Decoder, Ipv4OptionsAndIpv6ExtensionHeaders) {
  Tins::IP ip("192.0.2.2", "192.0.2.1");
  ip.add_option(Tins::IP::option(Tins::IP::NOOP));
  ip.add_option(Tins::IP::option(Tins::IP::NOOP));
  ip.add_option(Tins::IP::option(Tins::IP::NOOP));
  ip.add_option(Tins::IP::option(Tins::IP::NOOP));
  ip /= Tins::TCP(80, 1234) / Tins::RawPDU("opts");
  EXPECT_EQ(decode(ip.serialize(), 12).payload, "opts");

  // IPv6 header, hop-by-hop (8 bytes) and destination options (8 bytes).
  Bytes plain = ipv6_tcp("ext");
  Bytes ext(plain.begin(), plain.begin() + 40);
  ext[6] = 0;  // next: hop-by-hop
  const uint16_t len = static_cast<uint16_t>(plain.size() - 40 + 16);
  ext[4] = len >> 8;
  ext[5] = len & 0xff;
  ext.insert(ext.end(), {60, 0, 1, 4, 0, 0, 0, 0, 6, 0, 1, 4, 0, 0, 0, 0});
  ext.insert(ext.end(), plain.begin() + 40, plain.end());
  EXPECT_EQ(decode(ext, 12).payload, "ext");
}

TEST(Decoder, Ipv4FragmentsAreReassembled) {
  Bytes whole = ipv4_tcp("fragmented payload that spans three fragments!");
  const size_t ihl = 20;
  Bytes body(whole.begin() + ihl, whole.end());
  auto frag = [&](size_t off, size_t n, bool more) {
    Bytes h(whole.begin(), whole.begin() + ihl);
    const uint16_t total = static_cast<uint16_t>(ihl + n);
    h[2] = total >> 8;
    h[3] = total & 0xff;
    h[4] = 0x12;
    h[5] = 0x34;
    const uint16_t fo = static_cast<uint16_t>((more ? 0x2000 : 0) | off / 8);
    h[6] = fo >> 8;
    h[7] = fo & 0xff;
    h.insert(h.end(), body.begin() + off, body.begin() + off + n);
    return h;
  };
  Decoder dec;
  EXPECT_FALSE(decode(frag(32, body.size() - 32, false), 12, dec).ok);
  EXPECT_FALSE(decode(frag(0, 16, true), 12, dec).ok);
  auto d = decode(frag(16, 16, true), 12, dec);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.payload, "fragmented payload that spans three fragments!");
  EXPECT_EQ(dec.stats().reassembled, 1u);
}

TEST(Decoder, BrokenHeadersAreCountedNotFatal) {
  Decoder dec;
  Bytes tiny = {0x45, 0};
  EXPECT_FALSE(decode(tiny, 12, dec).ok);
  Bytes bad_ihl = ipv4_tcp("x");
  bad_ihl[0] = 0x42;
  EXPECT_FALSE(decode(bad_ihl, 12, dec).ok);
  Bytes bad_doff = ipv4_tcp("x");
  bad_doff[20 + 12] = 0x10;  // TCP data offset 4 bytes
  EXPECT_FALSE(decode(bad_doff, 12, dec).ok);
  EXPECT_FALSE(decode(ipv4_tcp("x"), 147, dec).ok);
  EXPECT_EQ(dec.stats().truncated, 1u);
  EXPECT_EQ(dec.stats().malformed, 2u);
  EXPECT_EQ(dec.stats().unknown_linktype, 1u);
  Bytes arp = cat(kEtherHeader, {0x08, 0x06, 0, 1});
  EXPECT_FALSE(decode(arp, 1, dec).ok);
  EXPECT_EQ(dec.stats().not_ip, 1u);
}

}  // namespace
}  // namespace tcpscribe
