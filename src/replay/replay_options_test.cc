#include "replay_options.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tcpscribe {
namespace {

int parse(std::vector<std::string> args, ReplayOptions& opt, std::string& err) {
  args.insert(args.begin(), "replay");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream e;
  const int rc = parse_replay_options(static_cast<int>(argv.size()), argv.data(), opt, e);
  err = e.str();
  return rc;
}

TEST(ReplayOptions, CountsAreWholeAndInRange) {
  ReplayOptions o;
  std::string err;
  EXPECT_EQ(parse({"--target", "h:1", "--repeat", "-1", "log_1"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe replay: --repeat takes 1 to 1000000, not '-1'\n");
  EXPECT_EQ(parse({"--target", "h:1", "--repeat", "0", "log_1"}, o, err), 1);
  EXPECT_EQ(parse({"--target", "h:1", "--concurrency", "-1", "log_1"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe replay: --concurrency takes 0 (no limit) to 1000000, not '-1'\n");
  ReplayOptions ok;
  ASSERT_EQ(parse({"--target", "h:1", "--repeat", "3", "--concurrency", "0", "log_1"}, ok, err), 0)
      << err;
  EXPECT_EQ(ok.repeat, 3u);
  EXPECT_EQ(ok.concurrency, 0u);
}

}  // namespace
}  // namespace tcpscribe
