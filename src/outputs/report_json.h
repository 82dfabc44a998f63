// --report FILE: one JSON object per connection (JSON Lines), written and
// flushed as each connection ends, so a live run's report is usable at once.
// The keys are documented in man/tcpscribe.1 (REPORT FORMAT) and stay
// stable for scripts.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tcpscribe/sink.h"

namespace tcpscribe {

/// `s` as a JSON string literal, quotes included. Bytes that are not valid
/// UTF-8 become U+FFFD, so the output is always valid JSON.
std::string json_quote(std::string_view s);

/// Capture time as seconds with 6 decimals ("1700000000.123456").
std::string json_seconds(Timestamp t);
/// json_seconds(t) appended to `out`.
void append_json_seconds(std::string& out, Timestamp t);

/// What a run's connection lines do not show: packets skipped by reason,
/// IP fragment problems, caps that acted, drops before tcpscribe. The
/// passive modes (-r, -i) end the report with it, one line {"run":{...}}.
struct RunTotals {
  uint64_t packets = 0;
  uint64_t tcp_segments = 0;
  uint64_t connections = 0;
  uint64_t late_packets = 0;  ///< later than the reorder window could put back
  // Packets skipped, by reason (decode.h's DecodeStats).
  uint64_t not_ip = 0;
  uint64_t not_tcp = 0;
  uint64_t truncated = 0;
  uint64_t malformed = 0;
  uint64_t unknown_link_type = 0;
  // IP fragments (ip_fragments.h's FragmentStats).
  uint64_t fragments = 0;
  uint64_t fragments_cut = 0;          ///< cut by the snapshot length: unusable
  uint64_t datagrams_rebuilt = 0;
  uint64_t datagrams_timed_out = 0;
  uint64_t datagrams_evicted = 0;      ///< by the fragment caps
  uint64_t datagrams_incomplete = 0;   ///< still missing bytes when the input ended
  uint64_t fragment_conflicts = 0;     ///< overlaps whose bytes differed (first kept)
  uint64_t fragments_malformed = 0;
  // Caps and guards of the flow table (flow_table.h's FlowTableStats).
  uint64_t connections_evicted = 0;    ///< at --max-flows
  uint64_t evicted_continued = 0;
  uint64_t tuple_records_dropped = 0;
  uint64_t holes_flushed = 0;          ///< holes declared lost by a full buffer
  uint64_t out_of_window = 0;          ///< segments left out (a sequence jump)
  uint64_t late_segments = 0;          ///< after their connection's close delay
  int64_t kernel_drops = -1;           ///< live capture; -1: unknown (files)
  int64_t interface_drops = -1;
};

class JsonReportSink : public Sink {
 public:
  /// Opens `path` for writing ("-": standard output). On failure error()
  /// says why and every event is ignored.
  explicit JsonReportSink(const std::string& path);
  ~JsonReportSink() override;
  JsonReportSink(const JsonReportSink&) = delete;
  JsonReportSink& operator=(const JsonReportSink&) = delete;

  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>,
               Timestamp) override {}
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;

  /// A JSON object an analyzer knows about connection `id` (key "tls"),
  /// added to its line at its close.
  void add_info(uint64_t id, const std::string& key, const std::string& json) {
    if (out_) infos_[id].emplace_back(key, json);
  }

  /// One application exchange of connection `id` (analyzer.h's
  /// ExchangeRecord), counted per protocol for its line's "exchanges":
  /// {"redis":{"count":N,"errors":E,"slow":S}}; `error`: the answer was an
  /// error reply; `slow`: answered later than --slow.
  void add_exchange(uint64_t id, const std::string& proto, bool error, bool slow);

  /// The first error ("cannot write report.jsonl: No space left on device"),
  /// empty while all is well.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::string failure() const override { return error_; }

  /// Findings listed per connection; the rest become one finding per kind
  /// that counts them ("N more KIND findings not listed").
  static constexpr size_t kMaxFindings = 1000;

  /// The line written for a connection (without the newline).
  static std::string format(const Connection& c, CloseReason why,
                            const std::vector<Finding>& findings);
  /// The run line (without the newline).
  static std::string format_run(const RunTotals& t);
  /// finish() asks `totals` for the run line's numbers and writes it last
  /// (never called: no run line, as for the proxy).
  void set_run_totals(std::function<RunTotals()> totals) { run_totals_ = std::move(totals); }
  /// --flat-records: every line written flat (json_flat.h), the run line too.
  void set_flat(bool flat) { flat_ = flat; }

 private:
  void fail(const char* what);

  std::string path_;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string error_;
  bool flat_ = false;
  /// Findings of open connections, until their on_close: the first
  /// kMaxFindings, then per kind the first of the rest with a count (a
  /// hostile capture can make one per segment: a million, 450 MB held).
  struct Held {
    std::vector<Finding> list;
    std::vector<std::pair<Finding, uint64_t>> more;
  };
  std::unordered_map<uint64_t, Held> findings_;
  std::function<RunTotals()> run_totals_;
  std::unordered_map<uint64_t, std::vector<std::pair<std::string, std::string>>> infos_;
  struct ExchangeCounts {
    std::string proto;
    uint64_t count = 0;
    uint64_t errors = 0;
    uint64_t slow = 0;
  };
  std::unordered_map<uint64_t, std::vector<ExchangeCounts>> exchanges_;
};

const char* finding_kind_name(Finding::Kind k);

}  // namespace tcpscribe
