#include "tcp_analysis.h"

#include <algorithm>
#include <cstdio>

namespace tcpscribe {
namespace {

using tcp_flags::kAck;
using tcp_flags::kFin;
using tcp_flags::kRst;
using tcp_flags::kSyn;

// RFC 1982 comparisons: sequence numbers wrap at 2^32.
bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

// Marks a segment leaves for the peer's next segment (Wireshark's
// lastsegmentflags): the ACK of a keep-alive or of a zero-window probe is
// not a duplicate ACK.
constexpr uint8_t kMarkKeepAlive = 1;
constexpr uint8_t kMarkZeroWindowProbe = 2;

// Letters that appear at most once per direction (Zeek's HIST_* masks).
constexpr uint8_t kHistSyn = 1;
constexpr uint8_t kHistFin = 2;
constexpr uint8_t kHistRst = 4;
constexpr uint8_t kHistData = 8;
constexpr uint8_t kHistAck = 16;
constexpr uint8_t kHistFinRst = 32;
constexpr uint8_t kHistMultiFlag = 64;

// Wireshark's out-of-order window when the handshake RTT is unknown.
constexpr Timestamp kDefaultOutOfOrderWindow = 3'000'000;
constexpr Timestamp kFastRetransmissionWindow = 20'000'000;
// Bounds memory on pathological connections (thousands of FINs with
// different sequence numbers); Zeek's history of a sane connection is short.
constexpr size_t kMaxHistory = 256;

// `t` came at most `window` after `since`; time running backwards (a
// reordered capture) is not "soon after", as in Wireshark.
bool within(Timestamp since, Timestamp t, Timestamp window) {
  return t >= since && t - since < window;
}

const char* side(Dir d) { return d == Dir::kClientToServer ? "client" : "server"; }

// The size of the TLS alert record `p` starts with, 0 if it is none. A
// closing alert (close_notify) sent after the peer's FIN is how TLS ends,
// not a request.
uint16_t tls_alert_record(const uint8_t* p, uint32_t n) {
  if (n < 5 || p[1] != 0x03 || p[2] > 0x04) return 0;
  const uint32_t body = (uint32_t{p[3]} << 8) | p[4];
  // Up to TLS 1.2 an alert has its own content type (21): 2 bytes in
  // clear, a few dozen once encrypted.
  if (p[0] == 0x15) return body >= 2 && body <= 256 ? static_cast<uint16_t>(5 + body) : 0;
  // TLS 1.3 hides it in application data (23): the 2 alert bytes, the inner
  // content type and a 16-byte AEAD tag.
  if (p[0] == 0x17 && body == 19) return 24;
  return 0;
}

std::string seconds(Timestamp ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

// Zeek's conn_state() tells RSTOS0 from OTH by the history matching
// /^\^?S[^HAFGIQ]*R.*/: an originator SYN, then an originator RST with no
// originator SYN-ACK, ACK, FIN, gap, inconsistency or multi-flag between.
bool syn_then_rst(const std::string& h) {
  size_t i = !h.empty() && h[0] == '^' ? 1 : 0;
  if (i >= h.size() || h[i] != 'S') return false;
  for (++i; i < h.size(); ++i) {
    const char ch = h[i];
    if (ch == 'R') return true;
    if (std::string_view("HAFGIQ").find(ch) != std::string_view::npos) return false;
  }
  return false;
}

}  // namespace

bool ConnectionTracker::Scaled::step() {
  if (++count != threshold) return false;
  if (count < 10) threshold = 1;  // as Zeek: 1, 10, 100, ...
  threshold *= 10;
  return true;
}

void ConnectionTracker::add_history(Connection& c, Dir d, char code) {
  if (c.analysis.history.size() >= kMaxHistory) return;
  if (d == Dir::kServerToClient) code = static_cast<char>(code - 'A' + 'a');
  c.analysis.history += code;
}

bool ConnectionTracker::check_history(Connection& c, Dir d, uint8_t bit, char code) {
  DirState& ds = dir_[index_of(d)];
  if (ds.hist_seen & bit) return true;
  ds.hist_seen |= bit;
  add_history(c, d, code);
  return false;
}

void ConnectionTracker::on_bad_checksum(Connection& c, Dir d) {
  if (dir_[index_of(d)].checksum.step()) add_history(c, d, 'C');
}

void ConnectionTracker::on_content_gap(Connection& c, Dir d) {
  if (dir_[index_of(d)].gap.step()) add_history(c, d, 'G');
}

void ConnectionTracker::on_segment(Connection& c, Dir d, const Segment& s,
                                   std::vector<Finding>& findings) {
  const int di = index_of(d);
  DirState& me = dir_[di];
  const uint32_t len = s.payload_len + s.missing_len;
  if (!any_packet_) {
    any_packet_ = true;
    // Picked up from the responder's side (a lone SYN-ACK first).
    if (d == Dir::kServerToClient) c.analysis.history += '^';
  }

  // What this segment adds to the stream, judged before it moves next_seq.
  const bool had_next = me.next_known;
  const uint32_t old_next = me.next_seq;
  const bool new_data = len > 0 && (!had_next || seq_gt(s.seq + len, old_next));

  update_history(c, d, s, len);
  update_state(d, s, len);
  analyze_sequence(c, d, s);

  // Handshake: the client's ACK of the SYN-ACK closes the RTT.
  if (s.has(kSyn)) {
    if (!me.syn_seen) {
      me.syn_seen = true;
      me.isn = s.seq;
    }
    if (d == Dir::kClientToServer && !s.has(kAck)) me.last_syn_ts = s.ts;
    if (d == Dir::kServerToClient && s.has(kAck) && !server_synack_) {
      server_synack_ = true;
      server_isn_ = s.seq;
    }
  } else if (d == Dir::kClientToServer && s.has(kAck) && rtt_ < 0 && server_synack_ &&
             me.syn_seen && s.ack == server_isn_ + 1) {
    rtt_ = std::max<Timestamp>(0, s.ts - me.last_syn_ts);
    c.analysis.rtt = rtt_;
  }

  uint64_t new_bytes = 0;
  uint64_t first_new_offset = 0;
  if (new_data) {
    const uint32_t first_new = had_next && seq_lt(s.seq, old_next) ? old_next : s.seq;
    new_bytes = s.seq + len - first_new;
    first_new_offset = offset_of(me, first_new);
  }
  track_data_after_fin(c, d, s, new_bytes, first_new_offset, findings);

  if (s.has(kFin) && !me.fin_seen) {
    me.fin_seen = true;
    me.fin_ts = s.ts;
  }
  if (s.has(kRst)) me.rst_seen = true;
  if (len > 0) me.payload_seen = true;
}

uint64_t ConnectionTracker::offset_of(const DirState& ds, uint32_t seq) {
  const uint64_t top = (uint64_t{ds.wraps} << 32) | static_cast<uint32_t>(ds.next_seq - ds.base_seq);
  const int64_t delta = static_cast<int32_t>(seq - ds.next_seq);
  return delta < 0 && static_cast<uint64_t>(-delta) > top ? 0 : top + delta;
}

void ConnectionTracker::analyze_sequence(Connection& c, Dir d, const Segment& s) {
  const int di = index_of(d);
  DirState& f = dir_[di];      // this direction ("fwd" in Wireshark)
  DirState& r = dir_[1 - di];  // the peer ("rev")
  TcpAnalysisCounts& n = c.analysis.dir[di];
  const uint32_t seq = s.seq;
  const uint32_t ack = s.ack;
  const uint32_t seglen = s.payload_len + s.missing_len;
  const bool control = s.has(kSyn | kFin | kRst);
  bool zero_window_probe = false;
  bool keep_alive = false;

  // Stream offsets start at the SYN, or else at the first byte.
  if (!f.base_known && (s.has(kSyn) || seglen > 0)) {
    f.base_known = true;
    f.base_seq = s.has(kSyn) ? seq + 1 : seq;
  }

  if (seglen == 1 && f.next_known && seq == f.next_seq && r.window_known && r.window == 0) {
    // A zero-window probe is none of the events below, and does not move
    // next_seq: the byte is sent again once the window opens.
    zero_window_probe = true;
  } else {
    if (s.window == 0 && !control) ++n.zero_window;
    if (f.next_known && seq_gt(seq, f.next_seq) && !s.has(kRst)) {
      ++n.lost_segment;
    }
    if (seglen <= 1 && f.next_known && seq == f.next_seq - 1 && !control) {
      keep_alive = true;
      ++n.keep_alive;
    }
    const bool repeats_ack = seglen == 0 && f.window_known && f.next_known &&
                             seq == f.next_seq && f.ack_known && ack == f.last_ack &&
                             !control;
    const bool answers_probe =
        repeats_ack && s.window == f.window &&
        ((s.window != 0 && (r.last_marks & kMarkKeepAlive)) ||
         (s.window == 0 && (r.last_marks & kMarkZeroWindowProbe)));
    if (repeats_ack && !answers_probe && s.window != 0 && s.window == f.window) {
      ++f.dupacks;
      ++n.duplicate_ack;
    }
  }
  if (!s.has(kAck) || !f.ack_known || ack != f.last_ack) f.dupacks = 0;

  // This segment acknowledges bytes of the peer's that the capture never
  // showed.
  if (s.has(kAck) && r.tobeacked_known && seq_gt(ack, r.max_seq_to_be_acked)) {
    ++n.ack_lost_segment;
    r.max_seq_to_be_acked = r.next_seq;
    // Zeek's content gap (of the side whose bytes are missing) only when
    // the ACK passes every byte captured: Wireshark's test also fires when
    // retransmissions cut the bytes at other boundaries, and holes between
    // captured bytes are the reassembly's to report (on_content_gap).
    if (r.next_known && seq_gt(ack, r.next_seq) && r.gap.step()) {
      add_history(c, reverse(d), 'G');
    }
  }

  // Where the segment ends in sequence space (SYN and FIN count one).
  const uint32_t end = seq + seglen + (s.has(kSyn | kFin) ? 1 : 0);
  if ((seglen > 0 || s.has(kSyn | kFin)) && f.next_known && seq_lt(seq, f.next_seq) &&
      !keep_alive) {
    const Timestamp ooo_window = rtt_ >= 0 ? rtt_ : kDefaultOutOfOrderWindow;
    if (seglen > 0 && r.ack_known && !seq_gt(seq + seglen, r.last_ack)) {
      ++n.spurious_retransmission;
    } else if (r.dupacks >= 2 && r.last_ack == seq &&
               within(r.last_ack_ts, s.ts, kFastRetransmissionWindow)) {
      ++n.fast_retransmission;
    } else if (within(f.next_seq_ts, s.ts, ooo_window) && f.next_seq != end) {
      // Soon after the newest segment, and not a copy of it: it fills a
      // hole (a segment that ends at next_seq repeats the last one).
      ++n.out_of_order;
    } else {
      ++n.retransmission;
    }
  }

  const uint32_t next = end;
  if (!zero_window_probe) {
    if (!f.next_known || seq_gt(next, f.next_seq)) {
      if (f.next_known && f.base_known &&
          static_cast<uint32_t>(next - f.base_seq) < static_cast<uint32_t>(f.next_seq - f.base_seq)) {
        ++f.wraps;
      }
      f.next_known = true;
      f.next_seq = next;
      f.next_seq_ts = s.ts;
    }
    if (!f.tobeacked_known || seq == f.max_seq_to_be_acked) {
      f.tobeacked_known = true;
      f.max_seq_to_be_acked = f.next_seq;
    }
  }
  f.window = s.window;
  f.window_known = true;
  if (s.has(kAck)) {
    if (!f.ack_known) f.first_ack = ack;
    f.last_ack = ack;
    f.ack_known = true;
  }
  f.last_ack_ts = s.ts;
  f.last_marks = static_cast<uint8_t>((keep_alive ? kMarkKeepAlive : 0) |
                                      (zero_window_probe ? kMarkZeroWindowProbe : 0));
}

void ConnectionTracker::update_history(Connection& c, Dir d, const Segment& s, uint32_t len) {
  DirState& ep = dir_[index_of(d)];
  const int bits = s.has(kSyn) + s.has(kFin) + s.has(kRst);
  if (bits > 1) {
    if (s.has(kFin) && s.has(kRst)) {
      check_history(c, d, kHistFinRst, 'I');
    } else {
      check_history(c, d, kHistMultiFlag, 'Q');
    }
  } else if (bits == 1) {
    if (s.has(kSyn)) {
      const char code = s.has(kAck) ? 'H' : 'S';
      if (check_history(c, d, kHistSyn, code) && s.seq != ep.hist_last_syn) {
        add_history(c, d, code);
      }
      ep.hist_last_syn = s.seq;
    }
    if (s.has(kFin)) {
      // A FIN's sequence number is the one after its data.
      if (check_history(c, d, kHistFin, 'F') && s.seq + len != ep.hist_last_fin) {
        add_history(c, d, 'F');
      }
      ep.hist_last_fin = s.seq + len;
    }
    if (s.has(kRst)) {
      if (check_history(c, d, kHistRst, 'R') && s.seq != ep.hist_last_rst) {
        add_history(c, d, 'R');
      }
      ep.hist_last_rst = s.seq;
    }
  } else if (len > 0) {
    check_history(c, d, kHistData, 'D');
  } else if (s.has(kAck)) {
    check_history(c, d, kHistAck, 'A');
  }

  if (s.window == 0 && !s.has(kSyn | kFin | kRst) && ep.zero_win.step()) {
    add_history(c, d, 'W');
  }
  // Payload that does not advance the highest sequence number seen.
  if (len > 0 && ep.next_known && !seq_gt(s.seq + len, ep.next_seq) && ep.rexmit.step()) {
    add_history(c, d, 'T');
  }
}

void ConnectionTracker::update_state(Dir d, const Segment& s, uint32_t len) {
  using S = EndpointState;
  DirState& ep = dir_[index_of(d)];
  DirState& peer = dir_[1 - index_of(d)];
  const bool is_orig = d == Dir::kClientToServer;
  auto set = [](DirState& e, S next) {
    if (e.state == next) return;
    e.prev_state = e.state;
    e.state = next;
  };
  switch (ep.state) {
    case S::kInactive:
      if (s.has(kSyn)) {
        if (is_orig) {
          set(ep, s.has(kAck) ? S::kSynAckSent : S::kSynSent);
        } else {
          // The responder's SYN (with ACK, or a simultaneous open)
          // establishes both sides.
          if (peer.state == S::kSynSent) set(peer, S::kEstablished);
          set(ep, S::kEstablished);
        }
      }
      if (s.has(kFin)) set(ep, S::kClosed);
      if (s.has(kRst)) set(ep, S::kReset);
      if (ep.state == S::kInactive) {
        if (!is_orig && len == 0 && peer.state == S::kSynSent) {
          // Some stacks ACK a SYN before their SYN-ACK: not a partial connection.
        } else if (s.has(kAck) && peer.state == S::kEstablished) {
          set(ep, S::kEstablished);  // the SYN was missed, the SYN-ACK seen
        } else {
          set(ep, S::kPartial);
        }
      }
      break;
    case S::kSynSent:
    case S::kSynAckSent:
      if (s.has(kFin)) set(ep, S::kClosed);
      if (s.has(kRst)) set(ep, S::kReset);
      break;
    case S::kPartial:
    case S::kEstablished:
      if (s.has(kFin) && !s.has(kRst)) {
        set(ep, S::kClosed);
        // FIN then RST from the peer, then our FIN: a normal termination.
        if (peer.state == S::kReset && peer.prev_state == S::kClosed) set(peer, S::kClosed);
      }
      if (s.has(kRst)) set(ep, S::kReset);
      break;
    case S::kClosed:
      // After both FINs a RST changes nothing.
      if (s.has(kRst) && peer.state != S::kClosed) set(ep, S::kReset);
      break;
    case S::kReset:
      break;
  }
}

void ConnectionTracker::track_data_after_fin(const Connection& c, Dir d, const Segment& s,
                                             uint64_t new_bytes, uint64_t offset,
                                             std::vector<Finding>& findings) {
  DirState& me = dir_[index_of(d)];
  DirState& peer = dir_[1 - index_of(d)];
  if (new_bytes > 0 && peer.fin_seen && !me.after_fin_reported) {
    if (me.after_fin_bytes == 0) {
      me.after_fin_ts = s.ts;
      me.after_fin_offset = offset;
      const uint32_t skip = s.payload_len + s.missing_len - static_cast<uint32_t>(new_bytes);
      if (skip < s.payload_len && s.payload) {
        me.after_fin_tls = tls_alert_record(s.payload + skip, s.payload_len - skip);
      }
    }
    me.after_fin_bytes += new_bytes;
  }
  // This segment may answer the peer's data after our FIN.
  if (peer.after_fin_bytes > 0 && !peer.after_fin_reported) {
    peer.answer_bytes += new_bytes;
    if (s.has(kRst)) {
      peer.answer_rst = true;
      report_data_after_fin(c, reverse(d), findings);
    }
  }
}

void ConnectionTracker::report_data_after_fin(const Connection& c, Dir d,
                                              std::vector<Finding>& findings) {
  DirState& me = dir_[index_of(d)];
  const DirState& peer = dir_[1 - index_of(d)];
  me.after_fin_reported = true;
  const std::string who = side(d);
  const std::string other = side(reverse(d));
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.dir = d;
  f.ts = me.after_fin_ts;
  f.offset = me.after_fin_offset;
  f.length = me.after_fin_bytes;
  f.text = who + " sent " + std::to_string(me.after_fin_bytes) + " bytes " +
           seconds(std::max<Timestamp>(0, me.after_fin_ts - peer.fin_ts)) + " s after the " +
           other + " closed its side (FIN); ";
  // The peer acknowledged those bytes, or the first of them (the close may
  // come before the last ACK): it still reads, the half-close was on
  // purpose. A socket closed for good answers data with RST, never an ACK.
  const uint32_t first_seq = me.base_seq + static_cast<uint32_t>(me.after_fin_offset);
  const bool acked = peer.ack_known && seq_gt(peer.last_ack, first_seq);
  if (me.after_fin_tls != 0 && me.after_fin_tls == me.after_fin_bytes) {
    f.text += "they are a TLS closing alert (close_notify), a normal TLS close.";
    f.alarm = false;
  } else if (me.answer_bytes > 0) {
    f.text += "the " + other + " answered with " + std::to_string(me.answer_bytes) +
              (me.answer_rst ? " bytes, then RST." : " bytes.");
  } else if (me.answer_rst) {
    f.text += "the " + other + " answered with RST.";
  } else if (acked) {
    f.text += "the " + other + " acknowledged them (a half-close, not an error).";
    f.alarm = false;
  } else {
    f.text += "the " + other + " sent nothing back.";
    // A server's data after the client's FIN with no RST is a response to
    // a half-closed connection (the ACK may come after both FINs closed
    // it): normal.
    f.alarm = d == Dir::kClientToServer;
  }
  // Data a client sends is a request; a server's data after the client's
  // FIN (a response to a half-closed connection) is not.
  if (f.alarm && me.answer_bytes == 0 && d == Dir::kClientToServer) {
    f.text += " The request was never answered.";
  }
  (void)c;
  findings.push_back(std::move(f));
}

uint64_t ConnectionTracker::unseen_acked(Dir d) const {
  const DirState& ds = dir_[index_of(d)];
  const DirState& peer = dir_[1 - index_of(d)];
  if (!peer.ack_known) return 0;
  // Without packets of `d`, the peer's first ACK is where its bytes start.
  if (!ds.next_known) {
    return seq_gt(peer.last_ack, peer.first_ack) ? peer.last_ack - peer.first_ack : 0;
  }
  // Nothing follows a FIN; an ACK past it is not data.
  if (ds.fin_seen || !seq_gt(peer.last_ack, ds.next_seq)) return 0;
  return static_cast<uint32_t>(peer.last_ack - ds.next_seq);
}

void ConnectionTracker::report_unseen_acked(Connection& c, std::vector<Finding>& findings) {
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    const uint64_t n = unseen_acked(d);
    c.analysis.unseen_acked[index_of(d)] = n;
    if (n == 0) continue;
    const DirState& ds = dir_[index_of(d)];
    Finding f;
    f.kind = Finding::Kind::kCaptureGap;
    f.dir = d;
    f.ts = c.last_ts;
    f.offset = ds.next_known ? offset_of(ds, ds.next_seq) : 0;
    f.length = n;
    f.text = std::to_string(n) + " bytes missing from the capture at offset " +
             std::to_string(f.offset) + " (the " + side(reverse(d)) + " acknowledged them; " +
             (ds.next_known ? "they follow the last captured packet of this direction)"
                            : "the capture holds no packet of this direction)");
    // A capture of one direction is mostly chosen (a filter, a tap): a
    // fact for the reports, where it keeps requests from looking
    // unanswered, not a line for each connection.
    f.alarm = ds.next_known;
    findings.push_back(std::move(f));
  }
}

std::string ConnectionTracker::conn_state(const Connection& c) const {
  using S = EndpointState;
  const S os = dir_[0].state;
  const S rs = dir_[1].state;
  const bool o_inactive = os == S::kInactive || os == S::kPartial;
  const bool r_inactive = rs == S::kInactive || rs == S::kPartial;
  if (rs == S::kReset) {
    // Zeek asks for zero bytes of sequence space on both sides; payload is
    // what we can tell without storing more.
    if (os == S::kSynSent || os == S::kSynAckSent ||
        (os == S::kReset && !dir_[0].payload_seen && !dir_[1].payload_seen)) {
      return "REJ";
    }
    return o_inactive ? "RSTRH" : "RSTR";
  }
  if (os == S::kReset) {
    if (r_inactive) return syn_then_rst(c.analysis.history) ? "RSTOS0" : "OTH";
    return "RSTO";
  }
  if (rs == S::kClosed && os == S::kClosed) return "SF";
  if (os == S::kClosed) return r_inactive ? "SH" : "S2";
  if (rs == S::kClosed) return o_inactive ? "SHR" : "S3";
  if (os == S::kSynSent && rs == S::kInactive) return "S0";
  if (os == S::kEstablished && rs == S::kEstablished) return "S1";
  return "OTH";
}

void ConnectionTracker::on_close(Connection& c, std::vector<Finding>& findings) {
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    const DirState& ds = dir_[index_of(d)];
    if (ds.after_fin_bytes > 0 && !ds.after_fin_reported) {
      report_data_after_fin(c, d, findings);
    }
  }
  report_unseen_acked(c, findings);
  c.analysis.conn_state = conn_state(c);
  c.analysis.rtt = rtt_;
}

}  // namespace tcpscribe
