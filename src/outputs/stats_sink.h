// --stats in passive live capture: the flow table's connections as the
// stats panel's sessions. A sink like the others: it counts each open
// connection's delivered bytes from on_data, its state from on_shutdown,
// and hands the connection to the StatsOutput when it closes.
#pragma once

#include <unordered_map>
#include <vector>

#include "stats_output.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

class StatsSink : public Sink {
 public:
  explicit StatsSink(StatsOutput& out) : out_(out) {}

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;

  /// The open connections now, for StatsOutput::sample().
  std::vector<StatsOpen> open_sessions() const;

 private:
  struct Entry {
    StatsOpen s;
    bool ended[2] = {false, false};
    bool reset[2] = {false, false};
  };
  Entry& entry(const Connection& c);

  StatsOutput& out_;
  std::unordered_map<uint64_t, Entry> open_;
};

}  // namespace tcpscribe
