// Reading capture files: the passive pipeline for -r/-R.
#pragma once

#include "options.h"

namespace tcpscribe {

/// Runs capture files -> decode -> flow table -> sinks. Returns an ExitCode.
int run_offline(const Options& opt);

}  // namespace tcpscribe
