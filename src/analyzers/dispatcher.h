// Chooses a protocol analyzer for each connection (Zeek's dynamic protocol
// detection, Suricata's app-layer probing) and hands it the connection's
// events.
//
// A connection's state is created at its first event after on_open, so
// connections that never carry data cost nothing here.
//
// Until a choice is made, the dispatcher holds each direction's first bytes
// (at most kProbeBytes per direction) and asks every candidate's probe
// about them, port-hinted candidates first:
//   - a probe that says yes on a direction seen from its start chooses its
//     analyzer; a no rules that analyzer out (so a non-HTTP service on
//     port 80 is not parsed as HTTP), and when all are ruled out no
//     analyzer gets the connection;
//   - a direction whose start the capture lacks (picked up midstream, or a
//     gap first) is searched at every line start, and a no there proves
//     nothing;
//   - when probing cannot go on (both directions done, a shutdown, the
//     close, a hole, the byte cap) the first candidate not ruled out whose
//     port hint matches the server port is chosen, else none.
// The chosen analyzer then gets on_open and the held events in order, and
// every later event directly. Analyzers stack: an analyzer that uncovers
// an inner stream feeds a dispatcher of its own.
//
// With a view (the console of --decode), the view gets every event of the
// connections no analyzer claims (their bytes, after the choice), and the
// findings, shutdowns and closes of all, in order.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer.h"

namespace tcpscribe {

class AnalyzerDispatcher final : public Sink {
 public:
  static constexpr size_t kProbeBytes = 4096;

  AnalyzerDispatcher(std::vector<const AnalyzerInfo*> enabled, const AnalyzerSettings& s,
                     Sink* view = nullptr);
  ~AnalyzerDispatcher() override;
  AnalyzerDispatcher(const AnalyzerDispatcher&) = delete;
  AnalyzerDispatcher& operator=(const AnalyzerDispatcher&) = delete;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  std::string failure() const override;

  /// The key log gained secrets: tells every analyzer.
  void secrets_added();
  /// Chooses the analyzer called `name` for `c` without probing (an outer
  /// layer knows: TLS's ALPN), when it is enabled here and `c` has had no
  /// event yet. False otherwise (probing decides).
  bool choose_by_name(const Connection& c, const std::string& name);

  /// Asks the analyzer of `c` (see ProtocolAnalyzer::tells).
  bool tells(const Connection& c, const Finding& f) const;
  /// The name of the analyzer that has connection `id`; null while probing
  /// or when none claimed it (or after its close).
  const char* chosen(uint64_t id) const;

  struct Stats {
    uint64_t claimed = 0;    ///< connections given to an analyzer
    uint64_t unclaimed = 0;  ///< connections no analyzer recognised
  };
  const Stats& stats() const { return stats_; }
  /// Connections with state here: created at a connection's first data,
  /// gap, shutdown or finding, not at its open.
  size_t states() const { return conns_.size(); }

 private:
  struct Held;
  struct State;
  static constexpr int kProbing = -1;
  static constexpr int kNone = -2;

  State& state_for(const Connection& c);
  void probe(const Connection& c, State& st, Dir d);
  /// Ends probing: the port hint decides among those not ruled out.
  void settle(const Connection& c, State& st);
  void choose(const Connection& c, State& st, int slot);
  /// The candidates in the order they are asked for connection `c`.
  void order_for(const Connection& c, State& st) const;

  struct Slot {
    const AnalyzerInfo* info;
    std::unique_ptr<ProtocolAnalyzer> analyzer;
  };
  std::vector<Slot> slots_;
  Sink* view_;
  std::unordered_map<uint64_t, std::unique_ptr<State>> conns_;
  Stats stats_;
};

}  // namespace tcpscribe
