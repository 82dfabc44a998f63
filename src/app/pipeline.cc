#include "pipeline.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "diag.h"
#include "net_util.h"
#include "pcapng_reader.h"
#include "privileges.h"
#include "report_html.h"
#include "report_json.h"

namespace tcpscribe {
namespace {

void print_stats(const DecodeStats& d, const FlowTableStats& f, const FragmentStats& fr,
                 uint64_t files, uint64_t late, size_t incomplete) {
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
  diag::notef("caps: %llu evicted connections continued later, %llu records of finished "
              "4-tuples dropped; IP fragments: %llu datagrams timed out, %llu evicted by "
              "the fragment caps, %llu incomplete at the end, %llu conflicting overlaps "
              "(first copy kept), %llu malformed",
              static_cast<unsigned long long>(f.continued),
              static_cast<unsigned long long>(f.retired_dropped),
              static_cast<unsigned long long>(fr.timed_out),
              static_cast<unsigned long long>(fr.evicted_for_limits),
              static_cast<unsigned long long>(incomplete),
              static_cast<unsigned long long>(fr.overlaps_conflicting),
              static_cast<unsigned long long>(fr.malformed));
}

// Caps that dropped or cut something say so even without -v.
void warn_caps(const FlowTableStats& f, const FragmentStats& fr, size_t incomplete,
               size_t max_flows) {
  if (f.evicted > 0) {
    diag::warningf("%llu connections evicted at --max-flows %zu (%llu of them continued "
                   "later in the same files); raise --max-flows",
                   static_cast<unsigned long long>(f.evicted), max_flows,
                   static_cast<unsigned long long>(f.continued));
  }
  if (fr.timed_out + fr.evicted_for_limits + incomplete + fr.overlaps_conflicting > 0) {
    diag::warningf("IP fragments: %llu datagrams timed out, %llu evicted by the fragment "
                   "caps, %llu incomplete at the end (their bytes are lost), %llu "
                   "conflicting overlaps (first copy kept)",
                   static_cast<unsigned long long>(fr.timed_out),
                   static_cast<unsigned long long>(fr.evicted_for_limits),
                   static_cast<unsigned long long>(incomplete),
                   static_cast<unsigned long long>(fr.overlaps_conflicting));
  }
}

RunTotals run_totals(const PacketCore& core, int64_t kernel_drops, int64_t interface_drops) {
  const DecodeStats& d = core.decode_stats();
  const FlowTableStats& f = core.flow_stats();
  const FragmentStats& fr = core.fragment_stats();
  RunTotals t;
  t.packets = d.packets;
  t.tcp_segments = d.tcp_segments;
  t.connections = f.connections;
  t.late_packets = core.late_packets();
  t.not_ip = d.not_ip;
  t.not_tcp = d.not_tcp;
  t.truncated = d.truncated;
  t.malformed = d.malformed;
  t.unknown_link_type = d.unknown_linktype;
  t.fragments = d.fragments;
  t.fragments_cut = d.fragments_cut;
  t.datagrams_rebuilt = d.reassembled;
  t.datagrams_timed_out = fr.timed_out;
  t.datagrams_evicted = fr.evicted_for_limits;
  t.datagrams_incomplete = core.pending_fragment_datagrams();
  t.fragment_conflicts = fr.overlaps_conflicting;
  t.fragments_malformed = fr.malformed;
  t.connections_evicted = f.evicted;
  t.evicted_continued = f.continued;
  t.tuple_records_dropped = f.retired_dropped;
  t.holes_flushed = f.forced_flushes;
  t.out_of_window = f.out_of_window;
  t.late_segments = f.late_segments;
  t.kernel_drops = kernel_drops;
  t.interface_drops = interface_drops;
  return t;
}

}  // namespace

OutputConfig output_config(const Options& opt, bool streaming) {
  OutputConfig c;
  c.console = opt.console;
  ConsoleOptions& co = c.console_options;
  co.header = opt.console_header;
  co.hex = opt.hex;
  co.binary = opt.binary;
  co.newline = opt.chunk_newline;
  co.color = color_enabled(opt.color, STDOUT_FILENO);
  co.name_template = opt.name_template;
  co.flush_each = opt.live || streaming;
  co.findings = !opt.quiet;
  co.routine_findings = opt.verbose > 0;
  c.files = !opt.no_files;
  c.outdir = opt.outdir;
  c.name_template = opt.name_template;
  c.strip_nonprint = opt.strip_nonprint;
  c.max_fds = opt.max_fds;
  c.write_index = opt.write_index;
  c.writer_threads = opt.writer_threads;
  c.writer_nice = opt.writer_nice;
  c.file_buffer_mib = opt.file_buffer_mib;
  c.quiet = opt.quiet;
  c.verbose = opt.verbose;
  c.color = opt.color;
  c.netrecord_root = opt.netrecord_root;
  c.report_path = opt.report_path;
  c.dfxml_path = opt.dfxml_path;
  c.command_line = opt.command_line;
  c.html_path = opt.html_path;
  for (const InputFile& in : opt.inputs) c.html_sources.push_back(in.path);
  if (opt.live) c.html_sources.push_back(opt.interface);
  c.har_path = opt.har_path;
  c.messages_path = opt.messages_path;
  c.flat_records = opt.flat_records;
  c.decode = opt.decode;
  c.slow = opt.slow;
  c.analyzers = opt.analyzers;
  c.keep_encoded = opt.keep_encoded;
  // TLS: handshake facts for the report; decryption with a key log.
  c.tls = !opt.tls_keylog.empty() || !opt.report_path.empty();
  c.tls_hold_for_keys = opt.live && !opt.tls_keylog.empty();
  return c;
}

Pipeline::Pipeline(const Options& opt) : opt_(opt) {}

Pipeline::~Pipeline() {
  core_.reset();
  stats_sink_.reset();
  stats_.reset();
  outputs_.reset();
}

int Pipeline::open() {
  std::string error;
  if (!BpfFilter{}.set(opt_.filter, error)) {  // before any output is created
    diag::error(error);
    return kExitUsage;
  }
  if (!opt_.tls_keylog.empty()) {
    keylog_used_ = true;
    if (!refresh_keylog(true)) return kExitInput;
  }
  OutputConfig cfg = output_config(opt_, streaming_);
  cfg.current = &current_;
  for (const std::string& r : opt_.redact) {
    if (!redact_.add(r, error)) {
      diag::error(error);
      return kExitUsage;
    }
  }
  cfg.redact = &redact_;
  if (keylog_used_) {
    cfg.tls = true;
    cfg.tls_keylog = &keylog_;
  }
  outputs_ = std::make_unique<OutputSet>(std::move(cfg));
  if (const int rc = outputs_->open(); rc != kExitOk) return rc;
  if (JsonReportSink* report = outputs_->report()) {
    report->set_run_totals(
        [this] { return run_totals(*core_, kernel_drops_, interface_drops_); });
  }
  if (const int rc = open_stats(); rc != kExitOk) return rc;
  return open_core();
}

int Pipeline::open_stats() {
  if (!opt_.live || (!opt_.stats && opt_.stats_json.empty())) return kExitOk;
  StatsOutputOptions o;
  o.panel = opt_.stats;
  o.json_path = opt_.stats_json;
  o.interval = opt_.stats_interval;
  o.color = opt_.color;
  o.title = "tcpscribe -i " + opt_.interface;
  o.log_on_stdout = opt_.console;
  stats_ = std::make_unique<StatsOutput>(std::move(o), realtime_ns());
  stats_sink_ = std::make_unique<StatsSink>(*stats_);
  next_stats_ = monotonic_ns() + static_cast<Timestamp>(opt_.stats_interval * 1e9);
  return stats_->open();
}

void Pipeline::poll_stats() {
  if (!stats_) return;
  const Timestamp now = monotonic_ns();
  if (now < next_stats_) return;
  stats_->sample(realtime_ns(), stats_sink_->open_sessions());
  const Timestamp step = static_cast<Timestamp>(opt_.stats_interval * 1e9);
  next_stats_ += step;
  if (next_stats_ <= now) next_stats_ = now + step;
}

int Pipeline::open_core() {
  std::string error;
  PacketCoreConfig core;
  core.filter = opt_.filter;
  core.reorder_window = opt_.reorder_window;
  core.limits.max_flows = opt_.max_flows;
  core.limits.max_buffer_total = opt_.max_buffer_mib << 20;
  core.limits.max_buffer_per_direction = opt_.max_flow_buffer_mib << 20;
  core.limits.idle_timeout = opt_.idle_timeout;
  core.limits.max_bytes_per_direction = opt_.max_bytes;
  core.shard = {opt_.shard_index, opt_.shard_count};
  // Worker threads for capture files; a pipe's packets come over time and
  // are told as they come, as are a live capture's: one thread.
  core.threads = opt_.live || streaming_ ? 1 : opt_.threads;
  core.current = &current_;
  std::vector<Sink*> sinks = outputs_->sinks();
  if (stats_sink_) sinks.push_back(stats_sink_.get());
  core_ = std::make_unique<PacketCore>(core, std::move(sinks));
  if (!core_->compile_filter(error)) {
    diag::error(error);
    return kExitUsage;
  }
  core_->set_problem_handler([this](const std::string& source, const std::string& text,
                                    bool input_error) {
    diag::errorf("%s: %s", source.c_str(), text.c_str());
    if (input_error) status_ = kExitInput;
  });
  for (SegmentObserver* o : outputs_->observers()) core_->add_observer(o);
  // The outputs are written on the merge thread: it says when one failed.
  core_->set_after_batch([this] { stopped_.store(outputs_->stopped()); });
  return kExitOk;
}

bool Pipeline::drop_privileges(const std::string& user, const std::string& chroot_dir,
                               std::string& error) {
  DropPlan plan;
  plan.user = user;
  plan.chroot_dir = chroot_dir;
  outputs_->add_to_drop_plan(plan);
  return tcpscribe::drop_privileges(plan, error);
}

uint32_t Pipeline::begin_source(std::string name, bool finish_only) {
  return core_->add_source(std::move(name), finish_only);
}

void Pipeline::on_packet(const RawPacket& p) { core_->on_packet(p); }

void Pipeline::flush_window() { core_->flush(); }

bool Pipeline::refresh_keylog(bool first) {
  std::string error;
  const long added = keylog_.follow_file(opt_.tls_keylog, error);
  if (added < 0) {
    // Live, the file may come later (the client writes it when it starts).
    if (opt_.live && errno == ENOENT) {
      if (first && !opt_.quiet) {
        diag::warningf("TLS key log %s does not exist yet: it is read when it appears",
                       opt_.tls_keylog.c_str());
      }
      keylog_missing_ = true;
      return true;
    }
    if (first || !keylog_missing_) {
      diag::errorf("cannot read the TLS key log %s; give a readable NSS key log "
                   "(SSLKEYLOGFILE) to --tls-keylog",
                   error.c_str());
    }
    keylog_missing_ = true;
    return !first;
  }
  keylog_missing_ = false;
  if (added > 0 && outputs_) outputs_->secrets_added();
  return true;
}

void Pipeline::add_secrets(uint32_t type, std::span<const uint8_t> data) {
  ++secrets_blocks_;
  if (type != kPcapngSecretsTls) return;
  if (!outputs_) keylog_used_ = true;  // before open(): decryption is on
  if (!outputs_ || !core_) {
    keylog_.add_text(data);
    return;
  }
  // The analyzers read the key log where the sinks are called (--threads:
  // the merge thread), from this point of the input on.
  core_->post([this, text = std::vector<uint8_t>(data.begin(), data.end())] {
    if (keylog_.add_text(text) > 0) outputs_->secrets_added();
  });
}

void Pipeline::poll_keylog() {
  if (!opt_.tls_keylog.empty()) refresh_keylog(false);
}

void Pipeline::tick(Timestamp now) {
  if (!opt_.tls_keylog.empty()) refresh_keylog(false);
  core_->flush();
  core_->expire(now);
  core_->post([this] { outputs_->flush_pending(); });
}

bool Pipeline::output_failed() const {
  return core_ && core_->threaded() ? stopped_.load() : outputs_->stopped();
}

int Pipeline::finish() {
  core_->flush();
  if (HtmlReport* html = outputs_->html()) {
    HtmlCaptureInfo info;
    info.packets_read = static_cast<int64_t>(core_->decode_stats().packets);
    info.kernel_drops = kernel_drops_;
    info.interface_drops = interface_drops_;
    core_->post([html, info] { html->set_capture_info(info); });
  }
  if (!opt_.tls_keylog.empty() && opt_.live) refresh_keylog(false);
  core_->finish();
  if (stats_) {
    // Every connection has closed: the last sample has them all.
    stats_->finish(realtime_ns(), stats_sink_->open_sessions());
    stats_->restore_terminal();
    if (!stats_->failure().empty() && status_ == kExitOk) status_ = kExitOutput;
  }
  if (keylog_used_ && !opt_.quiet) {
    const TlsKeyLogCounts& k = keylog_.counts();
    if (k.bad > 0) {
      diag::warningf("TLS key log: %llu lines did not parse and were skipped (the first is "
                     "line %llu)",
                     static_cast<unsigned long long>(k.bad),
                     static_cast<unsigned long long>(k.first_bad_line));
    }
    if (k.dropped > 0) {
      diag::warningf("TLS key log: %llu secrets were left out: the table holds %zu client "
                     "randoms",
                     static_cast<unsigned long long>(k.dropped), TlsKeyLog::kDefaultMaxEntries);
    }
  }
  if (opt_.verbose && keylog_used_) {
    const TlsKeyLogCounts& k = keylog_.counts();
    diag::notef("TLS key log: %llu lines, %llu secrets for %zu client randoms, %llu unused, "
                "%llu bad",
                static_cast<unsigned long long>(k.lines),
                static_cast<unsigned long long>(k.secrets), keylog_.size(),
                static_cast<unsigned long long>(k.unused),
                static_cast<unsigned long long>(k.bad));
  }
  if (opt_.verbose) {
    print_stats(core_->decode_stats(), core_->flow_stats(), core_->fragment_stats(),
                outputs_->files_written(), core_->late_packets(),
                core_->pending_fragment_datagrams());
  }
  if (!opt_.quiet && core_->flow_stats().forced_flushes > 0) {
    diag::warningf("%llu holes were declared lost because an "
                 "out-of-order buffer was full (raise --max-flow-buffer/--max-buffer)",
                 static_cast<unsigned long long>(core_->flow_stats().forced_flushes));
  }
  if (!opt_.quiet) {
    warn_caps(core_->flow_stats(), core_->fragment_stats(),
              core_->pending_fragment_datagrams(), opt_.max_flows);
  }
  return outputs_->finish(status_);
}

}  // namespace tcpscribe
