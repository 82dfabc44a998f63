#include "output_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "diag.h"
#include "dispatcher.h"
#include "exchange_text.h"
#include "exit_codes.h"
#include "findings_printer.h"
#include "har.h"
#include "http.h"
#include "messages_writer.h"
#include "privileges.h"
#include "redact_sink.h"
#include "report_dfxml.h"
#include "report_html.h"
#include "report_json.h"
#include "sink_files.h"
#include "sink_inner_files.h"
#include "sink_netrecord.h"

namespace tcpscribe {
namespace {

/// mkdir -p and open the directory; one clear line on failure.
int make_outdir(const std::string& dir, bool& created, std::string& error) {
  created = false;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    const std::string path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (mkdir(path.c_str(), 0755) == 0) {
      created = pos == std::string::npos || pos + 1 >= dir.size();
    } else if (errno != EEXIST) {
      error = "cannot create output directory " + path + ": " + std::strerror(errno);
      return -1;
    }
  }
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open output directory " + dir + ": " + std::strerror(errno);
    return -1;
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    error = "cannot write into output directory " + dir + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

OutputSet::OutputSet(OutputConfig c) : cfg_(std::move(c)) {}

OutputSet::~OutputSet() {
  dispatcher_.reset();  // its analyzers hold pointers to the outputs
  if (outdir_fd_ >= 0) close(outdir_fd_);
}

void OutputSet::add(Sink* s, bool stops_reading) {
  sinks_.push_back(s);
  entries_.push_back({s, stops_reading});
}

int OutputSet::open() {
  if (cfg_.files && !cfg_.console) {
    std::string error;
    outdir_fd_ = make_outdir(cfg_.outdir, created_outdir_, error);
    if (outdir_fd_ < 0) {
      diag::error(error);
      return kExitOutput;
    }
  }
  // The outputs in the order their sinks see the events; then the
  // analyzers in front of them all.
  if (const int rc = open_streams(); rc != kExitOk) return rc;
  if (const int rc = open_reports(); rc != kExitOk) return rc;
  if (const int rc = open_analyzers(); rc != kExitOk) return rc;
  // --redact: one sink in front of them all, so the analyzers (and what
  // they derive: messages, HAR, HTML marks) see the same blanked bytes as
  // the files, the console and the logs.
  if (cfg_.redact && !cfg_.redact->empty()) {
    redact_ = std::make_unique<RedactSink>(*cfg_.redact, sinks_);
    front_ = {redact_.get()};
  } else {
    front_ = sinks_;
  }
  return kExitOk;
}

/// The bytes themselves: the console (-c) or the flow files, and the
/// findings on stderr when the flows go to files.
int OutputSet::open_streams() {
  if (cfg_.console) {
    console_ = std::make_unique<ConsoleSink>(cfg_.console_options, stdout);
    // With --decode the console is the dispatcher's view (dispatcher.h),
    // not a sink of its own.
    if (!cfg_.decode) add(console_.get(), true);
  } else if (outdir_fd_ >= 0) {
    FileSinkOptions fo;
    fo.outdir = cfg_.outdir;
    fo.outdir_fd = outdir_fd_;
    fo.name_template = cfg_.name_template;
    fo.strip_nonprint = cfg_.strip_nonprint;
    fo.max_fds = cfg_.max_fds;
    fo.write_index = cfg_.write_index;
    fo.writer_threads = cfg_.writer_threads;
    fo.writer_nice = cfg_.writer_nice;
    fo.pending_budget = cfg_.file_buffer_mib << 20;
    fo.current = cfg_.current;
    files_ = std::make_unique<FileSink>(fo);
    add(files_.get(), true);
    if (cfg_.tls_keylog) {
      inner_files_ = std::make_unique<InnerFilesSink>(outdir_fd_, cfg_.name_template,
                                                      cfg_.max_fds ? cfg_.max_fds / 4 + 1 : 64);
      add(inner_files_.get(), true);
    }
  }
  if (!cfg_.console && !cfg_.quiet && cfg_.findings_on_stderr) {
    findings_ = std::make_unique<FindingsSink>(cfg_.name_template,
                                               color_enabled(cfg_.color, STDERR_FILENO), stderr,
                                               cfg_.verbose > 0);
    add(findings_.get(), false);
  }
  return kExitOk;
}

/// --netrecord, --report, -X, --html, --har, --messages: each opened now.
int OutputSet::open_reports() {
  if (!cfg_.netrecord_root.empty()) {
    NetrecordSinkOptions no;
    no.root = cfg_.netrecord_root;
    no.start = cfg_.netrecord_start;
    if (cfg_.netrecord_max_files) no.max_open_files = cfg_.netrecord_max_files;
    else if (cfg_.max_fds) no.max_open_files = cfg_.max_fds;
    netrecord_ = std::make_unique<NetrecordSink>(no);
    if (const std::string why = netrecord_->check_writable(); !why.empty()) {
      diag::errorf("cannot write netrecord logs under %s: %s", cfg_.netrecord_root.c_str(),
                   why.c_str());
      return kExitOutput;
    }
    netrecord_->hold_directory();
    add(netrecord_.get(), false);
  }
  if (!cfg_.report_path.empty()) {
    report_ = std::make_unique<JsonReportSink>(cfg_.report_path);
    report_->set_flat(cfg_.flat_records);
    if (report_->failed()) {
      diag::error(report_->error());
      return kExitOutput;
    }
    add(report_.get(), false);
  }
  if (!cfg_.dfxml_path.empty()) {
    DfxmlOptions xo;
    xo.outdir = cfg_.outdir;
    xo.name_template = cfg_.name_template;
    xo.command_line = cfg_.command_line;
    xo.flow_files = files_ != nullptr;
#ifdef TCPSCRIBE_VERSION
    xo.version = TCPSCRIBE_VERSION;
#endif
    dfxml_ = std::make_unique<DfxmlReportSink>(cfg_.dfxml_path, xo);
    if (dfxml_->failed()) {
      diag::error(dfxml_->error());
      return kExitOutput;
    }
    add(dfxml_.get(), false);
  }
  if (!cfg_.html_path.empty()) {
    html_ = std::make_unique<HtmlReport>(cfg_.html_path, cfg_.html_sources);
    if (!html_->open()) {
      diag::error(html_->error());
      return kExitOutput;
    }
    add(html_.get(), false);
  }
  std::string error;
  if (!cfg_.har_path.empty()) {
    har_ = std::make_unique<HarWriter>();
    if (!har_->open(cfg_.har_path, error)) {
      diag::error(error);
      return kExitOutput;
    }
  }
  if (!cfg_.messages_path.empty()) {
    messages_ = std::make_unique<MessagesWriter>(cfg_.messages_path, cfg_.console_options.flush_each);
    messages_->set_flat(cfg_.flat_records);
    if (!messages_->open(error)) {
      diag::error(error);
      return kExitOutput;
    }
  }
  return kExitOk;
}

/// The analyzers -e names (-e http: both HTTP versions), and those the
/// outputs need (--har: http and http2;
/// --messages, --decode and --slow: all), behind one dispatcher that goes first,
/// so their findings reach the other sinks before their on_close. The HAR
/// and the messages come after it: their finish() writes what the
/// analyzers handed over last.
int OutputSet::open_analyzers() {
  std::vector<const AnalyzerInfo*> enabled;
  const bool all =
      (!cfg_.messages_path.empty() || cfg_.decode || cfg_.slow > 0) && cfg_.analyzers.empty();
  for (const AnalyzerInfo& a : analyzer_registry()) {
    // HTTP semantics come in two versions: --har and -e http take both.
    const std::string name = a.name;
    const bool http = name == "http" || name == "http2";
    bool on = all || (har_ && http) || (cfg_.tls && name == "tls");
    for (const std::string& n : cfg_.analyzers) {
      on = on || n == name || n == "all" || (n == "http" && http);
    }
    if (on) enabled.push_back(&a);
  }
  if (enabled.empty() && !cfg_.decode) return kExitOk;
  AnalyzerSettings s;
  s.outdir = cfg_.outdir;
  s.outdir_fd = outdir_fd_;
  s.name_template = cfg_.name_template;
  s.extract = files_ != nullptr;
  s.keep_encoded = cfg_.keep_encoded;
  s.keep_text_bytes = har_ ? 64u << 10 : 0;  // small bodies go into the HAR
  s.decode_view = cfg_.decode;
  s.out = this;
  s.tls_keylog = cfg_.tls_keylog;
  s.tls_hold_for_keys = cfg_.tls_hold_for_keys;
  if (cfg_.redact && !cfg_.redact->empty()) s.redact = cfg_.redact;
  Sink* view = cfg_.decode ? static_cast<Sink*>(console_.get()) : nullptr;
  dispatcher_ = std::make_unique<AnalyzerDispatcher>(enabled, s, view);
  // First, so its findings reach the other sinks before their on_close.
  sinks_.insert(sinks_.begin(), dispatcher_.get());
  entries_.push_back({dispatcher_.get(), true});  // a body file that cannot be written stops the run
  if (view) entries_.push_back({view, true});
  if (har_) add(har_.get(), false);
  if (messages_) add(messages_.get(), false);
  // One line per story: HTTP's "request sent after the server closed"
  // replaces the TCP analysis' line about the same bytes (kept in reports).
  auto told = [d = dispatcher_.get()](const Connection& c, const Finding& f) {
    return d->tells(c, f);
  };
  if (console_) console_->set_told_elsewhere(told);
  if (findings_) findings_->set_told_elsewhere(told);
  return kExitOk;
}

void OutputSet::finding(const Connection& c, const Finding& f) {
  for (Sink* s : sinks_) {
    if (s != dispatcher_.get()) s->on_finding(c, f);
  }
  if (cfg_.decode && console_) console_->on_finding(c, f);
}

void OutputSet::exchange(const Connection& c, const ExchangeRecord& r) {
  if (messages_) messages_->add(c, r);
  const std::optional<Finding> slow = slow_finding(r, cfg_.slow);
  if (report_) report_->add_exchange(c.id, r.proto, is_error_reply(r), slow.has_value());
  // HTTP's transactions reach the HTML report with their own timing.
  if (html_ && r.proto != "http" && r.proto != "http2") html_->add_exchange(c.id, r);
  if (slow) finding(c, *slow);
}

void OutputSet::message(const Connection& c, const DecodedMessage& m) {
  if (message_view_) {
    message_view_(c, m);
  } else if (console_) {
    console_->on_message(c, m);
  }
}

void OutputSet::http_transaction(const HttpTransaction& t) {
  if (har_) har_->add(t);
  if (html_) html_->add_http(t);
}

void OutputSet::inner_open(const Connection& c, const char* layer) {
  (void)layer;
  // With --decode the console shows the inner analyzers' messages instead.
  if (console_ && !cfg_.decode) console_->take_over(c);
}

void OutputSet::inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                           std::span<const uint8_t> bytes, Timestamp ts) {
  if (console_ && !cfg_.decode) console_->inner_data(c, d, offset, bytes, ts);
  if (inner_files_) inner_files_->inner_data(c, layer, d, offset, bytes);
}

void OutputSet::inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset,
                          uint64_t length, Timestamp) {
  if (console_ && !cfg_.decode) console_->inner_gap(c, layer, d, offset, length);
}

void OutputSet::connection_info(const Connection& c, const std::string& key,
                                const std::string& json) {
  if (report_) report_->add_info(c.id, key, json);
}

void OutputSet::secrets_added() {
  if (dispatcher_) dispatcher_->secrets_added();
}

std::vector<SegmentObserver*> OutputSet::observers() const {
  std::vector<SegmentObserver*> out;
  if (html_) out.push_back(html_.get());
  if (dfxml_) out.push_back(dfxml_.get());
  return out;
}

void OutputSet::finish_sinks() {
  for (Sink* s : front_) s->finish();
}

bool OutputSet::stopped() const {
  for (const Entry& e : entries_) {
    if (e.stops_reading && !e.sink->failure().empty()) return true;
  }
  return false;
}

int OutputSet::finish(int status) {
  if (netrecord_ && netrecord_->gaps() > 0 && !cfg_.quiet) {
    diag::warningf("%llu gaps (%llu bytes) are missing from the netrecord "
                   "logs: the format cannot mark them",
                   static_cast<unsigned long long>(netrecord_->gaps()),
                   static_cast<unsigned long long>(netrecord_->gap_bytes()));
  }
  // Every output is completed and every failure named: one that failed
  // must not cost the others their file.
  int rc = status;
  for (const Entry& e : entries_) {
    if (const std::string why = e.sink->failure(); !why.empty()) {
      diag::error(why);
      rc = kExitOutput;
    }
  }
  return rc;
}

void OutputSet::add_to_drop_plan(DropPlan& plan) const {
  if (outdir_fd_ >= 0) {
    if (created_outdir_) plan.created_dir_fd = outdir_fd_;
    plan.writable.push_back({outdir_fd_, cfg_.outdir, "flow files are written"});
  }
  auto add_file = [&plan](AtomicFile& f, const std::string& what) {
    if (f.dir_fd() < 0) return;  // standard output
    plan.writable.push_back(
        {f.dir_fd(), f.dir(), what + " " + f.path() + " is put in place at the end"});
    plan.files.push_back(fileno(f.stream()));
  };
  if (html_) add_file(html_->file(), "--html");
  if (har_) add_file(har_->file(), "--har");
  if (dfxml_) add_file(dfxml_->file(), "-X");
  if (netrecord_ && netrecord_->hold_directory() >= 0) {
    plan.writable.push_back({netrecord_->hold_directory(), netrecord_->directory(),
                             "--netrecord creates a log per connection"});
  }
}

void OutputSet::flush_pending() {
  if (files_) files_->flush_pending();
}

uint64_t OutputSet::files_written() const { return files_ ? files_->files_written() : 0; }

const char* OutputSet::analyzer_of(uint64_t id) const {
  return dispatcher_ ? dispatcher_->chosen(id) : nullptr;
}

bool OutputSet::only_netrecord() const {
  return front_.size() == 1 && front_.front() == netrecord_.get();
}

}  // namespace tcpscribe
