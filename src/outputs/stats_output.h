// --stats (the panel on standard error's terminal) and --stats-json FILE
// (one JSON line per interval): a StatsBoard sampled every interval, its
// snapshot drawn and written. The proxy and the passive live capture own
// one each and call it from their loops; it never reads a clock itself
// (tests give the times).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "color.h"
#include "stats_panel.h"
#include "stats_terminal.h"

namespace tcpscribe {

struct StatsOutputOptions {
  bool panel = false;          ///< --stats
  std::string json_path;       ///< --stats-json FILE ("-": standard output)
  double interval = 1.0;       ///< --stats-interval SECONDS
  ColorMode color = ColorMode::kAuto;
  std::string title;           ///< the panel's first words ("tcpscribe proxy")
  /// The console's log lines go to standard output: the panel shares the
  /// terminal with them when that is standard error's terminal too.
  bool log_on_stdout = true;
};

class StatsOutput {
 public:
  /// `start`: wall-clock epoch ns of time zero.
  StatsOutput(StatsOutputOptions o, Timestamp start);
  ~StatsOutput();
  StatsOutput(const StatsOutput&) = delete;
  StatsOutput& operator=(const StatsOutput&) = delete;

  /// Opens the JSON file (one line and kExitOutput when it cannot be
  /// created) and, for --stats, takes the terminal: says once, on standard
  /// error, when that is no terminal (no panel then).
  int open();
  /// Frames go through `w` instead of being written at once (the proxy
  /// hands them to a writer thread: a paused terminal never blocks it).
  void set_frame_writer(std::function<void(std::string)> w) { frame_writer_ = std::move(w); }
  /// Tests: the terminal's size and whether the log shares it.
  void use_terminal(size_t rows, size_t cols, bool shares, bool color);

  bool enabled() const { return panel_on_ || json_ != nullptr; }
  /// Seconds between samples.
  double interval() const { return opt_.interval; }

  void closed(StatsClosed c) { board_.closed(std::move(c)); }
  /// One sample at `now` (wall clock): a frame, a JSON line.
  void sample(Timestamp now, std::vector<StatsOpen> open);
  /// The last sample: every closed session is in a JSON line.
  void finish(Timestamp now, std::vector<StatsOpen> open);
  /// The whole screen scrolls again (idempotent; the destructor calls
  /// it). With a frame writer, call it once that has written its frames.
  void restore_terminal();
  /// Why --stats-json failed, empty while it works.
  const std::string& failure() const { return failure_; }

 private:
  void draw(const StatsSnapshot& s);
  void write_terminal(const std::string& s);  // a frame
  void write_now(const std::string& s);       // set-up and restore: at once
  bool measure();  // the terminal's size now; false when it is unknown

  StatsOutputOptions opt_;
  StatsBoard board_;
  std::FILE* json_ = nullptr;
  bool json_owned_ = false;
  std::string failure_;
  bool panel_on_ = false;
  bool fixed_size_ = false;  // use_terminal(): tests
  bool shares_ = false;
  bool color_ = false;
  bool taken_ = false;       // the scroll region is set
  PanelLayout layout_;
  std::function<void(std::string)> frame_writer_;
};

/// Async-signal-safe: gives the terminal back if a panel holds it (the
/// passive capture's last-resort exits on repeated Ctrl-C call it).
void stats_terminal_emergency_restore();
/// Async-signal-safe: as stats_terminal_emergency_restore(), and the
/// panel's next frame sets it up again (a stop, Ctrl-Z, and SIGCONT: the
/// panel installs the SIGTSTP handler that calls it).
void stats_terminal_suspend();

}  // namespace tcpscribe
