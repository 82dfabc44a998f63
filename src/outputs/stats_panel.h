// --stats and --stats-json: how many sessions are open, how many bytes
// each one moved each way and how fast, sampled about once a second.
//
// The owner of the sessions (the proxy's event loop, or the passive live
// capture through StatsSink) hands a StatsBoard the open sessions' counters
// at each sample and every session that ends; the board works out the
// rates (bytes since the previous sample over the time since it) and the
// totals. What a sample shows is drawn by render_stats_panel() (the
// terminal panel, stats_terminal.h) and stats_json_line() (one JSON object
// a line, for scripts). All of it is plain functions of the snapshot, so
// the tests give a snapshot and a size and compare the exact lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// One open session as its owner counts it. Times are wall-clock
/// nanoseconds since the epoch, like the sample times.
struct StatsOpen {
  uint64_t id = 0;
  std::string client;          ///< "127.0.0.1:50312"
  Timestamp opened = 0;
  uint64_t bytes[2] = {0, 0};  ///< by Dir: client -> server, server -> client
  std::string state;           ///< "connecting", "open", "fin C->S", ...
};

/// A session that ended, with its final counts.
struct StatsClosed {
  uint64_t id = 0;
  std::string client;
  Timestamp opened = 0;
  Timestamp closed = 0;
  uint64_t bytes[2] = {0, 0};
  std::string reason;          ///< "fin", "rst", "idle timeout", ...
};

/// An open session at a sample.
struct StatsRow {
  StatsOpen session;
  double age = 0;              ///< seconds since it opened
  double rate[2] = {0, 0};     ///< bytes per second since the previous sample
};

struct StatsSnapshot {
  Timestamp now = 0;
  double uptime = 0;           ///< seconds since the board started
  uint64_t open = 0;
  uint64_t closed = 0;
  uint64_t bytes[2] = {0, 0};  ///< every session's bytes, open and closed
  double rate[2] = {0, 0};     ///< all sessions together
  std::vector<StatsRow> rows;  ///< the open sessions, by id
  /// The last sessions that closed, newest first (at most kRecentClosed).
  std::vector<StatsClosed> recent;
  /// The sessions that closed since the previous sample (each session is
  /// in exactly one sample's list: a script adding them up misses none).
  std::vector<StatsClosed> closed_now;
};

class StatsBoard {
 public:
  static constexpr size_t kRecentClosed = 3;
  explicit StatsBoard(Timestamp start) : start_(start), last_(start) {}

  /// A session ended (its bytes stay in the totals).
  void closed(StatsClosed c);
  /// The snapshot at `now`, given every open session.
  StatsSnapshot sample(Timestamp now, std::vector<StatsOpen> open);

 private:
  struct Seen {
    uint64_t bytes[2];
  };
  Timestamp start_;
  Timestamp last_;  // the previous sample
  std::unordered_map<uint64_t, Seen> seen_;  // each open session's bytes at it
  uint64_t closed_count_ = 0;
  uint64_t closed_bytes_[2] = {0, 0};
  uint64_t last_total_[2] = {0, 0};
  std::deque<StatsClosed> recent_;
  std::vector<StatsClosed> closed_now_;
};

/// "open", "fin C->S", "rst S->C", "fin both": a session's state from
/// which directions ended (by Dir) and whether with a reset.
std::string stats_state(const bool ended[2], const bool reset[2]);

/// "1234", "123.4k", "56.7M", "8.9G": exact below 100000, then one decimal
/// (powers of 1000).
std::string stats_bytes_text(double n);
/// "12.3s", "4m05s", "2h07m".
std::string stats_age_text(double seconds);

/// The panel: exactly `rows` lines, none wider than `cols` columns (SGR
/// sequences aside, when `color`). The totals line first, then the
/// recently closed sessions, the column heads and one row per open
/// session; rows that do not fit become one "+N more" line; the last line
/// is a rule that separates the panel from what scrolls below it.
/// `title` starts the totals line ("tcpscribe proxy").
std::vector<std::string> render_stats_panel(const StatsSnapshot& s, const std::string& title,
                                            size_t rows, size_t cols, bool color);

/// The snapshot as one JSON object and a newline (README: --stats-json).
std::string stats_json_line(const StatsSnapshot& s);

}  // namespace tcpscribe
