// Findings as one "!!" line each, the moment they happen.
//
// A capture cut by a small snapshot length has a gap in nearly every
// packet; a few lines per connection say it, a count at the close says
// the rest.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>

#include "tcpscribe/sink.h"

namespace tcpscribe {

class FindingsPrinter {
 public:
  /// `color`: the line takes the color of the direction it concerns.
  /// `print_routine`: also Finding::routine ones (-v).
  FindingsPrinter(std::string name_template, bool color, bool print_gaps,
                  bool print_routine = false)
      : template_(std::move(name_template)), color_(color), print_gaps_(print_gaps),
        print_routine_(print_routine) {}

  /// Tells whether another finding tells the story of `f` better.
  using Filter = std::function<bool(const Connection&, const Finding&)>;

  /// The line for `f`, or "" when it is not printed (not an alarm, told
  /// better by another line, beyond the gap limit).
  std::string line(const Connection& c, const Finding& f);
  /// At close: the summary of gap, out-of-window and conflict lines left
  /// out (one line each), or "".
  std::string close_line(const Connection& c);

  /// Lines per connection for each of the kinds a hostile or damaged
  /// capture can repeat per segment (gaps, out-of-window segments,
  /// conflicting overlaps); the rest are counted at the close.
  static constexpr int kGapLinesPerConnection = 5;

  /// With HTTP analysis, its line about the same bytes replaces the TCP one.
  void set_told_elsewhere(Filter f) { told_elsewhere_ = std::move(f); }

 private:
  std::string prefix(const Connection& c, Dir d) const;

  std::string template_;
  bool color_;
  bool print_gaps_;
  Filter told_elsewhere_;
  bool print_routine_;
  struct Counts {
    uint64_t gaps = 0;
    uint64_t out_of_window = 0;
    uint64_t conflicts = 0;
  };
  std::unordered_map<uint64_t, Counts> counts_;  // per connection
};

/// Prints findings to a stream of their own (stderr when flows go to files).
class FindingsSink : public Sink {
 public:
  FindingsSink(std::string name_template, bool color, std::FILE* out,
               bool print_routine = false)
      : printer_(std::move(name_template), color, true, print_routine), out_(out) {}
  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {}
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason) override;
  void set_told_elsewhere(FindingsPrinter::Filter f) { printer_.set_told_elsewhere(std::move(f)); }

 private:
  FindingsPrinter printer_;
  std::FILE* out_;
};

}  // namespace tcpscribe
