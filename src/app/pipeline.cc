#include "pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "diag.h"
#include "findings_printer.h"
#include "har.h"
#include "http.h"
#include "privileges.h"
#include "report_dfxml.h"
#include "report_html.h"
#include "report_json.h"
#include "sink_netrecord.h"
#include "sink_console.h"
#include "sink_files.h"

namespace tcpscribe {
namespace {

/// mkdir -p and open the directory; one clear line on failure.
int open_outdir(const std::string& dir, bool& created, std::string& error) {
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

void print_stats(const DecodeStats& d, const FlowTableStats& f, uint64_t files,
                 uint64_t late) {
  diag::notef("%llu packets, %llu TCP segments, %llu connections "
               "(%llu on reused 4-tuples), %llu files; %llu packets came later than "
               "the reorder window could put back in time order",
               static_cast<unsigned long long>(d.packets),
               static_cast<unsigned long long>(d.tcp_segments),
               static_cast<unsigned long long>(f.connections),
               static_cast<unsigned long long>(f.reused_tuples),
               static_cast<unsigned long long>(files), static_cast<unsigned long long>(late));
  diag::notef("skipped: %llu not IP, %llu not TCP, %llu truncated headers, "
               "%llu malformed, %llu unknown link type; fragments: %llu seen, %llu "
               "datagrams rebuilt, %llu unusable (cut)",
               static_cast<unsigned long long>(d.not_ip),
               static_cast<unsigned long long>(d.not_tcp),
               static_cast<unsigned long long>(d.truncated),
               static_cast<unsigned long long>(d.malformed),
               static_cast<unsigned long long>(d.unknown_linktype),
               static_cast<unsigned long long>(d.fragments),
               static_cast<unsigned long long>(d.reassembled),
               static_cast<unsigned long long>(d.fragments_cut));
  diag::notef("%llu gap bytes, %llu conflicting overlaps, %llu keep-alives, "
               "%llu late segments after close, %llu out-of-window segments left out, "
               "%llu holes flushed by buffer caps, "
               "%llu connections evicted, %llu idle-closed, peak out-of-order buffer "
               "%zu bytes",
               static_cast<unsigned long long>(f.gap_bytes),
               static_cast<unsigned long long>(f.conflicting_overlaps),
               static_cast<unsigned long long>(f.keep_alives),
               static_cast<unsigned long long>(f.late_segments),
               static_cast<unsigned long long>(f.out_of_window),
               static_cast<unsigned long long>(f.forced_flushes),
               static_cast<unsigned long long>(f.evicted),
               static_cast<unsigned long long>(f.idle_closed), f.peak_buffered);
}

}  // namespace

Pipeline::Pipeline(const Options& opt) : opt_(opt) {}

Pipeline::~Pipeline() {
  core_.reset();
  http_.reset();
  har_.reset();
  report_.reset();
  html_.reset();
  dfxml_.reset();
  netrecord_.reset();
  files_.reset();
  findings_.reset();
  if (outdir_fd_ >= 0) close(outdir_fd_);
}

int Pipeline::open() {
  std::string error;
  if (!BpfFilter{}.set(opt_.filter, error)) {  // before any output is created
    diag::error(error);
    return kExitUsage;
  }
  // The outputs, in the order their sinks see the events; then the HTTP
  // analyzer in front of them, then the packet core that feeds them all.
  std::vector<Sink*> sinks;
  if (const int rc = open_streams(sinks); rc != kExitOk) return rc;
  if (const int rc = open_reports(sinks); rc != kExitOk) return rc;
  if (const int rc = open_http(sinks); rc != kExitOk) return rc;
  return open_core(sinks);
}

/// The bytes themselves: the console (-c) or the flow files, and the
/// findings on stderr when the flows go to files.
int Pipeline::open_streams(std::vector<Sink*>& sinks) {
  std::string error;
  if (opt_.console) {
    ConsoleOptions co;
    co.header = opt_.console_header;
    co.hex = opt_.hex;
    co.binary = opt_.binary;
    co.newline = opt_.chunk_newline;
    co.color = color_enabled(opt_.color, STDOUT_FILENO);
    co.name_template = opt_.name_template;
    co.flush_each = opt_.live || streaming_;
    co.findings = !opt_.quiet;
    co.routine_findings = opt_.verbose > 0;
    console_ = std::make_unique<ConsoleSink>(co, stdout);
    add_output(sinks, console_.get(), true);
  } else if (!opt_.no_files) {
    outdir_fd_ = open_outdir(opt_.outdir, created_outdir_, error);
    if (outdir_fd_ < 0) {
      diag::error(error);
      return kExitOutput;
    }
    FileSinkOptions fo;
    fo.outdir = opt_.outdir;
    fo.outdir_fd = outdir_fd_;
    fo.name_template = opt_.name_template;
    fo.strip_nonprint = opt_.strip_nonprint;
    fo.max_fds = opt_.max_fds;
    fo.write_index = opt_.write_index;
    fo.writer_threads = opt_.writer_threads;
    fo.writer_nice = opt_.writer_nice;
    fo.current = &current_;
    files_ = std::make_unique<FileSink>(fo);
    add_output(sinks, files_.get(), true);
  }
  if (!opt_.console && !opt_.quiet) {
    // With the flows in files, findings go to standard error.
    findings_ = std::make_unique<FindingsSink>(opt_.name_template,
                                               color_enabled(opt_.color, STDERR_FILENO), stderr,
                                               opt_.verbose > 0);
    add_output(sinks, findings_.get(), false);
  }
  return kExitOk;
}

/// --netrecord, --report, -X and --html: each opened now, so a path that
/// cannot be written stops the run before anything is read.
int Pipeline::open_reports(std::vector<Sink*>& sinks) {
  if (!opt_.netrecord_root.empty()) {
    NetrecordSinkOptions no;
    no.root = opt_.netrecord_root;
    if (opt_.max_fds) no.max_open_files = opt_.max_fds;
    netrecord_ = std::make_unique<NetrecordSink>(no);
    if (const std::string why = netrecord_->check_writable(); !why.empty()) {
      diag::errorf("cannot write netrecord logs under %s: %s",
                   opt_.netrecord_root.c_str(), why.c_str());
      return kExitOutput;
    }
    netrecord_->hold_directory();
    add_output(sinks, netrecord_.get(), false);
  }
  if (!opt_.report_path.empty()) {
    report_ = std::make_unique<JsonReportSink>(opt_.report_path);
    if (report_->failed()) {
      diag::error(report_->error());
      return kExitOutput;
    }
    add_output(sinks, report_.get(), false);
  }
  if (!opt_.dfxml_path.empty()) {
    DfxmlOptions xo;
    xo.outdir = opt_.outdir;
    xo.name_template = opt_.name_template;
    xo.command_line = opt_.command_line;
    xo.flow_files = files_ != nullptr;
#ifdef TCPSCRIBE_VERSION
    xo.version = TCPSCRIBE_VERSION;
#endif
    dfxml_ = std::make_unique<DfxmlReportSink>(opt_.dfxml_path, xo);
    if (dfxml_->failed()) {
      diag::error(dfxml_->error());
      return kExitOutput;
    }
    add_output(sinks, dfxml_.get(), false);
  }
  if (!opt_.html_path.empty()) {
    std::vector<std::string> names;
    for (const InputFile& in : opt_.inputs) names.push_back(in.path);
    if (opt_.live) names.push_back(opt_.interface);
    html_ = std::make_unique<HtmlReport>(opt_.html_path, names);
    if (!html_->open()) {
      diag::error(html_->error());
      return kExitOutput;
    }
    add_output(sinks, html_.get(), false);
  }
  return kExitOk;
}

/// -e http (and --har): the analyzer goes first, so its findings reach the
/// other sinks before their on_close.
int Pipeline::open_http(std::vector<Sink*>& sinks) {
  if (!opt_.http) return kExitOk;
  std::string error;
  if (!opt_.har_path.empty()) {
    har_ = std::make_unique<HarWriter>();
    if (!har_->open(opt_.har_path, error)) {
      diag::error(error);
      return kExitOutput;
    }
  }
  HttpOptions ho;
  ho.outdir = opt_.outdir;
  ho.outdir_fd = outdir_fd_;
  ho.name_template = opt_.name_template;
  ho.extract_bodies = !opt_.console && !opt_.no_files;
  ho.keep_encoded = opt_.keep_encoded;
  ho.max_text_bytes = har_ ? 64u << 10 : 0;  // small bodies go into the HAR
  std::vector<Sink*> others = sinks;
  http_ = std::make_unique<HttpAnalyzer>(
      ho,
      [others](const Connection& c, const Finding& f) {
        for (Sink* s : others) s->on_finding(c, f);
      },
      [this](const HttpTransaction& t) {
        if (har_) har_->add(t);
        if (html_) html_->add_http(t);
      });
  // First, so its findings reach the other sinks before their on_close.
  sinks.insert(sinks.begin(), http_.get());
  outputs_.push_back({http_.get(), true});  // a body file that cannot be written stops the run
  if (har_) {
    // After the analyzer: its finish() writes the archive once the analyzer
    // has handed over the last transaction.
    add_output(sinks, har_.get(), false);
  }
  // One line per story: HTTP's "request sent after the server closed"
  // replaces the TCP analysis' line about the same bytes (kept in reports).
  auto told = [h = http_.get()](const Connection& c, const Finding& f) { return h->tells(c, f); };
  if (console_) console_->set_told_elsewhere(told);
  if (findings_) findings_->set_told_elsewhere(told);
  return kExitOk;
}

int Pipeline::open_core(const std::vector<Sink*>& sinks) {
  std::string error;
  PacketCoreConfig core;
  core.filter = opt_.filter;
  core.reorder_window = opt_.reorder_window;
  core.limits.max_flows = opt_.max_flows;
  core.limits.max_buffer_total = opt_.max_buffer_mib << 20;
  core.limits.max_buffer_per_direction = opt_.max_flow_buffer_mib << 20;
  core.limits.idle_timeout = opt_.idle_timeout;
  core.limits.max_bytes_per_direction = opt_.max_bytes;
  core.current = &current_;
  core_ = std::make_unique<PacketCore>(core, sinks);
  if (!core_->compile_filter(error)) {
    diag::error(error);
    return kExitUsage;
  }
  core_->set_problem_handler([this](const std::string& source, const std::string& text,
                                    bool input_error) {
    diag::errorf("%s: %s", source.c_str(), text.c_str());
    if (input_error) status_ = kExitInput;
  });
  if (html_) core_->add_observer(html_.get());
  if (dfxml_) core_->add_observer(dfxml_.get());
  return kExitOk;
}

bool Pipeline::drop_privileges(const std::string& user, const std::string& chroot_dir,
                               std::string& error) {
  DropPlan plan;
  plan.user = user;
  plan.chroot_dir = chroot_dir;
  if (outdir_fd_ >= 0) {
    if (created_outdir_) plan.created_dir_fd = outdir_fd_;
    plan.writable.push_back({outdir_fd_, opt_.outdir, "flow files are written"});
  }
  auto add = [&plan](AtomicFile& f, const std::string& what) {
    if (f.dir_fd() < 0) return;  // standard output
    plan.writable.push_back({f.dir_fd(), f.dir(), what + " " + f.path() + " is put in place at the end"});
    plan.files.push_back(fileno(f.stream()));
  };
  if (html_) add(html_->file(), "--html");
  if (har_) add(har_->file(), "--har");
  if (dfxml_) add(dfxml_->file(), "-X");
  if (netrecord_ && netrecord_->hold_directory() >= 0) {
    plan.writable.push_back({netrecord_->hold_directory(), netrecord_->directory(),
                             "--netrecord creates a log per connection"});
  }
  return tcpscribe::drop_privileges(plan, error);
}

uint32_t Pipeline::begin_source(std::string name, bool finish_only) {
  return core_->add_source(std::move(name), finish_only);
}

void Pipeline::on_packet(const RawPacket& p) { core_->on_packet(p); }

void Pipeline::flush_window() { core_->flush(); }

void Pipeline::tick(Timestamp now) {
  core_->flush();
  core_->expire(now);
  if (files_) files_->flush_pending();
}

void Pipeline::add_output(std::vector<Sink*>& sinks, Sink* s, bool stops_reading) {
  sinks.push_back(s);
  outputs_.push_back({s, stops_reading});
}

bool Pipeline::output_failed() const {
  for (const OutputEntry& o : outputs_) {
    if (o.stops_reading && !o.sink->failure().empty()) return true;
  }
  return false;
}

int Pipeline::finish() {
  core_->flush();
  if (html_) {
    HtmlCaptureInfo info;
    info.packets_read = static_cast<int64_t>(core_->decode_stats().packets);
    info.kernel_drops = kernel_drops_;
    info.interface_drops = interface_drops_;
    html_->set_capture_info(info);
  }
  core_->finish();
  if (opt_.verbose) {
    print_stats(core_->decode_stats(), core_->flow_stats(),
                files_ ? files_->files_written() : 0, core_->late_packets());
  }
  if (!opt_.quiet && core_->flow_stats().forced_flushes > 0) {
    diag::warningf("%llu holes were declared lost because an "
                 "out-of-order buffer was full (raise --max-flow-buffer/--max-buffer)",
                 static_cast<unsigned long long>(core_->flow_stats().forced_flushes));
  }
  // Every output is completed and every failure named: one that failed
  // must not cost the others their file.
  int rc = status_;
  auto failed = [&rc](const std::string& line) {
    diag::error(line);
    rc = kExitOutput;
  };
  if (netrecord_ && netrecord_->gaps() > 0 && !opt_.quiet) {
    diag::warningf("%llu gaps (%llu bytes) are missing from the netrecord "
                 "logs: the format cannot mark them",
                 static_cast<unsigned long long>(netrecord_->gaps()),
                 static_cast<unsigned long long>(netrecord_->gap_bytes()));
  }
  for (const OutputEntry& o : outputs_) {
    if (const std::string why = o.sink->failure(); !why.empty()) failed(why);
  }
  return rc;
}

}  // namespace tcpscribe
