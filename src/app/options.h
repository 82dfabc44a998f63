// Every command-line setting, in one struct (mold's ctx.arg).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "color.h"
#include "exit_codes.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {


struct InputFile {
  std::string path;
  bool finish_only = false;  ///< -R: only continues connections already open
};


struct Options {
  std::vector<InputFile> inputs;   ///< -r / -R, in command-line order
  std::string interface;           ///< -i: live capture ("any" for all)
  bool live = false;               ///< -i given
  bool promiscuous = true;         ///< -p clears it
  size_t buffer_mib = 64;          ///< --buffer-size: kernel capture buffer
  size_t queue_mib = 256;          ///< --queue-size: capture thread -> reassembly
  int snaplen = 262144;            ///< --snaplen
  std::string user;                ///< -U: drop root to this user after opening
  std::string chroot_dir;          ///< -z: chroot (with -U)
  std::string filter;              ///< the trailing BPF expression
  std::string outdir = ".";        ///< -o
  bool console = false;            ///< -c
  bool console_header = true;      ///< -C clears it
  bool hex = false;                ///< -D
  bool binary = false;             ///< -B
  bool chunk_newline = true;       ///< -0 clears it
  bool strip_nonprint = false;     ///< -s
  bool no_files = false;           ///< -FX
  uint64_t max_bytes = 0;          ///< -b (0: unlimited)
  std::string name_template;       ///< -T, with -F prefixes applied
  bool write_index = false;        ///< -I
  std::vector<std::string> analyzers;  ///< -e NAME (registry names, or "all")
  std::string messages_path;       ///< --messages: JSON Lines, one object per exchange
  bool decode = false;             ///< --decode: the console shows messages, not chunks
  Timestamp slow = 0;              ///< --slow: a finding per answer slower than this; 0: off
  bool keep_encoded = false;       ///< -Z
  std::string har_path;            ///< --har
  std::string tls_keylog;          ///< --tls-keylog: the NSS key log to decrypt TLS with
  std::vector<std::string> redact; ///< --redact: PCRE2 patterns or `auth` (redact_rules.h)
  std::string netrecord_root;      ///< --netrecord: one netrecord log per connection
  std::string report_path;         ///< --report: JSON Lines, one object per connection
  bool flat_records = false;       ///< --flat-records: --report and --messages lines flat
  std::string html_path;           ///< --html: the visual report
  std::string dfxml_path;          ///< -X: DFXML like tcpflow's report.xml
  std::string command_line;        ///< for the DFXML report
  size_t max_fds = 0;              ///< -f
  size_t writer_threads = 2;       ///< threads creating and writing flow files
  size_t threads = 1;              ///< --threads: reassembly workers (-r); live: AF_PACKET rings
  uint32_t shard_index = 0;        ///< --shard I/N: I
  uint32_t shard_count = 1;        ///< --shard I/N: N (1: every connection)
  bool quiet = false;              ///< -q
  int verbose = 0;                 ///< -v
  ColorMode color = ColorMode::kAuto;
  bool stats = false;              ///< --stats (live): the panel on stderr's terminal
  std::string stats_json;          ///< --stats-json FILE (live; - = stdout)
  double stats_interval = 1.0;     ///< --stats-interval SECONDS
  size_t max_flows = 1'000'000;
  size_t reorder_window = 256;     ///< packets held to restore timestamp order
  int writer_nice = 0;             ///< internal: niceness of the file writer threads
  size_t max_buffer_mib = 256;
  size_t max_flow_buffer_mib = 16;
  size_t file_buffer_mib = 16;     ///< --max-file-buffer: flow-file bytes gathered in memory
  Timestamp idle_timeout = 900 * kNanosPerSecond;
  bool show_help = false;
  bool show_version = false;
};

/// Parses argv. Returns kExitOk with `opt` filled, or kExitUsage after
/// printing one line to `err` that names the problem.
int parse_options(int argc, char** argv, Options& opt, std::ostream& err);
void print_help(std::ostream& out);
void print_version(std::ostream& out);

}  // namespace tcpscribe
