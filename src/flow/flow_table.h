// Segments -> connections: direction, ISNs, 4-tuple reuse, closing, limits.
//
// A connection is keyed by its 4-tuple plus VLAN. The SYN's sender is the
// client; for a connection picked up midstream, the receiver of a lone
// SYN-ACK, or else the side not on a likely server port (server_ports.h),
// or else the first packet's sender.
// A SYN with a new ISN (or any SYN once the old connection has closed)
// starts a new connection on the same tuple, numbered c1, c2 ... like
// tcpflow. Once both FINs (or a RST) end a connection, its streams are
// complete at once, but the connection stays for close_delay of capture
// time, as in Zeek (tcp_close_delay), so that the analysis sees its last
// packets (the final ACK, retransmitted FINs, duplicate ACKs) before the
// sinks get on_close. After that it lingers as a tombstone so that even
// later packets do not open a new, swapped flow.
#pragma once

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "flow_index.h"
#include "reassembler.h"
#include "retired_tuples.h"
#include "tcp_analysis.h"
#include "tcpscribe/segment.h"
#include "tcpscribe/sink.h"
#include "window_guard.h"

namespace tcpscribe {

struct FlowTableLimits {
  size_t max_flows = 1'000'000;               ///< open connections at once
  size_t max_buffer_per_direction = 16u << 20; ///< out-of-order bytes held per direction
  size_t max_buffer_total = 256u << 20;        ///< out-of-order bytes held in all
  Timestamp idle_timeout = 900 * kNanosPerSecond;  ///< 0: never
  Timestamp closed_linger = 120 * kNanosPerSecond; ///< how long a tombstone stays
  /// After both FINs or a RST: how long the connection is still analysed
  /// before on_close (Zeek's tcp_close_delay). 0: on_close at once.
  Timestamp close_delay = 5 * kNanosPerSecond;
  uint64_t max_bytes_per_direction = 0;        ///< -b: 0 means unlimited
  /// Packets on a connection after the peer acknowledged past a hole before
  /// the hole is declared lost (captures reorder data and ACKs a little).
  uint32_t ack_proof_packets = 16;
  Timestamp ack_proof_time = kNanosPerSecond;
  /// Tuples whose connection is gone remembered for numbering (c1, c2 ...)
  /// and for continuing evicted connections; about 130 bytes each
  /// (retired_tuples.h says what dropping one loses).
  size_t max_retired = size_t{1} << 18;
  /// A connection that has only seen its client's SYN without payload (and
  /// up to 6 retransmissions of it) is kept as a compact record of those
  /// SYNs (160 bytes instead of the ~1.4 KB of a whole one) and rebuilt from
  /// them, replayed quietly, when its next packet comes or it closes: a SYN
  /// flood or a scan costs little. false: every connection stays whole.
  bool compact_half_open = true;
  /// The newest half-open connections stay whole, since most get their
  /// SYN-ACK soon (no rebuilding then); the oldest beyond this many is
  /// compacted. 0: at once. 16,384 whole ones cost 25 MB; with 4,096, 28%
  /// of bench/offline.sh's many.pcap (10,000 connections open at once)
  /// were compacted and rebuilt, +1% of instructions; with this, none.
  size_t young_half_open = 16384;
};

struct FlowTableStats {
  uint64_t segments = 0;
  uint64_t connections = 0;
  uint64_t reused_tuples = 0;       ///< connections that replaced one on the same tuple
  uint64_t late_segments = 0;       ///< segments more than close_delay after the close
  uint64_t ignored_segments = 0;    ///< -R: segments of connections not already open
  uint64_t forced_flushes = 0;      ///< holes declared lost because a buffer cap was hit
  uint64_t evicted = 0;             ///< connections closed because of max_flows
  /// Evicted connections whose later packets continued them (same files);
  /// not counted in `connections` again.
  uint64_t continued = 0;
  uint64_t retired_dropped = 0;     ///< tuple records dropped (retired_tuples.h)
  uint64_t idle_closed = 0;
  uint64_t bytes_before_start = 0;  ///< bytes from before a midstream pickup point
  uint64_t bytes_over_limit = 0;    ///< bytes beyond -b
  uint64_t keep_alives = 0;         ///< keep-alive probes (their byte is not data)
  uint64_t gap_bytes = 0;           ///< bytes delivered as gaps, all connections
  uint64_t conflicting_overlaps = 0;
  uint64_t out_of_window = 0;       ///< segments left out: far outside any window
  size_t peak_buffered = 0;
};

class FlowTable {
 public:
  FlowTable(FlowTableLimits limits, std::vector<Sink*> sinks);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  /// Adds an observer of every segment (not owned).
  void add_observer(SegmentObserver* o) { observers_.push_back(o); }

  /// Feeds one segment. With `may_open` false (tcpflow's -R), segments
  /// only continue connections that are already open.
  void on_segment(const Segment& s, bool may_open = true);
  /// Another table's segment at `ts` (--shard, --threads): its time passes
  /// here too, so that closes after close_delay and idle expiry happen at
  /// the same packet as in one table that saw every segment.
  void pass_time(Timestamp ts);
  /// Closes connections idle for longer than the timeout, by capture time.
  void expire(Timestamp now);
  /// Ends every open connection (end of input), in order of first packet,
  /// then lets the sinks finish.
  void finish();

  /// --threads: the number of the segment (in the whole input) being fed or
  /// passed, stamped on connections to order events across tables.
  void set_sequence(uint64_t seq) {
    seq_ = seq;
    ordered_ = true;
  }
  /// Where the event being told falls among the events of the current
  /// segment, as one table ordering every connection would tell them:
  /// kOrderClosing | the sequence at which the connection began closing
  /// (expiry after close_delay, in closing order), then kOrderIdle | its
  /// last segment's sequence (idle expiry, least recently active first),
  /// then kOrderSegment (the segment's own events).
  static constexpr uint64_t kOrderClosing = uint64_t{1} << 60;
  static constexpr uint64_t kOrderIdle = uint64_t{2} << 60;
  static constexpr uint64_t kOrderSegment = uint64_t{3} << 60;
  uint64_t event_order() const { return order_; }

  const FlowTableStats& stats() const { return stats_; }
  size_t retired_tuples() const { return retired_.size(); }
  size_t open_connections() const { return table_.size() + pending_.size(); }
  /// Open connections kept as a compact record of their SYNs.
  size_t compact_connections() const { return pending_.size(); }

 private:
  struct Identity;
  struct Tombstone;
  struct Node;
  struct Entry;
  struct Pending;
  class DirOutput;

  /// How the connection that had the tuple before ended.
  enum class PrevEnd : uint8_t { kOpen, kClean, kUnclean };
  /// `cont`: the record of the evicted connection this one continues.
  /// `append`: the tuple's record was dropped, its files are continued.
  /// A new connection's state before its first segment (no side effects).
  static void init_entry(Entry& e, const FlowKey& key, const Segment& s, uint64_t id,
                         uint32_t reuse_index, uint64_t previous_id, bool continues);
  Entry* create(const FlowKey& key, const Segment& s, uint32_t reuse_index,
                uint64_t previous_id, PrevEnd prev, const RetiredTuple* cont = nullptr,
                bool append = false);
  void continue_streams(Entry& e, const RetiredTuple& cont);
  static Identity identity_of(const RetiredTuple& r);
  void retire(const Entry& e, CloseReason why);
  void note_shutdowns(Entry& e, Timestamp ts);
  void report(Entry& e, const Finding& f);
  bool starts_new_connection(const Identity& e, bool closed, const Segment& s) const;
  /// The segment's connection becomes the most recently active, then update().
  void process(Entry& e, const Segment& s);
  /// Everything a segment changes in its connection (and tells the sinks).
  void update(Entry& e, const Segment& s);
  // Compact half-open connections (flow_table_compact.cc).
  /// After a SYN without payload (Pending::pure_syn) of `e`, which had seen
  /// only such SYNs before it: `p` holds those when `e` was just revived
  /// from them. `e` joins the young list, stays in it, or is compacted.
  void after_syn(Entry& e, std::unique_ptr<Pending> p, const Segment& s);
  /// `e` becomes the Pending `p` of all its segments, in its LRU place.
  void compact(Entry& e, std::unique_ptr<Pending> p);
  /// `e` leaves the young list (and drops its SYNs): it is whole for good.
  void drop_young(Entry& e);
  /// The whole connection again, in the Pending's place (p stays the caller's).
  Entry& revive(Pending& p);
  /// An open connection as an Entry, revived if it was compact.
  Entry& whole(Node& n);
  /// The segment's bytes and FIN into its direction's stream, unless the
  /// window guard holds it back (window_guard.h).
  void stream_segment(Entry& e, Dir d, const Segment& s, uint32_t data_seq);
  void feed(Entry& e, Dir d, const Segment& s, uint32_t data_seq);
  void reject_out_of_window(Entry& e, Dir d, const WindowGuard::Held& h);
  /// A segment more than any window behind its stream (a 2^31 jump).
  void leave_out_jump(Entry& e, Dir d, const Segment& s, uint32_t data_seq);
  /// Delivers what is buffered (holes become gaps), sends the shutdowns.
  void end_streams(Entry& e, Timestamp ts);
  /// Both FINs or a RST: streams end now, on_close after close_delay.
  void begin_close(Entry& e, CloseReason why, Timestamp ts);
  /// on_close; a closing connection keeps the reason it closed for.
  void close(Entry& e, CloseReason why, Timestamp ts);
  void enforce_buffer_caps(Entry& e, Timestamp ts);
  void flush_proven_holes(Entry& e, Timestamp ts);
  void advance_clock(Timestamp ts);
  /// The clock and, once a second of capture time, expiry.
  void tick(Timestamp ts);
  /// At --max-flows: a closing connection goes, else the least recently active.
  void make_room(Timestamp ts);
  /// An open connection's place in the LRU list (Entry::order_seq).
  uint64_t order_seq_of(const Node& n) const;

  FlowTableLimits limits_;
  std::vector<Sink*> sinks_;
  std::vector<SegmentObserver*> observers_;
  FlowIndex<Entry> table_;  // open ones
  FlowIndex<Pending> pending_;  // open ones, compact (only client SYNs so far)
  FlowIndex<Tombstone> tombstones_;  // recently closed
  Tombstone* tomb_head_ = nullptr;   // tombstones, oldest first (intrusive)
  Tombstone* tomb_tail_ = nullptr;
  /// Connections per tuple, for tuples whose entry has been dropped.
  RetiredTuples retired_;
  // Open connections (Entry or Pending), least recently active first.
  // Intrusive (Node::lru_prev, lru_next): moving the packet's connection to
  // the end touches no list node of its own.
  Node* lru_head_ = nullptr;
  Node* lru_tail_ = nullptr;
  // Closing connections (begin_close; always an Entry), in order of
  // closing, through the same pointers: they are not in the LRU list.
  Node* closing_head_ = nullptr;
  Node* closing_tail_ = nullptr;
  // The newest connections that have seen only SYNs, oldest first
  // (Entry::young_prev, young_next).
  Entry* young_head_ = nullptr;
  Entry* young_tail_ = nullptr;
  size_t young_count_ = 0;
  FlowTableStats stats_;
  size_t buffered_ = 0;
  uint64_t next_id_ = 0;
  Timestamp last_expire_ = 0;
  Timestamp clock_ = 0;  // capture time, robust to outliers
  bool clock_set_ = false;
  bool jump_pending_ = false;
  bool finishing_ = false;  // in finish(): no packet comes after
  uint64_t seq_ = 0;                 // set_sequence()
  bool ordered_ = false;             // set_sequence() was called
  uint64_t order_ = kOrderSegment;   // event_order()
  // With set_sequence: the order_seq of each compact connection.
  std::unordered_map<FlowKey, uint64_t, FlowKeyHash> pending_order_;
};

}  // namespace tcpscribe
