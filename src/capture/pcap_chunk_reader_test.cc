#include "pcap_chunk_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "test_files.h"

namespace tcpscribe {
namespace {

using Bytes = std::vector<uint8_t>;

/// A classic pcap file, byte by byte, in either byte order.
class PcapBuilder {
 public:
  PcapBuilder(bool big, uint32_t magic, uint32_t linktype, uint32_t snaplen,
              uint16_t major = 2, uint16_t minor = 4)
      : big_(big) {
    put32(magic);
    put16(major);
    put16(minor);
    put32(0);
    put32(0);
    put32(snaplen);
    put32(linktype);
  }
  PcapBuilder& record(uint32_t sec, uint32_t frac, const Bytes& data, uint32_t origlen) {
    return record_raw(sec, frac, static_cast<uint32_t>(data.size()), origlen, data);
  }
  PcapBuilder& record_raw(uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t origlen,
                          const Bytes& data) {
    put32(sec);
    put32(frac);
    put32(caplen);
    put32(origlen);
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    return *this;
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  void put16(uint16_t v) {
    for (int i = 0; i < 2; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (big_ ? 8 - 8 * i : 8 * i)));
  }
  void put32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (big_ ? 24 - 8 * i : 8 * i)));
  }
  bool big_;
  Bytes bytes_;
};

struct Packet {
  Timestamp ts;
  int linktype;
  uint32_t caplen, origlen;
  Bytes data;
  bool operator==(const Packet&) const = default;
};

struct Outcome {
  std::vector<Packet> packets;
  std::string error;  // empty at a clean end
};

class PcapChunkReaderTest : public ::testing::Test {
 protected:
  std::string write(const Bytes& b) {
    const std::string path = tmp_.path() + "/f" + std::to_string(files_++) + ".pcap";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                static_cast<std::streamsize>(b.size()));
    return path;
  }

  std::unique_ptr<PcapChunkReader> open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto r = PcapChunkReader::open(fd, "cap.pcap");
    ::close(fd);  // the reader has its own descriptor
    return r;
  }

  Outcome ours(const std::string& path) {
    Outcome o;
    auto r = open(path);
    EXPECT_TRUE(r);
    if (!r) return o;
    RawPacket p;
    ReadStatus s;
    while ((s = r->next(p)) == ReadStatus::kPacket) {
      o.packets.push_back({p.ts, p.linktype, p.caplen, p.origlen, Bytes(p.data, p.data + p.caplen)});
      EXPECT_TRUE(p.region && *p.region && (*p.region)->contains(p.data, p.caplen));
    }
    if (s == ReadStatus::kError) o.error = r->error();
    return o;
  }

  /// What libpcap makes of the same file, with tcpscribe's wrapping of its
  /// error message.
  static Outcome libpcap(const std::string& path) {
    Outcome o;
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    EXPECT_TRUE(p) << errbuf;
    if (!p) return o;
    pcap_pkthdr* h;
    const u_char* d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
      o.packets.push_back({static_cast<Timestamp>(h->ts.tv_sec) * kNanosPerSecond + h->ts.tv_usec,
                           pcap_datalink(p), h->caplen, h->len, Bytes(d, d + h->caplen)});
    }
    if (rc != PCAP_ERROR_BREAK) {
      o.error = std::string("cap.pcap: ") + pcap_geterr(p) + " (after packet " +
                std::to_string(o.packets.size()) + "; the file is damaged or cut short)";
    }
    pcap_close(p);
    return o;
  }

  void expect_same_as_libpcap(const Bytes& file) {
    const std::string path = write(file);
    const Outcome a = ours(path), b = libpcap(path);
    EXPECT_EQ(a.packets.size(), b.packets.size());
    EXPECT_TRUE(a.packets == b.packets);
    EXPECT_EQ(a.error, b.error);
  }

  testing::TempDir tmp_{"pcap_chunk_reader_test"};
  int files_ = 0;
};

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

// Packets up to 200 KB, so that records keep running past the end of a
// 1 MiB chunk: every one comes out as libpcap reads it, and stays intact
// while its chunk is held, after the reader has moved on through later
// chunks.
TEST_F(PcapChunkReaderTest, RecordsAcrossChunksMatchLibpcapAndStayValidWhileHeld) {
  std::mt19937 rng(7);
  PcapBuilder b(false, 0xa1b2c3d4, 1, 262144);
  for (uint32_t i = 0; i < 60; ++i) {
    const size_t n = i % 3 == 0 ? 200000 : rng() % 70000;
    b.record(1700000000 + i, 999999 - i, random_bytes(rng, n), static_cast<uint32_t>(n + i));
  }
  expect_same_as_libpcap(b.bytes());

  const Outcome want = libpcap(write(b.bytes()));
  auto r = open(write(b.bytes()));
  ASSERT_TRUE(r);
  std::vector<std::pair<ByteRegionRef, RawPacket>> held;
  RawPacket p;
  while (r->next(p) == ReadStatus::kPacket) held.emplace_back(*p.region, p);
  EXPECT_EQ(r->position(), b.bytes().size());
  ASSERT_EQ(held.size(), want.packets.size());
  for (size_t i = 0; i < held.size(); ++i) {
    const RawPacket& q = held[i].second;
    EXPECT_EQ(Bytes(q.data, q.data + q.caplen), want.packets[i].data) << "packet " << i;
  }
}

// Big-endian nanosecond files, LINKTYPE_RAW (reported as DLT_RAW), a
// snapshot length of 0 (taken as the maximum), and records longer than the
// file's snapshot length (cut to it, the rest skipped).
TEST_F(PcapChunkReaderTest, ByteOrderPrecisionLinktypeAndSnapshotLikeLibpcap) {
  std::mt19937 rng(3);
  PcapBuilder be(true, 0xa1b23c4d, 101, 0);
  be.record(5, 123456789, random_bytes(rng, 60), 60).record(6, 1, random_bytes(rng, 1500), 1500);
  expect_same_as_libpcap(be.bytes());
  EXPECT_EQ(ours(write(be.bytes())).packets.at(0).linktype, 12);

  PcapBuilder cut(false, 0xa1b2c3d4, 113, 100);
  cut.record(1, 2, random_bytes(rng, 150), 150).record(3, 4, random_bytes(rng, 80), 90);
  expect_same_as_libpcap(cut.bytes());
  EXPECT_EQ(ours(write(cut.bytes())).packets.at(0).caplen, 100u);

  for (uint32_t lt : {0u, 1u, 108u, 113u, 228u, 229u, 276u}) {
    SCOPED_TRACE("linktype " + std::to_string(lt));
    PcapBuilder l(false, 0xa1b2c3d4, lt, 65535);
    l.record(1, 2, random_bytes(rng, 40), 40);
    expect_same_as_libpcap(l.bytes());
    EXPECT_EQ(ours(write(l.bytes())).packets.at(0).linktype, static_cast<int>(lt));
  }

  // Negative seconds and fractions are sign-extended, as libpcap does.
  PcapBuilder neg(false, 0xa1b2c3d4, 0, 65535);
  neg.record(0xFFFFFFFF, 0xFFFFFFFE, random_bytes(rng, 10), 10);
  expect_same_as_libpcap(neg.bytes());
}

// Damaged files: the packets before the damage, then libpcap's message.
TEST_F(PcapChunkReaderTest, DamageIsReportedWithLibpcapsMessages) {
  std::mt19937 rng(5);
  PcapBuilder b(false, 0xa1b2c3d4, 1, 65535);
  b.record(1, 0, random_bytes(rng, 100), 100).record(2, 0, random_bytes(rng, 3000), 3000);
  const Bytes whole = b.bytes();
  for (size_t cut : {whole.size() - 1, whole.size() - 3000, whole.size() - 3010}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_same_as_libpcap(Bytes(whole.begin(), whole.begin() + static_cast<long>(cut)));
  }
  const Outcome o = ours(write(Bytes(whole.begin(), whole.end() - 3010)));
  EXPECT_EQ(o.error,
            "cap.pcap: truncated dump file; tried to read 16 header bytes, only got 6 "
            "(after packet 1; the file is damaged or cut short)");

  PcapBuilder huge(false, 0xa1b2c3d4, 1, 65535);
  huge.record(1, 0, random_bytes(rng, 10), 10).record_raw(2, 0, 300000, 300000, random_bytes(rng, 64));
  expect_same_as_libpcap(huge.bytes());

  // Cut inside a record longer than the snapshot length: within the
  // snapshot, and within the part that would be skipped.
  PcapBuilder snap(false, 0xa1b2c3d4, 1, 100);
  snap.record(1, 0, random_bytes(rng, 150), 150);
  const Bytes s = snap.bytes();
  expect_same_as_libpcap(Bytes(s.begin(), s.end() - 100));
  expect_same_as_libpcap(Bytes(s.begin(), s.end() - 20));
}

// What it leaves to libpcap: other versions, the Kuznetzov format, FCS
// bits, link types it does not map, pcapng, files too short for a header.
TEST_F(PcapChunkReaderTest, LeavesOtherFilesToLibpcap) {
  EXPECT_FALSE(open(write(PcapBuilder(false, 0xa1b2c3d4, 1, 65535, 2, 3).bytes())));
  EXPECT_FALSE(open(write(PcapBuilder(false, 0xa1b2cd34, 1, 65535).bytes())));
  EXPECT_FALSE(open(write(PcapBuilder(false, 0xa1b2c3d4, 1 | 0x14000000, 65535).bytes())));
  EXPECT_FALSE(open(write(PcapBuilder(false, 0xa1b2c3d4, 147, 65535).bytes())));
  EXPECT_FALSE(open(write(PcapBuilder(false, 0x0a0d0d0a, 1, 65535).bytes())));
  EXPECT_FALSE(open(write(Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})));
  EXPECT_TRUE(open(write(PcapBuilder(false, 0xa1b2c3d4, 1, 65535).bytes())));
}

}  // namespace
}  // namespace tcpscribe
