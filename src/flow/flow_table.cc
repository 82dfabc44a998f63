#include "flow_table.h"

#include <algorithm>
#include <type_traits>

#include "flow_table_entry.h"
#include "server_ports.h"

namespace tcpscribe {

const char* to_string(CloseReason r) {
  switch (r) {
    case CloseReason::kFin: return "fin";
    case CloseReason::kRst: return "rst";
    case CloseReason::kIdle: return "idle";
    case CloseReason::kEndOfInput: return "end-of-input";
    case CloseReason::kReused: return "reused";
    case CloseReason::kEvicted: return "evicted";
  }
  return "?";
}

FlowTable::FlowTable(FlowTableLimits limits, std::vector<Sink*> sinks)
    : limits_(limits), sinks_(std::move(sinks)), retired_(limits.max_retired) {}

FlowTable::~FlowTable() = default;

namespace {

// Intrusive doubly linked lists through T::lru_prev and T::lru_next.
template <typename T>
void lru_push_back(T*& head, T*& tail, std::type_identity_t<T>& e) {
  e.lru_prev = tail;
  e.lru_next = nullptr;
  (tail ? tail->lru_next : head) = &e;
  tail = &e;
}

template <typename T>
void lru_unlink(T*& head, T*& tail, std::type_identity_t<T>& e) {
  (e.lru_prev ? e.lru_prev->lru_next : head) = e.lru_next;
  (e.lru_next ? e.lru_next->lru_prev : tail) = e.lru_prev;
  e.lru_prev = e.lru_next = nullptr;
}

}  // namespace

void FlowTable::init_entry(Entry& e, const FlowKey& key, const Segment& s, uint64_t id,
                           uint32_t reuse_index, uint64_t previous_id, bool continues) {
  e.key = key;
  // Without the SYN: a lone SYN-ACK, or a service port (server_ports.h).
  const bool from_server = first_segment_from_server(s);
  e.conn.id = id;
  e.conn.client = from_server ? s.dst : s.src;
  e.conn.server = from_server ? s.src : s.dst;
  e.conn.vlan[0] = e.conn.vlan[1] = s.vlan;
  e.conn.reuse_index = reuse_index;
  e.conn.first_ts = s.ts;
  e.conn.last_ts = s.ts;
  e.conn.continues = continues;
  e.conn.previous_id = previous_id;
}

FlowTable::Entry* FlowTable::create(const FlowKey& key, const Segment& s,
                                    uint32_t reuse_index, uint64_t previous_id,
                                    PrevEnd prev, const RetiredTuple* cont, bool append) {
  auto e = std::make_unique<Entry>();
  init_entry(*e, key, s, next_id_++, reuse_index, previous_id, cont || append);
  const bool syn = s.has(tcp_flags::kSyn);
  Entry* raw = table_.insert(std::move(e));
  lru_push_back<Node>(lru_head_, lru_tail_, *raw);
  if (cont) {
    raw->only_syns = false;  // its state comes from the record, not its segments
    continue_streams(*raw, *cont);
    ++stats_.continued;
  } else {
    ++stats_.connections;
    if (reuse_index > 0) ++stats_.reused_tuples;
  }
  for (Sink* sink : sinks_) sink->on_open(raw->conn);
  if (previous_id != UINT64_MAX && !cont) {
    Finding f;
    f.kind = Finding::Kind::kTupleReuse;
    f.ts = s.ts;
    f.text = (syn ? "4-tuple reused by a new SYN (connection "
                  : "4-tuple active again after its connection ended (connection ") +
             std::to_string(reuse_index) + " on it; the previous one, #" +
             std::to_string(previous_id) +
             (prev == PrevEnd::kClean  ? ", closed normally)"
              : prev == PrevEnd::kOpen ? ", was still open)"
                                       : ", had not closed normally)");
    // A client reusing its port after a clean close is what TCP expects.
    f.routine = syn && prev == PrevEnd::kClean;
    report(*raw, f);
  }
  return raw;
}

void FlowTable::continue_streams(Entry& e, const RetiredTuple& cont) {
  // The same roles, and each stream going on where the evicted part's
  // ended: offset 0 here is the end of its files (appended to).
  e.conn.client = cont.client;
  e.conn.server = e.key.lo == cont.client ? e.key.hi : e.key.lo;
  e.client_syn = cont.syn_seen[0];
  e.server_syn = cont.syn_seen[1];
  e.client_isn = cont.isn[0];
  e.server_isn = cont.isn[1];
  for (int i = 0; i < 2; ++i) {
    e.base_known[i] = cont.base_known[i];
    e.base_seq[i] = cont.base_seq[i];
    if (cont.seq_known[i]) e.streams[i].set_base(cont.next_seq[i]);
  }
}

FlowTable::Identity FlowTable::identity_of(const RetiredTuple& r) {
  Identity w;
  w.id = r.last_id;
  w.reuse_index = r.next_index - 1;
  w.client = r.client;
  w.client_syn = r.syn_seen[0];
  w.server_syn = r.syn_seen[1];
  w.client_isn = r.isn[0];
  w.server_isn = r.isn[1];
  for (int i = 0; i < 2; ++i) {
    w.base_known[i] = r.base_known[i];
    w.base_seq[i] = r.base_seq[i];
  }
  return w;
}

void FlowTable::retire(const Entry& e, CloseReason why) {
  RetiredTuple r;
  r.next_index = e.conn.reuse_index + 1;
  r.last_id = e.conn.id;
  if (why == CloseReason::kEvicted) {
    r.evicted = true;
    r.client = e.conn.client;
    r.syn_seen[0] = e.client_syn;
    r.syn_seen[1] = e.server_syn;
    r.isn[0] = e.client_isn;
    r.isn[1] = e.server_isn;
    for (int i = 0; i < 2; ++i) {
      r.base_known[i] = e.base_known[i];
      r.base_seq[i] = e.base_seq[i];
      if (!e.streams[i].has_base()) continue;
      r.seq_known[i] = true;
      r.next_seq[i] = e.streams[i].base() + static_cast<uint32_t>(e.streams[i].next_offset());
    }
  }
  retired_.put(e.key, r);
  stats_.retired_dropped = retired_.dropped();
}

bool FlowTable::starts_new_connection(const Identity& e, bool closed,
                                      const Segment& s) const {
  if (!s.has(tcp_flags::kSyn)) return false;
  const Dir d = e.dir_of(s.src);
  const int di = index_of(d);
  // A SYN that sits exactly before the first byte already seen is this
  // connection's own, captured late (reordered capture).
  const bool late = e.base_known[di] && s.seq + 1 == e.base_seq[di];
  if (!s.has(tcp_flags::kAck)) {
    if (d == Dir::kClientToServer && e.client_syn) return s.seq != e.client_isn;
    if (late && d == Dir::kClientToServer) return false;
    if (closed) return true;
    // The old responder now opens a connection: roles swap.
    if (d == Dir::kServerToClient) return true;
    // A connection picked up midstream, then a SYN with another sequence
    // number: the client reconnected from the same port.
    return e.base_known[0];
  }
  // SYN-ACK.
  if (d == Dir::kServerToClient && e.server_syn) {
    if (s.seq == e.server_isn) return false;  // retransmitted
    return closed || !(e.client_syn && s.ack == e.client_isn + 1);
  }
  if (late && d == Dir::kServerToClient) return false;
  return closed;
}

void FlowTable::advance_clock(Timestamp ts) {
  // Capture time drives idle expiry. One packet with a wild timestamp
  // (seen in real pcapng files) must not expire everything: a jump of
  // more than a day counts only when the next packet confirms it.
  constexpr Timestamp kMaxJump = 86400 * kNanosPerSecond;
  if (!clock_set_) {
    clock_ = ts;
    clock_set_ = true;
  } else if (ts <= clock_) {
    jump_pending_ = false;
  } else if (ts - clock_ <= kMaxJump || jump_pending_) {
    clock_ = ts;
    jump_pending_ = false;
  } else {
    jump_pending_ = true;
  }
}

void FlowTable::tick(Timestamp ts) {
  advance_clock(ts);
  if (clock_ - last_expire_ >= kNanosPerSecond) {
    expire(clock_);
    last_expire_ = clock_;
  }
}

void FlowTable::pass_time(Timestamp ts) { tick(ts); }

void FlowTable::on_segment(const Segment& s, bool may_open) {
  ++stats_.segments;
  tick(s.ts);
  order_ = kOrderSegment;
  const FlowKey key = FlowKey::of(s.src, s.dst);
  uint32_t reuse_index = 0;
  uint64_t previous_id = UINT64_MAX;
  PrevEnd prev = PrevEnd::kUnclean;
  bool append = false;
  Entry* found = table_.find(key);
  // A compact connection is whole again for its next segment.
  std::unique_ptr<Pending> syns;
  if (!found && (syns = pending_.take(key))) found = &revive(*syns);
  if (found) {
    Entry& e = *found;
    const Identity who = e.identity();
    if (!starts_new_connection(who, e.closing, s)) {
      // Only a SYN keeps it half-open (and cannot close it: e stays).
      const bool syn = e.only_syns && Pending::pure_syn(s);
      process(e, s);
      if (syn) after_syn(e, std::move(syns), s);
      return;
    }
    reuse_index = e.conn.reuse_index + 1;
    previous_id = e.conn.id;
    prev = who.clean ? PrevEnd::kClean : e.closing ? PrevEnd::kUnclean : PrevEnd::kOpen;
    // A closing connection keeps the reason it closed for.
    close(e, CloseReason::kReused, s.ts);
    // The new connection replaces the tombstone close() left.
    lru_unlink(tomb_head_, tomb_tail_, *tombstones_.find(key));
    tombstones_.erase(key);
  } else if (Tombstone* t = tombstones_.find(key)) {
    if (!starts_new_connection(t->who, true, s)) {
      ++stats_.late_segments;
      for (SegmentObserver* o : observers_) {
        o->on_segment_after_close(t->who.id, t->who.dir_of(s.src), s);
      }
      return;
    }
    reuse_index = t->who.reuse_index + 1;
    previous_id = t->who.id;
    prev = t->who.clean ? PrevEnd::kClean : PrevEnd::kUnclean;
    lru_unlink(tomb_head_, tomb_tail_, *t);
    tombstones_.erase(key);
  } else if (const RetiredTuple* r = retired_.find(key)) {
    if (r->evicted && !starts_new_connection(identity_of(*r), false, s)) {
      // The evicted connection's own later packets: it goes on, in the
      // same files, rather than as a new connection per segment.
      if (!may_open) {
        ++stats_.ignored_segments;
        return;
      }
      const RetiredTuple cont = *r;  // evicting below may drop the record
      retired_.erase(key);
      make_room(s.ts);
      process(*create(key, s, cont.next_index - 1, cont.last_id, prev, &cont), s);
      return;
    }
    reuse_index = r->next_index;
    previous_id = r->last_id;
    prev = r->clean ? PrevEnd::kClean : PrevEnd::kUnclean;
  } else {
    append = retired_.maybe_dropped(key);
  }
  if (!may_open) {
    ++stats_.ignored_segments;
    return;
  }
  make_room(s.ts);
  Entry& e = *create(key, s, reuse_index, previous_id, prev, nullptr, append);
  process(e, s);
  if (Pending::pure_syn(s)) after_syn(e, nullptr, s);
}

uint64_t FlowTable::order_seq_of(const Node& n) const {
  if (!n.compact) return static_cast<const Entry&>(n).order_seq;
  const auto it = pending_order_.find(static_cast<const Pending&>(n).key);
  return it != pending_order_.end() ? it->second : 0;
}

void FlowTable::make_room(Timestamp ts) {
  if (open_connections() >= limits_.max_flows && closing_head_) {
    // A closing connection is done but for its late packets: it goes first.
    close(static_cast<Entry&>(*closing_head_), CloseReason::kFin, ts);
  } else if (open_connections() >= limits_.max_flows && lru_head_) {
    // Evict the least recently active connection.
    ++stats_.evicted;
    close(whole(*lru_head_), CloseReason::kEvicted, ts);
  }
}

void FlowTable::process(Entry& e, const Segment& s) {
  e.last_activity = std::max(s.ts, clock_);
  if (!e.closing) {
    // Its place in the LRU list; closing, its place in the closing list.
    e.order_seq = seq_;
    if (&e != lru_tail_) {
      lru_unlink<Node>(lru_head_, lru_tail_, e);
      lru_push_back<Node>(lru_head_, lru_tail_, e);
    }
  }
  update(e, s);
}

void FlowTable::update(Entry& e, const Segment& s) {
  const Dir d = e.dir_of(s.src);
  const int di = index_of(d);
  DirectionStats& st = e.conn.dir[di];
  StreamReassembler& rs = e.streams[di];
  const size_t buffered_before = e.buffered();
  ++e.packets;
  if (e.only_syns && (d != Dir::kClientToServer || !Pending::pure_syn(s))) {
    e.only_syns = false;
    if (e.syns) drop_young(e);
  }
  e.conn.last_ts = std::max(e.conn.last_ts, s.ts);
  if (st.packets++ == 0) {
    st.first_ts = s.ts;
    e.conn.vlan[di] = s.vlan;
  }
  st.last_ts = s.ts;
  st.payload_bytes += s.payload_len;

  uint32_t data_seq = s.seq;
  if (s.has(tcp_flags::kSyn)) {
    data_seq = s.seq + 1;
    st.syn = true;
    if (d == Dir::kClientToServer && !s.has(tcp_flags::kAck) && !e.client_syn) {
      e.client_syn = true;
      e.client_isn = s.seq;
      e.conn.handshake_seen = true;
      e.conn.syn_ts = s.ts;
    } else if (d == Dir::kServerToClient && s.has(tcp_flags::kAck) && !e.server_syn) {
      e.server_syn = true;
      e.server_isn = s.seq;
      e.conn.synack_ts = s.ts;
    }
  }
  e.guard.observe(d, s);
  // Analysis sees every segment in capture order, before reassembly.
  {
    std::vector<Finding> found;
    e.tracker.on_segment(e.conn, d, s, found);
    for (const Finding& f : found) report(e, f);
  }
  if (e.closing) {
    // Its streams are complete: the segment is analysed, not stream data.
    for (SegmentObserver* o : observers_) o->on_segment(e.conn, d, s);
    return;
  }

  // A direction's offsets start at its SYN, or else at its first byte:
  // pure ACKs do not anchor it, since a reordered capture may still hold
  // earlier data.
  if (!rs.has_base() &&
      (s.has(tcp_flags::kSyn) || s.payload_len + s.missing_len > 0)) {
    // A FIN before any byte already ended the direction, and its shutdown
    // was told: the stream stays empty, and what comes now lies past its
    // end (or before its start).
    const bool ended = e.pending_fin[di] && e.shut[di];
    const uint32_t base = ended ? *e.pending_fin[di] : data_seq;
    rs.set_base(base);
    e.base_known[di] = true;
    e.base_seq[di] = base;
    if (e.pending_fin[di]) rs.set_end(*e.pending_fin[di]);
  }

  stream_segment(e, d, s, data_seq);
  if (s.has(tcp_flags::kFin)) st.fin = true;
  if (s.has(tcp_flags::kRst)) st.rst = true;

  // An ACK past a hole in the other direction proves those bytes crossed
  // the wire; the hole is declared lost if it does not fill soon.
  const int pi = 1 - di;
  StreamReassembler& peer = e.streams[pi];
  if (s.has(tcp_flags::kAck) && peer.has_base()) {
    const int64_t acked = peer.offset_of(s.ack);
    if (acked > 0) e.guard.acked(pi, static_cast<uint64_t>(acked));
    if (auto held = e.guard.release_if_in_window(pi)) {
      feed(e, reverse(d), held->seg, held->data_seq);
    }
    const bool hole_before_data =
        peer.has_holes() && peer.first_buffered_offset() < static_cast<uint64_t>(acked);
    const bool hole_before_fin = peer.end_offset() && peer.next_offset() < *peer.end_offset();
    if (acked > static_cast<int64_t>(peer.next_offset()) &&
        (hole_before_data || hole_before_fin)) {
      // Zeek's content gap, at the ACK that first passes the hole (Zeek's
      // reassembler skips it then, whatever arrives later).
      if (e.acked[pi] <= peer.next_offset()) e.tracker.on_content_gap(e.conn, reverse(d));
      e.acked[pi] = std::max<uint64_t>(e.acked[pi], static_cast<uint64_t>(acked));
      if (!e.proof_pending[pi]) {
        e.proof_pending[pi] = true;
        e.proof_packet[pi] = e.packets;
        e.proof_ts[pi] = s.ts;
      }
    }
  }
  flush_proven_holes(e, s.ts);

  buffered_ = buffered_ - buffered_before + e.buffered();
  enforce_buffer_caps(e, s.ts);
  stats_.peak_buffered = std::max(stats_.peak_buffered, buffered_);

  for (SegmentObserver* o : observers_) o->on_segment(e.conn, d, s);

  if (s.has(tcp_flags::kRst) && !e.shut[di]) {
    // The reset ends the direction: what it still holds (out-of-order
    // bytes, holes as gaps) goes out first, so that nothing of it follows
    // the shutdown (the sink contract, include/tcpscribe/sink.h).
    if (const auto held = e.guard.take_held(di)) reject_out_of_window(e, d, *held);
    const size_t held_before = e.buffered();
    DirOutput out(*this, e, d);
    e.streams[di].flush_all(s.ts, out);
    e.streams[di].seal();
    buffered_ -= held_before - e.buffered();
    e.shut[di] = true;
    for (Sink* sink : sinks_) sink->on_shutdown(e.conn, d, true, s.ts);
  }
  note_shutdowns(e, s.ts);

  // FIN and RST take effect in sequence order: close once every byte
  // before them is delivered. After a RST nothing more is expected.
  const bool reset = e.conn.dir[0].rst || e.conn.dir[1].rst;
  if (reset && !e.streams[0].has_holes() && !e.streams[1].has_holes()) {
    begin_close(e, CloseReason::kRst, s.ts);
  } else if (e.complete(0) && e.complete(1)) {
    begin_close(e, CloseReason::kFin, s.ts);
  }
}

void FlowTable::begin_close(Entry& e, CloseReason why, Timestamp ts) {
  end_streams(e, ts);
  e.closing = true;
  e.closing_why = why;
  e.closing_at = clock_;
  if (limits_.close_delay <= 0) {
    close(e, why, ts);
    return;
  }
  // Nothing more goes into the streams: give their memory back.
  for (StreamReassembler& rs : e.streams) rs = StreamReassembler();
  lru_unlink<Node>(lru_head_, lru_tail_, e);
  lru_push_back<Node>(closing_head_, closing_tail_, e);
}

void FlowTable::close(Entry& e, CloseReason why, Timestamp ts) {
  const bool was_closing = e.closing && limits_.close_delay > 0;
  if (e.closing) {
    why = e.closing_why;
  } else {
    end_streams(e, ts);
  }
  {
    std::vector<Finding> found;
    e.tracker.on_close(e.conn, found);
    for (const Finding& f : found) report(e, f);
  }
  for (Sink* s : sinks_) s->on_close(e.conn, why);
  if (why == CloseReason::kIdle) ++stats_.idle_closed;
  const FlowKey key = e.key;
  if (why == CloseReason::kIdle || why == CloseReason::kEvicted) {
    // Packets that come after this are a new connection on the tuple (or,
    // evicted, its continuation).
    retire(e, why);
  } else if (!finishing_) {
    // A compact tombstone lets late packets (the last ACK, retransmitted
    // FINs) be recognised instead of opening a new, swapped flow. At the
    // end of input none can come: none is made (memory at the peak).
    Tombstone* t = tombstones_.find(key);
    if (t) {
      lru_unlink(tomb_head_, tomb_tail_, *t);
    } else {
      auto fresh = std::make_unique<Tombstone>();
      fresh->key = key;
      t = tombstones_.insert(std::move(fresh));
    }
    t->who = e.identity();
    t->closed_at = clock_;
    lru_push_back(tomb_head_, tomb_tail_, *t);
  }
  if (e.syns) drop_young(e);
  if (was_closing) {
    lru_unlink<Node>(closing_head_, closing_tail_, e);
  } else {
    lru_unlink<Node>(lru_head_, lru_tail_, e);
  }
  table_.erase(key);  // destroys e
}

void FlowTable::expire(Timestamp now) {
  while (closing_head_ &&
         now - static_cast<Entry*>(closing_head_)->closing_at > limits_.close_delay) {
    Entry& e = static_cast<Entry&>(*closing_head_);
    order_ = kOrderClosing | e.order_seq;
    close(e, e.closing_why, now);
  }
  while (tomb_head_) {
    Tombstone& t = *tomb_head_;
    if (now - t.closed_at <= limits_.closed_linger) break;
    const FlowKey key = t.key;
    RetiredTuple r;
    r.next_index = t.who.reuse_index + 1;
    r.last_id = t.who.id;
    r.clean = t.who.clean;
    retired_.put(key, r);
    stats_.retired_dropped = retired_.dropped();
    lru_unlink(tomb_head_, tomb_tail_, t);
    tombstones_.erase(key);  // destroys t
  }
  if (limits_.idle_timeout <= 0) return;
  while (lru_head_ && now - lru_head_->last_activity > limits_.idle_timeout) {
    order_ = kOrderIdle | order_seq_of(*lru_head_);
    close(whole(*lru_head_), CloseReason::kIdle, now);
  }
}

void FlowTable::finish() {
  finishing_ = true;
  // In order of first packet; a compact connection's id is its Pending's.
  std::vector<std::pair<uint64_t, Node*>> open;
  open.reserve(open_connections());
  for (Node* n = lru_head_; n; n = n->lru_next) {
    open.emplace_back(n->compact ? static_cast<Pending*>(n)->id : static_cast<Entry*>(n)->conn.id,
                      n);
  }
  for (Node* n = closing_head_; n; n = n->lru_next) {
    open.emplace_back(static_cast<Entry*>(n)->conn.id, n);
  }
  std::sort(open.begin(), open.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, n] : open) {
    Entry& e = whole(*n);
    close(e, CloseReason::kEndOfInput, e.conn.last_ts);
  }
  for (Sink* s : sinks_) s->finish();
}

}  // namespace tcpscribe
