// Every output tells its failure the same way (Sink::failure): one line
// naming what could not be written and why, empty while all is well.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "har.h"
#include "sink_console.h"
#include "test_files.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

std::vector<std::vector<uint8_t>> short_conversation() {
  testing::Crafter k;
  return {k.frame(true, 100, 0, Tins::TCP::SYN),
          k.frame(false, 500, 101, Tins::TCP::SYN | Tins::TCP::ACK),
          k.frame(true, 101, 501, Tins::TCP::ACK | Tins::TCP::PSH, "GET / HTTP/1.1\r\n\r\n")};
}

TEST(OutputFailure, ConsoleNamesTheErrorOfTheFailedWrite) {
  std::FILE* full = std::fopen("/dev/full", "w");
  if (!full) GTEST_SKIP() << "no /dev/full here";
  ConsoleOptions o;
  o.flush_each = true;  // each chunk reaches the device at once
  ConsoleSink sink(o, full);
  EXPECT_EQ(sink.failure(), "");
  testing::run_frames(short_conversation(), sink);
  EXPECT_TRUE(sink.failed());
  EXPECT_EQ(sink.failure(), "cannot write to standard output: No space left on device");
  std::fclose(full);
}

TEST(OutputFailure, ConsoleThatWroteEverythingHasNoFailure) {
  std::FILE* out = std::tmpfile();
  ConsoleOptions o;
  ConsoleSink sink(o, out);
  testing::run_frames(short_conversation(), sink);
  EXPECT_EQ(sink.failure(), "");
  std::fclose(out);
}

TEST(OutputFailure, HarIsAnOutputThatWritesAtFinish) {
  testing::TempDir tmp("output_failure_test");
  const std::string path = tmp.path() + "/a.har";
  HarWriter har;
  std::string error;
  ASSERT_TRUE(har.open(path, error)) << error;
  Sink& as_output = har;
  EXPECT_EQ(as_output.failure(), "");
  as_output.finish();  // what the flow table calls at the end
  EXPECT_EQ(as_output.failure(), "");
  const std::string text = testing::slurp(path);
  EXPECT_NE(text.find("\"entries\""), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "]}}\n");
}

}  // namespace
}  // namespace tcpscribe
