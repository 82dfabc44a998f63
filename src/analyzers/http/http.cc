#include "http.h"

#include <algorithm>
#include <cstdio>

#include "http2.h"
#include "http_records.h"
#include "http_state.h"
#include "name_template.h"

namespace tcpscribe {
namespace {

bool has(const std::string& t, const char* esc) { return t.find(esc) != std::string::npos; }

std::string describe(const HttpMessage& m) {
  if (m.head.is_request) {
    return "request " + std::to_string(m.number) + " (" + printable_text(m.head.method) + " " +
           printable_text(m.head.target) + ")";
  }
  return "response " + std::to_string(m.number) + " (" + std::to_string(m.head.status) +
         (m.head.reason.empty() ? "" : " " + printable_text(m.head.reason, 60)) + ")";
}

}  // namespace

std::string HttpTransaction::url() const {
  const HttpHead& h = request.head;
  const std::string& t = h.target;
  if (t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0) return t;
  const std::string* host = h.find("host");
  if (!host) host = h.find(":authority");
  const std::string authority = host && !host->empty() ? *host : format_endpoint(server);
  const std::string prefix = std::string(scheme()) + "://";
  if (h.method == "CONNECT") return prefix + t;
  if (t == "*") return prefix + authority;
  return prefix + authority + (t.empty() || t[0] != '/' ? "/" : "") + t;
}

// ------------------------------------------------------------ the analyzer

HttpAnalyzer::HttpAnalyzer(HttpOptions o, FindingCallback on_finding,
                           TransactionCallback on_transaction)
    : opt_(std::move(o)),
      on_finding_(std::move(on_finding)),
      on_transaction_(std::move(on_transaction)) {
  if (opt_.name_template.empty()) opt_.name_template = kDefaultTemplate;
  const std::string& t = opt_.name_template;
  names_unique_ = has(t, "%A") && has(t, "%a") && has(t, "%B") && has(t, "%b") &&
                  (has(t, "%c") || has(t, "%#"));
}

HttpAnalyzer::~HttpAnalyzer() = default;

std::string HttpAnalyzer::body_path(const Connection& c, Dir d, uint32_t number) {
  const std::string flow = opt_.outdir + "/" + expand_name(opt_.name_template, c, d);
  // A template that does not tell connections apart gives several of them
  // one flow name: their bodies number on, instead of replacing each other.
  if (!names_unique_) number = ++body_numbers_[flow];
  char num[16];
  std::snprintf(num, sizeof num, "%03u", number);
  return flow + "-HTTPBODY-" + num;
}

HttpAnalyzer::Conn& HttpAnalyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<Conn>();
    Conn& k = *it->second;
    k.info = c;
    for (int i = 0; i < 2; ++i) {
      k.side[i] = std::make_unique<Side>(*this, k, static_cast<Dir>(i));
      k.side[i]->parser.set_midstream(!c.handshake_seen);
    }
  }
  return *it->second;
}

void HttpAnalyzer::on_open(const Connection& c) { conn_for(c); }

void HttpAnalyzer::after_parse(const Connection& c, Conn& k) {
  // A protocol switch is settled at the end of its answer; the client side
  // resumes (or becomes a tunnel) only once the server side's parse call
  // returned, then the server side goes on with what it held since.
  while (k.resume_pending) {
    k.resume_pending = false;
    k.side[0]->parser.resume(k.resume_tunnel);
    if (k.server_held) {
      k.server_held = false;
      k.side[1]->parser.resume(false);
    }
  }
  deliver_ready(c, k, false);
}

bool HttpAnalyzer::h2c(const Connection& c, Conn& k, Dir d, uint64_t offset,
                       std::span<const uint8_t> bytes, uint64_t gap, Timestamp ts) {
  constexpr size_t kMaxHeld = 256u << 10;
  if (k.h2c_on) {
    if (gap > 0) {
      h2_->on_gap(c, d, offset, gap, ts);
    } else {
      h2_->on_data(c, d, offset, bytes, ts);
    }
    return true;
  }
  if (!k.h2c_wait && !k.h2c_go) return false;
  k.h2c_held.push_back({d, offset, gap, std::vector<uint8_t>(bytes.begin(), bytes.end()), ts});
  k.h2c_held_bytes += bytes.size();
  if (k.h2c_held_bytes > kMaxHeld && !k.h2c_go) {
    // No answer in all that: not an upgrade tcpscribe follows.
    k.h2c_wait = false;
    std::vector<Conn::Held>().swap(k.h2c_held);
    k.h2c_held_bytes = 0;
    return false;
  }
  if (!k.h2c_go) return false;
  k.h2c_go = false;
  k.h2c_wait = false;
  k.h2c_on = true;
  if (!h2_) {
    Http2Options o;
    o.outdir = opt_.outdir;
    o.outdir_fd = opt_.outdir_fd;
    o.name_template = opt_.name_template;
    o.extract_bodies = opt_.extract_bodies;
    o.keep_encoded = opt_.keep_encoded;
    o.max_text_bytes = opt_.max_text_bytes;
    o.out = opt_.out;
    o.decode_view = opt_.decode_view;
    h2_ = std::make_unique<Http2Analyzer>(std::move(o), on_finding_, on_transaction_);
  }
  h2_->take_over(c, k.h2c_client, k.h2c_server, k.h2c_request);
  std::vector<Conn::Held> held;
  held.swap(k.h2c_held);
  k.h2c_held_bytes = 0;
  for (const Conn::Held& h : held) {
    if (h.gap > 0) {
      h2_->on_gap(c, h.dir, h.offset, h.gap, h.ts);
    } else {
      h2_->on_data(c, h.dir, h.offset, h.bytes, h.ts);
    }
  }
  return true;
}

void HttpAnalyzer::on_data(const Connection& c, Dir d, uint64_t offset,
                           std::span<const uint8_t> bytes, Timestamp ts) {
  Conn& k = conn_for(c);
  Side& s = *k.side[index_of(d)];
  current_ = &c;
  if (k.h2c_on) {
    h2c(c, k, d, offset, bytes, 0, ts);
    return;
  }
  if (!s.parser.active() && k.txns.empty()) return;
  s.parser.feed(bytes, offset, ts);
  after_parse(c, k);
  h2c(c, k, d, offset, bytes, 0, ts);
}

void HttpAnalyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                          Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  if (d == Dir::kServerToClient) k.server_missing += length;
  k.side[index_of(d)]->parser.gap(offset, length, ts);
  after_parse(c, k);
  h2c(c, k, d, offset, {}, length, ts);
}

void HttpAnalyzer::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  if (k.h2c_on) h2_->on_shutdown(c, d, reset, ts);
  Side& s = *k.side[index_of(d)];
  if (!s.ended) {
    s.ended = true;
    s.parser.end(!reset, reset ? "the connection was reset" : "", ts);
  }
  if (d == Dir::kServerToClient && !k.server_shut) {
    k.server_shut = true;
    k.server_reset = reset;
    k.server_shut_ts = ts;
  }
  after_parse(c, k);
}

void HttpAnalyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  Conn& k = *it->second;
  current_ = &c;
  k.why = why;
  for (auto& s : k.side) {
    if (!s->ended) {
      s->ended = true;
      s->parser.end(false, close_reason_text(why), c.last_ts);
    }
  }
  deliver_ready(c, k, true);
  if (k.delivered_early > 1) {
    report(c, Dir::kClientToServer, c.last_ts, 0, 0,
           std::to_string(k.delivered_early) +
               " transactions in all were delivered before their responses (pending-transaction "
               "cap)");
  }
  if (k.h2c_on) h2_->on_close(c, why);
  conns_.erase(it);
  current_ = nullptr;
}

void HttpAnalyzer::finish() {
  while (!conns_.empty()) {
    const Connection info = conns_.begin()->second->info;
    on_close(info, CloseReason::kEndOfInput);
  }
  if (h2_) h2_->finish();
}

size_t HttpAnalyzer::pending_bytes(uint64_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() ? 0 : it->second->held_bytes;
}

bool HttpAnalyzer::tells(const Connection& c, const Finding& f) const {
  if (f.kind != Finding::Kind::kDataAfterPeerFin || f.dir != Dir::kClientToServer) return false;
  auto it = conns_.find(c.id);
  // Such a request is reported once delivered, at the latest at the close.
  return it != conns_.end() && it->second->after_close_offset < f.offset + f.length;
}

void HttpAnalyzer::deliver_ready(const Connection& c, Conn& k, bool closing) {
  while (!k.txns.empty()) {
    HttpTransaction& t = k.txns.front();
    const bool busy = k.side[0]->msg == &t.request || k.side[1]->msg == &t.response;
    bool ready = closing;
    bool over = false;
    if (!ready && !busy) {
      if (!t.request.present) {
        // A response without request is final once anything follows it.
        ready = t.response.ended && k.txns.size() > 1;
      } else {
        ready = t.request.ended && t.response.present && t.response.ended;
      }
      over = !ready && (k.txns.size() > opt_.max_pending || k.held_bytes > opt_.max_pending_bytes);
    }
    if (!ready && !over) break;
    if (over) deliver_early(c, k, t);
    deliver(c, k, t);
    k.held_bytes -= t.held_bytes;
    k.txns.pop_front();
  }
}

void HttpAnalyzer::deliver_early(const Connection& c, Conn& k, HttpTransaction& t) {
  t.delivered_early = true;
  if (t.request.present && !t.response.present) {
    k.early.push_back({t.request.head.method, t.index});
  }
  if (k.delivered_early++ > 0) return;
  const HttpMessage& m = t.request.present ? t.request : t.response;
  report(c, t.request.present ? Dir::kClientToServer : Dir::kServerToClient, m.start_ts,
         m.offset, 0,
         std::to_string(k.txns.size()) + " transactions waiting for their responses hold " +
             std::to_string(k.held_bytes) + " bytes of parsed messages (caps: " +
             std::to_string(opt_.max_pending) + " transactions, " +
             std::to_string(opt_.max_pending_bytes) + " bytes per connection): from " +
             describe(m) + " on, the oldest are delivered unanswered and their responses are "
             "not paired");
}

void HttpAnalyzer::report(const Connection& c, Dir d, Timestamp ts, uint64_t offset,
                          uint64_t length, std::string text, bool alarm) {
  ++stats_.findings;
  if (!on_finding_) return;
  Finding f;
  f.kind = Finding::Kind::kHttp;
  f.dir = d;
  f.ts = ts;
  f.offset = offset;
  f.length = length;
  f.text = std::move(text);
  f.alarm = alarm;
  on_finding_(c, f);
}

void HttpAnalyzer::deliver(const Connection& c, Conn& k, HttpTransaction& t) {
  constexpr Dir kC2S = Dir::kClientToServer, kS2C = Dir::kServerToClient;
  t.conn_id = c.id;
  t.tls = opt_.tls;
  t.client = c.client;
  t.server = c.server;
  t.syn_ts = c.syn_ts;
  t.synack_ts = c.synack_ts;
  const HttpMessage& rq = t.request;
  const HttpMessage& rs = t.response;

  if (!rq.present) {
    report(c, kS2C, rs.start_ts, rs.offset, rs.wire_size(), describe(rs) + " without a request");
  } else if (t.after_server_close || t.after_close_header) {
    std::string text = describe(rq);
    text.insert(text.size() - 1, ", " + std::to_string(rq.wire_size()) + " bytes");
    text += " was sent";
    if (t.after_server_close) {
      text += " " + seconds_text(rq.start_ts - k.server_shut_ts) +
              " s after the server closed its side (" + (k.server_reset ? "RST" : "FIN") + ")";
      if (t.after_close_header) text += " and";
    }
    if (t.after_close_header) text += " after " + t.close_note;
    if (rs.present) {
      text += "; it was answered anyway (" + std::to_string(rs.head.status) + ")";
    } else {
      if (c.dir[index_of(kS2C)].rst && !k.server_reset) text += "; the server answered with RST";
      text += "; it was never answered";
    }
    report(c, kC2S, rq.start_ts, rq.offset, rq.wire_size(), std::move(text));
  } else if (t.delivered_early && !rs.present) {
    // Told once for the connection (deliver_early), and counted at its close.
  } else if (const uint64_t missing = k.server_missing + c.analysis.unseen_acked[index_of(kS2C)];
             !rs.present && missing > 0) {
    // The response may be in bytes of the server the capture lacks (a gap,
    // or bytes only the client's ACKs show): the capture gap, with its own
    // line, is the news, not an unanswered request.
    report(c, kC2S, rq.start_ts, rq.offset, rq.wire_size(),
           describe(rq) + " has no response in the capture, which lacks " +
               std::to_string(missing) + " bytes the server sent",
           false);
  } else if (!rs.present) {
    const std::string why = close_reason_text(k.why);
    report(c, kC2S, rq.start_ts, rq.offset, rq.wire_size(),
           describe(rq) + " was never answered" + (why.empty() ? "" : " (" + why + ")"));
  }
  for (const HttpMessage* m : {&rq, &rs}) {
    if (!m->present) continue;
    const Dir d = m == &rq ? kC2S : kS2C;
    if (m->problem.rfind("unfinished", 0) == 0) {
      report(c, d, m->start_ts, m->offset, m->wire_size(), describe(*m) + " " + m->problem);
    }
    if (!m->decode_error.empty() && m->missing == 0) {
      report(c, d, m->start_ts, m->offset, m->wire_size(),
             describe(*m) + ": " + m->content_encoding + " body not decoded: " + m->decode_error);
    }
  }
  ++stats_.transactions;
  if (opt_.out) {
    std::string why;
    if (!rs.present && rq.present) {
      const uint64_t missing = k.server_missing + c.analysis.unseen_acked[index_of(kS2C)];
      if (t.delivered_early) {
        why = "delivered before its response (pending-transaction cap)";
      } else if (t.after_server_close) {
        why = std::string("sent after the server closed (") + (k.server_reset ? "RST" : "FIN") + ")";
      } else if (missing > 0) {
        why = "the capture lacks " + std::to_string(missing) + " bytes the server sent";
      } else {
        why = close_reason_text(k.why);
      }
    }
    opt_.out->exchange(c, http_exchange_record(t, why));
  }
  if (on_transaction_) on_transaction_(t);
}

std::unique_ptr<ProtocolAnalyzer> make_http_analyzer(const AnalyzerSettings& s) {
  HttpOptions o;
  o.outdir = s.outdir;
  o.outdir_fd = s.outdir_fd;
  o.name_template = s.name_template;
  o.extract_bodies = s.extract && s.outdir_fd >= 0;
  o.keep_encoded = s.keep_encoded;
  o.max_text_bytes = s.keep_text_bytes;
  o.out = s.out;
  o.decode_view = s.decode_view;
  o.tls = s.inside_tls;
  AnalyzerOutput* out = s.out;
  HttpAnalyzer::FindingCallback on_finding;
  HttpAnalyzer::TransactionCallback on_transaction;
  if (out) {
    on_finding = [out](const Connection& c, const Finding& f) { out->finding(c, f); };
    on_transaction = [out](const HttpTransaction& t) { out->http_transaction(t); };
  }
  return std::make_unique<HttpAnalyzer>(std::move(o), std::move(on_finding),
                                        std::move(on_transaction));
}

}  // namespace tcpscribe
