#include "proxy_outputs.h"

#include <gtest/gtest.h>

#include "name_template.h"

namespace tcpscribe {
namespace {

TEST(ProxyOutputs, EveryFlagReachesTheSet) {
  ProxyOptions o;
  o.log_root = "/tmp/logs/r";
  o.report_path = "r.jsonl";
  o.messages_path = "m.jsonl";
  o.html_path = "r.html";
  o.har_path = "r.har";
  o.outdir = "flows";
  o.analyzers = {"http"};
  o.decode = true;
  o.color = ColorMode::kNever;
  const OutputConfig c = proxy_output_config(o, 1'700'000'000'000'000'000, "proxy :1 -> h:2");
  EXPECT_FALSE(c.console);
  EXPECT_TRUE(c.files);
  EXPECT_EQ(c.outdir, "flows");
  EXPECT_EQ(c.name_template, kDefaultTemplate);
  EXPECT_EQ(c.max_fds, kProxyFlowFiles);
  EXPECT_TRUE(c.findings_on_stderr);
  EXPECT_FALSE(c.quiet);
  EXPECT_EQ(c.color, ColorMode::kNever);
  EXPECT_EQ(c.netrecord_root, "/tmp/logs/r");
  ASSERT_TRUE(c.netrecord_start.has_value());
  EXPECT_EQ(*c.netrecord_start, 1'700'000'000'000'000'000);
  EXPECT_EQ(c.netrecord_max_files, SIZE_MAX);
  EXPECT_EQ(c.report_path, "r.jsonl");
  EXPECT_EQ(c.messages_path, "m.jsonl");
  EXPECT_EQ(c.html_path, "r.html");
  EXPECT_EQ(c.html_sources, std::vector<std::string>{"proxy :1 -> h:2"});
  EXPECT_EQ(c.har_path, "r.har");
  EXPECT_TRUE(c.decode);
  EXPECT_EQ(c.analyzers, std::vector<std::string>{"http"});
  EXPECT_FALSE(c.keep_encoded);
}

TEST(ProxyOutputs, FindingsOnStderrOnlyWhenAnAnalyzerRuns) {
  ProxyOptions o;
  o.log_root = "/tmp/r";
  o.report_path = "r.jsonl";
  EXPECT_FALSE(proxy_output_config(o, 5, "p").findings_on_stderr);
  for (int i = 0; i < 4; ++i) {
    ProxyOptions a = o;
    if (i == 0) a.analyzers = {"http"};
    if (i == 1) a.har_path = "r.har";
    if (i == 2) a.messages_path = "m.jsonl";
    if (i == 3) a.decode = true;
    EXPECT_TRUE(proxy_output_config(a, 5, "p").findings_on_stderr) << i;
    a.quiet = true;
    EXPECT_FALSE(proxy_output_config(a, 5, "p").findings_on_stderr) << i;
  }
}

TEST(ProxyOutputs, NothingAskedNothingWritten) {
  ProxyOptions o;
  o.quiet = true;
  const OutputConfig c = proxy_output_config(o, 5, "p");
  EXPECT_FALSE(c.console);
  EXPECT_FALSE(c.files);  // no -o: no flow files, unlike the passive default '.'
  EXPECT_FALSE(c.findings_on_stderr);
  EXPECT_TRUE(c.quiet);
  EXPECT_TRUE(c.netrecord_root.empty());
  EXPECT_TRUE(c.report_path.empty() && c.messages_path.empty() && c.html_path.empty() &&
              c.har_path.empty() && c.analyzers.empty() && !c.decode);
}

}  // namespace
}  // namespace tcpscribe
