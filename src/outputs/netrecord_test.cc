#include "netrecord.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "test_files.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct TempDir : testing::TempDir {
  TempDir() : testing::TempDir("netrecord_test") {}
};

std::vector<NetrecordRecord> read_all(const std::string& contents, NetrecordReader::Status& last,
                                      bool& mid) {
  NetrecordReader r;
  r.open_string(contents);
  std::vector<NetrecordRecord> out;
  NetrecordRecord rec;
  while ((last = r.next(rec)) == NetrecordReader::Status::kRecord) out.push_back(rec);
  mid = r.ended_mid_record();
  return out;
}

TEST(NetrecordTime, AlwaysSixDigits) {
  EXPECT_EQ(format_netrecord_time(0), "0.000000");
  EXPECT_EQ(format_netrecord_time(982665), "0.982665");
  EXPECT_EQ(format_netrecord_time(4'999'999), "4.999999");
  // The original printed exactly +5 s as "4.1000000".
  EXPECT_EQ(format_netrecord_time(5'000'000), "5.000000");
  EXPECT_EQ(format_netrecord_time(12'000'345), "12.000345");
  EXPECT_EQ(format_netrecord_time(-7), "0.000000");
  EXPECT_EQ(netrecord_header('s', 983434, "7"), "s 0.983434 7\n");
}

TEST(NetrecordTime, ParsesTheOriginalsQuirks) {
  int64_t us = 0;
  ASSERT_TRUE(parse_netrecord_time("4.1000000", us));
  EXPECT_EQ(us, 5'000'000);
  ASSERT_TRUE(parse_netrecord_time("0.982665", us));
  EXPECT_EQ(us, 982'665);
  ASSERT_TRUE(parse_netrecord_time("12.000345", us));
  EXPECT_EQ(us, 12'000'345);
  ASSERT_TRUE(parse_netrecord_time("-3.500000", us));  // wall clock stepped back
  EXPECT_EQ(us, -2'500'000);
  for (const char* bad : {"", "1", "1.", ".5", "a.000001", "1.0000000x", "1.12345678", "1.-5"}) {
    EXPECT_FALSE(parse_netrecord_time(bad, us)) << bad;
  }
}

TEST(NetrecordWriter, OneRecordPerWriteExactBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  std::string error;
  // Data that looks like headers must not confuse a reader.
  const std::string tricky("c 0.1 con\ns 1.000000 hup\n\0\xff", 26);
  ASSERT_TRUE(write_netrecord(fd, 'c', 982665, "con", {}, error));
  ASSERT_TRUE(write_netrecord(fd, 'c', 983311, "14", bytes("*1\r\n$4\r\nPING\r\n"), error));
  ASSERT_TRUE(write_netrecord(fd, 's', 983434, "7", bytes("+PONG\r\n"), error));
  ASSERT_TRUE(write_netrecord(fd, 's', 5'000'000, std::to_string(tricky.size()), bytes(tricky), error));
  ASSERT_TRUE(write_netrecord(fd, 'c', 1'183'890, "hup", {}, error));
  ::close(fd);
  const std::string expected = std::string("c 0.982665 con\nc 0.983311 14\n*1\r\n$4\r\nPING\r\n") +
                               "s 0.983434 7\n+PONG\r\ns 5.000000 26\n" + tricky +
                               "c 1.183890 hup\n";
  EXPECT_EQ(slurp(path), expected);

  NetrecordReader r;
  ASSERT_TRUE(r.open(path));
  NetrecordRecord rec;
  std::vector<NetrecordRecord> recs;
  NetrecordReader::Status st;
  while ((st = r.next(rec)) == NetrecordReader::Status::kRecord) recs.push_back(rec);
  EXPECT_EQ(st, NetrecordReader::Status::kEnd);
  EXPECT_FALSE(r.ended_mid_record());
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[0].kind, NetrecordRecord::Kind::kConnect);
  EXPECT_EQ(recs[1].data, "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(recs[2].side, 's');
  EXPECT_EQ(recs[3].data, tricky);
  EXPECT_EQ(recs[3].micros, 5'000'000);
  EXPECT_EQ(recs[3].offset, 63u);  // 15 + (15 + 14) + (13 + 7)
  EXPECT_EQ(recs[4].kind, NetrecordRecord::Kind::kHangup);
}

TEST(NetrecordWriter, ReportsErrors) {
  const int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  std::string error;
  EXPECT_FALSE(write_netrecord(fd, 'c', 0, "3", bytes("abc"), error));
  EXPECT_EQ(error, "No space left on device");
  ::close(fd);
}

TEST(NetrecordReader, OriginalQuirkAndErrRecord) {
  NetrecordReader::Status st;
  bool mid = false;
  // What the original wrote when the upstream refused (plus our err) and at +5 s.
  auto recs = read_all("c 4.1000000 con\ns 4.1000000 err\n", st, mid);
  EXPECT_EQ(st, NetrecordReader::Status::kEnd);
  EXPECT_FALSE(mid);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].micros, 5'000'000);
  EXPECT_EQ(recs[1].kind, NetrecordRecord::Kind::kError);
  EXPECT_EQ(recs[1].side, 's');
}

TEST(NetrecordReader, AcceptsFilesThatEndAnywhere) {
  const std::string whole = "c 0.000001 con\nc 0.000002 5\nhelloc 0.000003 hup\n";
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    NetrecordReader::Status st;
    bool mid = false;
    auto recs = read_all(whole.substr(0, cut), st, mid);
    ASSERT_EQ(st, NetrecordReader::Status::kEnd) << "cut at " << cut;
    const bool at_boundary = cut == 0 || cut == 15 || cut == 33 || cut == whole.size();
    EXPECT_EQ(mid, !at_boundary) << "cut at " << cut;
    if (cut >= 28 && cut < 33) {
      // Inside the data: the record comes back with what is there.
      ASSERT_EQ(recs.size(), 2u);
      EXPECT_TRUE(recs[1].truncated);
      EXPECT_EQ(recs[1].declared, 5u);
      EXPECT_EQ(recs[1].data, std::string("hello").substr(0, cut - 28));
    }
    if (cut == whole.size()) {
      ASSERT_EQ(recs.size(), 3u);
      EXPECT_FALSE(recs[1].truncated);
    }
  }
}

TEST(NetrecordReader, RejectsMalformedHeaders) {
  const char* cases[] = {
      "x 0.000001 con\n",         // side
      "c 0.000001 what\n",        // record type
      "c 0.000001 12x\n",         // count
      "c nan con\n",              // time
      "c 0.000001\n",             // no type
      "c  0.000001 con\n",        // empty time
  };
  for (const char* c : cases) {
    NetrecordReader r;
    r.open_string(std::string("c 0.000000 con\n") + c);
    NetrecordRecord rec;
    EXPECT_EQ(r.next(rec), NetrecordReader::Status::kRecord) << c;
    EXPECT_EQ(r.next(rec), NetrecordReader::Status::kMalformed) << c;
    EXPECT_NE(r.error().find("malformed record at byte 15"), std::string::npos) << r.error();
    EXPECT_EQ(r.next(rec), NetrecordReader::Status::kEnd) << c;
  }
  // 100 bytes without a newline are not a header that was cut short.
  NetrecordReader r;
  r.open_string(std::string(100, 'c'));
  NetrecordRecord rec;
  EXPECT_EQ(r.next(rec), NetrecordReader::Status::kMalformed);
}

TEST(NetrecordReader, StreamsLargeFiles) {
  TempDir dir;
  const std::string path = dir.path() + "/big";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  std::string error;
  std::vector<std::string> chunks;
  uint32_t x = 12345;
  for (int i = 0; i < 40; ++i) {
    // Sizes around the reader's 256 KiB refills and 4 MiB pieces.
    const size_t n = i % 5 == 0 ? (5u << 20) + i : static_cast<size_t>(i * 7919 % 300000);
    std::string c(n, '\0');
    for (char& ch : c) ch = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
    ASSERT_TRUE(write_netrecord(fd, i % 2 ? 's' : 'c', i, std::to_string(n), bytes(c), error));
    chunks.push_back(std::move(c));
  }
  ::close(fd);
  NetrecordReader r;
  ASSERT_TRUE(r.open(path));
  NetrecordRecord rec;
  for (size_t i = 0; i < chunks.size(); ++i) {
    ASSERT_EQ(r.next(rec), NetrecordReader::Status::kRecord) << i;
    EXPECT_EQ(rec.micros, static_cast<int64_t>(i));
    ASSERT_EQ(rec.data.size(), chunks[i].size()) << i;
    EXPECT_TRUE(rec.data == chunks[i]) << i;
  }
  EXPECT_EQ(r.next(rec), NetrecordReader::Status::kEnd);
  EXPECT_FALSE(r.ended_mid_record());
}

TEST(NetrecordFiles, NeverClobbersAndContinuesNumbering) {
  TempDir dir;
  const std::string root = dir.path() + "/redis";
  std::ofstream(root + "_1") << "old";
  std::ofstream(root + "_7") << "old";
  std::ofstream(root + "_x") << "not a log";
  std::ofstream(dir.path() + "/redis2_40") << "another root";
  NetrecordFiles files(root);
  EXPECT_EQ(files.check_writable(), "");
  uint64_t n = 0;
  std::string path, error;
  int fd = files.create_next(n, path, error);
  ASSERT_GE(fd, 0) << error;
  EXPECT_EQ(n, 8u);
  EXPECT_EQ(path, root + "_8");
  ::close(fd);
  // A file that appears meanwhile is skipped, not overwritten.
  std::ofstream(root + "_9") << "raced";
  fd = files.create_next(n, path, error);
  ASSERT_GE(fd, 0) << error;
  EXPECT_EQ(n, 10u);
  ::close(fd);
  EXPECT_EQ(slurp(root + "_1"), "old");
  EXPECT_EQ(slurp(root + "_9"), "raced");

  NetrecordFiles fresh(dir.path() + "/new");
  fd = fresh.create_next(n, path, error);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(n, 1u);
  ::close(fd);
}

TEST(NetrecordFiles, ExplainsUnwritableRoots) {
  TempDir dir;
  EXPECT_EQ(NetrecordFiles(dir.path() + "/missing/log").check_writable(),
            dir.path() + "/missing: No such file or directory");
  std::ofstream(dir.path() + "/file") << "x";
  EXPECT_EQ(NetrecordFiles(dir.path() + "/file/log").check_writable(),
            dir.path() + "/file: not a directory");
  EXPECT_NE(NetrecordFiles(dir.path() + "/").check_writable(), "");
  NetrecordFiles missing(dir.path() + "/missing/log");
  uint64_t n;
  std::string path, error;
  EXPECT_LT(missing.create_next(n, path, error), 0);
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

}  // namespace
}  // namespace tcpscribe
