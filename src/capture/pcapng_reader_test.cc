#include "pcapng_reader.h"

#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#ifndef TCPSCRIBE_SOURCE_DIR
// CMake passes the source dir and runs tests from it; "." keeps a standalone
// build run from /work/main working too.
#define TCPSCRIBE_SOURCE_DIR "."
#endif

namespace tcpscribe {
namespace {

using Bytes = std::vector<uint8_t>;

// Writes pcapng byte by byte, so every test states exactly what is on disk.
class PcapngBuilder {
 public:
  struct Option {
    uint16_t code;
    Bytes value;
  };

  /// Starts a section; later fields use its byte order.
  PcapngBuilder& shb(bool big_endian, uint16_t major = 1) {
    big_endian_ = big_endian;
    Bytes body;
    put32(body, 0x1A2B3C4D);
    put16(body, major);
    put16(body, 0);
    put64(body, ~uint64_t{0});  // Section length unknown.
    return block(0x0A0D0D0A, body);
  }

  PcapngBuilder& idb(uint16_t linktype, uint32_t snaplen,
                     const std::vector<Option>& options = {}) {
    Bytes body;
    put16(body, linktype);
    put16(body, 0);
    put32(body, snaplen);
    for (const Option& o : options) {
      put16(body, o.code);
      put16(body, static_cast<uint16_t>(o.value.size()));
      append_padded(body, o.value);
    }
    if (!options.empty()) put32(body, 0);  // opt_endofopt.
    return block(1, body);
  }

  PcapngBuilder& epb(uint32_t iface, uint64_t ts, const Bytes& data,
                     uint32_t origlen) {
    Bytes body;
    put32(body, iface);
    put32(body, static_cast<uint32_t>(ts >> 32));
    put32(body, static_cast<uint32_t>(ts));
    put32(body, static_cast<uint32_t>(data.size()));
    put32(body, origlen);
    append_padded(body, data);
    return block(6, body);
  }

  PcapngBuilder& spb(uint32_t origlen, const Bytes& data) {
    Bytes body;
    put32(body, origlen);
    append_padded(body, data);
    return block(3, body);
  }

  PcapngBuilder& obsolete_pb(uint16_t iface, uint64_t ts, const Bytes& data,
                             uint32_t origlen) {
    Bytes body;
    put16(body, iface);
    put16(body, 7);  // Drops count, ignored.
    put32(body, static_cast<uint32_t>(ts >> 32));
    put32(body, static_cast<uint32_t>(ts));
    put32(body, static_cast<uint32_t>(data.size()));
    put32(body, origlen);
    append_padded(body, data);
    return block(2, body);
  }

  /// Any block: type, total length, body (padded), total length.
  PcapngBuilder& block(uint32_t type, const Bytes& body) {
    const uint32_t length =
        static_cast<uint32_t>(12 + ((body.size() + 3) & ~size_t{3}));
    put32(bytes_, type);
    put32(bytes_, length);
    append_padded(bytes_, body);
    put32(bytes_, length);
    return *this;
  }

  /// Raw 32-bit value in the current byte order, for broken headers.
  PcapngBuilder& u32(uint32_t v) {
    put32(bytes_, v);
    return *this;
  }

  size_t size() const { return bytes_.size(); }
  Bytes& bytes() { return bytes_; }

  static Bytes u8(uint8_t v) { return Bytes{v}; }
  Bytes i64(int64_t v) const {
    Bytes b;
    put64(b, static_cast<uint64_t>(v));
    return b;
  }

 private:
  void put16(Bytes& b, uint16_t v) const {
    for (int i = 0; i < 2; ++i) {
      b.push_back(static_cast<uint8_t>(v >> 8 * (big_endian_ ? 1 - i : i)));
    }
  }
  void put32(Bytes& b, uint32_t v) const {
    for (int i = 0; i < 4; ++i) {
      b.push_back(static_cast<uint8_t>(v >> 8 * (big_endian_ ? 3 - i : i)));
    }
  }
  void put64(Bytes& b, uint64_t v) const {
    for (int i = 0; i < 8; ++i) {
      b.push_back(static_cast<uint8_t>(v >> 8 * (big_endian_ ? 7 - i : i)));
    }
  }
  static void append_padded(Bytes& b, const Bytes& v) {
    b.insert(b.end(), v.begin(), v.end());
    while (b.size() % 4 != 0) b.push_back(0);
  }

  bool big_endian_ = false;
  Bytes bytes_;
};

// Feeds the bytes through a pipe, which cannot seek: the reader must work on
// stdin as well as on files.
std::FILE* OpenPipe(const Bytes& bytes) {
  int fds[2];
  if (pipe(fds) != 0) return nullptr;
  // Test files stay well below the 64 KiB pipe buffer, so this never blocks.
  EXPECT_LT(bytes.size(), 60000u);
  const ssize_t written = write(fds[1], bytes.data(), bytes.size());
  EXPECT_EQ(written, static_cast<ssize_t>(bytes.size()));
  close(fds[1]);
  return fdopen(fds[0], "rb");
}

struct Packet {
  Timestamp ts;
  int linktype;
  uint32_t caplen;
  uint32_t origlen;
  Bytes data;
};

struct ReadResult {
  std::vector<Packet> packets;
  ReadStatus status;
};

ReadResult ReadAll(PcapngReader& reader) {
  ReadResult result;
  RawPacket raw;
  while ((result.status = reader.next(raw)) == ReadStatus::kPacket) {
    result.packets.push_back({raw.ts, raw.linktype, raw.caplen, raw.origlen,
                              Bytes(raw.data, raw.data + raw.caplen)});
  }
  return result;
}

ReadResult ReadBytes(const Bytes& bytes, std::string* error = nullptr,
                     uint64_t* offset = nullptr) {
  PcapngReader reader(OpenPipe(bytes), "t.pcapng");
  ReadResult result = ReadAll(reader);
  if (error != nullptr) *error = reader.error();
  if (offset != nullptr) *offset = reader.offset();
  return result;
}

constexpr uint16_t kTsresol = 9;
constexpr uint16_t kTsoffset = 14;
constexpr uint16_t kIfName = 2;

TEST(PcapngReaderTest, TwoInterfacesWithDifferentLinkTypesAndResolutions) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 65535, {{kTsresol, PcapngBuilder::u8(9)}});
  // An odd-length option first, to check that padding is skipped.
  b.idb(113, 8192,
        {{kIfName, Bytes{'l', 'o', '0'}},
         {kTsresol, PcapngBuilder::u8(0x80 | 10)},
         {kTsoffset, b.i64(1000)}});
  // 10^-9: a value with more digits than a double holds.
  b.epb(0, 1700000000123456789ull, Bytes{1, 2, 3, 4, 5}, 60);
  // 2^-10 s: 1/1024 s = 976562.5 ns, rounded down; plus 1000 s offset.
  b.epb(1, (1700000000ull << 10) + 1, Bytes{9, 8, 7}, 3);
  b.epb(1, (1700000000ull << 10) + 512, Bytes{}, 0);
  b.epb(0, 0, Bytes{0xAA}, 1);

  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 4u);
  EXPECT_EQ(r.packets[0].ts, 1700000000123456789);
  EXPECT_EQ(r.packets[0].linktype, 1);
  EXPECT_EQ(r.packets[0].caplen, 5u);
  EXPECT_EQ(r.packets[0].origlen, 60u);
  EXPECT_EQ(r.packets[0].data, (Bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(r.packets[1].ts, 1700001000'000976562);
  EXPECT_EQ(r.packets[1].linktype, 113);
  EXPECT_EQ(r.packets[1].caplen, 3u);
  EXPECT_EQ(r.packets[1].origlen, 3u);
  EXPECT_EQ(r.packets[1].data, (Bytes{9, 8, 7}));
  EXPECT_EQ(r.packets[2].ts, 1700001000'500000000);
  EXPECT_EQ(r.packets[2].linktype, 113);
  EXPECT_EQ(r.packets[2].caplen, 0u);
  EXPECT_EQ(r.packets[3].ts, 0);
  EXPECT_EQ(r.packets[3].linktype, 1);
  EXPECT_EQ(r.packets[3].data, (Bytes{0xAA}));
}

TEST(PcapngReaderTest, BigEndianSection) {
  PcapngBuilder b;
  b.shb(true);
  b.idb(228, 0);  // No options: microseconds.
  b.epb(0, 1600000000000001ull, Bytes{0x45, 0, 0, 20}, 20);
  const Bytes& bytes = b.bytes();
  // The builder really wrote big-endian: byte-order magic as 1A 2B 3C 4D.
  ASSERT_EQ((Bytes(bytes.begin() + 8, bytes.begin() + 12)),
            (Bytes{0x1A, 0x2B, 0x3C, 0x4D}));

  ReadResult r = ReadBytes(bytes);
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].ts, 1600000000000001000);
  EXPECT_EQ(r.packets[0].linktype, 228);
  EXPECT_EQ(r.packets[0].caplen, 4u);
  EXPECT_EQ(r.packets[0].origlen, 20u);
  EXPECT_EQ(r.packets[0].data, (Bytes{0x45, 0, 0, 20}));
}

TEST(PcapngReaderTest, NewSectionResetsInterfacesAndByteOrder) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.idb(113, 0);
  b.epb(1, 1, Bytes{1}, 1);
  b.shb(true);
  b.idb(101, 0, {{kTsresol, PcapngBuilder::u8(0)}});
  b.epb(0, 2, Bytes{2}, 1);
  const uint64_t bad = b.size();
  b.epb(1, 3, Bytes{3}, 1);  // Interface 1 belonged to the first section.

  std::string error;
  uint64_t offset = 0;
  ReadResult r = ReadBytes(b.bytes(), &error, &offset);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].linktype, 113);
  EXPECT_EQ(r.packets[0].ts, 1000);
  EXPECT_EQ(r.packets[1].linktype, 101);
  EXPECT_EQ(r.packets[1].ts, 2 * kNanosPerSecond);
  EXPECT_EQ(r.packets[1].data, (Bytes{2}));
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(offset, bad);
  EXPECT_EQ(error, "t.pcapng: packet block at byte " + std::to_string(bad) +
                       " refers to interface 1, but the section defines only "
                       "1 (corrupt file?)");
}

TEST(PcapngReaderTest, SimplePacketBlockUsesInterfaceZeroAndSnaplen) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 4);
  b.idb(113, 0);  // Never used by an SPB.
  b.spb(10, Bytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  b.shb(false);
  b.idb(105, 0);
  b.spb(3, Bytes{7, 7, 7});  // Padded to 4: the pad is not data.
  b.spb(1500, Bytes{1, 2, 3, 4, 5, 6, 7, 8});  // Cut by the capturer.

  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 3u);
  EXPECT_EQ(r.packets[0].linktype, 1);
  EXPECT_EQ(r.packets[0].caplen, 4u);
  EXPECT_EQ(r.packets[0].origlen, 10u);
  EXPECT_EQ(r.packets[0].data, (Bytes{0, 1, 2, 3}));
  EXPECT_EQ(r.packets[0].ts, 0);
  EXPECT_EQ(r.packets[1].linktype, 105);
  EXPECT_EQ(r.packets[1].caplen, 3u);
  EXPECT_EQ(r.packets[1].origlen, 3u);
  EXPECT_EQ(r.packets[1].data, (Bytes{7, 7, 7}));
  EXPECT_EQ(r.packets[2].caplen, 8u);
  EXPECT_EQ(r.packets[2].origlen, 1500u);
}

TEST(PcapngReaderTest, SimplePacketBlockWithoutInterfaceIsAnError) {
  PcapngBuilder b;
  b.shb(false);
  const uint64_t bad = b.size();
  b.spb(1, Bytes{1});
  std::string error;
  ReadResult r = ReadBytes(b.bytes(), &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_TRUE(r.packets.empty());
  EXPECT_EQ(error, "t.pcapng: packet block at byte " + std::to_string(bad) +
                       " refers to interface 0, but the section defines only "
                       "0 (corrupt file?)");
}

TEST(PcapngReaderTest, ObsoletePacketBlock) {
  PcapngBuilder b;
  b.shb(true);
  b.idb(1, 0);
  b.idb(113, 0, {{kTsresol, PcapngBuilder::u8(3)}});
  b.obsolete_pb(1, 1234567, Bytes{5, 6}, 80);

  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].linktype, 113);
  EXPECT_EQ(r.packets[0].ts, 1234567000000);
  EXPECT_EQ(r.packets[0].caplen, 2u);
  EXPECT_EQ(r.packets[0].origlen, 80u);
  EXPECT_EQ(r.packets[0].data, (Bytes{5, 6}));
}

TEST(PcapngReaderTest, UnknownBlocksAreSkipped) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.epb(0, 1, Bytes{1}, 1);
  b.block(4, Bytes{1, 0, 8, 0, 10, 0, 0, 1, 'h', 'o', 's', 't'});  // NRB.
  b.block(5, Bytes(20, 0));                                        // ISB.
  b.block(0x00000BAD, Bytes{1, 2, 3, 4, 5});                       // Custom.
  b.block(0x80000001, Bytes{});                                    // Local.
  b.block(0x0000000A, Bytes(16, 0xEE));                            // DSB.
  b.epb(0, 2, Bytes{2}, 1);

  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].data, (Bytes{1}));
  EXPECT_EQ(r.packets[1].data, (Bytes{2}));
  EXPECT_EQ(r.packets[1].ts, 2000);
}

/// A Decryption Secrets Block body: type, length, data (padded by block()).
Bytes SecretsBody(uint32_t type, const std::string& text, bool big_endian = false) {
  Bytes body;
  for (uint32_t v : {type, static_cast<uint32_t>(text.size())}) {
    for (int i = 0; i < 4; ++i) {
      body.push_back(static_cast<uint8_t>(v >> 8 * (big_endian ? 3 - i : i)));
    }
  }
  body.insert(body.end(), text.begin(), text.end());
  return body;
}

TEST(PcapngReaderTest, DecryptionSecretsBlocksGoToTheHookBeforeLaterPackets) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.block(0x0000000A, SecretsBody(kPcapngSecretsTls, "CLIENT_RANDOM aa bb\n"));
  b.epb(0, 1, Bytes{1}, 1);
  b.block(0x0000000A, SecretsBody(0x57474b4c, "wireguard"));  // another kind
  b.block(0x0000000A, SecretsBody(kPcapngSecretsTls, "x"));   // 1 byte, padded to 4
  // Claims 100 bytes in a 4-byte body: skipped, counted, the capture goes on.
  Bytes bad = SecretsBody(kPcapngSecretsTls, "abcd");
  bad[4] = 100;
  b.block(0x0000000A, bad);
  b.epb(0, 2, Bytes{2}, 1);

  PcapngReader reader(OpenPipe(b.bytes()), "t.pcapng");
  std::vector<std::string> got;
  size_t packets_before = 0;
  RawPacket raw;
  size_t packets = 0;
  reader.set_secrets_hook([&](uint32_t type, std::span<const uint8_t> data) {
    got.push_back(std::to_string(type) + ":" + std::string(data.begin(), data.end()));
    if (got.size() == 1) packets_before = packets;
  });
  ReadStatus st;
  while ((st = reader.next(raw)) == ReadStatus::kPacket) ++packets;
  EXPECT_EQ(st, ReadStatus::kEnd);
  EXPECT_EQ(packets, 2u);
  EXPECT_EQ(packets_before, 0u);
  EXPECT_EQ(got, (std::vector<std::string>{
                     std::to_string(kPcapngSecretsTls) + ":CLIENT_RANDOM aa bb\n",
                     "1464290124:wireguard", std::to_string(kPcapngSecretsTls) + ":x"}));
  EXPECT_EQ(reader.secrets_blocks(), 4u);
  EXPECT_EQ(reader.bad_secrets_blocks(), 1u);
}

TEST(PcapngReaderTest, DecryptionSecretsBlockBigEndianAndTooShort) {
  PcapngBuilder b;
  b.shb(true);
  b.idb(1, 0);
  b.block(0x0000000A, SecretsBody(kPcapngSecretsTls, "KEYS", true));
  b.block(0x0000000A, Bytes{1, 2, 3, 4});  // no room for type and length
  b.epb(0, 1, Bytes{1}, 1);
  PcapngReader reader(OpenPipe(b.bytes()), "t.pcapng");
  std::vector<std::string> got;
  reader.set_secrets_hook([&](uint32_t type, std::span<const uint8_t> data) {
    EXPECT_EQ(type, kPcapngSecretsTls);
    got.emplace_back(data.begin(), data.end());
  });
  ReadResult r = ReadAll(reader);
  EXPECT_EQ(r.status, ReadStatus::kEnd);
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(got, std::vector<std::string>{"KEYS"});
  EXPECT_EQ(reader.bad_secrets_blocks(), 1u);
}

TEST(PcapngReaderTest, TimestampResolutionsAndOffsets) {
  struct Case {
    uint8_t tsresol;
    int64_t tsoffset;
    uint64_t units;
    Timestamp want;
  };
  const Case cases[] = {
      {0, 0, 1700000000, 1700000000'000000000},       // Seconds.
      {3, 0, 1700000000123, 1700000000'123000000},    // Milliseconds.
      {12, 0, 12345678901234567, 12345'678901234},    // Picoseconds.
      {0x80 | 0, 0, 5, 5'000000000},                  // 2^0 s.
      {0x80 | 30, 0, (3ull << 30) | 1, 3'000000000},  // < 1 ns dropped.
      {0x80 | 64, 0, 1ull << 63, 500000000},          // Half a second.
      {30, 0, ~uint64_t{0}, 0},                       // Below 1 ns.
      {6, -10, 20000000, 10'000000000},               // Negative offset.
      {6, 1700000000, 7, 1700000000'000007000},       // Positive offset.
      {0, 0, 1ull << 40, std::numeric_limits<Timestamp>::max()},  // Year 36k.
  };
  PcapngBuilder b;
  b.shb(false);
  for (const Case& c : cases) {
    b.idb(1, 0,
          {{kTsresol, PcapngBuilder::u8(c.tsresol)},
           {kTsoffset, b.i64(c.tsoffset)}});
  }
  for (uint32_t i = 0; i < std::size(cases); ++i) {
    b.epb(i, cases[i].units, Bytes{}, 0);
  }
  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), std::size(cases));
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(r.packets[i].ts, cases[i].want) << "case " << i;
  }
}

TEST(PcapngReaderTest, MalformedOptionEndsOptionsButNotTheCapture) {
  PcapngBuilder b;
  b.shb(false);
  // Little-endian IDB body: link type 1, snaplen 0, if_tsresol 3, then an
  // if_tsoffset header claiming 8 bytes that the block does not have.
  b.block(1, Bytes{1,  0, 0, 0, 0, 0, 0, 0,  //
                   9,  0, 1, 0, 3, 0, 0, 0,  //
                   14, 0, 8, 0});
  b.epb(0, 5, Bytes{1}, 1);
  ReadResult r = ReadBytes(b.bytes());
  ASSERT_EQ(r.status, ReadStatus::kEnd);
  ASSERT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.packets[0].linktype, 1);
  EXPECT_EQ(r.packets[0].ts, 5'000000);  // Milliseconds, no offset.
}

// Builds SHB, IDB and three EPBs; `third` receives the offset of the last.
Bytes ThreePackets(uint64_t* third) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.epb(0, 1, Bytes{1, 1, 1, 1, 1, 1}, 6);
  b.epb(0, 2, Bytes{2, 2}, 2);
  *third = b.size();
  b.epb(0, 3, Bytes{3, 3, 3}, 3);
  return b.bytes();
}

TEST(PcapngReaderTest, TruncatedLastBlockReturnsEarlierPacketsThenError) {
  uint64_t third = 0;
  const Bytes full = ThreePackets(&third);
  // Every cut inside the last block, from 1 byte of its header to all but
  // the last byte of its trailer.
  for (size_t cut = third + 1; cut < full.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    PcapngReader reader(OpenPipe(Bytes(full.begin(), full.begin() + cut)),
                        "cut.pcapng");
    ReadResult r = ReadAll(reader);
    ASSERT_EQ(r.packets.size(), 2u);
    EXPECT_EQ(r.packets[0].data, (Bytes{1, 1, 1, 1, 1, 1}));
    EXPECT_EQ(r.packets[1].data, (Bytes{2, 2}));
    EXPECT_EQ(r.status, ReadStatus::kError);
    EXPECT_EQ(reader.offset(), third);
    EXPECT_EQ(reader.error(), "cut.pcapng: truncated block at byte " +
                                  std::to_string(third) + " (file cut short?)");
    // The error sticks.
    RawPacket raw;
    EXPECT_EQ(reader.next(raw), ReadStatus::kError);
    EXPECT_EQ(reader.offset(), third);
  }
  // Cut exactly at the block boundary: a clean end.
  ReadResult r = ReadBytes(Bytes(full.begin(), full.begin() + third));
  EXPECT_EQ(r.status, ReadStatus::kEnd);
  EXPECT_EQ(r.packets.size(), 2u);
  r = ReadBytes(full);
  EXPECT_EQ(r.status, ReadStatus::kEnd);
  EXPECT_EQ(r.packets.size(), 3u);
}

TEST(PcapngReaderTest, TrailingLengthDifferentFromLeadingLength) {
  uint64_t third = 0;
  Bytes bytes = ThreePackets(&third);
  // Third EPB: 12 + 20 + 4 (3 bytes padded) = 36 bytes; claim 32 at the end.
  ASSERT_EQ(bytes.size(), third + 36);
  bytes[bytes.size() - 4] = 32;
  std::string error;
  uint64_t offset = 0;
  ReadResult r = ReadBytes(bytes, &error, &offset);
  EXPECT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(offset, third);
  EXPECT_EQ(error, "t.pcapng: block at byte " + std::to_string(third) +
                       " has trailing length 32 different from its leading "
                       "length 36 (corrupt file?)");
}

// A section with one interface and one packet, then a block header claiming
// `length`, followed by 64 bytes of filler.
std::string ErrorForBlockLength(uint32_t length, uint64_t* bad) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.epb(0, 1, Bytes{1}, 1);
  *bad = b.size();
  b.u32(6).u32(length);
  for (int i = 0; i < 16; ++i) b.u32(length);
  std::string error;
  uint64_t offset = 0;
  ReadResult r = ReadBytes(b.bytes(), &error, &offset);
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(offset, *bad);
  return error;
}

TEST(PcapngReaderTest, BlockLengthNotMultipleOfFour) {
  uint64_t bad = 0;
  const std::string error = ErrorForBlockLength(30, &bad);
  EXPECT_EQ(error, "t.pcapng: block at byte " + std::to_string(bad) +
                       " has length 30, not a multiple of 4 (corrupt file?)");
}

TEST(PcapngReaderTest, BlockLengthBelowMinimum) {
  uint64_t bad = 0;
  const std::string error = ErrorForBlockLength(8, &bad);
  EXPECT_EQ(error, "t.pcapng: block at byte " + std::to_string(bad) +
                       " has length 8, below the minimum of 12 (corrupt "
                       "file?)");
}

TEST(PcapngReaderTest, AbsurdBlockLengthIsRejectedBeforeReading) {
  uint64_t bad = 0;
  // 512 MiB: had the reader trusted it, it would report truncation instead.
  const std::string error = ErrorForBlockLength(512u << 20, &bad);
  EXPECT_EQ(error, "t.pcapng: block at byte " + std::to_string(bad) +
                       " claims a length of 536870912 bytes, more than the "
                       "256 MiB limit (corrupt file?)");
}

TEST(PcapngReaderTest, CapturedLengthBeyondBlock) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  const uint64_t bad = b.size();
  b.epb(0, 1, Bytes{1, 2, 3, 4, 5, 6, 7, 8}, 100);
  b.bytes()[bad + 20] = 9;  // caplen 8 -> 9, one more than the data holds.
  std::string error;
  uint64_t offset = 0;
  ReadResult r = ReadBytes(b.bytes(), &error, &offset);
  EXPECT_TRUE(r.packets.empty());
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(offset, bad);
  EXPECT_EQ(error, "t.pcapng: Enhanced Packet Block at byte " +
                       std::to_string(bad) +
                       " has captured length 9 beyond the 8 data bytes of "
                       "the block (corrupt file?)");
}

TEST(PcapngReaderTest, PacketReferencingUndefinedInterface) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.epb(0, 1, Bytes{1}, 1);
  const uint64_t bad = b.size();
  b.epb(3, 1, Bytes{1}, 1);
  std::string error;
  ReadResult r = ReadBytes(b.bytes(), &error);
  EXPECT_EQ(r.packets.size(), 1u);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error, "t.pcapng: packet block at byte " + std::to_string(bad) +
                       " refers to interface 3, but the section defines only "
                       "1 (corrupt file?)");
}

TEST(PcapngReaderTest, RejectsWhatIsNotPcapng) {
  std::string error;
  // A classic pcap header (little-endian, microseconds).
  ReadResult r =
      ReadBytes(Bytes{0xD4, 0xC3, 0xB2, 0xA1, 2,    0,    4, 0, 0, 0, 0, 0,
                      0,    0,    0,    0,    0xFF, 0xFF, 0, 0, 1, 0, 0, 0},
                &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error,
            "t.pcapng: not a pcapng capture: the block at byte 0 has type "
            "0xa1b2c3d4, not a Section Header Block");

  r = ReadBytes(Bytes{}, &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error, "t.pcapng: empty file at byte 0, not a pcapng capture");

  PcapngBuilder bad_bom;
  bad_bom.shb(false);
  bad_bom.bytes()[8] = 0x4E;
  r = ReadBytes(bad_bom.bytes(), &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error,
            "t.pcapng: Section Header Block at byte 0 has an invalid "
            "byte-order magic 0x4e3c2b1a (corrupt file?)");

  PcapngBuilder version2;
  version2.shb(true, /*major=*/2);
  r = ReadBytes(version2.bytes(), &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error,
            "t.pcapng: Section Header Block at byte 0 has unsupported "
            "version 2.0");
}

// Bytes the heap holds (glibc's arenas and its mmapped chunks).
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A few bytes claiming a 255 MiB block: the reader finds it cut short
// without first allocating what the length claims (it did: 255 MiB).
TEST(PcapngReaderTest, ClaimedBlockLengthCostsNoMemoryBeforeItsBytesArrive) {
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  const uint64_t bad = b.size();
  b.u32(6).u32(255u << 20);
  for (int i = 0; i < 16; ++i) b.u32(0);
  const size_t before = HeapInUse();
  PcapngReader reader(OpenPipe(b.bytes()), "t.pcapng");
  RawPacket raw;
  EXPECT_EQ(reader.next(raw), ReadStatus::kError);
  EXPECT_EQ(reader.error(),
            "t.pcapng: truncated block at byte " + std::to_string(bad) + " (file cut short?)");
  EXPECT_LT(HeapInUse() - before, size_t{4} << 20);
}

// A block larger than the first read step (64 KiB) arrives whole.
TEST(PcapngReaderTest, LargeBlockIsReadInStepsWhole) {
  Bytes data(200000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + i / 251);
  PcapngBuilder b;
  b.shb(false);
  b.idb(1, 0);
  b.epb(0, 5, data, static_cast<uint32_t>(data.size()));
  b.epb(0, 6, Bytes{1, 2, 3}, 3);
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(b.bytes().data(), 1, b.bytes().size(), f), b.bytes().size());
  std::rewind(f);
  PcapngReader reader(f, "t.pcapng");
  ReadResult r = ReadAll(reader);
  EXPECT_EQ(r.status, ReadStatus::kEnd) << reader.error();
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].data, data);
  EXPECT_EQ(r.packets[1].data, (Bytes{1, 2, 3}));
}

TEST(PcapngReaderTest, SectionHeaderShorterThanItsFixedFields) {
  // Type, length 16, byte-order magic, trailing length: no version fields.
  std::string error;
  ReadResult r = ReadBytes(Bytes{0x0A, 0x0D, 0x0D, 0x0A, 16, 0, 0, 0,  //
                                 0x4D, 0x3C, 0x2B, 0x1A, 16, 0, 0, 0},
                           &error);
  EXPECT_EQ(r.status, ReadStatus::kError);
  EXPECT_EQ(error,
            "t.pcapng: block at byte 0 has length 16, below the minimum of 28 "
            "(corrupt file?)");
}

TEST(PcapngReaderTest, KnownBlocksTooShortForTheirFixedFields) {
  struct Case {
    uint32_t type;
    size_t body;
    const char* what;
  };
  const Case cases[] = {
      {1, 4, "Interface Description Block"},
      {6, 16, "Enhanced Packet Block"},
      {2, 16, "obsolete Packet Block"},
      {3, 0, "Simple Packet Block"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    PcapngBuilder b;
    b.shb(false);
    b.idb(1, 0);
    const uint64_t bad = b.size();
    b.block(c.type, Bytes(c.body, 0));
    std::string error;
    ReadResult r = ReadBytes(b.bytes(), &error);
    EXPECT_EQ(r.status, ReadStatus::kError);
    EXPECT_EQ(error, "t.pcapng: " + std::string(c.what) + " at byte " +
                         std::to_string(bad) + " is too short (" +
                         std::to_string(12 + c.body) + " bytes)");
  }
}

TEST(PcapngReaderTest, IsPcapngMagic) {
  const uint8_t shb[] = {0x0A, 0x0D, 0x0D, 0x0A};
  const uint8_t pcap_le[] = {0xD4, 0xC3, 0xB2, 0xA1};
  const uint8_t pcap_be[] = {0xA1, 0xB2, 0xC3, 0xD4};
  const uint8_t almost[] = {0x0A, 0x0D, 0x0D, 0x0B};
  EXPECT_TRUE(is_pcapng_magic(shb));
  EXPECT_FALSE(is_pcapng_magic(pcap_le));
  EXPECT_FALSE(is_pcapng_magic(pcap_be));
  EXPECT_FALSE(is_pcapng_magic(almost));
}

TEST(PcapngReaderTest, NullFileIsAnErrorNotACrash) {
  PcapngReader reader(nullptr, "none");
  RawPacket raw;
  EXPECT_EQ(reader.next(raw), ReadStatus::kError);
  EXPECT_EQ(reader.error(), "none: no file to read");
  EXPECT_EQ(reader.name(), "none");
}

// Path of a capture from the shared set next to the project.
std::string SharedCapture(const char* file) {
  return std::string(TCPSCRIBE_SOURCE_DIR) + "/../shared/pcaps/" + file;
}

struct FileSummary {
  ReadResult result;
  std::string error;
  std::map<int, int> per_linktype;
};

FileSummary ReadFile(const std::string& path) {
  FileSummary s;
  PcapngReader reader(std::fopen(path.c_str(), "rb"), path);
  s.result = ReadAll(reader);
  s.error = reader.error();
  for (const Packet& p : s.result.packets) ++s.per_linktype[p.linktype];
  return s;
}

TEST(PcapngReaderTest, RealCaptureEthernetAndLinuxSll) {
  const std::string path = SharedCapture("pcapng_2if_ether_sll.pcapng");
  if (access(path.c_str(), R_OK) != 0) {
    GTEST_SKIP() << path << " not found; shared capture set not present";
  }
  FileSummary s = ReadFile(path);
  ASSERT_EQ(s.result.status, ReadStatus::kEnd) << s.error;
  ASSERT_EQ(s.result.packets.size(), 159u);
  EXPECT_EQ(s.per_linktype, (std::map<int, int>{{1, 59}, {113, 100}}));
  // Interface 0 has if_tsresol 9 (nanoseconds).
  EXPECT_EQ(s.result.packets[0].ts, 1422527998578402281);
  EXPECT_EQ(s.result.packets[0].caplen, 74u);
  EXPECT_EQ(s.result.packets[0].origlen, 74u);
}

TEST(PcapngReaderTest, RealCaptureWith126Interfaces) {
  const std::string path = SharedCapture("pcapng_126if_vlan_ipv6_gap.pcapng");
  if (access(path.c_str(), R_OK) != 0) {
    GTEST_SKIP() << path << " not found; shared capture set not present";
  }
  FileSummary s = ReadFile(path);
  ASSERT_EQ(s.result.status, ReadStatus::kEnd) << s.error;
  ASSERT_EQ(s.result.packets.size(), 18u);
  EXPECT_EQ(s.per_linktype, (std::map<int, int>{{1, 18}}));
  EXPECT_EQ(s.result.packets[0].ts, 1725966494956327000);
  EXPECT_EQ(s.result.packets[0].caplen, 90u);
}

TEST(PcapngReaderTest, RealCaptureShuffled) {
  const std::string path = SharedCapture("shuffled_packet_order.pcapng");
  if (access(path.c_str(), R_OK) != 0) {
    GTEST_SKIP() << path << " not found; shared capture set not present";
  }
  FileSummary s = ReadFile(path);
  ASSERT_EQ(s.result.status, ReadStatus::kEnd) << s.error;
  ASSERT_EQ(s.result.packets.size(), 11u);
  EXPECT_EQ(s.per_linktype, (std::map<int, int>{{1, 11}}));
  // Out of order on purpose: the second packet is older than the first.
  EXPECT_EQ(s.result.packets[0].ts, 1350760377956084000);
  EXPECT_EQ(s.result.packets[1].ts, 1350760377956016000);
}

}  // namespace
}  // namespace tcpscribe
