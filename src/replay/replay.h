// `tcpscribe replay`: drives recorded conversations (netrecord logs, or the
// connections of capture files) against a live target, paced like the
// recording, optionally rewriting the client's bytes and checking the
// target's answers against the recorded ones.
//
//   inputs -> conversations -> plans (pacing, --replace) -> engine (epoll)
//          -> per-connection results (--compare, --record) -> exit status
#pragma once

namespace tcpscribe {

/// Exit status of `tcpscribe replay`.
enum ReplayExit {
  kReplayOk = 0,
  kReplayUsage = 1,         ///< bad options
  kReplayBadInput = 2,      ///< an input could not be read: nothing was replayed
  kReplayRecordFailed = 3,  ///< --record logs could not be written
  kReplayConnFailed = 4,    ///< the target could not be resolved, or a connection failed
  kReplayDiffers = 5,       ///< --compare: some answer differed from the recording
};

/// Entry point of `tcpscribe replay ...` (argv[0] is "replay").
int run_replay(int argc, char** argv);

}  // namespace tcpscribe
