// A one-line progress display on stderr, only when stderr is a terminal.
//
// Everything else written to the terminal meanwhile (console chunks, "!!"
// findings, warnings) first calls progress_clear_line(), so the line never
// ends up in the middle of other output; it is drawn again at the next
// update.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace tcpscribe {

class Progress {
 public:
  /// Draws on stderr when `wanted` (-q turns it off) and stderr is a
  /// terminal.
  explicit Progress(bool wanted);
  /// Draws on `out` when `tty`; `stdout_tty` says whether standard output
  /// shares the terminal (for tests).
  Progress(std::FILE* out, bool tty, bool stdout_tty, std::chrono::milliseconds interval);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  /// Redraws at most every interval (200 ms). `total` 0 means the size is
  /// unknown.
  void update(const std::string& name, uint64_t done, uint64_t total,
              uint64_t packets, uint64_t flows);
  /// The same throttled redraw with a line of the caller's own (replay's
  /// "3/10 connections done, 12 MB sent, 40 MB received").
  void line(const std::string& text);
  /// Erases the line.
  void clear();
  /// Other output is about to be written: erases the line. `next` is that
  /// output when it goes to standard output (nothing to erase unless that is
  /// the terminal too; a line it leaves open is not drawn over).
  void before_output(std::string_view next, bool to_stdout);

 private:
  std::FILE* out_;
  bool enabled_ = false;
  bool stdout_tty_ = false;
  bool drawn_ = false;
  /// Standard output's last line on the terminal is unfinished: drawing
  /// would wipe it.
  bool stdout_open_line_ = false;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_{};
  bool ever_drawn_ = false;
};

/// Erases the progress line, if one is drawn, before a line of other output
/// (a warning, a "!!" finding) goes to the terminal.
void progress_clear_line();
/// The same before console output `text` goes to standard output.
void progress_clear_line(std::string_view text);
/// True when `text` leaves the cursor at the start of a line: it ends with
/// a newline, color codes after it aside.
bool ends_line(std::string_view text);

}  // namespace tcpscribe
