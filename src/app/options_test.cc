#include "options.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tcpscribe {
namespace {

int parse(std::vector<std::string> args, Options& opt, std::string& err) {
  args.insert(args.begin(), "tcpscribe");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream e;
  const int rc = parse_options(static_cast<int>(argv.size()), argv.data(), opt, e);
  err = e.str();
  return rc;
}

int parse(std::vector<std::string> args, std::string& err) {
  Options opt;
  return parse(std::move(args), opt, err);
}

TEST(Options, SlowTakesSecondsAndRefusesTheRest) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "--slow", "0.25"}, opt, err), kExitOk) << err;
  EXPECT_EQ(opt.slow, 250'000'000);
  Options whole;
  ASSERT_EQ(parse({"-r", "x.pcap", "--slow=2"}, whole, err), kExitOk) << err;
  EXPECT_EQ(whole.slow, 2 * kNanosPerSecond);
  Options none;
  ASSERT_EQ(parse({"-r", "x.pcap"}, none, err), kExitOk);
  EXPECT_EQ(none.slow, 0);  // off
  for (const char* bad : {"0", "-1", "abc", "0.3s", "", "nan", "inf", "1e7", "0.0001"}) {
    EXPECT_EQ(parse({"-r", "x.pcap", "--slow", bad}, err), kExitUsage) << bad;
    EXPECT_EQ(err, std::string("tcpscribe: --slow takes seconds from 0.001 to 1000000 (e.g. "
                               "--slow 0.5), not '") + bad + "'\n");
  }
  std::ostringstream help;
  print_help(help);
  EXPECT_NE(help.str().find("--slow SECONDS"), std::string::npos) << help.str();
}

TEST(Options, TlsKeylogTakesAFileName) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "-c", "--tls-keylog", "/tmp/keys.log"}, opt, err), kExitOk)
      << err;
  EXPECT_EQ(opt.tls_keylog, "/tmp/keys.log");
  Options none;
  ASSERT_EQ(parse({"-r", "x.pcap", "-c"}, none, err), kExitOk);
  EXPECT_EQ(none.tls_keylog, "");
  EXPECT_EQ(parse({"-r", "x.pcap", "-c", "--tls-keylog", ""}, err), kExitUsage);
  EXPECT_NE(err.find("--tls-keylog needs a file name"), std::string::npos) << err;
  std::ostringstream help;
  print_help(help);
  EXPECT_NE(help.str().find("--tls-keylog"), std::string::npos);
}

TEST(Options, NumbersInRangeAreTaken) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "--reorder-window", "0", "-b", "1", "-f", "1",
                   "--max-buffer", "1", "--max-flow-buffer", "1048576", "--writer-threads", "0",
                   "--snaplen", "262144", "--buffer-size", "2047", "--queue-size", "1",
                   "--max-flows", "1", "--idle-timeout", "0.5"},
                  opt, err),
            kExitOk)
      << err;
  EXPECT_EQ(opt.reorder_window, 0u);
  EXPECT_EQ(opt.max_bytes, 1u);
  EXPECT_EQ(opt.max_fds, 1u);
  EXPECT_EQ(opt.max_buffer_mib, 1u);
  EXPECT_EQ(opt.max_flow_buffer_mib, 1048576u);
  EXPECT_EQ(opt.writer_threads, 0u);
  EXPECT_EQ(opt.snaplen, 262144);
  EXPECT_EQ(opt.buffer_mib, 2047u);
  EXPECT_EQ(opt.queue_mib, 1u);
  EXPECT_EQ(opt.max_flows, 1u);
  EXPECT_EQ(opt.idle_timeout, 500'000'000);
}

TEST(Options, NegativeNumbersAreRefusedNotWrapped) {
  std::string err;
  EXPECT_EQ(parse({"-r", "x.pcap", "--reorder-window", "-5"}, err), kExitUsage);
  EXPECT_EQ(err,
            "tcpscribe: --reorder-window takes a whole number from 0 to 10000000, not '-5'\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "-b", "-1"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: -b takes a whole number of 1 or more, not '-1'\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "--max-flows", "-1"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --max-flows takes a whole number from 1 to 100000000, not '-1'\n");
}

TEST(Options, ZeroIsRefusedWhereItMeansNothing) {
  std::string err;
  for (const char* flag : {"-b", "-f", "--max-buffer", "--max-flow-buffer", "--snaplen",
                           "--buffer-size", "--queue-size", "--max-flows"}) {
    EXPECT_EQ(parse({"-r", "x.pcap", flag, "0"}, err), kExitUsage) << flag;
    EXPECT_NE(err.find(std::string(flag) + " takes a whole number"), std::string::npos) << err;
  }
}

TEST(Options, NotAWholeNumberOrTooLarge) {
  std::string err;
  for (const char* bad : {"1e3", "12x", "", " 5", "+5", "0x10", "1.5"}) {
    EXPECT_EQ(parse({"-r", "x.pcap", "--reorder-window", bad}, err), kExitUsage) << bad;
  }
  EXPECT_EQ(parse({"-r", "x.pcap", "--buffer-size", "2048"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --buffer-size takes a whole number from 1 to 2047, not '2048'\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "--max-buffer", "99999999999999999999999"}, err), kExitUsage);
  EXPECT_EQ(parse({"-r", "x.pcap", "--writer-threads", "65"}, err), kExitUsage);
}

TEST(Options, ThreadsTakeOneTo64) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "--threads", "4"}, opt, err), kExitOk) << err;
  EXPECT_EQ(opt.threads, 4u);
  Options none;
  ASSERT_EQ(parse({"-r", "x.pcap"}, none, err), kExitOk);
  EXPECT_EQ(none.threads, 1u);
  for (const char* bad : {"0", "65", "-1", "two", ""}) {
    EXPECT_EQ(parse({"-r", "x.pcap", "--threads", bad}, err), kExitUsage) << bad;
    EXPECT_EQ(err, std::string("tcpscribe: --threads takes a whole number from 1 to 64, not '") +
                       bad + "'\n");
  }
}

TEST(Options, ShardTakesOnePartOfN) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "--shard", "2/3"}, opt, err), kExitOk) << err;
  EXPECT_EQ(opt.shard_index, 2u);
  EXPECT_EQ(opt.shard_count, 3u);
  Options whole;
  ASSERT_EQ(parse({"-r", "x.pcap", "--shard", "0/1024"}, whole, err), kExitOk) << err;
  EXPECT_EQ(whole.shard_count, 1024u);
  Options none;
  ASSERT_EQ(parse({"-r", "x.pcap"}, none, err), kExitOk);
  EXPECT_EQ(none.shard_index, 0u);
  EXPECT_EQ(none.shard_count, 1u);
  for (const char* bad : {"3/3", "0/0", "1", "/3", "1/", "a/b", "0/1025", "-1/3", "1/3/4", ""}) {
    EXPECT_EQ(parse({"-r", "x.pcap", "--shard", bad}, err), kExitUsage) << bad;
    EXPECT_EQ(err, std::string("tcpscribe: --shard takes I/N, this run's part I (0 to N-1) of N "
                               "parts (1 to 1024), as 0/4; not '") +
                       bad + "'\n");
  }
  std::ostringstream help;
  print_help(help);
  EXPECT_NE(help.str().find("--shard I/N"), std::string::npos);
}

TEST(Options, IdleTimeoutMustBeFinite) {
  std::string err;
  for (const char* bad : {"-1", "nan", "inf", "1e10"}) {
    EXPECT_EQ(parse({"-r", "x.pcap", "--idle-timeout", bad}, err), kExitUsage) << bad;
    EXPECT_NE(err.find("--idle-timeout takes 0 to 1000000000 seconds"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

TEST(Options, OutputsSharingStandardOutputAreRefused) {
  std::string err;
  EXPECT_EQ(parse({"-r", "x.pcap", "-c", "--report", "-"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: -c and --report - would both write to standard output; give "
                 "--report - a file name\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "-C", "--har", "-"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: -C and --har - would both write to standard output; give "
                 "--har - a file name\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "--report", "-", "--har", "-"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --report - and --har - would both write to standard output; give "
                 "--har - a file name\n");
  EXPECT_EQ(parse({"-r", "x.pcap", "-c", "-o", "out"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: -c prints the conversation instead of writing flow files; drop -o, "
                 "or drop -c to write files\n");
  // One of them alone, or -c with reports in files, is fine.
  EXPECT_EQ(parse({"-r", "x.pcap", "-c", "--report", "r.jsonl", "--har", "h.har"}, err), kExitOk);
  EXPECT_EQ(parse({"-r", "x.pcap", "--report", "-", "--har", "h.har"}, err), kExitOk);
}

TEST(Options, FlatRecordsGoWithReportOrMessages) {
  std::string err;
  Options opt;
  ASSERT_EQ(parse({"-r", "x.pcap", "--report", "r.jsonl"}, opt, err), kExitOk) << err;
  EXPECT_FALSE(opt.flat_records);
  for (const char* out : {"--report", "--messages"}) {
    Options flat;
    ASSERT_EQ(parse({"-r", "x.pcap", out, "r.jsonl", "--flat-records"}, flat, err), kExitOk) << err;
    EXPECT_TRUE(flat.flat_records) << out;
  }
  EXPECT_EQ(parse({"-r", "x.pcap", "--flat-records", "--har", "h.har"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --flat-records changes the lines of --report and --messages: add "
                 "one of them\n");
}

TEST(Options, ReportsWithoutOutdirWriteNoFlowFiles) {
  for (std::vector<std::string> report :
       {std::vector<std::string>{"--report", "r.jsonl"}, {"--html", "r.html"}, {"--har", "h.har"},
        {"-X", "r.xml"}, {"--netrecord", "/tmp/n"}}) {
    Options opt;
    std::string err;
    std::vector<std::string> args = {"-r", "x.pcap"};
    args.insert(args.end(), report.begin(), report.end());
    ASSERT_EQ(parse(args, opt, err), kExitOk) << err;
    EXPECT_TRUE(opt.no_files) << report[0];
    Options with_dir;
    args.insert(args.end(), {"-o", "flows"});
    ASSERT_EQ(parse(args, with_dir, err), kExitOk) << err;
    EXPECT_FALSE(with_dir.no_files) << report[0];
    EXPECT_EQ(with_dir.outdir, "flows");
  }
  Options plain;
  std::string err;
  ASSERT_EQ(parse({"-r", "x.pcap", "-e", "http"}, plain, err), kExitOk);
  EXPECT_FALSE(plain.no_files);
  EXPECT_EQ(plain.outdir, ".");
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

TEST(Options, StatsGoWithLiveCaptureOnly) {
  Options opt;
  std::string err;
  ASSERT_EQ(parse({"-i", "lo", "--stats", "--stats-json", "s.jsonl", "--stats-interval", "2"},
                  opt, err),
            kExitOk)
      << err;
  EXPECT_TRUE(opt.stats);
  EXPECT_EQ(opt.stats_json, "s.jsonl");
  EXPECT_DOUBLE_EQ(opt.stats_interval, 2.0);
  EXPECT_EQ(parse({"-r", "x.pcap", "--stats"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --stats and --stats-json show a live capture (-i) or the proxy; a "
                 "capture file's totals are in --report FILE and -v\n");
  EXPECT_EQ(parse({"-i", "lo", "--stats-interval", "2"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: --stats-interval goes with --stats or --stats-json\n");
  EXPECT_EQ(parse({"-i", "lo", "-c", "--stats-json", "-"}, err), kExitUsage);
  EXPECT_EQ(err, "tcpscribe: -c and --stats-json - would both write to standard output; give "
                 "--stats-json - a file name\n");
}

}  // namespace
}  // namespace tcpscribe
