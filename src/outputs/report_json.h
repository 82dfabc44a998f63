// --report FILE: one JSON object per connection (JSON Lines), written and
// flushed as each connection ends, so a live run's report is usable at once.
// The keys are documented in man/tcpscribe.1 (REPORT FORMAT) and stay
// stable for scripts.
#pragma once

#include <cstdio>
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

  /// The first error ("cannot write report.jsonl: No space left on device"),
  /// empty while all is well.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::string failure() const override { return error_; }

  /// The line written for a connection (without the newline).
  static std::string format(const Connection& c, CloseReason why,
                            const std::vector<Finding>& findings);

 private:
  void fail(const char* what);

  std::string path_;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string error_;
  /// Findings of open connections, until their on_close.
  std::unordered_map<uint64_t, std::vector<Finding>> findings_;
};

const char* finding_kind_name(Finding::Kind k);

}  // namespace tcpscribe
