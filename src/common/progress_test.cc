#include "progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tcpscribe {
namespace {

using std::chrono::milliseconds;

/// What a Progress wrote, read back from its memory stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &len_)) {}
  ~Captured() {
    std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  /// Everything written since the last call.
  std::string take() {
    std::fflush(f_);
    std::string s(buf_, len_);
    std::string fresh = s.substr(seen_);
    seen_ = s.size();
    return fresh;
  }

 private:
  char* buf_ = nullptr;
  size_t len_ = 0;
  size_t seen_ = 0;
  std::FILE* f_;
};

TEST(Progress, DrawsAndClearsOnATerminal) {
  Captured out;
  Progress p(out.file(), true, false, milliseconds(0));
  p.update("a.pcap", 50, 200, 7, 2);
  EXPECT_EQ(out.take(), "\r\033[Ka.pcap:  25%  7 packets  2 connections");
  p.update("standard input", 0, 0, 9, 3);
  EXPECT_EQ(out.take(), "\r\033[Kstandard input: 9 packets  3 connections");
  p.clear();
  EXPECT_EQ(out.take(), "\r\033[K");
  p.clear();
  EXPECT_EQ(out.take(), "");  // nothing drawn, nothing to erase
}

TEST(Progress, QuietOrNotATerminalDrawsNothing) {
  Captured out;
  Progress p(out.file(), false, true, milliseconds(0));
  EXPECT_FALSE(p.enabled());
  p.update("a.pcap", 1, 2, 3, 4);
  progress_clear_line();
  EXPECT_EQ(out.take(), "");
  // -q: the ordinary constructor with the progress unwanted.
  Progress quiet(false);
  EXPECT_FALSE(quiet.enabled());
}

TEST(Progress, ClearedBeforeWarningsAndRedrawnAtTheNextUpdate) {
  Captured out;
  Progress p(out.file(), true, false, milliseconds(0));
  p.update("a.pcap", 1, 2, 3, 4);
  out.take();
  progress_clear_line();  // a warning or "!!" line follows on stderr
  EXPECT_EQ(out.take(), "\r\033[K");
  progress_clear_line();
  EXPECT_EQ(out.take(), "");
  p.update("a.pcap", 2, 2, 5, 4);
  EXPECT_EQ(out.take(), "\r\033[Ka.pcap: 100%  5 packets  4 connections");
}

TEST(Progress, RedrawsAtMostOncePerInterval) {
  Captured out;
  Progress p(out.file(), true, false, milliseconds(60000));
  p.update("a.pcap", 1, 2, 3, 4);
  EXPECT_NE(out.take(), "");
  p.update("a.pcap", 2, 2, 3, 4);
  EXPECT_EQ(out.take(), "");
  progress_clear_line();
  EXPECT_EQ(out.take(), "\r\033[K");
  p.update("a.pcap", 2, 2, 3, 4);  // erased, but not drawn again before its time
  EXPECT_EQ(out.take(), "");
  progress_clear_line();
  EXPECT_EQ(out.take(), "");  // nothing on screen, nothing to erase
}

TEST(Progress, ConsoleOutputOnTheSameTerminal) {
  Captured out;
  Progress p(out.file(), true, true, milliseconds(0));
  p.update("a.pcap", 1, 2, 3, 4);
  out.take();
  progress_clear_line("10.0.0.1.00080-10.0.0.2.05000: HTTP/1.1 200 OK\n\033[0m");
  EXPECT_EQ(out.take(), "\r\033[K");
  // A chunk that leaves its line open (-0, -B): drawing would wipe it.
  progress_clear_line("no newline");
  p.update("a.pcap", 2, 2, 3, 4);
  EXPECT_EQ(out.take(), "");
  progress_clear_line("end of it\n");
  p.update("a.pcap", 2, 2, 3, 4);
  EXPECT_EQ(out.take(), "\r\033[Ka.pcap: 100%  3 packets  4 connections");
}

TEST(Progress, ConsoleOutputRedirectedLeavesTheLine) {
  Captured out;
  Progress p(out.file(), true, false, milliseconds(0));
  p.update("a.pcap", 1, 2, 3, 4);
  out.take();
  progress_clear_line("chunk\n");  // to a file or pipe, not the terminal
  EXPECT_EQ(out.take(), "");
}

TEST(Progress, EndsLine) {
  EXPECT_TRUE(ends_line("x\n"));
  EXPECT_TRUE(ends_line("x\n\033[0m"));
  EXPECT_TRUE(ends_line("x\n\033[0m\033[31;1m"));
  EXPECT_FALSE(ends_line("x"));
  EXPECT_FALSE(ends_line("x\033[0m"));
  EXPECT_FALSE(ends_line(""));
  EXPECT_FALSE(ends_line("\nx"));
}

TEST(Progress, OnlyTheLiveOneIsCleared) {
  Captured out;
  {
    Progress p(out.file(), true, false, milliseconds(0));
    p.update("a.pcap", 1, 2, 3, 4);
  }
  out.take();
  progress_clear_line();  // p is gone: no dangling pointer, no output
  EXPECT_EQ(out.take(), "");
}

}  // namespace
}  // namespace tcpscribe
