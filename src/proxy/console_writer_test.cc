#include "console_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace tcpscribe {
namespace {

std::string lost(uint64_t r, uint64_t b) {
  return "LOST " + std::to_string(r) + " " + std::to_string(b) + "\n";
}

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(ConsoleWriter, WritesRecordsInOrder) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  {
    ConsoleWriter w(p[1], 1 << 20, lost);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(w.push("line " + std::to_string(i) + "\n"));
    EXPECT_EQ(w.finish(5), 0u);
  }
  ::close(p[1]);
  std::string want;
  for (int i = 0; i < 100; ++i) want += "line " + std::to_string(i) + "\n";
  EXPECT_EQ(read_all(p[0]), want);
  ::close(p[0]);
}

// A reader that does not read: push() never blocks; records past the
// budget are dropped whole, counted, and announced before the next record
// accepted once the reader catches up.
TEST(ConsoleWriter, AReaderThatDoesNotReadNeverBlocksPush) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ConsoleWriter w(p[1], 4096, lost);
  const std::string rec(1000, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t accepted = 0;
  for (int i = 0; i < 2000; ++i) accepted += w.push(rec + "\n") ? 1 : 0;  // 2 MB > pipe + budget
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 1.0);
  EXPECT_GT(w.records_lost(), 0u);
  EXPECT_EQ(accepted + w.records_lost(), 2000u);
  EXPECT_EQ(w.bytes_lost(), w.records_lost() * 1001);
  const uint64_t lost_so_far = w.records_lost();

  // The reader catches up: the next record comes after the loss line.
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  std::string got;
  auto drain = [&] {
    char buf[65536];
    for (int k = 0; k < 200; ++k) {
      const ssize_t n = ::read(p[0], buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      else ::usleep(5000);
    }
  };
  drain();
  EXPECT_TRUE(w.push("after\n"));
  drain();
  EXPECT_EQ(w.finish(5), lost_so_far);
  ::close(p[1]);
  // Every loss is announced, before the first record accepted after it (a
  // record may get through mid-loop when the writer drained the pipe, so
  // there may be several announcements); they add up to what was lost.
  uint64_t announced = 0, records = 0;
  std::string last, before_last;
  for (size_t at = 0; at < got.size();) {
    const size_t nl = got.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    const std::string line = got.substr(at, nl - at);
    if (line.rfind("LOST ", 0) == 0) {
      unsigned long long r = 0, b = 0;
      ASSERT_EQ(std::sscanf(line.c_str(), "LOST %llu %llu", &r, &b), 2) << line;
      EXPECT_EQ(b, r * 1001);
      announced += r;
    } else if (line == std::string(1000, 'x')) {
      ++records;
    }
    before_last = last;
    last = line;
    at = nl + 1;
  }
  EXPECT_EQ(last, "after");
  EXPECT_EQ(announced, lost_so_far);
  EXPECT_EQ(records, accepted);
  // The pipe and the queue were full at the end of the loop, so the last
  // pushes were lost and "after" comes right after their announcement.
  EXPECT_EQ(before_last.rfind("LOST ", 0), 0u) << before_last;
  ::close(p[0]);
}

// finish() gives up on a reader that never reads: it returns in about the
// time given, counting what stayed queued.
TEST(ConsoleWriter, FinishGivesUpOnAStuckReader) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ConsoleWriter w(p[1], 1 << 20, lost);
  for (int i = 0; i < 200; ++i) w.push(std::string(1000, 'y') + "\n");  // > the pipe's 64 KiB
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t never = w.finish(0.3);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 2.0);
  EXPECT_GT(never, 0u);
  ::close(p[0]);  // the detached writer gets EPIPE and ends
  ::usleep(100000);
  ::close(p[1]);
}

// The reader went away: the writer says so and takes nothing more.
TEST(ConsoleWriter, AClosedReaderBreaksTheView) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ::close(p[0]);
  ConsoleWriter w(p[1], 1 << 20, lost);
  w.push("one\n");
  for (int i = 0; i < 100 && !w.broken(); ++i) ::usleep(10000);
  EXPECT_TRUE(w.broken());
  EXPECT_FALSE(w.push("two\n"));
  w.finish(1);
  ::close(p[1]);
}

}  // namespace
}  // namespace tcpscribe
