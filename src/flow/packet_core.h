// The one packet path every mode shares: BPF filter -> reorder window ->
// decoder -> flow table -> sinks. Offline and live capture (through
// Pipeline), `replay -r` and the tests feed packets here; nothing else
// strings these stages together.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bpf_filter.h"
#include "byte_region.h"
#include "decode.h"
#include "flow_hash.h"
#include "flow_table.h"
#include "flow_workers.h"
#include "reorder_window.h"
#include "tcpscribe/packet.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct PacketCoreConfig {
  std::string filter;              ///< BPF expression; empty: every packet
  size_t reorder_window = 256;     ///< packets held to restore time order; 0: none
  FlowTableLimits limits;
  /// --shard I/N: only the connections whose flow_hash falls in this shard
  /// are reassembled; the other segments only move the capture clock.
  Shard shard;
  /// --threads: connections reassembled on this many worker threads
  /// (flow_workers.h); 1: on the caller's thread. With more, the sinks
  /// are called on a merge thread, and `current` is left alone (outputs
  /// copy what they keep).
  size_t threads = 1;
  /// Set around each packet's decoding to the region holding its bytes, so
  /// outputs may keep them by reference (null: nobody needs it).
  CurrentRegion* current = nullptr;
};

class PacketCore {
 public:
  /// Something about the input worth one line: a filter that cannot run on
  /// a link type, a link type tcpscribe cannot decode (`input_error`: the
  /// run should end with the input-error status). Said once per cause.
  using ProblemHandler = std::function<void(const std::string& source,
                                            const std::string& text, bool input_error)>;

  /// The sinks (not owned) get every connection's events in this order.
  PacketCore(PacketCoreConfig config, std::vector<Sink*> sinks);
  ~PacketCore();
  PacketCore(const PacketCore&) = delete;
  PacketCore& operator=(const PacketCore&) = delete;

  /// Compiles the filter. False with `error` set (one line) when it does
  /// not compile.
  bool compile_filter(std::string& error);
  void set_problem_handler(ProblemHandler h) { on_problem_ = std::move(h); }
  /// Adds an observer of every segment (not owned).
  void add_observer(SegmentObserver* o) {
    table_.add_observer(o);
    observers_.push_back(o);
  }
  /// Runs `f` where the sinks are called (--threads: on the merge thread),
  /// after the events of every packet consumed so far: whatever sinks and
  /// analyzers use (the TLS key log, the HTML report's header) changes
  /// there, at the same point of the input whatever the thread count.
  void post(std::function<void()> f);
  /// --threads: called on the merge thread after each batch of packets
  /// was told to the sinks (whether an output failed, say).
  void set_after_batch(std::function<void()> f) { after_batch_ = std::move(f); }
  bool threaded() const { return threads_ > 1; }

  /// Registers the next source and returns its index, which its packets
  /// carry in RawPacket::source; `finish_only` is tcpflow's -R (its
  /// packets only continue connections already open).
  uint32_t add_source(std::string name, bool finish_only);

  void on_packet(const RawPacket& p);
  /// Releases the packets held for reordering (end of input; a pause).
  void flush();
  /// Closes connections idle since before `now` (capture time).
  void expire(Timestamp now);
  /// Ends every connection (after flush()) and lets the sinks finish.
  void finish();

  const DecodeStats& decode_stats() const { return decoder_.stats(); }
  /// --threads: during the run only `connections` (those told so far);
  /// the rest once finish() has returned (or in the sinks' finish()).
  const FlowTableStats& flow_stats() const;
  const FragmentStats& fragment_stats() const { return decoder_.defragmenter().stats(); }
  /// IP datagrams still missing fragments (at the end: lost).
  size_t pending_fragment_datagrams() const { return decoder_.defragmenter().pending_datagrams(); }
  /// --threads: 0 (the workers' tables are theirs).
  size_t open_connections() const { return threaded() ? 0 : table_.open_connections(); }
  /// Packets that came later than the reorder window could put back.
  uint64_t late_packets() const { return window_.late(); }

 private:
  struct Source {
    std::string name;
    bool finish_only;
  };
  const Source& source_of(const RawPacket& p) const;
  void consume(const RawPacket& p);
  FlowWorkers& workers();
  void problem(const RawPacket& p, const std::string& text, bool input_error);

  std::string filter_text_;
  CurrentRegion* current_;
  Shard shard_;
  size_t threads_;
  FlowTableLimits limits_;
  std::vector<Sink*> sinks_;                 // for the workers
  std::vector<SegmentObserver*> observers_;
  std::function<void()> after_batch_;
  std::unique_ptr<FlowWorkers> workers_;     // --threads, from the first packet
  mutable FlowTableStats shown_;             // flow_stats() with workers
  BpfFilter filter_;
  ReorderWindow window_;
  Decoder decoder_;
  FlowTable table_;
  std::vector<Source> sources_;
  ProblemHandler on_problem_;
  bool filter_warned_ = false;
  std::set<int> unknown_linktypes_;
};

}  // namespace tcpscribe
