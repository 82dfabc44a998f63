// tcpscribe: parse options -> pick the mode -> run it -> exit code.
#include <cstring>
#include <iostream>

#include "diag.h"
#include "live.h"
#include "offline.h"
#include "options.h"
#include "progress.h"
#include "proxy.h"
#include "replay.h"

int main(int argc, char** argv) {
  // Every diagnostic line first erases a progress line on the terminal.
  tcpscribe::diag::set_before_print([] { tcpscribe::progress_clear_line(); });
  if (argc > 1 && std::strcmp(argv[1], "proxy") == 0) {
    return tcpscribe::run_proxy(argc - 1, argv + 1);
  }
  if (argc > 1 && std::strcmp(argv[1], "replay") == 0) {
    return tcpscribe::run_replay(argc - 1, argv + 1);
  }
  tcpscribe::Options opt;
  if (const int rc = tcpscribe::parse_options(argc, argv, opt, std::cerr); rc != 0) {
    return rc;
  }
  if (opt.show_help) {
    tcpscribe::print_help(std::cout);
    return tcpscribe::kExitOk;
  }
  if (opt.show_version) {
    tcpscribe::print_version(std::cout);
    return tcpscribe::kExitOk;
  }
  if (opt.live) return tcpscribe::run_live(opt);
  return tcpscribe::run_offline(opt);
}
