#include "capture_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace tcpscribe {
namespace {

std::vector<uint8_t> pcap_header() {
  const uint32_t h[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
  std::vector<uint8_t> out(24);
  std::memcpy(out.data(), h, 24);
  return out;
}

std::vector<uint8_t> pcap_record(uint32_t sec, const std::string& bytes) {
  const uint32_t h[4] = {sec, 0, static_cast<uint32_t>(bytes.size()),
                         static_cast<uint32_t>(bytes.size())};
  std::vector<uint8_t> out(16 + bytes.size());
  std::memcpy(out.data(), h, 16);
  std::memcpy(out.data() + 16, bytes.data(), bytes.size());
  return out;
}

/// A pipe opened by path (/dev/fd/N), as a FIFO given to -r is.
class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe(fds_), 0); }
  ~Pipe() {
    close(fds_[0]);
    if (fds_[1] >= 0) close(fds_[1]);
  }
  std::string path() const { return "/dev/fd/" + std::to_string(fds_[0]); }
  void write_bytes(const std::vector<uint8_t>& b) {
    ASSERT_EQ(write(fds_[1], b.data(), b.size()), static_cast<ssize_t>(b.size()));
  }
  void close_writer() {
    close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

TEST(CaptureFile, APipeHandsOnEachPacketAsItArrivesAndWaitsIdly) {
  Pipe p;
  p.write_bytes(pcap_header());
  p.write_bytes(pcap_record(7, "first"));
  int idle_calls = 0;
  std::string error;
  // The writer sends nothing more: the second read waits, the idle hook
  // runs (the pipeline flushes there) and then ends the input.
  auto cf = CaptureFile::open(p.path(), error, [&] { return ++idle_calls < 2; });
  ASSERT_TRUE(cf) << error;
  EXPECT_TRUE(cf->streaming());
  EXPECT_EQ(cf->size(), 0u);
  RawPacket pkt;
  ASSERT_EQ(cf->next(pkt), ReadStatus::kPacket);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(pkt.data), pkt.caplen), "first");
  EXPECT_EQ(pkt.ts, 7 * kNanosPerSecond);
  EXPECT_EQ(idle_calls, 0);  // a whole packet was there: no waiting
  EXPECT_EQ(cf->next(pkt), ReadStatus::kEnd);
  EXPECT_EQ(idle_calls, 2);
}

TEST(CaptureFile, StoppingInsideAPacketReadsAsCutShort) {
  Pipe p;
  p.write_bytes(pcap_header());
  std::vector<uint8_t> rec = pcap_record(1, "0123456789");
  rec.resize(20);  // header and 4 of its 10 bytes
  p.write_bytes(rec);
  std::string error;
  auto cf = CaptureFile::open(p.path(), error, [] { return false; });
  ASSERT_TRUE(cf) << error;
  RawPacket pkt;
  EXPECT_EQ(cf->next(pkt), ReadStatus::kError);
}

TEST(CaptureFile, APipeEndsWhenItsWriterCloses) {
  Pipe p;
  p.write_bytes(pcap_header());
  p.write_bytes(pcap_record(1, "a"));
  p.write_bytes(pcap_record(2, "bc"));
  p.close_writer();
  std::string error;
  auto cf = CaptureFile::open(p.path(), error);
  ASSERT_TRUE(cf) << error;
  RawPacket pkt;
  ASSERT_EQ(cf->next(pkt), ReadStatus::kPacket);
  ASSERT_EQ(cf->next(pkt), ReadStatus::kPacket);
  EXPECT_EQ(pkt.caplen, 2u);
  EXPECT_EQ(cf->next(pkt), ReadStatus::kEnd);
}

TEST(CaptureFile, AnEmptyPipeIsNotACapture) {
  Pipe p;
  p.close_writer();
  std::string error;
  EXPECT_FALSE(CaptureFile::open(p.path(), error));
  EXPECT_EQ(error, p.path() + ": empty file, not a pcap or pcapng capture");
}

}  // namespace
}  // namespace tcpscribe
