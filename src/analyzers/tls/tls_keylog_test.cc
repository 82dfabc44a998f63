#include "tls_keylog.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test_files.h"

namespace tcpscribe {
namespace {

const std::string kRandomA(64, 'a');
const std::string kRandomB = std::string(63, 'b') + "1";
const std::string kMaster(96, '4');   // 48 bytes
const std::string kSecret(64, '5');   // 32 bytes

std::vector<uint8_t> bytes_of(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(TlsKeyLog, ParsesEveryUsedLabel) {
  TlsKeyLog k;
  const std::string text =
      "# SSL/TLS secrets log file\n"
      "\n"
      "CLIENT_RANDOM " + kRandomA + " " + kMaster + "\n"
      "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + kRandomB + " " + kSecret + "\r\n"
      "SERVER_HANDSHAKE_TRAFFIC_SECRET " + kRandomB + " " + std::string(96, '6') + "\n"
      "CLIENT_TRAFFIC_SECRET_0 " + kRandomB + " " + std::string(64, '7') + "\n"
      "SERVER_TRAFFIC_SECRET_0 " + kRandomB + " " + std::string(64, '8') + "\n"
      "CLIENT_EARLY_TRAFFIC_SECRET\t" + kRandomB + "  " + std::string(64, '9') + "\n"
      "EXPORTER_SECRET " + kRandomB + " " + kSecret + "\n"
      "CLIENT_TRAFFIC_SECRET_N " + kRandomB + " " + kSecret;  // no final newline
  EXPECT_EQ(k.add_text(text), 6u);
  EXPECT_EQ(k.size(), 2u);
  EXPECT_EQ(k.counts().lines, 10u);
  EXPECT_EQ(k.counts().secrets, 6u);
  EXPECT_EQ(k.counts().unused, 2u);
  EXPECT_EQ(k.counts().bad, 0u);
  const TlsKeyLogEntry* a = k.find(bytes_of(kRandomA));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->master.len, 48);
  EXPECT_EQ(a->master.bytes[0], 0x44);
  EXPECT_FALSE(a->client_handshake.known());
  const TlsKeyLogEntry* b = k.find(bytes_of(kRandomB));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->client_handshake.len, 32);
  EXPECT_EQ(b->server_handshake.len, 48);
  EXPECT_EQ(b->client_traffic0.bytes[31], 0x77);
  EXPECT_EQ(b->server_traffic0.bytes[0], 0x88);
  EXPECT_EQ(b->client_early.bytes[0], 0x99);
  EXPECT_EQ(k.find(bytes_of(std::string(64, 'c'))), nullptr);
  // The same line again changes nothing.
  EXPECT_EQ(k.add_text("CLIENT_RANDOM " + kRandomA + " " + kMaster + "\n"), 0u);
}

TEST(TlsKeyLog, BadLinesAreCountedNeverFatal) {
  TlsKeyLog k;
  const std::string text =
      "CLIENT_RANDOM " + kRandomA + " " + kMaster + "\n"
      "CLIENT_RANDOM " + kRandomA + "\n"                              // 2: no secret
      "CLIENT_RANDOM " + kRandomA.substr(2) + " " + kMaster + "\n"    // 3: short random
      "CLIENT_RANDOM " + kRandomB + " " + kSecret + "\n"              // 4: master not 48 bytes
      "CLIENT_RANDOM " + kRandomB + " " + kMaster + "zz\n"            // 5: not hex
      "NO_SUCH_LABEL " + kRandomB + " " + kSecret + "\n"              // 6: unknown label
      "CLIENT_TRAFFIC_SECRET_0 " + kRandomB + " " + kSecret + " x\n"  // 7: extra field
      "CLIENT_TRAFFIC_SECRET_0 " + kRandomB + " " + kSecret + "\n";
  EXPECT_EQ(k.add_text(text), 2u);
  EXPECT_EQ(k.counts().bad, 6u);
  EXPECT_EQ(k.counts().first_bad_line, 2u);
  EXPECT_EQ(k.size(), 2u);
}

TEST(TlsKeyLog, CapOnClientRandomsCountsWhatItDrops) {
  TlsKeyLog k(1);
  k.add_text("CLIENT_RANDOM " + kRandomA + " " + kMaster + "\n" +
             "CLIENT_RANDOM " + kRandomB + " " + kMaster + "\n" +
             "SERVER_TRAFFIC_SECRET_0 " + kRandomA + " " + kSecret + "\n");
  EXPECT_EQ(k.size(), 1u);
  EXPECT_EQ(k.counts().dropped, 1u);
  EXPECT_EQ(k.find(bytes_of(kRandomB)), nullptr);
  EXPECT_TRUE(k.find(bytes_of(kRandomA))->server_traffic0.known());  // same random: kept
}

void write(const std::string& path, const std::string& text, bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
}

TEST(TlsKeyLog, FollowsAGrowingFileLineByLine) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/keys.log";
  const std::string line_a = "CLIENT_RANDOM " + kRandomA + " " + kMaster + "\n";
  const std::string line_b = "CLIENT_RANDOM " + kRandomB + " " + kMaster + "\n";
  write(path, line_a + line_b.substr(0, 40), false);  // the second line half written
  TlsKeyLog k;
  std::string error;
  EXPECT_EQ(k.follow_file(path, error), 1);
  EXPECT_EQ(k.size(), 1u);
  EXPECT_EQ(k.counts().bad, 0u);
  EXPECT_EQ(k.follow_file(path, error), 0);  // nothing new
  write(path, line_b.substr(40), true);
  EXPECT_EQ(k.follow_file(path, error), 1);
  EXPECT_EQ(k.size(), 2u);
  EXPECT_EQ(k.counts().lines, 2u);
  EXPECT_EQ(k.counts().rereads, 0u);

  // Truncated and written anew (a rotated log): read from the start.
  const std::string line_c = "CLIENT_RANDOM " + std::string(64, 'c') + " " + kMaster + "\n";
  write(path, line_c, false);
  EXPECT_EQ(k.follow_file(path, error), 1);
  EXPECT_EQ(k.counts().rereads, 1u);
  EXPECT_EQ(k.size(), 3u);

  // Replaced by another file (rename over it): read from the start too.
  const std::string other = dir.path() + "/new.log";
  const std::string line_d = "CLIENT_RANDOM " + std::string(64, 'd') + " " + kMaster + "\n";
  write(other, line_c + line_d + line_d, false);
  ASSERT_EQ(std::rename(other.c_str(), path.c_str()), 0);
  EXPECT_EQ(k.follow_file(path, error), 1);
  EXPECT_EQ(k.counts().rereads, 2u);
  EXPECT_EQ(k.size(), 4u);

  EXPECT_EQ(k.follow_file(dir.path() + "/missing", error), -1);
  EXPECT_NE(error.find("missing: No such file"), std::string::npos) << error;
}

TEST(TlsKeyLog, AnOverlongLineIsOneBadLine) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/keys.log";
  write(path, std::string(3 * TlsKeyLog::kMaxLine, 'x'), false);  // no newline yet
  TlsKeyLog k;
  std::string error;
  EXPECT_EQ(k.follow_file(path, error), 0);
  EXPECT_EQ(k.counts().bad, 1u);
  write(path, std::string(100000, 'y') + "\nCLIENT_RANDOM " + kRandomA + " " + kMaster + "\n",
        true);
  EXPECT_EQ(k.follow_file(path, error), 1);
  EXPECT_EQ(k.counts().bad, 1u);
  EXPECT_EQ(k.counts().lines, 2u);
  EXPECT_EQ(k.size(), 1u);
  // The same through add_text, a comment too (found by fuzz_tls_keylog: a
  // followed file counted an overlong comment bad, add_text did not).
  TlsKeyLog t;
  t.add_text(std::string(2000, 'z') + "\n# " + std::string(2000, 'c') + "\n# short\n");
  EXPECT_EQ(t.counts().bad, 2u);
  EXPECT_EQ(t.counts().first_bad_line, 1u);
}

}  // namespace
}  // namespace tcpscribe
