#include "sink_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "test_files.h"

namespace tcpscribe {
namespace {

using testing::slurp;
using Bytes = std::vector<uint8_t>;

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dirfd_ = ::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dirfd_, 0);
    std::mt19937 rng(11);
    capture_.resize(3u << 20);
    for (auto& b : capture_) b = static_cast<uint8_t>(rng());
    region_ = std::make_shared<const ByteRegion>(ByteRegion{capture_.data(), capture_.size()});
  }
  void TearDown() override { ::close(dirfd_); }

  FileSinkOptions options(size_t threads) {
    FileSinkOptions o;
    o.outdir = tmp_.path();
    o.outdir_fd = dirfd_;
    o.name_template = "%a-%b";
    o.writer_threads = threads;
    o.current = &current_;
    return o;
  }
  /// A file's path: ports are 5 digits in names.
  std::string file(unsigned from, unsigned to) const {
    char name[32];
    std::snprintf(name, sizeof name, "/%05u-%05u", from, to);
    return tmp_.path() + name;
  }
  static Connection conn(uint64_t id, uint16_t client_port) {
    Connection c;
    c.id = id;
    c.client.port = client_port;
    c.server.port = 80;
    return c;
  }
  /// Hands `n` bytes of the capture at `at` to the sink as data of the
  /// packet being handled (in the region), and appends them to `want`.
  void from_capture(FileSink& s, const Connection& c, Dir d, uint64_t offset, size_t at,
                    size_t n, std::string& want) {
    current_.ref = &region_;
    s.on_data(c, d, offset, std::span<const uint8_t>(capture_.data() + at, n), 1);
    current_.ref = nullptr;
    want.append(reinterpret_cast<const char*>(capture_.data() + at), n);
  }
  /// Bytes from elsewhere (a reassembly buffer): always copied.
  static void copied(FileSink& s, const Connection& c, Dir d, uint64_t offset,
                     const std::string& text, std::string& want) {
    s.on_data(c, d, offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 1);
    want += text;
  }

  testing::TempDir tmp_{"sink_files_test"};
  int dirfd_ = -1;
  Bytes capture_;
  ByteRegionRef region_;
  CurrentRegion current_;
};

// Large pieces of the packet being handled are kept by reference until
// written (the region's use count shows it), small ones and pieces from
// elsewhere are copied, and the two mix in one file in stream order,
// across gaps and with another connection's data in between. Every file is
// exact with writer threads and without, and no reference outlives the run.
TEST_F(FileSinkTest, LargePiecesOfThePacketAreWrittenFromTheCapture) {
  for (size_t threads : {0, 1, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const uint16_t base = static_cast<uint16_t>(1000 + 10 * threads);
    std::string a, b, a_back;
    {
      FileSink s(options(threads));
      const Connection ca = conn(0, base), cb = conn(1, static_cast<uint16_t>(base + 1));
      const Dir c2s = Dir::kClientToServer, s2c = Dir::kServerToClient;
      copied(s, ca, c2s, 0, "GET / HTTP/1.1\r\n\r\n", a);
      from_capture(s, ca, c2s, a.size(), 100, 65483, a);
      EXPECT_EQ(region_.use_count(), 2);  // by reference, waiting for more
      from_capture(s, ca, c2s, a.size(), 70000, 65483, a);
      from_capture(s, ca, c2s, a.size(), 140000, 1000, a);  // small: copied
      from_capture(s, ca, c2s, a.size(), 150000, 300000, a);
      // Another direction's data: the waiting references go to the writer.
      from_capture(s, ca, s2c, 0, 500000, 20000, a_back);
      from_capture(s, cb, c2s, 0, 600000, 40000, b);
      from_capture(s, ca, c2s, a.size(), 700000, 30000, a);
      // A gap of 5000 bytes (zeros in the file), then more by reference.
      s.on_gap(ca, c2s, a.size(), 5000, 1);
      a.append(5000, '\0');
      from_capture(s, ca, c2s, a.size(), 800000, 100000, a);
      copied(s, cb, c2s, b.size(), "tail", b);
      for (size_t i = 0; i < 40; ++i) from_capture(s, cb, c2s, b.size(), 1000000 + i * 50000, 50000, b);
      s.on_close(ca, CloseReason::kFin);
      s.on_close(cb, CloseReason::kFin);
      s.finish();
      EXPECT_FALSE(s.failed()) << s.error();
    }
    EXPECT_EQ(region_.use_count(), 1);
    EXPECT_EQ(a.size(), 18 + 65483 * 2 + 1000 + 300000 + 30000 + 5000 + 100000u);
    EXPECT_TRUE(slurp(file(base, 80)) == a);
    EXPECT_TRUE(slurp(file(80, base)) == a_back);
    EXPECT_TRUE(slurp(file(base + 1, 80)) == b);
  }
}

// -s rewrites bytes, so nothing is taken by reference.
TEST_F(FileSinkTest, StrippedOutputIsCopied) {
  FileSinkOptions o = options(0);
  o.strip_nonprint = true;
  FileSink s(o);
  const Connection c = conn(0, 5000);
  std::string ignored;
  from_capture(s, c, Dir::kClientToServer, 0, 0, 65483, ignored);
  EXPECT_EQ(region_.use_count(), 1);
  s.on_close(c, CloseReason::kFin);
  s.finish();
  const std::string out = slurp(file(5000, 80));
  ASSERT_EQ(out.size(), 65483u);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t x = capture_[i];
    const bool keep = (x >= 0x20 && x < 0x7F) || x == '\n' || x == '\r' || x == '\t';
    ASSERT_EQ(static_cast<uint8_t>(out[i]), keep ? x : '.') << i;
  }
}

}  // namespace
}  // namespace tcpscribe
