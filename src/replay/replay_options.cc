#include "replay_options.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <ostream>

#include "proxy_options.h"
#include "whole_number.h"

namespace tcpscribe {

namespace po = boost::program_options;

namespace {

po::options_description visible_options() {
  po::options_description d("Options");
  // clang-format off
  d.add_options()
    ("help,h", "print this help and exit")
    ("target,t", po::value<std::string>()->value_name("HOST:PORT"), "connect each replayed connection to HOST:PORT (a name, IPv4 or [IPv6]); required")
    ("read,r", po::value<std::vector<std::string>>()->value_name("FILE"), "replay the TCP connections of capture FILE (repeatable); positional words are then a BPF filter")
    ("timing", po::value<std::string>()->value_name("MODE"), "conversational (default: wait for the target's answer before each client chunk), original (also keep the recorded times), none (send at once)")
    ("speed", po::value<double>()->value_name("X"), "divide recorded times by X (2 = twice as fast); implies --timing original")
    ("response-timeout", po::value<double>()->value_name("SECONDS"), "give up waiting for the target's bytes, before a chunk and at the end, after SECONDS of silence (default 2)")
    ("settle", po::value<double>()->value_name("SECONDS"), "conversational pacing: an answer shorter than recorded is complete once the target, having sent part of it, is quiet for SECONDS (default 0.2; 0 = wait for every recorded byte or --response-timeout)")
    ("connect-timeout", po::value<double>()->value_name("SECONDS"), "give up connecting after SECONDS (default 3)")
    ("replace", po::value<std::vector<std::string>>()->value_name("OLD=NEW"), "rewrite OLD to NEW in the client's bytes, across chunks; RESP and HTTP length fields follow the new length (repeatable; escapes \\r \\n \\t \\0 \\\\ \\xHH, '=' in OLD as \\=)")
    ("compare", "compare each connection's answer with the recorded one; print 'same' or the first difference; exit 5 if any differ")
    ("ignore", po::value<std::vector<std::string>>()->value_name("REGEX"), "with --compare: replace every match of REGEX (RE2 syntax, over bytes; linear time; matches up to 16 MiB exact) by '<ignored>' in both answers first (repeatable)")
    ("record", po::value<std::string>()->value_name("ROOT"), "write the replayed conversations as netrecord logs ROOT_1, ROOT_2, ... (never overwrites)")
    ("repeat", po::value<std::string>()->value_name("N"), "replay every conversation N times (default 1); copies run at the same time unless --concurrency limits them")
    ("concurrency", po::value<std::string>()->value_name("N"), "keep at most N connections open; the rest wait their turn in start order (default 0 = no limit)")
    ("realtime", "send from a SCHED_FIFO (real-time) thread so that other busy processes cannot delay sends (root or CAP_SYS_NICE)")
    ("timing-report", "print how far sends and connection starts were from their schedule (p50, p99, max)")
    ("json", po::value<std::string>()->value_name("FILE"), "write a JSON report (connections, results, timing samples) to FILE ('-': stdout, and the per-connection lines go to stderr)")
    ("verbose,v", "print a line for every connection, not only differences and failures");
  // clang-format on
  return d;
}

bool seconds(const po::variables_map& vm, const char* name, double& out, std::ostream& err) {
  if (!vm.count(name)) return true;
  out = vm[name].as<double>();
  if (!(out > 0) || !std::isfinite(out)) {
    err << "tcpscribe replay: --" << name << " must be a positive number of seconds\n";
    return false;
  }
  return true;
}

}  // namespace

void print_replay_help(std::ostream& out) {
  out << "usage: tcpscribe replay [options] --target HOST:PORT LOG...\n"
         "       tcpscribe replay [options] --target HOST:PORT -r FILE [-r FILE...] [BPF expression]\n"
         "Replays recorded TCP conversations (netrecord logs, one per connection, or the\n"
         "connections of captures) against a live target.\n\n"
      << visible_options()
      << "\nExit status: 0 ok, 1 bad usage, 2 a capture could not be read (nothing replayed)\n"
         "or a log could not be read (the others replayed), 3 --record logs could not be\n"
         "written, 4 the target could not be resolved or a connection failed, 5 --compare\n"
         "found an answer that differs.\n";
}

int parse_replay_options(int argc, char** argv, ReplayOptions& opt, std::ostream& err) {
  po::variables_map vm;
  std::vector<std::string> positional;
  if (!parse_subcommand_line(argc, argv, visible_options(), vm, positional, "tcpscribe replay",
                             " (see tcpscribe replay --help)", err)) {
    return 1;
  }
  if (vm.count("help")) {
    opt.show_help = true;
    return 0;
  }
  if (vm.count("read")) {
    opt.captures = vm["read"].as<std::vector<std::string>>();
    for (const std::string& w : positional) opt.filter += (opt.filter.empty() ? "" : " ") + w;
  } else {
    opt.logs = positional;
  }
  if (opt.logs.empty() && opt.captures.empty()) {
    err << "tcpscribe replay: nothing to replay: give netrecord LOG files or -r FILE\n";
    return 1;
  }
  if (!vm.count("target")) {
    err << "tcpscribe replay: --target HOST:PORT is required\n";
    return 1;
  }
  opt.target = vm["target"].as<std::string>();
  HostPort hp;
  std::string error;
  if (!parse_host_port(opt.target, hp, error) || hp.host.empty() || hp.port == 0) {
    err << "tcpscribe replay: --target " << opt.target << ": "
        << (error.empty() ? "expected HOST:PORT" : error) << "\n";
    return 1;
  }
  opt.target_host = hp.host;
  opt.target_port = hp.port;

  if (vm.count("timing")) {
    const std::string t = vm["timing"].as<std::string>();
    if (t == "conversational") opt.timing = Timing::kConversational;
    else if (t == "original") opt.timing = Timing::kOriginal;
    else if (t == "none") opt.timing = Timing::kNone;
    else {
      err << "tcpscribe replay: --timing " << t << ": expected conversational, original or none\n";
      return 1;
    }
  }
  if (vm.count("speed")) {
    opt.speed = vm["speed"].as<double>();
    if (!(opt.speed > 0) || !std::isfinite(opt.speed)) {
      err << "tcpscribe replay: --speed must be a positive number\n";
      return 1;
    }
    if (vm.count("timing") && opt.timing != Timing::kOriginal) {
      err << "tcpscribe replay: --speed only applies to --timing original\n";
      return 1;
    }
    opt.timing = Timing::kOriginal;
  }
  if (vm.count("settle")) {
    opt.settle = vm["settle"].as<double>();
    if (!(opt.settle >= 0) || !std::isfinite(opt.settle)) {
      err << "tcpscribe replay: --settle must be 0 or a positive number of seconds\n";
      return 1;
    }
  }
  if (!seconds(vm, "response-timeout", opt.response_timeout, err) ||
      !seconds(vm, "connect-timeout", opt.connect_timeout, err)) {
    return 1;
  }
  if (vm.count("replace")) {
    for (const std::string& spec : vm["replace"].as<std::vector<std::string>>()) {
      ReplaceRule rule;
      if (!parse_replace_rule(spec, rule, error)) {
        err << "tcpscribe replay: --replace '" << spec << "': " << error << "\n";
        return 1;
      }
      opt.replace.push_back(std::move(rule));
    }
  }
  opt.compare = vm.count("compare") > 0;
  if (vm.count("ignore")) {
    if (!opt.compare) {
      err << "tcpscribe replay: --ignore only applies with --compare\n";
      return 1;
    }
    opt.ignore = vm["ignore"].as<std::vector<std::string>>();
  }
  if (vm.count("record")) opt.record_root = vm["record"].as<std::string>();
  uint64_t n = 0;
  if (vm.count("repeat")) {
    if (!parse_whole_number(vm["repeat"].as<std::string>(), 1, 1'000'000, n)) {
      err << "tcpscribe replay: --repeat takes 1 to 1000000, not '"
          << vm["repeat"].as<std::string>() << "'\n";
      return 1;
    }
    opt.repeat = static_cast<unsigned>(n);
  }
  if (vm.count("concurrency")) {
    if (!parse_whole_number(vm["concurrency"].as<std::string>(), 0, 1'000'000, n)) {
      err << "tcpscribe replay: --concurrency takes 0 (no limit) to 1000000, not '"
          << vm["concurrency"].as<std::string>() << "'\n";
      return 1;
    }
    opt.concurrency = n;
  }
  opt.timing_report = vm.count("timing-report") > 0;
  opt.realtime = vm.count("realtime") > 0;
  if (vm.count("json")) opt.json_path = vm["json"].as<std::string>();
  opt.verbose = vm.count("verbose") > 0;
  return 0;
}

}  // namespace tcpscribe
