#include "whole_lines.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace tcpscribe {
namespace {

std::string contents(std::FILE* f) {
  std::string s;
  char buf[8192];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fileno(f), buf, sizeof buf, at)) > 0) {
    s.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return s;
}

struct TempFile {
  TempFile() {
    char name[] = "/tmp/tcpscribe-lines.XXXXXX";
    fd = mkstemp(name);
    path = name;
    f = fdopen(fd, "w+");
  }
  ~TempFile() {
    if (f) std::fclose(f);
    ::unlink(path.c_str());
  }
  int fd;
  std::string path;
  std::FILE* f;
};

TEST(WholeLines, CutsAHalfWrittenLastLine) {
  TempFile t;
  const std::string lines = "{\"a\":1}\n{\"b\":2}\n";
  ASSERT_EQ(::write(t.fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  ASSERT_EQ(::write(t.fd, "{\"c\":", 5), 5);  // the disk filled here
  std::fputs("3}\n", t.f);  // still in stdio's buffer: must not land after the cut
  ASSERT_TRUE(cut_to_whole_lines(t.f));
  std::fclose(t.f);
  t.f = std::fopen(t.path.c_str(), "r");
  EXPECT_EQ(contents(t.f), lines);
}

TEST(WholeLines, LinesLongerThanABlockAndNoLineAtAll) {
  TempFile t;
  const std::string first(10000, 'x');
  ASSERT_EQ(::write(t.fd, (first + "\n").data(), first.size() + 1),
            static_cast<ssize_t>(first.size() + 1));
  const std::string cut(9000, 'y');
  ASSERT_EQ(::write(t.fd, cut.data(), cut.size()), static_cast<ssize_t>(cut.size()));
  ASSERT_TRUE(cut_to_whole_lines(t.f));
  EXPECT_EQ(contents(t.f), first + "\n");
  ASSERT_EQ(::ftruncate(t.fd, 0), 0);
  ASSERT_EQ(::write(t.fd, "no newline", 10), 10);
  ASSERT_TRUE(cut_to_whole_lines(t.f));
  EXPECT_EQ(contents(t.f), "");
}

TEST(WholeLines, LeavesWhatIsNotARegularFile) {
  std::FILE* null = std::fopen("/dev/null", "w");
  ASSERT_NE(null, nullptr);
  EXPECT_FALSE(cut_to_whole_lines(null));
  std::fclose(null);
}

}  // namespace
}  // namespace tcpscribe
