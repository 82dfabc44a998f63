#include "tls_analyzer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "json_text.h"
#include "tls_suites.h"

namespace tcpscribe {
namespace {

constexpr const char* kLayer = "TLS";

/// The analyzers the inner dispatcher may choose: the run's, but not TLS.
std::vector<const AnalyzerInfo*> inner_list(const AnalyzerSettings& s) {
  std::vector<const AnalyzerInfo*> out;
  for (const AnalyzerInfo* a : s.enabled) {
    if (std::strcmp(a->name, "tls") != 0) out.push_back(a);
  }
  return out;
}

AnalyzerSettings inner_settings(const AnalyzerSettings& s) {
  AnalyzerSettings inner = s;
  inner.inside_tls = true;
  return inner;
}

void add_key(std::string& out, const char* key) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += key;
  out += "\":";
}

void add_text(std::string& out, const char* key, const std::string& value) {
  add_key(out, key);
  if (value.empty()) {
    out += "null";
  } else {
    append_json_string(out, value);
  }
}

void add_number(std::string& out, const char* key, uint64_t n) {
  add_key(out, key);
  out += std::to_string(n);
}

}  // namespace

/// One connection: its session, and what it has handed on.
struct TlsAnalyzer::Conn final : TlsEvents {
  Conn(TlsAnalyzer& a, const Connection& c)
      : an(a),
        session(*this, TlsSessionOptions{.keylog = a.settings_.tls_keylog,
                                         .resumption = &a.resumption_,
                                         .hold_for_keys = a.settings_.tls_hold_for_keys,
                                         .total_held = &a.held_total_}),
        id(c.id) {}

  void tls_handshake(const TlsHandshakeInfo& info) override {
    // Before the first plaintext: the ALPN says what is inside.
    if (!cur) return;
    if (an.settings_.decode_view && an.settings_.out) {
      // --decode: the handshake's line, before what was inside.
      DecodedMessage m;
      m.proto = "tls";
      m.dir = Dir::kClientToServer;
      m.ts = cur->first_ts;
      m.summary = summary(session);
      an.settings_.out->message(*cur, m);
    }
    const std::string inner = inner_for_alpn(info.alpn);
    if (!inner.empty()) an.inner_.choose_by_name(*cur, inner);
  }
  void tls_plaintext(Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                     Timestamp ts) override {
    if (!cur) return;
    if (!handed_over && an.settings_.out) {
      // Decrypted after all (a key that came late): from here on.
      handed_over = true;
      an.settings_.out->inner_open(*cur, kLayer);
    }
    if (an.redact_) {
      an.redact_->on_data(*cur, d, offset, bytes, ts);
    } else {
      an.fanout_.on_data(*cur, d, offset, bytes, ts);
    }
  }
  void tls_plaintext_gap(Dir d, uint64_t offset, uint64_t length, Timestamp ts) override {
    if (!cur) return;
    if (an.redact_) {
      an.redact_->on_gap(*cur, d, offset, length, ts);
    } else {
      an.fanout_.on_gap(*cur, d, offset, length, ts);
    }
  }

  /// At the ClientHello: hand the connection's bytes over to the inner
  /// stream when it will be decrypted (its key is known, or keys come late).
  void decide(const Connection& c) {
    if (decided) return;
    const TlsClientHello* ch = session.client_hello();
    if (!ch) return;
    decided = true;
    const TlsKeyLog* keys = an.settings_.tls_keylog;
    if (!keys || !an.settings_.out) return;
    if (an.settings_.tls_hold_for_keys || keys->find(ch->random)) {
      handed_over = true;
      an.settings_.out->inner_open(c, kLayer);
    }
  }

  TlsAnalyzer& an;
  TlsSession session;
  uint64_t id;
  /// The flow table's record: valid from on_open until on_close returns
  /// (sink.h), so events from retry_keys() between packets can use it.
  const Connection* cur = nullptr;
  bool decided = false;
  bool handed_over = false;
  struct Shutdown {
    Dir d;
    bool reset;
    Timestamp ts;
  };
  std::vector<Shutdown> shutdowns;  // held while records wait
};

TlsAnalyzer::TlsAnalyzer(const AnalyzerSettings& s)
    : settings_(s), inner_(inner_list(s), inner_settings(s)) {
  if (s.redact) redact_ = std::make_unique<RedactSink>(*s.redact, std::vector<Sink*>{&fanout_});
}

void TlsAnalyzer::InnerFanout::on_data(const Connection& c, Dir d, uint64_t offset,
                                       std::span<const uint8_t> bytes, Timestamp ts) {
  an.inner_.on_data(c, d, offset, bytes, ts);
  if (an.settings_.out) an.settings_.out->inner_data(c, kLayer, d, offset, bytes, ts);
}

void TlsAnalyzer::InnerFanout::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                                      Timestamp ts) {
  an.inner_.on_gap(c, d, offset, length, ts);
  if (an.settings_.out) an.settings_.out->inner_gap(c, kLayer, d, offset, length, ts);
}

void TlsAnalyzer::inner_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  if (redact_) redact_->on_shutdown(c, d, reset, ts);
  inner_.on_shutdown(c, d, reset, ts);
}

void TlsAnalyzer::inner_close(const Connection& c, CloseReason why) {
  if (redact_) redact_->on_close(c, why);
  inner_.on_close(c, why);
}

TlsAnalyzer::~TlsAnalyzer() = default;

std::string TlsAnalyzer::inner_for_alpn(const std::string& alpn) {
  if (alpn == "http/1.1" || alpn == "http/1.0") return "http";
  if (alpn == "h2") return "http2";
  return {};
}

TlsAnalyzer::Conn& TlsAnalyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) it->second = std::make_unique<Conn>(*this, c);
  return *it->second;
}

void TlsAnalyzer::on_open(const Connection& c) {
  conn_for(c).cur = &c;
  if (redact_) redact_->on_open(c);
  inner_.on_open(c);
}

void TlsAnalyzer::on_data(const Connection& c, Dir d, uint64_t offset,
                          std::span<const uint8_t> bytes, Timestamp ts) {
  Conn& k = conn_for(c);
  k.cur = &c;
  k.session.data(d, offset, bytes, ts);
  k.decide(c);
}

void TlsAnalyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                         Timestamp ts) {
  Conn& k = conn_for(c);
  k.cur = &c;
  k.session.gap(d, offset, length, ts);
}

void TlsAnalyzer::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn& k = conn_for(c);
  k.cur = &c;
  // Records still waiting (for a key, for the server's choices) come
  // before the end of their direction.
  if (k.session.held_bytes() > 0 || !k.shutdowns.empty()) {
    k.shutdowns.push_back({d, reset, ts});
  } else {
    inner_shutdown(c, d, reset, ts);
  }
}

void TlsAnalyzer::on_finding(const Connection& c, const Finding& f) {
  // The findings' offsets are the wire's, not the plaintext's: the inner
  // analyzers do not get them.
  (void)c, (void)f;
}

void TlsAnalyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) {
    inner_close(c, why);
    return;
  }
  Conn& k = *it->second;
  k.cur = &c;
  k.session.finish();
  for (const Conn::Shutdown& s : k.shutdowns) inner_shutdown(c, s.d, s.reset, s.ts);
  k.shutdowns.clear();
  inner_close(c, why);
  if (AnalyzerOutput* out = settings_.out) out->connection_info(c, "tls", report_json(k.session));
  conns_.erase(it);
}

void TlsAnalyzer::finish() { inner_.finish(); }

void TlsAnalyzer::secrets_added() {
  for (auto& [id, k] : conns_) {
    k->session.retry_keys();
    // Decrypted now: the shutdowns that waited for those records follow.
    if (k->session.held_bytes() == 0 && k->cur) {
      for (const Conn::Shutdown& s : k->shutdowns) inner_shutdown(*k->cur, s.d, s.reset, s.ts);
      k->shutdowns.clear();
    }
  }
}

std::string TlsAnalyzer::summary(const TlsSession& s) {
  const TlsHandshakeInfo& i = s.info();
  std::string out = i.version ? tls_version_name(i.version) : std::string("TLS");
  if (!i.cipher_suite_name.empty()) out += " " + i.cipher_suite_name;
  if (!i.sni.empty()) out += " sni=" + i.sni;
  if (!i.alpn.empty()) out += " alpn=" + i.alpn;
  if (i.resumed) out += " resumed";
  if (s.decrypted()) {
    out += ": decrypted";
    if (!s.why_not().empty()) out += " (some records not: " + s.why_not() + ")";
  } else {
    out += ": not decrypted (" + (s.why_not().empty() ? std::string("no key") : s.why_not()) +
           ")";
  }
  return out;
}

std::string TlsAnalyzer::report_json(const TlsSession& s) {
  const TlsHandshakeInfo& i = s.info();
  std::string out = "{";
  add_text(out, "version", i.version ? tls_version_name(i.version) : std::string());
  add_text(out, "cipher_suite", i.cipher_suite_name);
  add_text(out, "sni", i.sni);
  add_text(out, "alpn", i.alpn);
  if (!i.cert_subject.empty()) add_text(out, "cert_subject", i.cert_subject);
  if (!i.cert_issuer.empty()) add_text(out, "cert_issuer", i.cert_issuer);
  add_key(out, "resumed");
  out += i.resumed ? "true" : "false";
  add_key(out, "decrypted");
  out += s.decrypted() ? "true" : "false";
  std::string why = s.why_not();
  if (why.empty() && !s.decrypted()) why = s.saw_handshake() ? "no key" : "no handshake";
  add_text(out, "why_not", why);
  const char* names[2] = {"client", "server"};
  for (int i2 = 0; i2 < 2; ++i2) {
    const TlsDirectionCounts& n = s.counts(static_cast<Dir>(i2));
    add_key(out, names[i2]);
    std::string o = "{";
    add_number(o, "records", n.records);
    add_number(o, "records_decrypted", n.decrypted_records);
    add_number(o, "bytes_decrypted", n.plaintext_bytes);
    add_number(o, "records_undecrypted", n.undecrypted_records);
    add_number(o, "records_lost", n.lost_records);
    add_number(o, "bad_records", n.bad_records);
    add_number(o, "gap_bytes", n.gap_bytes);
    o += '}';
    out += o;
  }
  out += '}';
  return out;
}

void tls_handoff_data(ProtocolAnalyzer& tls, uint64_t base, const Connection& c, Dir d,
                      uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts) {
  if (offset + bytes.size() <= base) return;
  const size_t skip = offset < base ? static_cast<size_t>(base - offset) : 0;
  tls.on_data(c, d, offset + skip - base, bytes.subspan(skip), ts);
}

void tls_handoff_gap(ProtocolAnalyzer& tls, uint64_t base, const Connection& c, Dir d,
                     uint64_t offset, uint64_t length, Timestamp ts) {
  if (offset + length <= base) return;
  const uint64_t from = std::max(offset, base);
  tls.on_gap(c, d, from - base, offset + length - from, ts);
}

std::unique_ptr<ProtocolAnalyzer> make_tls_analyzer(const AnalyzerSettings& s) {
  return std::make_unique<TlsAnalyzer>(s);
}

}  // namespace tcpscribe
