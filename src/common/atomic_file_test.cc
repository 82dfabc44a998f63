#include "atomic_file.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "test_files.h"

namespace tcpscribe {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

fs::path fresh_dir(const char* name) {
  const fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(AtomicFile, WritesBesideAndRenamesOnCommit) {
  const fs::path d = fresh_dir("tcpscribe_atomic_commit");
  std::ofstream(d / "r.har") << "old";
  AtomicFile f;
  std::string error;
  ASSERT_TRUE(f.open((d / "r.har").string(), error)) << error;
  EXPECT_EQ(f.dir(), d.string());
  std::fputs("new report", f.stream());
  std::fflush(f.stream());
  // Until the commit, the name keeps the old report.
  EXPECT_EQ(slurp(d / "r.har"), "old");
  EXPECT_EQ(slurp(d / "r.har.tmp"), "new report");
  ASSERT_TRUE(f.commit(error)) << error;
  EXPECT_EQ(slurp(d / "r.har"), "new report");
  EXPECT_FALSE(fs::exists(d / "r.har.tmp"));
  fs::remove_all(d);
}

TEST(AtomicFile, AbandonedOrDestroyedLeavesTheOldFile) {
  const fs::path d = fresh_dir("tcpscribe_atomic_abandon");
  std::ofstream(d / "r.xml") << "old";
  {
    AtomicFile f;
    std::string error;
    ASSERT_TRUE(f.open((d / "r.xml").string(), error));
    std::fputs("half", f.stream());
  }
  EXPECT_EQ(slurp(d / "r.xml"), "old");
  EXPECT_FALSE(fs::exists(d / "r.xml.tmp"));
  fs::remove_all(d);
}

TEST(AtomicFile, AFailedWriteKeepsTheOldFileAndSaysSo) {
  // A file size limit makes writes fail (EFBIG) as a full disk would.
  const fs::path d = fresh_dir("tcpscribe_atomic_full");
  std::ofstream(d / "r.html") << "old";
  AtomicFile f;
  std::string error;
  ASSERT_TRUE(f.open((d / "r.html").string(), error));
  // Held in the stream's buffer (4 KiB or more) until the commit flushes it.
  const std::string text(2000, 'x');
  std::fwrite(text.data(), 1, text.size(), f.stream());
  struct rlimit saved;
  getrlimit(RLIMIT_FSIZE, &saved);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 1000;
  setrlimit(RLIMIT_FSIZE, &small);
  const bool ok = f.commit(error);
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(ok);
  EXPECT_EQ(error, "cannot write " + (d / "r.html").string() + ".tmp: File too large (" +
                       (d / "r.html").string() + " is left as it was)");
  EXPECT_EQ(slurp(d / "r.html"), "old");
  EXPECT_FALSE(fs::exists(d / "r.html.tmp"));
  fs::remove_all(d);
}

TEST(AtomicFile, AFileInTheCurrentDirectoryAndStandardOutput) {
  AtomicFile f;
  std::string error;
  ASSERT_TRUE(f.open("tcpscribe_atomic_cwd.txt", error));
  EXPECT_EQ(f.dir(), ".");
  EXPECT_GE(f.dir_fd(), 0);
  f.abandon();
  EXPECT_FALSE(fs::exists("tcpscribe_atomic_cwd.txt.tmp"));
  AtomicFile out;
  ASSERT_TRUE(out.open("-", error));
  EXPECT_TRUE(out.is_stdout());
  EXPECT_EQ(out.stream(), stdout);
  EXPECT_EQ(out.dir_fd(), -1);
  EXPECT_FALSE(f.open("somedir/", error));
  EXPECT_EQ(error, "cannot write somedir/: it names a directory, not a file");
}

}  // namespace
}  // namespace tcpscribe
