// Command line of `tcpscribe replay`: one struct, filled by
// Boost.Program_options.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "replay_plan.h"
#include "replay_rewrite.h"

namespace tcpscribe {

struct ReplayOptions {
  std::vector<std::string> logs;      ///< netrecord logs (positional, without -r)
  std::vector<std::string> captures;  ///< -r FILE ...
  std::string filter;                 ///< with -r: the positional words, joined
  std::string target;                 ///< HOST:PORT as given
  std::string target_host;
  uint16_t target_port = 0;
  Timing timing = Timing::kConversational;
  double speed = 1.0;
  double response_timeout = 2.0;      ///< seconds
  double connect_timeout = 3.0;       ///< seconds
  /// Conversational pacing: an answer shorter than recorded counts as
  /// complete once the target, having sent some of it, is quiet this long.
  double settle = 0.2;                ///< seconds; 0: wait for every recorded byte
  std::vector<ReplaceRule> replace;
  bool compare = false;
  std::vector<std::string> ignore;
  std::string record_root;
  unsigned repeat = 1;
  size_t concurrency = 0;             ///< 0: no limit
  bool timing_report = false;
  bool realtime = false;
  std::string json_path;              ///< --json FILE ('-': stdout)
  bool verbose = false;
  bool show_help = false;
};

/// Parses `replay ...` (argv[0] is "replay"). Returns 0 with `opt` filled,
/// or 1 after printing one line to `err`.
int parse_replay_options(int argc, char** argv, ReplayOptions& opt, std::ostream& err);
void print_replay_help(std::ostream& out);

}  // namespace tcpscribe
