#include "sink_inner_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "name_template.h"
#include "test_files.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Connection conn(uint64_t id, uint16_t port) {
  Connection c;
  c.id = id;
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  c.client.addr = IpAddr::v4_from(a);
  c.client.port = port;
  c.server.addr = IpAddr::v4_from(b);
  c.server.port = 443;
  return c;
}

TEST(InnerFilesSink, EachDirectionBesideItsFlowFileAtItsOwnOffsets) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  {
    InnerFilesSink sink(fd, "", /*max_open=*/1);  // every other write reopens
    const Connection a = conn(1, 40000), b = conn(2, 40001);
    sink.inner_data(a, "TLS", Dir::kClientToServer, 0, bytes_of("GET / HTTP/1.1\r\n"));
    sink.inner_data(b, "TLS", Dir::kClientToServer, 0, bytes_of("other"));
    sink.inner_data(a, "TLS", Dir::kServerToClient, 0, bytes_of("HTTP/1.1 200 OK\r\n"));
    // After a hole of 4 bytes (a record that could not be decrypted).
    sink.inner_data(a, "TLS", Dir::kClientToServer, 20, bytes_of("rest"));
    sink.on_close(a, CloseReason::kFin);
    sink.finish();
    EXPECT_EQ(sink.failure(), "");
    EXPECT_EQ(sink.files_created(), 3u);
  }
  ::close(fd);
  const std::string c2s = dir.path() + "/" + expand_name(kDefaultTemplate, conn(1, 40000),
                                                         Dir::kClientToServer);
  const std::string s2c = dir.path() + "/" + expand_name(kDefaultTemplate, conn(1, 40000),
                                                         Dir::kServerToClient);
  EXPECT_EQ(testing::slurp(c2s + "-TLS"),
            std::string("GET / HTTP/1.1\r\n") + std::string(4, '\0') + "rest");
  EXPECT_EQ(testing::slurp(s2c + "-TLS"), "HTTP/1.1 200 OK\r\n");
  EXPECT_FALSE(std::filesystem::exists(c2s));  // the flow file is not its business
}

TEST(InnerFilesSink, AFileThatCannotBeCreatedIsAFailure) {
  InnerFilesSink sink(-1, "");
  sink.inner_data(conn(1, 1), "TLS", Dir::kClientToServer, 0, bytes_of("x"));
  EXPECT_EQ(sink.failure(), "");  // no directory: nothing asked for
  testing::TempDir dir;
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  InnerFilesSink bad(fd, "no/such/dir/%A");
  bad.inner_data(conn(1, 1), "TLS", Dir::kClientToServer, 0, bytes_of("x"));
  EXPECT_NE(bad.failure().find("cannot create no/such/dir/"), std::string::npos) << bad.failure();
  ::close(fd);
}

}  // namespace
}  // namespace tcpscribe
