#include "sink_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test_files.h"

namespace tcpscribe {
namespace {

using testing::slurp;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A direction's file is finished at its FIN (on_shutdown), not at on_close,
// which comes a close delay later: the flow table keeps the connection for
// its last packets, and the sink does not keep its bytes in memory meanwhile.
// Bytes that still come after the FIN continue the file.
TEST(FileSink, DirectionFinishedAtItsFinAndContinuedIfMoreComes) {
  testing::TempDir tmp("sink_files_test");
  const int dirfd = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  FileSinkOptions o;
  o.outdir = tmp.path();
  o.outdir_fd = dirfd;
  o.writer_threads = 0;  // written at once, in this thread
  Connection c;
  c.client.addr.bytes = {10, 0, 0, 1};
  c.client.port = 40000;
  c.server.addr.bytes = {10, 0, 0, 2};
  c.server.port = 80;
  const std::filesystem::path req =
      std::filesystem::path(tmp.path()) / "010.000.000.001.40000-010.000.000.002.00080";
  {
    FileSink sink(o);
    sink.on_open(c);
    sink.on_data(c, Dir::kClientToServer, 0, bytes("hello"), 1);
    EXPECT_FALSE(std::filesystem::exists(req));  // gathered in memory
    sink.on_shutdown(c, Dir::kClientToServer, false, 2);
    EXPECT_EQ(slurp(req), "hello");
    sink.on_data(c, Dir::kClientToServer, 5, bytes(" again"), 3);
    sink.on_close(c, CloseReason::kFin);
    sink.finish();
    EXPECT_TRUE(sink.error().empty()) << sink.error();
  }
  EXPECT_EQ(slurp(req), "hello again");
  ::close(dirfd);
}

}  // namespace
}  // namespace tcpscribe
