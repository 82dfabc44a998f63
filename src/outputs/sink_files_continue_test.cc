// The file sink continues a connection's files when the flow table says so
// (Connection::continues): the rest of a connection --max-flows evicted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "sink_files.h"
#include "test_files.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void run_parts(int dirfd, const std::string& outdir, size_t threads) {
  FileSinkOptions o;
  o.outdir = outdir;
  o.outdir_fd = dirfd;
  o.writer_threads = threads;
  Connection first;
  first.client.addr.bytes = {10, 0, 0, 1};
  first.client.port = 40000;
  first.server.addr.bytes = {10, 0, 0, 2};
  first.server.port = 80;
  FileSink sink(o);
  sink.on_open(first);
  sink.on_data(first, Dir::kClientToServer, 0, bytes_of("GET / HTTP/1.1\r\n"), 1);
  sink.on_data(first, Dir::kServerToClient, 0, bytes_of("HTTP/1.1 200 OK\r\n"), 2);
  sink.on_close(first, CloseReason::kEvicted);
  // Its later packets: a new Connection whose offsets start at 0 again.
  Connection rest = first;
  rest.id = 7;
  rest.previous_id = 0;
  rest.continues = true;
  sink.on_open(rest);
  sink.on_data(rest, Dir::kClientToServer, 0, bytes_of("Host: x\r\n\r\n"), 3);
  sink.on_gap(rest, Dir::kServerToClient, 0, 2, 4);
  sink.on_data(rest, Dir::kServerToClient, 2, bytes_of("ok"), 4);
  sink.on_close(rest, CloseReason::kEndOfInput);
  sink.finish();
  EXPECT_TRUE(sink.error().empty()) << sink.error();
  EXPECT_EQ(sink.files_written(), 2u);  // continued files are not new ones
}

TEST(FileSink, ContinuedConnectionAppendsToItsFiles) {
  for (size_t threads : {size_t{0}, size_t{4}}) {
    testing::TempDir tmp("sink_files_continue_test");
    const int dirfd = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dirfd, 0);
    run_parts(dirfd, tmp.path(), threads);
    const std::filesystem::path dir(tmp.path());
    EXPECT_EQ(testing::slurp(dir / "010.000.000.001.40000-010.000.000.002.00080"),
              "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        << threads << " threads";
    EXPECT_EQ(testing::slurp(dir / "010.000.000.002.00080-010.000.000.001.40000"),
              std::string("HTTP/1.1 200 OK\r\n") + std::string(2, '\0') + "ok")
        << threads << " threads";
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                            std::filesystem::directory_iterator()),
              2);
    ::close(dirfd);
  }
}

}  // namespace
}  // namespace tcpscribe
