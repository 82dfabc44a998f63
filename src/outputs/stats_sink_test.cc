#include "stats_sink.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "packet_core.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

// A capture through the flow table: the sink sees the connection open,
// counts its bytes each way and its FIN, and hands it to the stats output
// when it closes.
TEST(StatsSink, CountsTheFlowTablesConnections) {
  char path[] = "/tmp/tcpscribe_stats_sink_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  StatsOutputOptions o;
  o.json_path = path;
  StatsOutput out(o, 0);
  ASSERT_EQ(out.open(), 0);
  StatsSink sink(out);
  testing::Crafter k;
  PacketCore core(testing::core_config(), {&sink});
  testing::feed_frames(core, {k.frame(true, 100, 0, Tins::TCP::SYN),
                              k.frame(false, 500, 101, Tins::TCP::SYN | Tins::TCP::ACK),
                              k.frame(true, 101, 501, Tins::TCP::ACK, "hello"),
                              k.frame(false, 501, 106, Tins::TCP::ACK, "hi"),
                              k.frame(true, 106, 503, Tins::TCP::FIN | Tins::TCP::ACK),
                              k.frame(false, 503, 107, Tins::TCP::ACK)});
  std::vector<StatsOpen> open = sink.open_sessions();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].client, "10.0.0.1:40000");
  EXPECT_EQ(open[0].bytes[0], 5u);
  EXPECT_EQ(open[0].bytes[1], 2u);
  EXPECT_EQ(open[0].state, "fin C->S");
  EXPECT_EQ(open[0].opened, 1'000'000'000);
  core.finish();
  EXPECT_TRUE(sink.open_sessions().empty());
  out.sample(2'000'000'000, sink.open_sessions());
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  ::unlink(path);
  EXPECT_NE(text.str().find("\"open\":0,\"closed\":1,\"c2s_bytes\":5,\"s2c_bytes\":2,"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("\"client\":\"10.0.0.1:40000\""), std::string::npos) << text.str();
}

}  // namespace
}  // namespace tcpscribe
