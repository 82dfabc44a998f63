#include "stats_output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "exit_codes.h"

namespace tcpscribe {
namespace {

constexpr Timestamp kSec = kNanosPerSecond;
constexpr Timestamp kT0 = 1'700'000'000 * kSec;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

StatsOpen one(uint64_t c2s) {
  StatsOpen o;
  o.id = 1;
  o.client = "127.0.0.1:4000";
  o.opened = kT0;
  o.bytes[0] = c2s;
  o.state = "open";
  return o;
}

TEST(StatsOutput, PanelFramesOnAGivenTerminal) {
  StatsOutputOptions o;
  o.panel = true;
  o.title = "t";
  StatsOutput out(o, kT0);
  std::vector<std::string> written;
  out.set_frame_writer([&](std::string s) { written.push_back(std::move(s)); });
  out.use_terminal(10, 60, true, false);
  ASSERT_EQ(out.open(), kExitOk);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], panel_setup(PanelLayout{10, 60, 5}));
  out.sample(kT0 + kSec, {one(42)});
  ASSERT_EQ(written.size(), 2u);
  StatsBoard b(kT0);
  EXPECT_EQ(written[1],
            panel_frame(render_stats_panel(b.sample(kT0 + kSec, {one(42)}), "t", 5, 60, false)));
  EXPECT_NE(written[1].find("  0001 127.0.0.1:4000"), std::string::npos);
  out.restore_terminal();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[2], panel_restore());
  out.restore_terminal();  // once only
  EXPECT_EQ(written.size(), 3u);
}

// Ctrl-Z: the SIGTSTP handler gives the terminal back (stats_terminal_suspend);
// after SIGCONT the next frame sets the panel up again before drawing.
TEST(StatsOutput, AStopGivesTheTerminalBackAndTheNextFrameTakesItAgain) {
  StatsOutputOptions o;
  o.panel = true;
  o.title = "t";
  std::vector<std::string> written;  // outlives `out`, whose end writes the restore
  StatsOutput out(o, kT0);
  out.set_frame_writer([&](std::string s) { written.push_back(std::move(s)); });
  out.use_terminal(10, 60, true, false);
  ASSERT_EQ(out.open(), kExitOk);
  out.sample(kT0 + kSec, {one(42)});
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[1].find(panel_setup(PanelLayout{10, 60, 5})), std::string::npos);
  stats_terminal_suspend();  // what the handler does before stopping
  out.sample(kT0 + 2 * kSec, {one(42)});
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[2].rfind(panel_setup(PanelLayout{10, 60, 5}), 0), 0u) << written[2];
  out.sample(kT0 + 3 * kSec, {one(42)});  // once only
  ASSERT_EQ(written.size(), 4u);
  EXPECT_EQ(written[3].find(panel_setup(PanelLayout{10, 60, 5})), std::string::npos);
}

TEST(StatsOutput, JsonLinesToAFile) {
  char path[] = "/tmp/tcpscribe_stats_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  StatsOutputOptions o;
  o.json_path = path;
  {
    StatsOutput out(o, kT0);
    ASSERT_EQ(out.open(), kExitOk);
    EXPECT_TRUE(out.enabled());
    out.sample(kT0 + kSec, {one(10)});
    StatsClosed c;
    c.id = 1;
    c.closed = kT0 + 2 * kSec;
    c.bytes[0] = 10;
    out.closed(c);
    out.finish(kT0 + 2 * kSec, {});
    EXPECT_EQ(out.failure(), "");
  }
  const std::string text = slurp(path);
  ::unlink(path);
  ASSERT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
  EXPECT_NE(text.find("\"open\":1,\"closed\":0,\"c2s_bytes\":10"), std::string::npos) << text;
  EXPECT_NE(text.find("\"open\":0,\"closed\":1,\"c2s_bytes\":10"), std::string::npos) << text;
  EXPECT_NE(text.find("\"closed_sessions\":[{\"id\":1,"), std::string::npos) << text;
}

TEST(StatsOutput, AJsonFileThatCannotBeCreatedStopsTheStart) {
  StatsOutputOptions o;
  o.json_path = "/nonexistent-dir/stats.json";
  StatsOutput out(o, kT0);
  EXPECT_EQ(out.open(), kExitOutput);
}

TEST(StatsOutput, AFullDiskIsAFailure) {
  StatsOutputOptions o;
  o.json_path = "/dev/full";
  StatsOutput out(o, kT0);
  ASSERT_EQ(out.open(), kExitOk);
  out.sample(kT0 + kSec, {});
  EXPECT_NE(out.failure().find("cannot write --stats-json /dev/full"), std::string::npos);
}

}  // namespace
}  // namespace tcpscribe
