// The exit status of every mode, in one place (the man page's EXIT STATUS
// lists the same). A number means the same thing in every mode.
#pragma once

namespace tcpscribe {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 1,    ///< bad flag or argument, or a refused combination
  kExitInput = 2,    ///< an input (capture, netrecord log, TLS key log; the proxy's
                     ///< TLS certificate, key or CA file) could not be read or is damaged
  kExitOutput = 3,   ///< an output (flow files, reports, logs, --record) could not be written
  kExitStart = 4,    ///< could not start or reach: live capture (permission, interface),
                     ///< proxy listen/upstream, replay target or a replayed connection
  kExitDiffers = 5,  ///< replay --compare: an answer differed from the recording
};

/// The passive modes' name for kExitStart: a live capture could not start.
inline constexpr ExitCode kExitCapture = kExitStart;

}  // namespace tcpscribe
