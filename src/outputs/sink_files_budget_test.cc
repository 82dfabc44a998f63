// The file sink's memory bound: the bytes gathered for all connections
// together stay under FileSinkOptions::pending_budget, however many are
// open at once, and every file still gets all of its bytes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "name_template.h"
#include "sink_files.h"
#include "test_files.h"

namespace tcpscribe {
namespace {

Connection conn(uint64_t id) {
  Connection c;
  c.id = id;
  c.client.addr.bytes = {10, 1, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  c.client.port = 40000;
  c.server.addr.bytes = {10, 0, 0, 2};
  c.server.port = 80;
  return c;
}

/// Byte `at` of connection `id`'s stream (distinct per connection).
uint8_t byte_of(uint64_t id, uint64_t at) { return static_cast<uint8_t>(at * 31 + id * 7); }

struct Result {
  size_t peak = 0;
  size_t max_after_event = 0;
  uint64_t budget_writes = 0;
};

/// `n` connections open at once, each sending `per_conn` bytes from the
/// server in `seg`-byte segments, round robin.
Result run(const std::string& dir, size_t budget, size_t n, size_t per_conn, size_t seg) {
  const int dirfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_GE(dirfd, 0);
  FileSinkOptions o;
  o.outdir = dir;
  o.outdir_fd = dirfd;
  o.pending_budget = budget;
  Result r;
  {
    FileSink sink(o);
    for (uint64_t id = 1; id <= n; ++id) sink.on_open(conn(id));
    std::vector<uint8_t> buf(seg);
    for (size_t off = 0; off < per_conn; off += seg) {
      for (uint64_t id = 1; id <= n; ++id) {
        const size_t len = std::min(seg, per_conn - off);
        for (size_t k = 0; k < len; ++k) buf[k] = byte_of(id, off + k);
        sink.on_data(conn(id), Dir::kServerToClient, off, std::span(buf.data(), len), 1);
        r.max_after_event = std::max(r.max_after_event, sink.pending_bytes());
      }
    }
    for (uint64_t id = 1; id <= n; ++id) sink.on_close(conn(id), CloseReason::kFin);
    EXPECT_EQ(sink.pending_bytes(), 0u);
    r.peak = sink.peak_pending_bytes();
    r.budget_writes = sink.budget_writes();
    sink.finish();
    EXPECT_TRUE(sink.error().empty()) << sink.error();
  }
  ::close(dirfd);
  return r;
}

void expect_files(const std::string& dir, size_t n, size_t per_conn) {
  for (uint64_t id = 1; id <= n; ++id) {
    const std::string name = expand_name(kDefaultTemplate, conn(id), Dir::kServerToClient);
    const std::string got = testing::slurp(std::filesystem::path(dir) / name);
    ASSERT_EQ(got.size(), per_conn) << name;
    for (size_t at = 0; at < per_conn; ++at) {
      ASSERT_EQ(static_cast<uint8_t>(got[at]), byte_of(id, at)) << name << " at " << at;
    }
  }
}

// 2,000 connections x 32 KiB in 1448-byte segments would hold ~90 MB
// without the bound (each direction's buffer grows to a chunk); a 1 MiB
// budget holds it to 1 MiB and one buffer's growth.
TEST(FileSinkBudget, PendingBytesStayUnderTheBudgetAndFilesAreWhole) {
  testing::TempDir tmp("sink_files_budget_test");
  const size_t budget = 1u << 20;
  const Result r = run(tmp.path(), budget, 2000, 32u << 10, 1448);
  EXPECT_LE(r.max_after_event, budget);
  EXPECT_LE(r.peak, budget + FileSinkOptions{}.chunk_bytes);
  EXPECT_GT(r.peak, budget / 2);  // the budget was used, not avoided
  EXPECT_GT(r.budget_writes, 0u);
  expect_files(tmp.path(), 2000, 32u << 10);
}

// Under the budget nothing is written early: a few long streams keep
// writing whole chunks (the speed of bulk transfers).
TEST(FileSinkBudget, FewStreamsUnderTheBudgetWriteWholeChunks) {
  testing::TempDir tmp("sink_files_budget_test");
  const Result r = run(tmp.path(), 64u << 20, 4, 1u << 20, 1448);
  EXPECT_EQ(r.budget_writes, 0u);
  expect_files(tmp.path(), 4, 1u << 20);
}

}  // namespace
}  // namespace tcpscribe
