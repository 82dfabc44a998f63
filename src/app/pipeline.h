// The passive modes' run: the packet core (BPF filter -> reorder window ->
// decoder -> flow table, src/flow/packet_core.h) feeding the output set the
// options ask for (src/output_set/output_set.h: the analyzers first).
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "options.h"
#include "output_set.h"
#include "packet_core.h"
#include "redact_rules.h"
#include "stats_output.h"
#include "stats_sink.h"
#include "tls_keylog.h"

namespace tcpscribe {

class Pipeline {
 public:
  explicit Pipeline(const Options& opt);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  /// Compiles the filter and opens the outputs (creating the output
  /// directory). Prints one line and returns an ExitCode on failure.
  int open();

  /// Registers the next source and returns its index, which its packets
  /// carry in RawPacket::source; `finish_only` is tcpflow's -R.
  uint32_t begin_source(std::string name, bool finish_only);
  /// Before open(): packets arrive over time (a pipe), so every console
  /// chunk is flushed at once, as in live capture.
  void set_streaming(bool on) { streaming_ = on; }
  void on_packet(const RawPacket& p);
  /// Releases the packets held for reordering (end of a file; live: idle).
  void flush_window();
  /// Time passes without packets (live): expire idle connections by
  /// `now`, hand buffered file data to the writers.
  void tick(Timestamp now);
  /// Live with --tls-keylog: reads what the key log gained (often, so that
  /// records waiting for a key it already holds do not pile up).
  void poll_keylog();
  /// Live with --stats/--stats-json: samples the open connections when
  /// the interval has passed (called often; cheap otherwise).
  void poll_stats();
  bool output_failed() const;
  /// Ends every connection, prints statistics and warnings, and returns
  /// the exit code: the worst of the input status and output errors.
  int finish();

  void set_input_error() { status_ = kExitInput; }
  /// A pcapng Decryption Secrets Block: a TLS key log ("TLSK") joins the
  /// secrets; before open() it also turns TLS decryption on.
  void add_secrets(uint32_t type, std::span<const uint8_t> data);
  /// Live capture: the kernel's and the interface's drop counts, for the
  /// HTML report's header.
  void set_capture_drops(int64_t kernel, int64_t interface) {
    kernel_drops_ = kernel;
    interface_drops_ = interface;
  }
  /// -U/-z, after open(): switches to `user` (privileges.h) once it is
  /// sure the user can write everywhere the outputs still create or rename
  /// files (the flow directory, the directories of --html, --har, -X and
  /// --netrecord). False and one line in `error` otherwise.
  bool drop_privileges(const std::string& user, const std::string& chroot_dir,
                       std::string& error);
  const DecodeStats& decode_stats() const { return core_->decode_stats(); }
  const FlowTableStats& flow_stats() const { return core_->flow_stats(); }

 private:
  int open_core();
  int open_stats();
  /// --tls-keylog: reads what the file gained; new secrets go to the
  /// analyzers. False (and one line) when it cannot be read.
  bool refresh_keylog(bool first);

  const Options& opt_;
  CurrentRegion current_;  // the region of the packet being consumed
  std::unique_ptr<OutputSet> outputs_;
  std::unique_ptr<StatsOutput> stats_;    // --stats, --stats-json (live)
  std::unique_ptr<StatsSink> stats_sink_;  // the connections it shows
  Timestamp next_stats_ = 0;               // monotonic
  std::unique_ptr<PacketCore> core_;  // after the outputs: it holds pointers to them

  bool streaming_ = false;
  std::atomic<bool> stopped_{false};  // --threads: an output failed (merge thread)
  int status_ = kExitOk;
  int64_t kernel_drops_ = -1;  // unknown (capture files)
  int64_t interface_drops_ = -1;
  TlsKeyLog keylog_;         // --tls-keylog and the captures' secrets
  RedactRules redact_;       // --redact (checked when the options were read)
  bool keylog_used_ = false;  // a key log is given or a capture has secrets
  uint64_t secrets_blocks_ = 0;
  bool keylog_missing_ = false;  // live: the file is not there (yet)
};

/// The output set's configuration from the passive modes' options (TLS
/// decryption: Pipeline::open adds the key log).
OutputConfig output_config(const Options& opt, bool streaming);

}  // namespace tcpscribe
