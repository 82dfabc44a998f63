#include "diag.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace tcpscribe {
namespace {

/// Runs `fn` with stderr sent to a temporary file; returns what it wrote.
template <typename Fn>
std::string captured_stderr(Fn fn) {
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(tmp), STDERR_FILENO);
  fn();
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

int hook_calls = 0;
std::string seen_before_hook;

TEST(Diag, OneLineWithTheProgramsPrefix) {
  diag::set_program("tcpscribe");
  EXPECT_EQ(captured_stderr([] { diag::error("cannot open x.pcap: No such file"); }),
            "tcpscribe: cannot open x.pcap: No such file\n");
  EXPECT_EQ(captured_stderr([] { diag::warning("3 holes"); }), "tcpscribe: warning: 3 holes\n");
  EXPECT_EQ(captured_stderr([] { diag::errorf("%d of %s", 2, "three"); }),
            "tcpscribe: 2 of three\n");
  EXPECT_EQ(captured_stderr([] { diag::warningf("%s", std::string(300, 'x').c_str()); }),
            "tcpscribe: warning: " + std::string(300, 'x') + "\n");
}

TEST(Diag, SubcommandsSetTheirOwnPrefix) {
  diag::set_program("tcpscribe proxy");
  EXPECT_EQ(captured_stderr([] { diag::error("cannot listen"); }),
            "tcpscribe proxy: cannot listen\n");
  diag::set_program("tcpscribe");
}

TEST(Diag, TheHookRunsBeforeEachLine) {
  hook_calls = 0;
  diag::set_before_print([] {
    ++hook_calls;
    std::fputs("[cleared]", stderr);
  });
  EXPECT_EQ(captured_stderr([] {
              diag::error("a");
              diag::warning("b");
            }),
            "[cleared]tcpscribe: a\n[cleared]tcpscribe: warning: b\n");
  EXPECT_EQ(hook_calls, 2);
  diag::set_before_print(nullptr);
  EXPECT_EQ(captured_stderr([] { diag::error("c"); }), "tcpscribe: c\n");
}

}  // namespace
}  // namespace tcpscribe
