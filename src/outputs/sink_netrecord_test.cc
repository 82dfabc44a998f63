#include "sink_netrecord.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>

#include "test_files.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class NetrecordSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.empty()); }

  static Connection conn(uint64_t id, Timestamp first) {
    Connection c;
    c.id = id;
    c.first_ts = first;
    return c;
  }
  static constexpr Timestamp kSec = kNanosPerSecond;
  testing::TempDir tmp_{"sink_netrecord_test"};
  std::string dir_ = tmp_.path();
};

TEST_F(NetrecordSinkTest, WritesTheDocumentedExample) {
  const Timestamp t0 = 1'700'000'000 * kSec;
  NetrecordSink sink({dir_ + "/redis", t0 - 982'665'000, 256});
  Connection c = conn(0, t0);
  sink.on_open(c);
  ASSERT_NE(sink.path_of(0), nullptr);
  EXPECT_EQ(*sink.path_of(0), dir_ + "/redis_1");
  sink.on_data(c, Dir::kClientToServer, 0, bytes("*1\r\n$4\r\nPING\r\n"), t0 + 646'000);
  // Readable while the connection is open: nothing is buffered.
  EXPECT_EQ(slurp(dir_ + "/redis_1"), "c 0.982665 con\nc 0.983311 14\n*1\r\n$4\r\nPING\r\n");
  sink.on_data(c, Dir::kServerToClient, 0, bytes("+PONG\r\n"), t0 + 769'000);
  sink.on_shutdown(c, Dir::kClientToServer, false, t0 + 201'225'000);
  sink.on_shutdown(c, Dir::kServerToClient, true, t0 + 4'017'335'000);
  sink.on_close(c, CloseReason::kRst);
  sink.finish();
  EXPECT_EQ(slurp(dir_ + "/redis_1"),
            "c 0.982665 con\nc 0.983311 14\n*1\r\n$4\r\nPING\r\ns 0.983434 7\n+PONG\r\n"
            "c 1.183890 hup\ns 5.000000 err\n");  // exactly +5 s, never "4.1000000"
  EXPECT_FALSE(sink.failed());
  EXPECT_EQ(sink.logs_created(), 1u);
}

TEST_F(NetrecordSinkTest, StartDefaultsToFirstConnectionAndSynWins) {
  NetrecordSink sink({dir_ + "/cap", std::nullopt, 256});
  Connection a = conn(5, 10 * kSec);
  a.syn_ts = 10 * kSec;  // its first packet
  Connection b = conn(9, 12 * kSec);
  b.syn_ts = 12 * kSec + 500'000;
  sink.on_open(a);
  sink.on_open(b);
  sink.on_data(b, Dir::kServerToClient, 0, bytes("x"), 13 * kSec);
  sink.on_close(a, CloseReason::kEndOfInput);
  sink.on_close(b, CloseReason::kEndOfInput);
  EXPECT_EQ(slurp(dir_ + "/cap_1"), "c 0.000000 con\n");
  EXPECT_EQ(slurp(dir_ + "/cap_2"), "c 2.000500 con\ns 3.000000 1\nx");
}

TEST_F(NetrecordSinkTest, GapsAreSkippedAndCounted) {
  NetrecordSink sink({dir_ + "/g", 0, 256});
  Connection c = conn(1, 0);
  sink.on_open(c);
  sink.on_data(c, Dir::kClientToServer, 0, bytes("ab"), kSec);
  sink.on_gap(c, Dir::kClientToServer, 2, 1000, kSec);
  sink.on_data(c, Dir::kClientToServer, 1002, bytes("cd"), 2 * kSec);
  sink.on_close(c, CloseReason::kFin);
  EXPECT_EQ(slurp(dir_ + "/g_1"), "c 0.000000 con\nc 1.000000 2\nabc 2.000000 2\ncd");
  EXPECT_EQ(sink.gaps(), 1u);
  EXPECT_EQ(sink.gap_bytes(), 1000u);
}

TEST_F(NetrecordSinkTest, ManyOpenConnectionsWithFewDescriptors) {
  NetrecordSink sink({dir_ + "/m", 0, 3});
  std::vector<Connection> cs;
  for (uint64_t i = 0; i < 50; ++i) cs.push_back(conn(i, 0));
  for (auto& c : cs) sink.on_open(c);
  for (int round = 0; round < 3; ++round) {
    for (auto& c : cs) {
      const std::string s = "conn " + std::to_string(c.id) + " round " + std::to_string(round) + ";";
      sink.on_data(c, Dir::kClientToServer, 0, bytes(s), kSec);
    }
  }
  for (auto& c : cs) sink.on_close(c, CloseReason::kFin);
  EXPECT_FALSE(sink.failed()) << sink.error();
  // Counting the fds of this process: none left open.
  for (uint64_t i = 0; i < 50; ++i) {
    std::string want = "c 0.000000 con\n";
    for (int round = 0; round < 3; ++round) {
      const std::string s = "conn " + std::to_string(i) + " round " + std::to_string(round) + ";";
      want += "c 1.000000 " + std::to_string(s.size()) + "\n" + s;
    }
    EXPECT_EQ(slurp(dir_ + "/m_" + std::to_string(i + 1)), want) << i;
  }
}

// A file size limit makes writes fail the way a full disk does (a short
// write, then an error), without a small file system.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit r = old_;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = SIG_DFL;
};

TEST_F(NetrecordSinkTest, AFailedWriteLeavesOnlyWholeRecords) {
  const Timestamp t0 = 1'700'000'000 * kSec;
  NetrecordSink sink({dir_ + "/full", t0, 256});
  Connection a = conn(0, t0);
  sink.on_open(a);
  sink.on_data(a, Dir::kClientToServer, 0, bytes("hello"), t0 + kSec);
  const std::string whole = "c 0.000000 con\nc 1.000000 5\nhello";
  ASSERT_EQ(slurp(dir_ + "/full_1"), whole);
  {
    // Room for the next header and part of its 300 bytes: the write is cut.
    FileSizeLimit limit(whole.size() + 40);
    sink.on_data(a, Dir::kServerToClient, 0, bytes(std::string(300, 'x')), t0 + 2 * kSec);
    // A new log that cannot take its first record is removed.
    Connection b = conn(1, t0 + 3 * kSec);
    FileSizeLimit none(0);
    sink.on_open(b);
    EXPECT_EQ(sink.path_of(1), nullptr);
  }
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.error_count(), 2u);
  EXPECT_EQ(sink.error(), "cannot write " + dir_ + "/full_1: File too large (the log ends at its "
                          "last whole record)");
  const std::vector<std::string> errors = sink.take_errors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[1], "cannot write " + dir_ + "/full_2: File too large (the log had nothing "
                       "yet and is removed)");
  // Later events of the abandoned log write nothing.
  sink.on_shutdown(a, Dir::kClientToServer, false, t0 + 4 * kSec);
  sink.finish();
  EXPECT_EQ(slurp(dir_ + "/full_1"), whole);
  EXPECT_FALSE(fs::exists(dir_ + "/full_2"));
}

TEST_F(NetrecordSinkTest, UnwritableRootIsAnErrorNotACrash) {
  NetrecordSink sink({dir_ + "/missing/x", 0, 256});
  EXPECT_NE(sink.check_writable(), "");
  Connection c = conn(1, 0);
  sink.on_open(c);
  sink.on_data(c, Dir::kClientToServer, 0, bytes("ab"), kSec);
  sink.on_close(c, CloseReason::kFin);
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.error_count(), 1u);
  EXPECT_NE(sink.error().find("No such file or directory"), std::string::npos) << sink.error();
  EXPECT_EQ(sink.take_errors().size(), 1u);
  EXPECT_TRUE(sink.take_errors().empty());
}

TEST_F(NetrecordSinkTest, ExistingLogIsNotClobbered) {
  // Even a symlink to somewhere precious is left alone.
  fs::create_symlink("/dev/full", dir_ + "/f_1");
  NetrecordSink sink({dir_ + "/f", 0, 256});
  Connection c = conn(1, 0);
  sink.on_open(c);  // _1 exists: creates _2, a regular file
  sink.on_data(c, Dir::kClientToServer, 0, bytes("ab"), kSec);
  sink.on_close(c, CloseReason::kFin);
  EXPECT_FALSE(sink.failed());
  EXPECT_EQ(slurp(dir_ + "/f_2"), "c 0.000000 con\nc 1.000000 2\nab");
}

// The proxy's zero-copy path: bytes waiting in a pipe are spliced into the
// log, interleaved with records written from memory, also after the log was
// closed by the open-file cap and reopened (for append, which splice()
// refuses).
TEST_F(NetrecordSinkTest, SplicesChunksFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  auto put = [&](const std::string& s) {
    ASSERT_EQ(::write(fds[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  };
  NetrecordSink sink({dir_ + "/p", 0, 1});
  Connection a = conn(1, 0), b = conn(2, 0);
  sink.on_open(a);
  put("hello");
  EXPECT_TRUE(sink.on_data_from_pipe(a, Dir::kClientToServer, fds[0], 5, kSec));
  sink.on_data(a, Dir::kServerToClient, 0, bytes("mem"), 2 * kSec);
  sink.on_open(b);  // closes a's file (cap 1)
  put("xyz");
  EXPECT_TRUE(sink.on_data_from_pipe(b, Dir::kServerToClient, fds[0], 3, kSec));
  put("again!");
  EXPECT_TRUE(sink.on_data_from_pipe(a, Dir::kClientToServer, fds[0], 6, 3 * kSec));
  sink.on_shutdown(a, Dir::kClientToServer, false, 4 * kSec);
  sink.finish();
  EXPECT_EQ(slurp(dir_ + "/p_1"),
            "c 0.000000 con\nc 1.000000 5\nhellos 2.000000 3\nmemc 3.000000 6\nagain!"
            "c 4.000000 hup\n");
  EXPECT_EQ(slurp(dir_ + "/p_2"), "c 0.000000 con\ns 1.000000 3\nxyz");
  // An unknown connection: nothing is logged, but the bytes are consumed.
  put("lost");
  EXPECT_FALSE(sink.on_data_from_pipe(conn(9, 0), Dir::kClientToServer, fds[0], 4, kSec));
  char c;
  EXPECT_EQ(::read(fds[0], &c, 1), -1);  // empty
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace tcpscribe
