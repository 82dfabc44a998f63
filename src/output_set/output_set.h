// Every output of a run, as one set: built from an OutputConfig (which the
// passive modes and the proxy each fill from their options), owning the
// sinks in the order they see events, with the protocol analyzers (behind
// their dispatcher) in front so that their findings reach the others
// before their on_close. Opening, finishing and the failure checks are
// loops over the set; adding an output is one class plus one entry in
// OutputSet::open().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer.h"
#include "byte_region.h"
#include "color.h"
#include "sink_console.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct DropPlan;
class AnalyzerDispatcher;
class DfxmlReportSink;
class FileSink;
class FindingsSink;
class HarWriter;
class HtmlReport;
class InnerFilesSink;
class JsonReportSink;
class MessagesWriter;
class NetrecordSink;
class RedactRules;
class RedactSink;

struct OutputConfig {
  /// -c: the conversation on stdout (console.* apply); else flow files
  /// into `outdir` unless `files` is false.
  bool console = false;
  ConsoleOptions console_options;
  bool files = false;
  std::string outdir = ".";
  std::string name_template;
  bool strip_nonprint = false;
  size_t max_fds = 0;
  bool write_index = false;
  size_t writer_threads = 2;
  int writer_nice = 0;
  size_t file_buffer_mib = 16;  ///< flow-file bytes gathered in memory in all
  const CurrentRegion* current = nullptr;  ///< payloads by reference (capture)
  bool quiet = false;
  int verbose = 0;
  ColorMode color = ColorMode::kAuto;
  /// Findings on stderr when the flows do not go to the console.
  bool findings_on_stderr = true;

  std::string netrecord_root;
  std::optional<Timestamp> netrecord_start;  ///< time zero of the logs
  size_t netrecord_max_files = 0;            ///< 0: the sink's default
  std::string report_path;
  std::string dfxml_path;
  std::string command_line;                  ///< for the DFXML report
  std::string html_path;
  std::vector<std::string> html_sources;     ///< names in the HTML header
  std::string har_path;
  std::string messages_path;                 ///< --messages
  bool flat_records = false;                 ///< --flat-records: --report and --messages flat
  bool decode = false;                       ///< --decode (with console)
  /// --slow: a finding for every exchange answered later than this (ns);
  /// 0: off. Runs every analyzer unless `analyzers` names some.
  Timestamp slow = 0;
  /// -e: analyzers asked for by name; outputs that need analyzers add them
  /// (--har: http; --messages and --decode: every analyzer).
  std::vector<std::string> analyzers;
  bool keep_encoded = false;                 ///< -Z
  /// TLS: the analyzer "tls" is on (a key log, --report) besides -e.
  bool tls = false;
  const TlsKeyLog* tls_keylog = nullptr;     ///< the secrets; null: none
  bool tls_hold_for_keys = false;            ///< live: records wait for late keys
  /// --redact: every sink (the analyzers first) sees the bytes through a
  /// RedactSink (redact_sink.h); null or empty: as they are.
  const RedactRules* redact = nullptr;
};

class OutputSet final : private AnalyzerOutput {
 public:
  explicit OutputSet(OutputConfig c);
  ~OutputSet() override;
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// Creates the output directory and opens every output, so a path that
  /// cannot be written stops the run before anything is read. Prints one
  /// line and returns an ExitCode on failure.
  int open();
  /// The sinks, in the order they get each event.
  const std::vector<Sink*>& sinks() const { return front_; }
  /// Outputs that draw packets (the HTML timeline, -X).
  std::vector<SegmentObserver*> observers() const;
  /// Calls finish() on every sink (the flow table does it itself).
  void finish_sinks();
  /// An output whose failure ends the reading early has failed.
  bool stopped() const;
  /// After the sinks finished: warns, names every failed output, and
  /// returns the worse of `status` and kExitOutput if one failed.
  int finish(int status);

  /// -U/-z: what must stay writable after the switch.
  void add_to_drop_plan(DropPlan& plan) const;
  /// Buffered flow file data to the writers (live, while idle).
  void flush_pending();
  uint64_t files_written() const;
  HtmlReport* html() const { return html_.get(); }
  /// The --report sink, null without one.
  JsonReportSink* report() const { return report_.get(); }
  /// Only the netrecord log needs the bytes (the proxy may splice).
  bool only_netrecord() const;
  /// The netrecord log sink, null without one (the proxy names its logs
  /// and reports their errors as they happen).
  NetrecordSink* netrecord() const { return netrecord_.get(); }
  /// --redact's sink in front of the others, null without --redact.
  RedactSink* redactor() const { return redact_.get(); }
  /// The analyzer that has connection `id`: null while probing, when none
  /// claimed it, or without analyzers (the proxy's --decode view).
  const char* analyzer_of(uint64_t id) const;
  /// The key log gained secrets: the analyzers try the records waiting.
  void secrets_added();
  /// --decode without the console (the proxy): messages go here.
  void set_message_view(std::function<void(const Connection&, const DecodedMessage&)> f) {
    message_view_ = std::move(f);
  }

 private:
  struct Entry {
    Sink* sink;
    bool stops_reading;  // a failure ends the reading early
  };
  void add(Sink* s, bool stops_reading);
  int open_outdir();
  int open_streams();
  int open_reports();
  int open_analyzers();

  void finding(const Connection& c, const Finding& f) override;
  void exchange(const Connection& c, const ExchangeRecord& r) override;
  /// Records are built for --messages, --report's per-protocol counts,
  /// --html's marks and --slow's findings; not otherwise (they cost).
  bool wants_exchanges() const override {
    return messages_ != nullptr || report_ != nullptr || html_ != nullptr || cfg_.slow > 0;
  }
  /// --report alone counts them: the protocol's own fields are not used.
  bool wants_exchange_fields() const override {
    return messages_ != nullptr || html_ != nullptr || cfg_.slow > 0;
  }
  void message(const Connection& c, const DecodedMessage& m) override;
  void http_transaction(const HttpTransaction& t) override;
  void inner_open(const Connection& c, const char* layer) override;
  void inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                  std::span<const uint8_t> bytes, Timestamp ts) override;
  void inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset,
                 uint64_t length, Timestamp ts) override;
  void connection_info(const Connection& c, const std::string& key,
                       const std::string& json) override;

  OutputConfig cfg_;
  int outdir_fd_ = -1;
  bool created_outdir_ = false;
  std::unique_ptr<FileSink> files_;
  std::unique_ptr<InnerFilesSink> inner_files_;  // FLOW-TLS beside the flow files
  std::unique_ptr<ConsoleSink> console_;
  std::unique_ptr<FindingsSink> findings_;
  std::unique_ptr<NetrecordSink> netrecord_;
  std::unique_ptr<JsonReportSink> report_;
  std::unique_ptr<DfxmlReportSink> dfxml_;
  std::unique_ptr<HtmlReport> html_;
  std::unique_ptr<HarWriter> har_;
  std::unique_ptr<MessagesWriter> messages_;
  std::unique_ptr<AnalyzerDispatcher> dispatcher_;
  std::unique_ptr<RedactSink> redact_;
  std::function<void(const Connection&, const DecodedMessage&)> message_view_;
  std::vector<Sink*> sinks_;
  std::vector<Sink*> front_;  // what sinks() gives: sinks_, or --redact's sink before them
  std::vector<Entry> entries_;
};

}  // namespace tcpscribe
