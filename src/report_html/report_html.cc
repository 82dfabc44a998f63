#include "report_html.h"

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "exchange_text.h"
#include "http.h"

namespace tcpscribe {
namespace {

/// Per-direction first bytes in all, past which each direction keeps only
/// a line's worth (so 50,000 connections do not hold 200 MB of previews).
constexpr size_t kFirstBytesTotal = 32u << 20;
constexpr size_t kFirstBytesSmall = 128;
constexpr size_t kMaxFindingsPerConn = 200;
constexpr size_t kMaxGapsPerConn = 500;
/// The per-connection budget never shrinks below this: a connection keeps
/// a few ordinary packets whatever the total.
constexpr size_t kMinBudget = 4;

bool important_kind(uint8_t kind) {
  return kind == HtmlReport::kSyn || kind == HtmlReport::kSynAck ||
         kind == HtmlReport::kFin || kind == HtmlReport::kRst;
}
bool important(const HtmlReport::Packet& p) { return important_kind(p.kind) || p.marks != 0; }

uint64_t retransmissions(const TcpAnalysisCounts& n) {
  return n.retransmission + n.fast_retransmission + n.spurious_retransmission;
}


}  // namespace

HtmlHttpTransaction to_html_http(const HttpTransaction& t) {
  HtmlHttpTransaction h;
  h.conn_id = t.conn_id;
  h.index = t.index;
  h.stream = t.stream;
  if (t.request.present) {
    h.method = t.request.head.method;
    h.target = t.request.head.target;
    for (const HttpHeader& f : t.request.head.headers) {
      if ((f.name.size() == 4 && strncasecmp(f.name.c_str(), "host", 4) == 0) ||
          f.name == ":authority") {  // HTTP/2
        h.host = f.value;
        break;
      }
    }
    h.request_start = t.request.start_ts;
    h.request_end = t.request.end_ts ? t.request.end_ts : t.request.head_ts;
    h.request_bytes = t.request.wire_size();
  }
  if (t.response.present) {
    h.status = t.response.head.status;
    h.response_start = t.response.start_ts;
    h.response_end = t.response.end_ts ? t.response.end_ts : t.response.head_ts;
    h.response_bytes = t.response.wire_size();
  }
  return h;
}

HtmlExchange to_html_exchange(const ExchangeRecord& r) {
  HtmlExchange x;
  x.proto = r.proto;
  x.request = exchange_request_text(r, 120);
  x.answer = exchange_answer_text(r, 60);
  x.error = exchange_error_text(r, 120);
  x.start = r.ts;
  x.end = r.end;
  x.latency = r.latency ? std::max<Timestamp>(*r.latency, 0) : -1;
  return x;
}

HtmlReport::HtmlReport(std::string path, std::vector<std::string> inputs,
                       HtmlReportLimits limits)
    : path_(std::move(path)),
      inputs_(std::move(inputs)),
      limits_(limits),
      per_conn_budget_(std::max(limits.max_packets_per_connection, kMinBudget)) {}

HtmlReport::~HtmlReport() = default;

HtmlReport::Conn* HtmlReport::find(uint64_t id) {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &conns_[it->second];
}

bool HtmlReport::summarised() const {
  if (important_dropped_ > 0 || connections_seen_ > conns_.size() || http_seen_ > http_kept_ ||
      exchanges_seen_ > exchanges_kept_) {
    return true;
  }
  return std::any_of(conns_.begin(), conns_.end(), [](const Conn& k) { return k.stride > 1; });
}

void HtmlReport::on_open(const Connection& c) {
  ++connections_seen_;
  if (conns_.size() >= limits_.max_connections) return;
  index_[c.id] = conns_.size();
  Conn& k = conns_.emplace_back();
  k.info = c;
}

HtmlReport::Packet HtmlReport::make_packet(Conn& k, int di, const Segment& s) {
  const int pi = 1 - di;
  Packet p;
  p.ts = s.ts;
  p.dir = static_cast<uint8_t>(di);
  p.len = s.payload_len + s.missing_len;
  p.window = s.window;
  p.has_ack = s.has(tcp_flags::kAck);
  if (!k.base_known[di]) {
    k.base_known[di] = true;
    k.base[di] = s.seq;
  }
  if (p.has_ack && !k.base_known[pi]) {
    // The peer has not been seen yet: its next byte is numbered 0.
    k.base_known[pi] = true;
    k.base[pi] = s.ack;
  }
  p.seq = s.seq - k.base[di];
  p.ack = p.has_ack ? s.ack - k.base[pi] : 0;

  if (s.has(tcp_flags::kRst)) p.kind = kRst;
  else if (s.has(tcp_flags::kSyn)) p.kind = s.has(tcp_flags::kAck) ? kSynAck : kSyn;
  else if (s.has(tcp_flags::kFin)) p.kind = kFin;
  else if (p.len > 0) p.kind = s.has(tcp_flags::kPsh) ? kPsh : kData;
  else p.kind = kAck;
  return p;
}

void HtmlReport::on_segment_after_close(uint64_t id, Dir d, const Segment& s) {
  ++packets_seen_;
  Conn* kp = find(id);
  if (!kp) return;
  Conn& k = *kp;
  const int di = index_of(d);
  ++k.packets_seen;
  ++k.info.dir[di].packets;
  k.info.last_ts = std::max(k.info.last_ts, s.ts);
  k.info.dir[di].last_ts = std::max(k.info.dir[di].last_ts, s.ts);
  Packet p = make_packet(k, di, s);
  // Everything up to both FINs was delivered when the connection closed:
  // bytes or a FIN now are sent again.
  if (p.len > 0 || s.has(tcp_flags::kFin)) p.marks = kRetransmission;
  keep(k, p, important(p));
}

void HtmlReport::on_segment(const Connection& c, Dir d, const Segment& s) {
  ++packets_seen_;
  Conn* kp = find(c.id);
  if (!kp) return;
  Conn& k = *kp;
  const int di = index_of(d);
  const int pi = 1 - di;
  ++k.packets_seen;
  k.info.last_ts = c.last_ts;
  k.info.dir[0] = c.dir[0];
  k.info.dir[1] = c.dir[1];
  Packet p = make_packet(k, di, s);

  // The analysis counted this segment already: a counter that moved since
  // the previous one labels it.
  const TcpAnalysisCounts& now = c.analysis.dir[di];
  TcpAnalysisCounts& was = k.last_counts[di];
  uint16_t m = 0;
  if (retransmissions(now) > retransmissions(was) ||
      c.dir[di].retransmitted_bytes > k.last_retx_bytes[di]) {
    m |= kRetransmission;
  }
  if (now.out_of_order > was.out_of_order) m |= kOutOfOrder;
  if (now.lost_segment > was.lost_segment) m |= kGap;
  if (now.zero_window > was.zero_window ||
      (s.window == 0 && !s.has(tcp_flags::kSyn | tcp_flags::kFin | tcp_flags::kRst))) {
    m |= kZeroWindow;
  }
  if (now.duplicate_ack > was.duplicate_ack) m |= kDuplicateAck;
  if (now.keep_alive > was.keep_alive) m |= kKeepAlive;
  if (now.ack_lost_segment > was.ack_lost_segment) m |= kAckUnseen;
  if (s.payload_len > 0 && k.fin_ts[pi] != 0 && !(m & kRetransmission)) m |= kDataAfterPeerFin;
  if (p.kind == kSyn && c.reuse_index > 0 && !k.reuse_marked) {
    k.reuse_marked = true;
    m |= kReuse;
  }
  p.marks = m;
  was = now;
  k.last_retx_bytes[di] = c.dir[di].retransmitted_bytes;

  if (p.kind == kSyn && k.syn_ts == 0) k.syn_ts = s.ts;
  if (p.kind == kSynAck) k.synack_seen = true;
  if (s.has(tcp_flags::kFin) && k.fin_ts[di] == 0) k.fin_ts[di] = s.ts;
  if (p.kind == kRst && k.rst_ts == 0) k.rst_ts = s.ts;
  if (k.established_ts == 0 && k.synack_seen && di == 0 && p.has_ack &&
      !s.has(tcp_flags::kSyn)) {
    k.established_ts = s.ts;
  }
  keep(k, p, important(p));
}

void HtmlReport::keep(Conn& k, const Packet& p, bool is_important) {
  if (is_important) {
    if (packets_kept_ >= 2 * limits_.max_packets) {
      ++important_dropped_;
      return;
    }
    k.packets.push_back(p);
    ++packets_kept_;
  } else {
    const uint64_t ordinal = k.unmarked_seen++;
    if (ordinal % k.stride != 0) return;
    k.packets.push_back(p);
    ++k.unmarked_kept;
    ++packets_kept_;
    if (k.unmarked_kept > per_conn_budget_) thin(k);
  }
  if (packets_kept_ > limits_.max_packets) shrink_all();
}

/// Doubles the stride until the unmarked packets fit the budget, dropping
/// every other kept one each time (those kept had ordinals that are
/// multiples of the old stride; the survivors are multiples of the new).
void HtmlReport::thin(Conn& k) {
  while (k.unmarked_kept > per_conn_budget_) {
    k.stride *= 2;
    size_t nth = 0;
    size_t removed = 0;
    std::erase_if(k.packets, [&](const Packet& p) {
      if (important(p)) return false;
      if (nth++ % 2 == 0) return false;
      ++removed;
      return true;
    });
    k.unmarked_kept -= removed;
    packets_kept_ -= removed;
  }
}

void HtmlReport::shrink_all() {
  while (packets_kept_ > limits_.max_packets && per_conn_budget_ > kMinBudget) {
    per_conn_budget_ = std::max(per_conn_budget_ / 2, kMinBudget);
    for (Conn& k : conns_) {
      if (k.unmarked_kept > per_conn_budget_) thin(k);
    }
  }
}

void HtmlReport::on_data(const Connection& c, Dir d, uint64_t offset,
                         std::span<const uint8_t> bytes, Timestamp) {
  Conn* k = find(c.id);
  if (!k) return;
  const int di = index_of(d);
  std::string& first = k->first[di];
  if (k->first_cut[di]) return;
  if (offset != first.size()) {
    k->first_cut[di] = true;
    return;
  }
  size_t cap = limits_.first_bytes;
  if (first_bytes_total_ >= kFirstBytesTotal) cap = std::min(cap, kFirstBytesSmall);
  const size_t room = cap > first.size() ? cap - first.size() : 0;
  const size_t n = std::min(room, bytes.size());
  first.append(reinterpret_cast<const char*>(bytes.data()), n);
  first_bytes_total_ += n;
  if (n < bytes.size()) k->first_cut[di] = true;
}

void HtmlReport::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                        Timestamp ts) {
  Conn* k = find(c.id);
  if (!k) return;
  const int di = index_of(d);
  if (offset <= k->first[di].size()) k->first_cut[di] = true;
  if (k->gaps.size() < kMaxGapsPerConn) {
    k->gaps.push_back({static_cast<uint8_t>(di), ts, offset, length});
  }
}

void HtmlReport::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn* k = find(c.id);
  if (!k) return;
  if (reset) {
    if (k->rst_ts == 0) k->rst_ts = ts;
  } else {
    k->shut_ts[index_of(d)] = ts;
  }
}

void HtmlReport::on_finding(const Connection& c, const Finding& f) {
  Conn* k = find(c.id);
  if (!k || k->findings.size() >= kMaxFindingsPerConn) return;
  k->findings.push_back(f);
}

void HtmlReport::on_close(const Connection& c, CloseReason why) {
  Conn* k = find(c.id);
  if (!k) return;
  k->info = c;
  k->close_reason = to_string(why);
  k->closed = true;
  compute_phases(*k);
}

/// Handshake from the first SYN until the client acknowledges the SYN-ACK
/// (a connection picked up midstream starts established); half-closed from
/// the first FIN (the segment, or the shutdown if its FIN was not seen),
/// closed from the second; reset from the first RST, which ends the rest.
void HtmlReport::compute_phases(Conn& k) const {
  std::vector<PhaseSpan> spans;
  const Timestamp start = k.info.first_ts;
  if (k.info.syn_ts != 0 || k.syn_ts != 0) {
    spans.push_back({kHandshake, start});
    if (k.established_ts != 0) spans.push_back({kEstablished, k.established_ts});
  } else {
    spans.push_back({kEstablished, start});
  }
  Timestamp fin[2];
  for (int i = 0; i < 2; ++i) {
    fin[i] = k.fin_ts[i];
    if (fin[i] == 0 || (k.shut_ts[i] != 0 && k.shut_ts[i] < fin[i])) fin[i] = k.shut_ts[i];
  }
  if (fin[0] != 0 || fin[1] != 0) {
    const Timestamp first = fin[0] == 0 ? fin[1] : fin[1] == 0 ? fin[0] : std::min(fin[0], fin[1]);
    spans.push_back({kHalfClosed, first});
    if (fin[0] != 0 && fin[1] != 0) spans.push_back({kClosed, std::max(fin[0], fin[1])});
  }
  if (k.rst_ts != 0) {
    std::erase_if(spans, [&](const PhaseSpan& p) { return p.start > k.rst_ts; });
    spans.push_back({kReset, k.rst_ts});
  }
  std::stable_sort(spans.begin(), spans.end(),
                   [](const PhaseSpan& a, const PhaseSpan& b) { return a.start < b.start; });
  k.phases = std::move(spans);
}

bool HtmlReport::room_for_mark(uint64_t conn_id) {
  MarkCount& m = marks_[conn_id];
  if (m.kept >= limits_.max_marks_per_connection) {
    ++m.left_out;
    ++marks_left_out_;
    return false;
  }
  ++m.kept;
  return true;
}

void HtmlReport::add_http(const HtmlHttpTransaction& t) {
  ++http_seen_;
  if (http_kept_ >= limits_.max_http || !index_.count(t.conn_id)) return;
  if (!room_for_mark(t.conn_id)) return;
  http_[t.conn_id].push_back(t);
  ++http_kept_;
}

void HtmlReport::add_exchange(uint64_t conn_id, const HtmlExchange& x) {
  ++exchanges_seen_;
  if (exchanges_kept_ >= limits_.max_exchanges || !index_.count(conn_id)) return;
  if (!room_for_mark(conn_id)) return;
  exchanges_[conn_id].push_back(x);
  ++exchanges_kept_;
}

bool HtmlReport::open() {
  if (!file_.is_open() && !file_.open(path_, error_)) return false;
  return true;
}

void HtmlReport::finish() {
  if (!open()) return;
  // Written beside and renamed, so a reader never sees half a page.
  const std::string page = html();
  if (std::fwrite(page.data(), 1, page.size(), file_.stream()) != page.size()) {
    error_ = "cannot write " + path_ + ".tmp: " + std::strerror(errno) + " (" + path_ +
             " is left as it was)";
    file_.abandon();
    return;
  }
  std::string error;
  if (!file_.commit(error)) error_ = error;
}

}  // namespace tcpscribe
