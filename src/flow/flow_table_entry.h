// FlowTable's private structures, shared by flow_table.cc (connections,
// closing, tombstones) and flow_table_stream.cc (bytes into streams).
#pragma once

#include <optional>

#include "flow_table.h"

namespace tcpscribe {

/// What a connection must remember, even after it closed, to tell its own
/// late packets from a new connection on the same tuple.
struct FlowTable::Identity {
  uint64_t id = 0;
  uint32_t reuse_index = 0;
  Endpoint client;
  bool client_syn = false;
  bool server_syn = false;
  uint32_t client_isn = 0;
  uint32_t server_isn = 0;
  bool base_known[2] = {false, false};
  uint32_t base_seq[2] = {0, 0};
  bool clean = false;  // ended by both FINs: reusing its tuple is routine

  Dir dir_of(const Endpoint& src) const {
    return src == client ? Dir::kClientToServer : Dir::kServerToClient;
  }
};

struct FlowTable::Tombstone {
  FlowKey key;
  Identity who;
  Timestamp closed_at = 0;
  Tombstone* lru_prev = nullptr;
  Tombstone* lru_next = nullptr;
};

/// What the LRU list of open connections links: an Entry, or a Pending.
struct FlowTable::Node {
  Node* lru_prev = nullptr;  // LRU list, or the closing list when closing
  Node* lru_next = nullptr;
  Timestamp last_activity = 0;
  bool compact = false;  // a Pending
};

/// An open connection that has seen nothing but its client's SYN without
/// payload and up to kMaxSyns - 1 retransmissions of it (the same fields,
/// later): those SYNs, from which FlowTable::revive rebuilds the Entry by
/// replaying them (sinks and observers saw them when they came). A full
/// Entry costs ~1.4 KB (1,536 bytes as jemalloc rounds it), this 160 bytes.
struct FlowTable::Pending : Node {
  /// A pure SYN's fields, all that the flow table and its analysis read.
  struct Syn {
    Timestamp ts = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    int32_t vlan = -1;
    uint16_t window = 0;
    uint8_t flags = 0;
    int8_t wscale = -1;
  };
  /// A client's connect() retries its SYN 6 times by default (Linux).
  static constexpr int kMaxSyns = 7;

  // Small fields first: they fill the Node's tail padding.
  uint8_t count = 0;          // SYNs: `first`, then copies at again[]
  bool client_is_lo = false;  // the SYNs' sender is key.lo, else key.hi
  bool continues = false;
  FlowKey key;
  uint32_t reuse_index = 0;
  uint64_t id = 0;
  uint64_t previous_id = UINT64_MAX;
  Syn first;
  Timestamp again[kMaxSyns - 1] = {};

  Pending() { compact = true; }
  /// A SYN without ACK, FIN, RST or payload: what a Pending keeps.
  static bool pure_syn(const Segment& s) {
    constexpr uint8_t kSynAckFinRst =
        tcp_flags::kSyn | tcp_flags::kAck | tcp_flags::kFin | tcp_flags::kRst;
    return (s.flags & kSynAckFinRst) == tcp_flags::kSyn && s.payload_len + s.missing_len == 0;
  }
  /// `s` can be kept: the first SYN, or a copy of it.
  bool takes(const Segment& s) const {
    if (count == 0) return true;
    return count < kMaxSyns && s.seq == first.seq && s.ack == first.ack &&
           s.vlan == first.vlan && s.window == first.window && s.flags == first.flags &&
           s.wscale == first.wscale;
  }
  void add(const Segment& s) {
    if (count == 0) first = {s.ts, s.seq, s.ack, s.vlan, s.window, s.flags, s.wscale};
    else again[count - 1] = s.ts;
    ++count;
  }
  Segment segment(int i) const {
    Segment s;
    s.ts = i == 0 ? first.ts : again[i - 1];
    s.src = client_is_lo ? key.lo : key.hi;
    s.dst = client_is_lo ? key.hi : key.lo;
    s.vlan = first.vlan;
    s.seq = first.seq;
    s.ack = first.ack;
    s.flags = first.flags;
    s.window = first.window;
    s.wscale = first.wscale;
    return s;
  }
};

struct FlowTable::Entry : Node {
  FlowKey key;
  Connection conn;
  StreamReassembler streams[2];
  ConnectionTracker tracker;  // Zeek/Wireshark analysis (tcp_analysis.h)
  WindowGuard guard;          // segments far outside any window
  bool client_syn = false;
  bool server_syn = false;
  uint32_t client_isn = 0;
  uint32_t server_isn = 0;
  uint64_t packets = 0;
  // Every segment so far a client's SYN without payload (Pending::pure_syn).
  bool only_syns = true;
  // Among the newest half-open connections (the young list, in order of
  // creation): its SYNs so far, what it keeps when it is compacted.
  std::unique_ptr<Pending> syns;
  Entry* young_prev = nullptr;
  Entry* young_next = nullptr;
  // Where each direction's stream starts; kept after close so that a late
  // SYN (reordered capture) is recognised as this connection's.
  bool base_known[2] = {false, false};
  uint32_t base_seq[2] = {0, 0};
  // A FIN seen before its direction had a first byte to anchor offsets.
  std::optional<uint32_t> pending_fin[2];
  bool shut[2] = {false, false};  // on_shutdown sent
  bool jump_reported[2] = {false, false};  // a sequence jump said (leave_out_jump)
  // Holes the peer has acknowledged past: proven lost unless they fill soon.
  uint64_t acked[2] = {0, 0};
  bool proof_pending[2] = {false, false};
  uint64_t proof_packet[2] = {0, 0};
  Timestamp proof_ts[2] = {0, 0};
  // Both FINs (or a RST) ended it: its streams are done, its late
  // packets are still analysed until close_delay has passed.
  bool closing = false;
  CloseReason closing_why = CloseReason::kFin;
  Timestamp closing_at = 0;
  // The sequence (FlowTable::set_sequence) of its last segment while open,
  // which orders the LRU list; closing, the one that began its closing.
  // (A Pending's is in FlowTable::pending_order_: it has no byte to spare.)
  uint64_t order_seq = 0;

  Dir dir_of(const Endpoint& src) const {
    return src == conn.client ? Dir::kClientToServer : Dir::kServerToClient;
  }
  Identity identity() const {
    Identity w;
    w.id = conn.id;
    w.reuse_index = conn.reuse_index;
    w.client = conn.client;
    w.client_syn = client_syn;
    w.server_syn = server_syn;
    w.client_isn = client_isn;
    w.server_isn = server_isn;
    for (int i = 0; i < 2; ++i) {
      w.base_known[i] = base_known[i];
      w.base_seq[i] = base_seq[i];
    }
    w.clean = closing && closing_why == CloseReason::kFin;
    return w;
  }
  /// Everything a direction sent before its FIN has been delivered.
  bool complete(int i) const {
    return streams[i].has_base() ? streams[i].complete() : pending_fin[i].has_value();
  }
  size_t buffered() const {
    return streams[0].buffered_bytes() + streams[1].buffered_bytes();
  }
};

/// Adapts one direction's reassembler output to the sinks, applying -b.
class FlowTable::DirOutput : public StreamOutput {
 public:
  /// `cap_flush`: the holes it declares are a buffer cap's doing, not the
  /// capture's (their bytes may still come, and will be left out).
  DirOutput(FlowTable& t, Entry& e, Dir d, bool cap_flush = false)
      : t_(t), e_(e), d_(d), cap_flush_(cap_flush) {}

  void data(uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts) override {
    const uint64_t limit = t_.limits_.max_bytes_per_direction;
    DirectionStats& st = e_.conn.dir[index_of(d_)];
    st.delivered_bytes += bytes.size();
    if (limit && offset + bytes.size() > limit) {
      const uint64_t keep = offset >= limit ? 0 : limit - offset;
      t_.stats_.bytes_over_limit += bytes.size() - keep;
      st.dropped_bytes += bytes.size() - keep;
      bytes = bytes.first(keep);
      if (bytes.empty()) return;
    }
    for (Sink* s : t_.sinks_) s->on_data(e_.conn, d_, offset, bytes, ts);
  }
  void gap(uint64_t offset, uint64_t length, Timestamp ts) override {
    const uint64_t limit = t_.limits_.max_bytes_per_direction;
    e_.conn.dir[index_of(d_)].gap_bytes += length;
    t_.stats_.gap_bytes += length;
    if (limit && offset + length > limit) {
      if (offset >= limit) return;
      length = limit - offset;
    }
    for (Sink* s : t_.sinks_) s->on_gap(e_.conn, d_, offset, length, ts);
    Finding f;
    f.kind = Finding::Kind::kCaptureGap;
    f.dir = d_;
    f.ts = ts;
    f.offset = offset;
    f.length = length;
    f.text = cap_flush_ ? std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                              " declared lost: the out-of-order buffer was full (raise "
                              "--max-flow-buffer/--max-buffer)"
                        : std::to_string(length) + " bytes missing from the capture at offset " +
                              std::to_string(offset);
    t_.report(e_, f);
  }

 private:
  FlowTable& t_;
  Entry& e_;
  Dir d_;
  bool cap_flush_;
};
}  // namespace tcpscribe
