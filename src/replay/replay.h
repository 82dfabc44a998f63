// `tcpscribe replay`: drives recorded conversations (netrecord logs, or the
// connections of capture files) against a live target, paced like the
// recording, optionally rewriting the client's bytes and checking the
// target's answers against the recorded ones.
//
//   inputs -> conversations -> plans (pacing, --replace) -> engine (epoll)
//          -> per-connection results (--compare, --record) -> exit status
#pragma once

#include "exit_codes.h"

namespace tcpscribe {

/// Entry point of `tcpscribe replay ...` (argv[0] is "replay"). Returns an
/// ExitCode: 0 ok, 1 usage, 2 an input could not be read (nothing was
/// replayed), 3 --record/--json could not be written, 4 the target could not
/// be resolved or a connection failed, 5 --compare found a difference.
int run_replay(int argc, char** argv);

}  // namespace tcpscribe
