#include "proxy_options.h"

#include <gtest/gtest.h>

#include <sstream>

#include "analyzer.h"
#include "proxy_outputs.h"

namespace tcpscribe {
namespace {

int parse(std::vector<std::string> args, ProxyOptions& opt, std::string& err) {
  args.insert(args.begin(), "proxy");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream e;
  const int rc = parse_proxy_options(static_cast<int>(argv.size()), argv.data(), opt, e);
  err = e.str();
  return rc;
}

TEST(ProxyOptions, HostPort) {
  HostPort hp;
  std::string error;
  ASSERT_TRUE(parse_host_port("127.0.0.1:6380", hp, error));
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 6380);
  ASSERT_TRUE(parse_host_port("[::1]:8080", hp, error));
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 8080);
  ASSERT_TRUE(parse_host_port("api.internal:80", hp, error));
  EXPECT_EQ(hp.host, "api.internal");
  ASSERT_TRUE(parse_host_port(":0", hp, error));
  EXPECT_EQ(hp.host, "");
  EXPECT_EQ(hp.port, 0);
  EXPECT_FALSE(parse_host_port("localhost", hp, error));
  EXPECT_EQ(error, "'localhost' has no port (HOST:PORT, [IPV6]:PORT)");
  EXPECT_FALSE(parse_host_port("::1:80", hp, error));
  EXPECT_EQ(error, "'::1:80': write IPv6 addresses in brackets, [::1]:80");
  EXPECT_FALSE(parse_host_port("[::1]80", hp, error));
  EXPECT_FALSE(parse_host_port("[]:80", hp, error));
  EXPECT_FALSE(parse_host_port("h:65536", hp, error));
  EXPECT_FALSE(parse_host_port("h:8o", hp, error));
}

TEST(ProxyOptions, FlagsAndDefaults) {
  ProxyOptions o;
  std::string err;
  ASSERT_EQ(parse({"--listen", "[::1]:8080", "--forward", "example.org:80", "-D", "--max-dump",
                   "256", "--idle-timeout", "2.5", "--color=never", "--json"},
                  o, err), 0) << err;
  EXPECT_EQ(o.listen.host, "::1");
  EXPECT_EQ(o.forward.host, "example.org");
  EXPECT_TRUE(o.hex);
  EXPECT_EQ(o.max_dump, 256u);
  EXPECT_EQ(o.idle_timeout, 2.5);
  EXPECT_EQ(o.connect_timeout, 10);
  EXPECT_EQ(o.drain, 5);
  EXPECT_EQ(o.color, ColorMode::kNever);
  EXPECT_TRUE(o.json);
  EXPECT_TRUE(o.log_root.empty());
}

TEST(ProxyOptions, NetrecordArgumentOrder) {
  ProxyOptions o;
  std::string err;
  ASSERT_EQ(parse({"127.0.0.1", "6379", "6380", "/tmp/redis"}, o, err), 0) << err;
  EXPECT_EQ(o.forward.host, "127.0.0.1");
  EXPECT_EQ(o.forward.port, 6379);
  EXPECT_EQ(o.listen.host, "");
  EXPECT_EQ(o.listen.port, 6380);
  EXPECT_EQ(o.log_root, "/tmp/redis");
}

TEST(ProxyOptions, UsageErrorsAreOneLine) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--listen", ":1"},
      {"127.0.0.1", "6379", "6380"},
      {"127.0.0.1", "x", "6380", "/tmp/r"},
      {"--listen", ":1", "--forward", "h:0"},
      {"--listen", ":1", "--forward", "h:1", "--color", "sometimes"},
      {"--listen", ":1", "--forward", "h:1", "--idle-timeout", "-1"},
      {"--listen", ":1", "--forward", "h:1", "--buffer", "10"},
      {"--listen", ":1", "--forward", "h:1", "--bogus"},
      {"--listen", "nonsense", "--forward", "h:1"},
      {"--listen", ":1", "--forward", "h:1", "--extract", "/tmp"},
      {"--listen", ":1", "--forward", "h:1", "--netrecord", "/tmp/a", "-w", "/tmp/b"},
      {"--listen", ":1", "--forward", "h:1", "--netrecord", ""},
      {"127.0.0.1", "6379", "6380", "/tmp/r", "--netrecord", "/tmp/n"},
      {"--listen", ":1", "--forward", "h:1", "--report", ""},
      {"--listen", ":1", "--forward", "h:1", "--report", "-"},
      {"--listen", ":1", "--forward", "h:1", "-q", "--report", "-", "--har", "-"},
      {"--listen", ":1", "--forward", "h:1", "--decode", "-q"},
      {"--listen", ":1", "--forward", "h:1", "--decode", "--json"},
  };
  for (const auto& args : bad) {
    ProxyOptions o;
    std::string err;
    EXPECT_EQ(parse(args, o, err), 1) << args.size();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.rfind("tcpscribe proxy: ", 0), 0u) << err;
  }
}

TEST(ProxyOptions, Outputs) {
  ProxyOptions o;
  std::string err;
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1", "--netrecord", "/tmp/n", "--report", "r.jsonl",
                   "--messages", "m.jsonl", "--html", "r.html", "--har", "r.har", "-o", "flows",
                   "-e", "http", "-e", "all", "--decode"},
                  o, err), 0) << err;
  EXPECT_EQ(o.log_root, "/tmp/n");
  EXPECT_EQ(o.report_path, "r.jsonl");
  EXPECT_EQ(o.messages_path, "m.jsonl");
  EXPECT_EQ(o.html_path, "r.html");
  EXPECT_EQ(o.har_path, "r.har");
  EXPECT_EQ(o.outdir, "flows");
  EXPECT_EQ(o.analyzers, (std::vector<std::string>{"http", "all"}));
  EXPECT_TRUE(o.decode);
  EXPECT_EQ(o.slow, 0);  // off unless asked

  EXPECT_FALSE(proxy_output_config(o, 0, "x").flat_records);

  o = ProxyOptions{};
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1", "--messages", "m.jsonl", "--flat-records"}, o, err), 0) << err;
  EXPECT_TRUE(proxy_output_config(o, 0, "x").flat_records);
  o = ProxyOptions{};
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--flat-records"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --flat-records changes the lines of --report and --messages: "
                 "add one of them\n");

  o = ProxyOptions{};
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1", "--slow", "0.3"}, o, err), 0) << err;
  EXPECT_EQ(o.slow, 300'000'000);
  EXPECT_TRUE(proxy_output_config(o, 0, "x").findings_on_stderr);
  EXPECT_EQ(proxy_output_config(o, 0, "x").slow, 300'000'000);
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--slow", "soon"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --slow takes seconds from 0.001 to 1000000 (e.g. --slow 0.5), "
                 "not 'soon'\n");

  // Without the flags: no outputs beyond the console (today's proxy).
  o = ProxyOptions{};
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1"}, o, err), 0) << err;
  EXPECT_TRUE(o.report_path.empty() && o.messages_path.empty() && o.html_path.empty() &&
              o.har_path.empty() && o.outdir.empty() && o.analyzers.empty() && !o.decode);

  // Standard output: the console's unless -q, then one output's.
  o = ProxyOptions{};
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1", "-q", "--messages", "-"}, o, err), 0) << err;
  EXPECT_EQ(o.messages_path, "-");
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--report", "-"}, o, err), 1);
  EXPECT_EQ(err,
            "tcpscribe proxy: the console view and --report - would both write to standard "
            "output; add -q, or give --report a file name\n");
  o = ProxyOptions{};
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "-q", "--messages", "-", "--har", "-"}, o, err), 1);
  EXPECT_EQ(err,
            "tcpscribe proxy: --messages - and --har - would both write to standard output; "
            "give --har a file name\n");
  o = ProxyOptions{};
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "-e", "gopher"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: -e: unknown analyzer 'gopher' (known: " + analyzer_names() +
                     ", all)\n");
  o = ProxyOptions{};
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "-w", "a", "--netrecord", "b"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --netrecord and --log-root are the same option; give one\n");
}

TEST(ProxyOptions, Inspect) {
  ProxyOptions o;
  std::string err;
  ASSERT_EQ(parse({"--inspect", "/tmp/a_1", "/tmp/a_2", "--extract", "/tmp/x"}, o, err), 0);
  EXPECT_EQ(o.inspect, (std::vector<std::string>{"/tmp/a_1", "/tmp/a_2"}));
  EXPECT_EQ(o.extract_dir, "/tmp/x");
}

TEST(ProxyOptions, NumbersAreWholeAndInRange) {
  ProxyOptions o;
  std::string err;
  const std::vector<std::string> base = {"--listen", ":0", "--forward", "h:1"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> a = base;
    a.insert(a.end(), more.begin(), more.end());
    o = ProxyOptions{};
    return parse(a, o, err);
  };
  EXPECT_EQ(with({"--max-connections", "-1"}), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --max-connections takes 1 to 1000000, not '-1'\n");
  EXPECT_EQ(with({"--max-dump", "-1"}), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --max-dump takes a whole number of bytes, 0 or more, or 'all', not '-1'\n");
  EXPECT_EQ(with({"--buffer", "-5"}), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --buffer takes 512 to 67108864 bytes, not '-5'\n");
  ASSERT_EQ(with({"--max-dump", "0", "--buffer", "512", "--max-connections", "1000000"}), 0) << err;
  EXPECT_EQ(o.max_dump, 0u);
  EXPECT_EQ(o.buffer, 512u);
  EXPECT_EQ(o.max_connections, 1000000u);
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

TEST(ProxyOptions, Stats) {
  ProxyOptions opt;
  std::string err;
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1", "--stats", "--stats-json", "s.jsonl",
                   "--stats-interval", "0.5"},
                  opt, err),
            0)
      << err;
  EXPECT_TRUE(opt.stats);
  EXPECT_EQ(opt.stats_json, "s.jsonl");
  EXPECT_DOUBLE_EQ(opt.stats_interval, 0.5);
  ProxyOptions d;
  ASSERT_EQ(parse({"-l", ":0", "-f", "h:1"}, d, err), 0);
  EXPECT_FALSE(d.stats);
  EXPECT_DOUBLE_EQ(d.stats_interval, 1.0);
  ProxyOptions o;
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--stats", "--stats-interval", "0.01"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --stats-interval takes 0.1 to 3600 seconds, not 0.01\n");
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--stats-interval", "2"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: --stats-interval goes with --stats or --stats-json\n");
  // Standard output: the console's unless -q.
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "--stats-json", "-"}, o, err), 1);
  EXPECT_EQ(err, "tcpscribe proxy: the console view and --stats-json - would both write to "
                 "standard output; add -q, or give --stats-json a file name\n");
  ProxyOptions q;
  EXPECT_EQ(parse({"-l", ":0", "-f", "h:1", "-q", "--stats-json", "-"}, q, err), 0) << err;
}

}  // namespace
}  // namespace tcpscribe
