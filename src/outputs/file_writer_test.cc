#include "file_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "test_files.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;

class FileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dirfd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dirfd_, 0);
  }
  void TearDown() override { ::close(dirfd_); }

  static WriteJob job(uint64_t file, const std::string& path, uint64_t offset,
                      const std::string& data, bool final) {
    WriteJob j;
    j.file = file;
    j.path = path;
    j.offset = offset;
    j.data.assign(data.begin(), data.end());
    j.final = final;
    j.extend_to = offset + data.size();
    return j;
  }

  testing::TempDir tmp_{"file_writer_test"};
  std::string dir_ = tmp_.path();
  int dirfd_ = -1;
};

// Many files, each written by several jobs interleaved with the jobs of
// other files, with chunks small (copied into blocks) and large (moved),
// across block boundaries: every file comes out whole and in order, with
// writer threads, without them, and with a descriptor limit far below the
// number of files open at once.
TEST_F(FileWriterTest, InterleavedJobsKeepEveryFileExact) {
  for (size_t threads : {0, 1, 2, 3}) {
    for (size_t max_fds : {4, 1000}) {
      SCOPED_TRACE("threads " + std::to_string(threads) + " max_fds " + std::to_string(max_fds));
      const std::string sub = "t" + std::to_string(threads) + "f" + std::to_string(max_fds);
      ASSERT_EQ(::mkdirat(dirfd_, sub.c_str(), 0755), 0);
      std::mt19937 rng(static_cast<unsigned>(threads * 7 + max_fds));
      constexpr int kFiles = 300;
      std::map<uint64_t, std::string> expect;
      std::map<uint64_t, uint64_t> written;
      std::map<uint64_t, int> jobs_left;
      for (int i = 0; i < kFiles; ++i) jobs_left[static_cast<uint64_t>(i)] = 1 + static_cast<int>(rng() % 6);
      {
        FileWriter w(dirfd_, dir_, threads, max_fds, 64u << 10);
        while (!jobs_left.empty()) {
          auto it = jobs_left.begin();
          std::advance(it, static_cast<long>(rng() % jobs_left.size()));
          const uint64_t id = it->first;
          // Mostly short chunks; now and then one big enough to be moved.
          const size_t len = rng() % 10 == 0 ? (16u << 10) + rng() % 50000 : rng() % 700;
          std::string data(len, '\0');
          for (char& c : data) c = static_cast<char>(rng());
          const bool final = --it->second == 0;
          const bool first = !written.count(id);
          const std::string path = first ? sub + "/file" + std::to_string(id) : "";
          WriteJob j = job(id, path, written[id], data, final);
          written[id] += len;
          expect[id] += data;
          w.submit(std::move(j), static_cast<size_t>(id));
          if (final) jobs_left.erase(it);
        }
        w.drain();
        EXPECT_EQ(w.error(), "");
        EXPECT_EQ(w.files_created(), static_cast<uint64_t>(kFiles));
      }
      for (const auto& [id, bytes] : expect) {
        const std::string got = slurp(dir_ + "/" + sub + "/file" + std::to_string(id));
        ASSERT_TRUE(got == bytes) << "file " << id << ": " << got.size() << " bytes, expected "
                                  << bytes.size();
      }
    }
  }
}

// A stream that ends in a hole keeps its length (the file is extended);
// a file continued from an earlier run keeps what was there; index lines
// land in PATH.findx; a '/' in the name makes the directory.
TEST_F(FileWriterTest, TrailingGapContinuationIndexAndDirectories) {
  {
    std::ofstream(dir_ + "/old") << "before|";
  }
  {
    FileWriter w(dirfd_, dir_, 2, 100);
    WriteJob gap = job(1, "gap", 0, "abc", true);
    gap.extend_to = 10;
    w.submit(std::move(gap), 1);
    WriteJob cont = job(2, "old", 0, "after", true);
    cont.continue_file = true;
    w.submit(std::move(cont), 2);
    WriteJob indexed = job(3, "a/b/indexed", 0, "xyz", false);
    indexed.index = "0|1.000000|3\n";
    w.submit(std::move(indexed), 3);
    WriteJob more = job(3, "", 3, "uvw", true);
    more.index = "3|2.000000|3\n";
    w.submit(std::move(more), 3);
    w.drain();
    EXPECT_EQ(w.error(), "");
  }
  EXPECT_EQ(slurp(dir_ + "/gap"), std::string("abc") + std::string(7, '\0'));
  EXPECT_EQ(slurp(dir_ + "/old"), "before|after");
  EXPECT_EQ(slurp(dir_ + "/a/b/indexed"), "xyzuvw");
  EXPECT_EQ(slurp(dir_ + "/a/b/indexed.findx"), "0|1.000000|3\n3|2.000000|3\n");
}

// A final job's time becomes the file's access and modification time, for
// a file written by one job and by several, after every write (a later
// write would move it); 0 leaves the time of the writes.
TEST_F(FileWriterTest, FinalJobSetsTheFileTime) {
  const int64_t t = 1'700'000'000'123'456'000;
  for (size_t threads : {0, 2}) {
    SCOPED_TRACE("threads " + std::to_string(threads));
    const std::string p = "t" + std::to_string(threads);
    {
      FileWriter w(dirfd_, dir_, threads, 100);
      WriteJob one = job(1, p + "one", 0, "abc", true);
      one.mtime_ns = t;
      w.submit(std::move(one), 1);
      w.submit(job(2, p + "two", 0, "abc", false), 2);
      WriteJob last = job(2, "", 3, "def", true);
      last.extend_to = 10;  // ends in a gap: the file is extended, then timed
      last.mtime_ns = t + 1'000'000'000;
      w.submit(std::move(last), 2);
      w.submit(job(3, p + "untimed", 0, "x", true), 3);
      w.drain();
      EXPECT_EQ(w.error(), "");
    }
    struct stat st;
    ASSERT_EQ(::fstatat(dirfd_, (p + "one").c_str(), &st, 0), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'700'000'000);
    EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'000);
    EXPECT_EQ(st.st_atim.tv_sec, 1'700'000'000);
    ASSERT_EQ(::fstatat(dirfd_, (p + "two").c_str(), &st, 0), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1'700'000'001);
    EXPECT_EQ(st.st_size, 10);
    ASSERT_EQ(::fstatat(dirfd_, (p + "untimed").c_str(), &st, 0), 0);
    EXPECT_GT(st.st_mtim.tv_sec, 1'700'000'001);  // now, not a capture time
  }
}

// A job the writer cannot carry out is reported with the path, and jobs
// queued after it do not hang the caller.
TEST_F(FileWriterTest, ErrorNamesThePathAndDrainReturns) {
  {
    std::ofstream(dir_ + "/plain") << "x";
  }
  FileWriter w(dirfd_, dir_, 2, 100, 4096);
  w.submit(job(1, "plain/below", 0, "data", true), 1);
  for (uint64_t i = 2; i < 2000; ++i) w.submit(job(i, "f" + std::to_string(i), 0, "data", true), 1);
  w.drain();
  EXPECT_TRUE(w.failed());
  EXPECT_EQ(w.error(), "cannot open " + dir_ + "/plain/below for writing: Not a directory");
}

// Jobs stay in a block until it is full; kick() hands them over, so a live
// capture's files keep up with the traffic.
TEST_F(FileWriterTest, KickWritesWhatIsWaiting) {
  FileWriter w(dirfd_, dir_, 1, 100);
  w.submit(job(1, "early", 0, "hello", true), 1);
  w.kick();
  struct stat st;
  for (int i = 0; i < 500 && ::fstatat(dirfd_, "early", &st, 0) != 0; ++i) ::usleep(10000);
  // The file exists, whole, while the writer is still alive.
  for (int i = 0; i < 500 && slurp(dir_ + "/early") != "hello"; ++i) ::usleep(10000);
  EXPECT_EQ(slurp(dir_ + "/early"), "hello");
}

}  // namespace
}  // namespace tcpscribe
