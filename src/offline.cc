#include "offline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>

#include "bpf_filter.h"
#include "capture_file.h"
#include "decode.h"
#include "flow_table.h"
#include "progress.h"
#include "reorder_window.h"
#include "sink_console.h"
#include "sink_files.h"

namespace tcpscribe {
namespace {

bool use_color(ColorMode m) {
  if (m == ColorMode::kAlways) return true;
  if (m == ColorMode::kNever) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(STDOUT_FILENO) == 1;
}

/// mkdir -p, one clear line on failure.
bool make_outdir(const std::string& dir, std::string& error) {
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      error = "cannot create output directory " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = "output directory " + dir + " is not a directory";
    return false;
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    error = "cannot write into output directory " + dir + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

void print_stats(const DecodeStats& d, const FlowTableStats& f, uint64_t files) {
  std::fprintf(stderr,
               "tcpscribe: %llu packets, %llu TCP segments, %llu connections "
               "(%llu on reused 4-tuples), %llu files\n",
               static_cast<unsigned long long>(d.packets),
               static_cast<unsigned long long>(d.tcp_segments),
               static_cast<unsigned long long>(f.connections),
               static_cast<unsigned long long>(f.reused_tuples),
               static_cast<unsigned long long>(files));
  std::fprintf(stderr,
               "tcpscribe: skipped: %llu not IP, %llu not TCP, %llu truncated headers, "
               "%llu malformed, %llu unknown link type; fragments: %llu seen, %llu "
               "datagrams rebuilt, %llu unusable (cut)\n",
               static_cast<unsigned long long>(d.not_ip),
               static_cast<unsigned long long>(d.not_tcp),
               static_cast<unsigned long long>(d.truncated),
               static_cast<unsigned long long>(d.malformed),
               static_cast<unsigned long long>(d.unknown_linktype),
               static_cast<unsigned long long>(d.fragments),
               static_cast<unsigned long long>(d.reassembled),
               static_cast<unsigned long long>(d.fragments_cut));
  std::fprintf(stderr,
               "tcpscribe: %llu gap bytes, %llu conflicting overlaps, %llu keep-alives, "
               "%llu late segments after close, %llu holes flushed by buffer caps, "
               "%llu connections evicted, %llu idle-closed, peak out-of-order buffer "
               "%zu bytes\n",
               static_cast<unsigned long long>(f.gap_bytes),
               static_cast<unsigned long long>(f.conflicting_overlaps),
               static_cast<unsigned long long>(f.keep_alives),
               static_cast<unsigned long long>(f.late_segments),
               static_cast<unsigned long long>(f.forced_flushes),
               static_cast<unsigned long long>(f.evicted),
               static_cast<unsigned long long>(f.idle_closed), f.peak_buffered);
}

}  // namespace

int run_offline(const Options& opt) {
  std::string error;
  BpfFilter filter;
  if (!filter.set(opt.filter, error)) {
    std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
    return kExitUsage;
  }

  // Sinks.
  std::vector<Sink*> sinks;
  std::unique_ptr<FileSink> files;
  std::unique_ptr<ConsoleSink> console;
  if (opt.console) {
    ConsoleOptions co;
    co.header = opt.console_header;
    co.hex = opt.hex;
    co.binary = opt.binary;
    co.color = use_color(opt.color);
    co.name_template = opt.name_template;
    console = std::make_unique<ConsoleSink>(co, stdout);
    sinks.push_back(console.get());
  } else if (!opt.no_files) {
    if (!make_outdir(opt.outdir, error)) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      return kExitOutput;
    }
    FileSinkOptions fo;
    fo.outdir = opt.outdir;
    fo.name_template = opt.name_template;
    fo.strip_nonprint = opt.strip_nonprint;
    fo.max_fds = opt.max_fds;
    fo.write_index = opt.write_index;
    fo.writer_threads = opt.writer_threads;
    files = std::make_unique<FileSink>(fo);
    sinks.push_back(files.get());
  }

  FlowTableLimits limits;
  limits.max_flows = opt.max_flows;
  limits.max_buffer_total = opt.max_buffer_mib << 20;
  limits.max_buffer_per_direction = opt.max_flow_buffer_mib << 20;
  limits.idle_timeout = opt.idle_timeout;
  limits.max_bytes_per_direction = opt.max_bytes;
  FlowTable table(limits, sinks);
  Decoder decoder;
  ReorderWindow window(opt.reorder_window);
  Progress progress;

  int status = kExitOk;
  std::set<int> unknown_linktypes;
  bool filter_warned = false;
  auto output_failed = [&]() {
    return (files && files->failed()) || (console && console->failed());
  };

  for (const InputFile& in : opt.inputs) {
    std::unique_ptr<CaptureFile> cap = CaptureFile::open(in.path, error);
    if (!cap) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      status = kExitInput;
      continue;
    }
    auto consume = [&](const RawPacket& pkt) {
      Segment seg;
      if (decoder.decode(pkt, seg)) table.on_segment(seg, !in.finish_only);
    };
    RawPacket p;
    ReadStatus rs;
    uint64_t n = 0;
    while ((rs = cap->next(p)) == ReadStatus::kPacket) {
      if ((++n & 1023) == 0) {
        progress.update(cap->name(), cap->position(), cap->size(),
                        decoder.stats().packets, table.stats().connections);
        if (output_failed()) break;
      }
      if (!filter.matches(p, error)) {
        if (!error.empty() && !filter_warned) {
          std::fprintf(stderr, "tcpscribe: %s: %s; those packets are skipped\n",
                       cap->name().c_str(), error.c_str());
          filter_warned = true;
        }
        continue;
      }
      if (!linktype_supported(p.linktype)) {
        if (unknown_linktypes.insert(p.linktype).second) {
          std::fprintf(stderr,
                       "tcpscribe: %s: link type %d is not supported; its packets are "
                       "skipped (supported: Ethernet, VLAN/QinQ, PPPoE, MPLS, Linux "
                       "SLL/SLL2, BSD loopback, raw IP)\n",
                       cap->name().c_str(), p.linktype);
          status = kExitInput;
        }
        continue;
      }
      window.push(p, consume);
    }
    window.drain(consume);
    progress.clear();
    if (rs == ReadStatus::kError) {
      std::fprintf(stderr, "tcpscribe: %s; everything before it is written\n",
                   cap->error().c_str());
      status = kExitInput;
    }
    if (output_failed()) break;
  }
  table.finish();
  if (opt.verbose) print_stats(decoder.stats(), table.stats(), files ? files->files_written() : 0);
  if (!opt.quiet && table.stats().forced_flushes > 0) {
    std::fprintf(stderr,
                 "tcpscribe: warning: %llu holes were declared lost because an "
                 "out-of-order buffer was full (raise --max-flow-buffer/--max-buffer)\n",
                 static_cast<unsigned long long>(table.stats().forced_flushes));
  }
  if (files && files->failed()) {
    std::fprintf(stderr, "tcpscribe: %s; stopped (free space or fix permissions, then run again)\n",
                 files->error().c_str());
    return kExitOutput;
  }
  if (console && console->failed()) {
    std::fprintf(stderr, "tcpscribe: cannot write to standard output: %s\n",
                 std::strerror(errno));
    return kExitOutput;
  }
  return status;
}

}  // namespace tcpscribe
