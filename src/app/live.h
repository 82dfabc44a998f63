// Live capture: a capture thread takes packets from libpcap and hands them,
// in batches through a bounded queue, to the reassembling thread, so a slow
// disk or terminal never keeps the kernel's ring from being drained.
#pragma once

#include "options.h"

namespace tcpscribe {

/// Captures on opt.interface until SIGINT/SIGTERM (a second one exits at
/// once), then finishes every connection and prints tcpdump-style
/// statistics. Returns an ExitCode.
int run_live(const Options& opt);

}  // namespace tcpscribe
