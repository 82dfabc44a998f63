// FlowTable: segments into the streams (the window guard, reassembly,
// conflicts, FINs), holes proven by ACKs or forced by buffer caps, and
// the end of the streams.
#include <algorithm>

#include "flow_table_entry.h"

namespace tcpscribe {

void FlowTable::feed(Entry& e, Dir d, const Segment& s, uint32_t data_seq) {
  const int di = index_of(d);
  DirectionStats& st = e.conn.dir[di];
  StreamReassembler& rs = e.streams[di];
  DirOutput out(*this, e, d);
  // More than 1 GiB behind the stream (2^31 away looks like that): no
  // retransmission can be, since no window is larger. Left out, and said.
  if (rs.has_base() && static_cast<int64_t>(rs.next_offset()) - rs.offset_of(data_seq) >
                           (int64_t{1} << 30)) {
    leave_out_jump(e, d, s, data_seq);
    return;
  }
  if (s.payload_len + s.missing_len > 0 && !s.has(tcp_flags::kSyn | tcp_flags::kFin |
                                                  tcp_flags::kRst) &&
      rs.is_keep_alive(data_seq, s.payload_len + s.missing_len)) {
    ++stats_.keep_alives;
  } else if (s.payload_len + s.missing_len > 0) {
    const AddResult r =
        rs.add(data_seq, s.payload, s.payload_len, s.missing_len, s.ts, out);
    st.retransmitted_bytes += r.old_bytes;
    if (r.conflict) {
      ++st.conflicting_overlaps;
      ++stats_.conflicting_overlaps;
      Finding f;
      f.kind = Finding::Kind::kConflictingOverlap;
      f.dir = d;
      f.ts = s.ts;
      f.length = s.payload_len;
      f.text = "a retransmitted segment carries different bytes than the first copy "
               "(the first copy is kept)";
      report(e, f);
    }
    if (r.before_start) stats_.bytes_before_start += s.payload_len;
  }
  if (s.has(tcp_flags::kFin)) {
    const uint32_t fin_seq = data_seq + s.payload_len + s.missing_len;
    if (rs.has_base()) rs.set_end(fin_seq);
    else if (!e.pending_fin[di]) e.pending_fin[di] = fin_seq;
  }
  if (rs.has_base()) {
    const int64_t end = rs.offset_of(data_seq) + s.payload_len + s.missing_len;
    e.guard.accepted(di, end > 0 ? static_cast<uint64_t>(end) : 0);
  }
}

void FlowTable::leave_out_jump(Entry& e, Dir d, const Segment& s, uint32_t data_seq) {
  ++stats_.out_of_window;
  const int di = index_of(d);
  const StreamReassembler& rs = e.streams[di];
  e.conn.dir[di].dropped_bytes += s.payload_len + s.missing_len;
  if (e.jump_reported[di]) return;  // one finding per direction
  e.jump_reported[di] = true;
  Finding f;
  f.kind = Finding::Kind::kOutOfWindow;
  f.dir = d;
  f.ts = s.ts;
  f.offset = rs.next_offset();
  f.length = s.payload_len + s.missing_len;
  const uint32_t jump = data_seq - (rs.base() + static_cast<uint32_t>(rs.next_offset()));
  f.text = "sequence numbers jumped by " + std::to_string(jump) +
           " at offset " + std::to_string(f.offset) +
           " (more than any window back): this segment and later ones at those numbers" +
           (s.has(tcp_flags::kFin) ? " (a FIN among them)" : "") +
           " are left out of the stream (a corrupt or crafted capture)";
  report(e, f);
}

void FlowTable::stream_segment(Entry& e, Dir d, const Segment& s, uint32_t data_seq) {
  const int di = index_of(d);
  StreamReassembler& rs = e.streams[di];
  const uint32_t len = s.payload_len + s.missing_len;
  if (!rs.has_base() || s.has(tcp_flags::kSyn | tcp_flags::kRst) ||
      (len == 0 && !s.has(tcp_flags::kFin))) {
    feed(e, d, s, data_seq);
    return;
  }
  std::unique_ptr<WindowGuard::Held> rejected;
  const auto verdict = e.guard.judge(di, rs.offset_of(data_seq), data_seq, s, rejected);
  if (rejected) reject_out_of_window(e, d, *rejected);
  if (verdict == WindowGuard::Verdict::kTakeHeldFirst) {
    const auto held = e.guard.take_held(di);
    feed(e, d, held->seg, held->data_seq);
  }
  if (verdict != WindowGuard::Verdict::kHold) feed(e, d, s, data_seq);
}

void FlowTable::reject_out_of_window(Entry& e, Dir d, const WindowGuard::Held& h) {
  ++stats_.out_of_window;
  // Left out as leave_out_jump's are: in the capture, not in the stream.
  e.conn.dir[index_of(d)].dropped_bytes += h.seg.payload_len + h.seg.missing_len;
  const uint64_t front = e.streams[index_of(d)].next_offset();
  Finding f;
  f.kind = Finding::Kind::kOutOfWindow;
  f.dir = d;
  f.ts = h.seg.ts;
  f.offset = h.offset;
  f.length = h.seg.payload_len + h.seg.missing_len;
  f.text = "segment left out: it starts " +
           std::to_string(h.offset - std::min(h.offset, front)) +
           " bytes past the stream's end, far outside any window the connection showed "
           "(largest " + std::to_string(e.guard.largest_window()) + " bytes); " +
           std::to_string(f.length) + " bytes at offset " + std::to_string(h.offset) +
           (h.seg.has(tcp_flags::kFin) ? ", and a FIN" : "");
  report(e, f);
}

void FlowTable::note_shutdowns(Entry& e, Timestamp ts) {
  for (int i = 0; i < 2; ++i) {
    if (e.shut[i] || !e.complete(i)) continue;
    e.shut[i] = true;
    for (Sink* sink : sinks_) sink->on_shutdown(e.conn, static_cast<Dir>(i), false, ts);
  }
}

void FlowTable::report(Entry& e, const Finding& f) {
  for (Sink* sink : sinks_) sink->on_finding(e.conn, f);
}

void FlowTable::flush_proven_holes(Entry& e, Timestamp ts) {
  for (int i = 0; i < 2; ++i) {
    if (!e.proof_pending[i]) continue;
    StreamReassembler& rs = e.streams[i];
    if (rs.next_offset() >= e.acked[i]) {
      e.proof_pending[i] = false;
      continue;
    }
    if (e.packets - e.proof_packet[i] < limits_.ack_proof_packets &&
        ts - e.proof_ts[i] < limits_.ack_proof_time) {
      continue;
    }
    DirOutput out(*this, e, static_cast<Dir>(i));
    rs.flush_holes_until(e.acked[i], ts, out);
    // The ACK covers the FIN too: nothing more can come before it.
    if (rs.end_offset() && e.acked[i] > *rs.end_offset()) rs.flush_all(ts, out);
    e.proof_pending[i] = false;
  }
}

void FlowTable::enforce_buffer_caps(Entry& e, Timestamp ts) {
  for (int i = 0; i < 2; ++i) {
    StreamReassembler& rs = e.streams[i];
    while (rs.buffered_bytes() > limits_.max_buffer_per_direction) {
      const size_t before = rs.buffered_bytes();
      DirOutput out(*this, e, static_cast<Dir>(i), true);
      rs.flush_holes_until(rs.first_buffered_offset() + 1, ts, out);
      buffered_ -= before - rs.buffered_bytes();
      ++stats_.forced_flushes;
    }
  }
  // Over the global cap: give up the oldest holes first.
  for (Node* it = lru_head_; buffered_ > limits_.max_buffer_total && it;
       it = it->lru_next) {
    if (it->compact) continue;  // holds no bytes
    Entry& victim = static_cast<Entry&>(*it);
    for (int i = 0; i < 2; ++i) {
      StreamReassembler& rs = victim.streams[i];
      if (!rs.has_holes()) continue;
      const size_t before = rs.buffered_bytes();
      DirOutput out(*this, victim, static_cast<Dir>(i), true);
      rs.flush_all(ts, out);
      buffered_ -= before;
      ++stats_.forced_flushes;
    }
  }
}

void FlowTable::end_streams(Entry& e, Timestamp ts) {
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    if (const auto held = e.guard.take_held(index_of(d))) reject_out_of_window(e, d, *held);
  }
  buffered_ -= e.buffered();
  for (int i = 0; i < 2; ++i) {
    DirOutput out(*this, e, static_cast<Dir>(i));
    e.streams[i].flush_all(ts, out);
  }
  note_shutdowns(e, ts);
}

}  // namespace tcpscribe
