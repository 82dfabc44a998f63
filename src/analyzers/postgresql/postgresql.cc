#include "postgresql.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "tls_analyzer.h"
#include "wire_text.h"

namespace tcpscribe {
namespace {

constexpr int32_t kProtocol3 = 3;            // major version in the StartupMessage
constexpr int32_t kSslRequest = 80877103;
constexpr int32_t kGssEncRequest = 80877104;
constexpr int32_t kCancelRequest = 80877102;
constexpr size_t kJsonParam = 256;
constexpr size_t kConsoleSql = 300;

std::string one_line(const std::string& sql, size_t max) {
  // SQL on one console line: runs of white space as one space.
  std::string flat;
  flat.reserve(sql.size());
  bool space = false;
  for (char ch : sql) {
    if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
      space = !flat.empty();
      continue;
    }
    if (space) flat += ' ';
    space = false;
    flat += ch;
  }
  return cut_text(flat, flat.size(), max);
}

/// The row count a CommandComplete tag carries ("INSERT 0 3", "SELECT 2"), or -1.
int64_t tag_rows(const std::string& tag) {
  const size_t sp = tag.rfind(' ');
  if (sp == std::string::npos || sp + 1 >= tag.size()) return -1;
  int64_t v = 0;
  for (size_t i = sp + 1; i < tag.size(); ++i) {
    if (tag[i] < '0' || tag[i] > '9' || v > (int64_t{1} << 50)) return -1;
    v = v * 10 + (tag[i] - '0');
  }
  return v;
}

const char* auth_name(int32_t code) {
  switch (code) {
    case 0: return "AuthenticationOk";
    case 2: return "AuthenticationKerberosV5";
    case 3: return "AuthenticationCleartextPassword";
    case 5: return "AuthenticationMD5Password";
    case 7: return "AuthenticationGSS";
    case 8: return "AuthenticationGSSContinue";
    case 9: return "AuthenticationSSPI";
    case 10: return "AuthenticationSASL";
    case 11: return "AuthenticationSASLContinue";
    case 12: return "AuthenticationSASLFinal";
  }
  return "Authentication";
}

}  // namespace

PgNotice parse_pg_notice(const std::string& body) {
  PgNotice n;
  PgReader r(body);
  uint8_t field = 0;
  while (r.u8(field) && field != 0) {
    std::string v;
    r.cstr(v);
    switch (field) {
      case 'V': n.severity = v; break;
      case 'S': if (n.severity.empty()) n.severity = v; break;
      case 'C': n.code = v; break;
      case 'M': n.message = v; break;
      case 'D': n.detail = v; break;
      case 'H': n.hint = v; break;
      case 'P': n.position = v; break;
      default: break;
    }
  }
  return n;
}

// ------------------------------------------------------------------ probe

ProbeResult probe_postgresql(Dir d, std::span<const uint8_t> first) {
  if (d == Dir::kServerToClient) {
    if (first.empty()) return ProbeResult::kNeedMore;
    // Only ever an answer: 'S'/'N' to SSLRequest, 'R' authentication, 'E'.
    const uint8_t b = first[0];
    return (b == 'S' || b == 'N' || b == 'G' || b == 'R' || b == 'E') ? ProbeResult::kNeedMore
                                                                      : ProbeResult::kNo;
  }
  if (first.size() < 8) {
    // The length's high bytes are 0 for any startup-phase message.
    if (!first.empty() && first[0] != 0) return ProbeResult::kNo;
    if (first.size() >= 2 && first[1] != 0) return ProbeResult::kNo;
    return ProbeResult::kNeedMore;
  }
  const uint32_t len = (uint32_t{first[0]} << 24) | (uint32_t{first[1]} << 16) |
                       (uint32_t{first[2]} << 8) | first[3];
  const int32_t code = static_cast<int32_t>((uint32_t{first[4]} << 24) | (uint32_t{first[5]} << 16) |
                                            (uint32_t{first[6]} << 8) | first[7]);
  if ((code == kSslRequest || code == kGssEncRequest) && len == 8) return ProbeResult::kYes;
  if (code == kCancelRequest && len >= 16 && len <= 264) return ProbeResult::kYes;
  if ((code >> 16) == kProtocol3 && (code & 0xffff) < 16 && len >= 9 && len <= PgFramer::kMaxStartup) {
    return ProbeResult::kYes;
  }
  return ProbeResult::kNo;
}

// --------------------------------------------------------------- analyzer

struct PostgresAnalyzer::Unit {
  char kind = 0;               // Q P B D E C S F; '0' startup; 'x' SSLRequest; 'g' GSSENCRequest
  std::string sql;
  bool sql_known = true;
  std::string params_json = "null";
  std::string params_console;
  std::string name;            // statement (Parse) or portal (Execute)
  uint64_t offset = 0;
  uint64_t bytes = 0;
  Timestamp first = 0;
  Timestamp last = 0;
  bool answered = false;
  Timestamp resp_first = 0;
  Timestamp resp_last = 0;
  std::vector<std::string> tags;
  uint64_t data_rows = 0;
  std::vector<std::string> columns;
  std::vector<std::string> shown_rows;
  bool has_error = false;
  PgNotice error;
  bool skipped = false;        // after an earlier error of its batch
  bool copy = false;
  uint64_t copy_bytes = 0;
  bool after_close = false;
  std::string user, database, application;  // startup
};

struct PostgresAnalyzer::Conn {
  Connection info;
  std::unique_ptr<PgFramer> fr[2];
  std::deque<Unit> units;
  struct Portal {
    std::string sql;
    bool sql_known = true;
    std::string params_json = "[]";
    std::string params_console;
    std::string statement;
  };
  std::map<std::string, std::string> statements;  // name -> SQL
  std::map<std::string, Portal> portals;
  bool stopped[2] = {false, false};
  std::string server_stop_why;
  uint64_t server_missing = 0;
  bool encrypted = false;
  bool tls_on = false;          // the TLS analyzer has the rest
  uint64_t tls_base[2] = {0, 0};  // where the TLS bytes start, per direction
  bool server_shut = false;
  bool server_reset = false;
  Timestamp server_shut_ts = 0;
  uint64_t after_close_offset = UINT64_MAX;
  uint64_t errors = 0;
  std::string first_error;
  bool orphan_told = false;
  bool capped = false;
  bool have_key = false;
  uint64_t backend_key = 0;
  /// An extended-protocol error came before the client's Sync: the server
  /// skips what the client sends until that Sync.
  bool skip_to_sync = false;
  CloseReason why = CloseReason::kFin;
};

PostgresAnalyzer::PostgresAnalyzer(PostgresOptions o) : opt_(o) {}
PostgresAnalyzer::~PostgresAnalyzer() = default;

const Connection& PostgresAnalyzer::conn_of(Conn& k) const {
  return current_ && current_->id == k.info.id ? *current_ : k.info;
}

PostgresAnalyzer::Conn& PostgresAnalyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<Conn>();
    Conn& k = *it->second;
    k.info = c;
    Conn* kp = &k;
    k.fr[0] = std::make_unique<PgFramer>(
        [this, kp](PgMessage&& m) { on_client(*kp, std::move(m)); },
        [this, kp](const std::string& why, uint64_t off) {
          on_error(*kp, Dir::kClientToServer, why, off);
        });
    k.fr[1] = std::make_unique<PgFramer>(
        [this, kp](PgMessage&& m) { on_server(*kp, std::move(m)); },
        [this, kp](const std::string& why, uint64_t off) {
          on_error(*kp, Dir::kServerToClient, why, off);
        });
    k.fr[0]->expect_untyped(true);
    if (!c.handshake_seen) {
      k.stopped[0] = k.stopped[1] = true;
      k.fr[0]->stop();
      k.fr[1]->stop();
      report(k, Dir::kClientToServer, c.first_ts, 0, 0,
             "the capture starts mid-connection: its messages are not decoded", false);
    }
  }
  return *it->second;
}

void PostgresAnalyzer::report(Conn& k, Dir d, Timestamp ts, uint64_t offset, uint64_t length,
                              std::string text, bool alarm) {
  if (!opt_.out) return;
  Finding f;
  f.kind = Finding::Kind::kProtocol;
  f.dir = d;
  f.ts = ts;
  f.offset = offset;
  f.length = length;
  f.text = "postgresql: " + std::move(text);
  f.alarm = alarm;
  opt_.out->finding(conn_of(k), f);
}

void PostgresAnalyzer::view(Conn& k, Dir d, Timestamp ts, std::string summary, Timestamp latency,
                            std::vector<std::string> lines) {
  if (!opt_.decode_view || !opt_.out) return;
  DecodedMessage m;
  m.proto = "postgresql";
  m.dir = d;
  m.ts = ts;
  m.summary = std::move(summary);
  m.latency = latency;
  m.lines = std::move(lines);
  opt_.out->message(conn_of(k), m);
}

void PostgresAnalyzer::on_open(const Connection& c) { conn_for(c); }

void PostgresAnalyzer::on_data(const Connection& c, Dir d, uint64_t offset,
                               std::span<const uint8_t> bytes, Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  current_ = &c;
  if (!k.tls_on) k.fr[index_of(d)]->feed(bytes, offset, ts);
  // Also the rest of the chunk that switched.
  if (k.tls_on) tls_handoff_data(*tls_, k.tls_base[index_of(d)], c, d, offset, bytes, ts);
}

void PostgresAnalyzer::secrets_added() {
  if (tls_) tls_->secrets_added();
}

namespace {

/// Bind's parameters: JSON array and console text.
void decode_bind(PgReader& r, std::string& json, std::string& console) {
  int16_t nfmt = 0;
  r.i16(nfmt);
  std::vector<int16_t> fmts;
  for (int i = 0; i < nfmt && r.ok(); ++i) {
    int16_t f = 0;
    r.i16(f);
    fmts.push_back(f);
  }
  int16_t n = 0;
  r.i16(n);
  json = "[";
  for (int i = 0; i < n && r.ok(); ++i) {
    int32_t len = 0;
    if (!r.i32(len)) break;
    const int16_t fmt = fmts.empty() ? 0 : fmts.size() == 1 ? fmts[0] : (static_cast<size_t>(i) < fmts.size() ? fmts[static_cast<size_t>(i)] : 0);
    std::string shown;
    bool null = len < 0;
    if (!null) {
      std::string v;
      r.bytes(static_cast<size_t>(len), v);
      shown = fmt == 1 ? "\\x" + hex_text(v, static_cast<uint64_t>(len), kJsonParam / 2)
                       : cut_text(v, static_cast<uint64_t>(len), kJsonParam);
    }
    if (i > 0) json += ',';
    json += null ? "null" : json_str(shown);
    if (i < 20) {
      if (i > 0) console += ", ";
      console += "$" + std::to_string(i + 1) + "=" +
                 (null ? "NULL" : fmt == 1 ? cut_text(shown, shown.size(), 40) : "'" + cut_text(shown, shown.size(), 40) + "'");
    } else if (i == 20) {
      console += ", ...";
    }
  }
  if (!r.ok()) {
    if (json.size() > 1) json += ',';
    json += "\"...(the message is cut)\"";
  }
  json += "]";
}

std::string data_row(const std::string& body) {
  PgReader r(body);
  int16_t n = 0;
  r.i16(n);
  std::string out = "(";
  for (int i = 0; i < n && r.ok(); ++i) {
    int32_t len = 0;
    if (!r.i32(len)) break;
    if (i > 0) out += ", ";
    if (len < 0) {
      out += "NULL";
      continue;
    }
    std::string v;
    r.bytes(static_cast<size_t>(len), v);
    out += cut_text(v, static_cast<uint64_t>(len), 40);
    if (out.size() > 200) {
      out += ", ...";
      break;
    }
  }
  return out + ")";
}

std::vector<std::string> row_columns(const std::string& body) {
  PgReader r(body);
  int16_t n = 0;
  r.i16(n);
  std::vector<std::string> cols;
  for (int i = 0; i < n && r.ok(); ++i) {
    std::string name;
    if (!r.cstr(name)) break;
    int32_t skip32 = 0;
    int16_t skip16 = 0;
    r.i32(skip32);
    r.i16(skip16);
    r.i32(skip32);
    r.i16(skip16);
    r.i32(skip32);
    r.i16(skip16);
    cols.push_back(wire_escape(name));
  }
  return cols;
}

std::string error_json(const PgNotice& e) {
  auto opt = [](const std::string& s) { return s.empty() ? std::string("null") : json_str(s); };
  return "{\"code\":" + opt(e.code) + ",\"message\":" + json_str(e.message) +
         ",\"severity\":" + opt(e.severity) + ",\"detail\":" + opt(e.detail) +
         ",\"hint\":" + opt(e.hint) + ",\"position\":" + opt(e.position) + "}";
}

std::string error_line(const PgNotice& e) {
  std::string s = (e.severity.empty() ? std::string("ERROR") : e.severity);
  if (!e.code.empty()) s += " " + e.code;
  return s + ": " + cut_text(e.message, e.message.size(), 300);
}

std::string error_text_json(const std::string& message) {
  return "{\"code\":null,\"message\":" + json_str(message) + "}";
}

}  // namespace

void PostgresAnalyzer::on_client(Conn& k, PgMessage&& m) {
  const Connection& c = conn_of(k);
  constexpr Dir kC2S = Dir::kClientToServer;
  Unit u;
  u.offset = m.offset;
  u.bytes = m.length + (m.type ? 5 : 4);
  u.first = m.first_ts;
  u.last = m.last_ts;
  u.after_close = k.server_shut;
  PgReader r(m.body);
  if (m.type == 0) {
    int32_t code = 0;
    r.i32(code);
    if (code == kSslRequest || code == kGssEncRequest) {
      u.kind = code == kSslRequest ? 'x' : 'g';
      k.fr[1]->expect_byte(true);
      view(k, kC2S, m.first_ts, code == kSslRequest ? "SSLRequest" : "GSSENCRequest");
      k.units.push_back(std::move(u));
      return;
    }
    if (code == kCancelRequest) {
      int32_t pid = 0, key = 0;
      r.i32(pid);
      r.i32(key);
      const uint64_t bk = (static_cast<uint64_t>(static_cast<uint32_t>(pid)) << 32) | static_cast<uint32_t>(key);
      auto it = backends_.find(bk);
      const std::string target = it == backends_.end() ? "null" : std::to_string(it->second);
      view(k, kC2S, m.first_ts,
           "CancelRequest pid " + std::to_string(pid) +
               (it == backends_.end() ? " (connection not in the capture)"
                                      : " (connection " + target + ")"));
      if (opt_.out) {
        ExchangeRecord rec;
        rec.proto = "postgresql";
        rec.ts = m.first_ts;
        rec.end = m.last_ts;
        rec.fields = {{"kind", "\"cancel\""}, {"query", "null"}, {"params", "null"},
                      {"tag", "null"}, {"rows", "null"},
                      {"pid", std::to_string(pid)}, {"cancels", target}};
        opt_.out->exchange(c, rec);
      }
      k.fr[0]->expect_untyped(false);
      return;
    }
    if ((code >> 16) != kProtocol3) {
      stop(k, "protocol version " + std::to_string(code >> 16) + "." +
                  std::to_string(code & 0xffff) + " is not decoded");
      return;
    }
    u.kind = '0';
    std::vector<std::string> other;
    while (r.ok()) {
      std::string key, value;
      if (!r.cstr(key) || key.empty()) break;
      r.cstr(value);
      if (key == "user") {
        u.user = value;
      } else if (key == "database") {
        u.database = value;
      } else if (key == "application_name") {
        u.application = value;
      } else if (other.size() < 20) {
        other.push_back(wire_escape(key) + "=" + cut_text(value, value.size(), 100));
      }
    }
    k.fr[0]->expect_untyped(false);
    view(k, kC2S, m.first_ts,
         "StartupMessage user=" + wire_escape(u.user) + " database=" +
             wire_escape(u.database.empty() ? u.user : u.database) +
             (u.application.empty() ? "" : " application_name=" + wire_escape(u.application)),
         -1, other);
    k.units.push_back(std::move(u));
    return;
  }
  switch (m.type) {
    case 'Q': {
      u.kind = 'Q';
      r.cstr(u.sql);
      if (opt_.decode_view) view(k, kC2S, m.first_ts, "Query: " + one_line(u.sql, kConsoleSql));
      break;
    }
    case 'P': {
      u.kind = 'P';
      r.cstr(u.name);
      r.cstr(u.sql);
      if (k.statements.size() < opt_.max_names || k.statements.count(u.name)) {
        k.statements[u.name] = u.sql;
      }
      if (opt_.decode_view)
        view(k, kC2S, m.first_ts,
           "Parse" + (u.name.empty() ? std::string() : " " + wire_escape(u.name)) + ": " +
               one_line(u.sql, kConsoleSql));
      break;
    }
    case 'B': {
      u.kind = 'B';
      std::string portal, stmt;
      r.cstr(portal);
      r.cstr(stmt);
      Conn::Portal p;
      p.statement = stmt;
      auto it = k.statements.find(stmt);
      if (it != k.statements.end()) {
        p.sql = it->second;
      } else {
        p.sql_known = false;
      }
      decode_bind(r, p.params_json, p.params_console);
      u.sql = p.sql;
      u.sql_known = p.sql_known;
      u.name = stmt;
      u.params_json = p.params_json;
      u.params_console = p.params_console;
      if (k.portals.size() < opt_.max_names || k.portals.count(portal)) {
        k.portals[portal] = std::move(p);
      }
      break;
    }
    case 'D':
      u.kind = 'D';
      break;
    case 'E': {
      u.kind = 'E';
      r.cstr(u.name);
      auto it = k.portals.find(u.name);
      if (it != k.portals.end()) {
        u.sql = it->second.sql;
        u.sql_known = it->second.sql_known;
        u.params_json = it->second.params_json;
        u.params_console = it->second.params_console;
      } else {
        u.sql_known = false;
        u.params_json = "null";
      }
      if (opt_.decode_view)
        view(k, kC2S, m.first_ts,
           "Execute: " + (u.sql_known ? one_line(u.sql, kConsoleSql) : "(a statement the capture does not show)") +
               (u.params_console.empty() ? "" : "  [" + u.params_console + "]"));
      break;
    }
    case 'C': {
      u.kind = 'C';
      uint8_t what = 0;
      std::string name;
      r.u8(what);
      r.cstr(name);
      if (what == 'S') k.statements.erase(name);
      if (what == 'P') k.portals.erase(name);
      break;
    }
    case 'S':
      u.kind = 'S';
      break;
    case 'F':
      u.kind = 'F';
      u.sql_known = false;
      view(k, kC2S, m.first_ts, "FunctionCall");
      break;
    case 'p':
      view(k, kC2S, m.first_ts, "authentication response " + redacted_text(m.length));
      return;
    case 'd':
      if (!k.units.empty()) k.units.front().copy_bytes += m.length;
      return;
    case 'c':
      view(k, kC2S, m.first_ts, "CopyDone");
      return;
    case 'f':
      view(k, kC2S, m.first_ts, "CopyFail: " + cut_text(m.body, m.length, 200));
      return;
    case 'X':
      view(k, kC2S, m.first_ts, "Terminate");
      return;
    case 'H':
      return;  // Flush
    default:
      view(k, kC2S, m.first_ts, std::string("message '") + wire_escape(std::string(1, m.type)) +
                                    "' (" + std::to_string(m.length) + " bytes)");
      return;
  }
  if (k.skip_to_sync) {
    if (u.kind == 'S') {
      k.skip_to_sync = false;
    } else if (u.kind != 'Q') {
      u.skipped = true;
    }
  }
  if (u.after_close && (u.kind == 'Q' || u.kind == 'E')) {
    k.after_close_offset = std::min(k.after_close_offset, u.offset);
  }
  if (k.stopped[1]) {
    emit(k, u, k.server_stop_why);
    return;
  }
  k.units.push_back(std::move(u));
  if (k.units.size() > opt_.max_pending) {
    if (!k.capped) {
      k.capped = true;
      report(k, kC2S, m.first_ts, m.offset, 0,
             std::to_string(k.units.size()) + " messages wait for their answers (cap " +
                 std::to_string(opt_.max_pending) + "): the oldest are delivered unanswered");
    }
    Unit old = std::move(k.units.front());
    k.units.pop_front();
    emit(k, old, "delivered before its answer (pending cap)");
  }
}

void PostgresAnalyzer::on_server(Conn& k, PgMessage&& m) {
  constexpr Dir kS2C = Dir::kServerToClient;
  Unit* u = k.units.empty() ? nullptr : &k.units.front();
  if (m.bare) {
    if (!u || (u->kind != 'x' && u->kind != 'g')) return;  // cannot happen: expect_byte follows them
    const bool yes = m.type == 'S' || m.type == 'G';
    const bool ssl = u->kind == 'x';
    view(k, kS2C, m.first_ts,
         std::string(1, m.type) + (yes ? (ssl ? ": TLS accepted, the rest of the connection is encrypted"
                                              : ": GSSAPI encryption accepted, the rest is encrypted")
                                       : (ssl ? ": no TLS" : ": no GSSAPI encryption")),
         m.first_ts - u->last);
    if (opt_.out) {
      ExchangeRecord rec;
      rec.proto = "postgresql";
      rec.ts = u->first;
      rec.end = m.last_ts;
      rec.latency = m.first_ts - u->last;
      rec.fields = {{"kind", ssl ? "\"ssl_request\"" : "\"gssenc_request\""}, {"query", "null"},
                    {"params", "null"}, {"tag", json_str(std::string(1, m.type))},
                    {"rows", "null"}, {"encrypted", yes ? "true" : "false"}};
      opt_.out->exchange(conn_of(k), rec);
    }
    const uint64_t client_end = u->offset + u->bytes;
    k.units.pop_front();
    if (yes && ssl && opt_.tls) {
      // TLS from here on, both ways: the TLS analyzer takes the rest.
      k.encrypted = true;
      k.tls_on = true;
      k.tls_base[0] = client_end;
      k.tls_base[1] = m.offset + 1;
      k.fr[0]->stop();
      k.fr[1]->stop();
      k.stopped[0] = k.stopped[1] = true;
      k.server_stop_why = "encrypted";
      if (!tls_) tls_ = make_tls_analyzer(*opt_.tls);
      tls_->on_open(conn_of(k));
      return;
    }
    if (yes) {
      k.encrypted = true;
      report(k, kS2C, m.first_ts, m.offset, 1,
             std::string("the server accepted ") + (ssl ? "TLS (SSLRequest)" : "GSSAPI encryption") +
                 ": the rest of the connection is encrypted and not decoded",
             false);
      k.fr[0]->stop();
      k.fr[1]->stop();
      k.stopped[0] = k.stopped[1] = true;
      k.server_stop_why = "encrypted";
    }
    return;
  }
  auto answer = [&](Unit& x) {
    if (!x.answered) {
      x.answered = true;
      x.resp_first = m.first_ts;
    }
    x.resp_last = m.last_ts;
  };
  auto pop_emit = [&]() {
    Unit x = std::move(k.units.front());
    k.units.pop_front();
    emit(k, x, "");
  };
  PgReader r(m.body);
  switch (m.type) {
    case 'R': {
      int32_t code = 0;
      r.i32(code);
      std::string text = auth_name(code);
      if (code == 10) {
        std::string mech, all;
        while (r.cstr(mech) && !mech.empty()) all += (all.empty() ? " " : ", ") + wire_escape(mech);
        text += all;
      } else if (code == 11 || code == 12 || code == 8) {
        text += " " + redacted_text(m.length >= 4 ? m.length - 4 : 0);
      }
      if (u && u->kind == '0') answer(*u);
      view(k, kS2C, m.first_ts, text);
      return;
    }
    case 'S': {
      std::string name, value;
      r.cstr(name);
      r.cstr(value);
      return;
    }
    case 'K': {
      int32_t pid = 0, key = 0;
      r.i32(pid);
      r.i32(key);
      if (k.have_key) backends_.erase(k.backend_key);
      k.backend_key = (static_cast<uint64_t>(static_cast<uint32_t>(pid)) << 32) | static_cast<uint32_t>(key);
      k.have_key = true;
      backends_[k.backend_key] = k.info.id;
      return;
    }
    case 'N': {
      const PgNotice n = parse_pg_notice(m.body);
      view(k, kS2C, m.first_ts, error_line(n));
      return;
    }
    case 'A': {
      int32_t pid = 0;
      std::string channel, payload;
      r.i32(pid);
      r.cstr(channel);
      r.cstr(payload);
      view(k, kS2C, m.first_ts,
           "Notification on " + wire_escape(channel) + ": " + cut_text(payload, payload.size(), 200));
      if (opt_.out) {
        ExchangeRecord rec;
        rec.proto = "postgresql";
        rec.ts = m.first_ts;
        rec.end = m.last_ts;
        rec.fields = {{"kind", "\"notification\""}, {"query", "null"}, {"params", "null"},
                      {"tag", "null"}, {"rows", "null"}, {"pid", std::to_string(pid)},
                      {"channel", json_str(wire_escape(channel))},
                      {"payload", json_str(cut_text(payload, payload.size(), 1000))}};
        opt_.out->exchange(conn_of(k), rec);
      }
      return;
    }
    case 'v':
      view(k, kS2C, m.first_ts, "NegotiateProtocolVersion");
      return;
    default:
      break;
  }
  if (!u) {
    if (!k.orphan_told) {
      k.orphan_told = true;
      report(k, kS2C, m.first_ts, m.offset, m.length + 5,
             std::string("an answer (message '") + wire_escape(std::string(1, m.type)) +
                 "') to no message of the client" +
                 (k.stopped[0] ? " (the client's messages are not decoded past a gap)" : ""),
             !k.stopped[0]);
    }
    return;
  }
  switch (m.type) {
    case 'Z': {
      // Ends a simple Query, a Sync's batch or the startup.
      while (!k.units.empty()) {
        Unit& x = k.units.front();
        const bool last = x.kind == 'Q' || x.kind == 'S' || x.kind == '0' || x.kind == 'F';
        if (!x.skipped) answer(x);
        pop_emit();
        if (last) break;
      }
      return;
    }
    case 'E': {
      PgNotice e = parse_pg_notice(m.body);
      if (k.errors++ == 0) k.first_error = error_line(e);
      answer(*u);
      if (!u->has_error) {
        u->has_error = true;
        u->error = e;
      }
      if (u->kind == 'Q' || u->kind == '0' || u->kind == 'S' || u->kind == 'F') {
        if (u->kind == '0') {
          // Authentication failed: the server closes after it.
          view(k, kS2C, m.first_ts, error_line(e), m.first_ts - u->last);
          pop_emit();
        }
        return;
      }
      // Extended protocol: the server skips to the Sync.
      pop_emit();
      while (!k.units.empty() && k.units.front().kind != 'S') {
        Unit& x = k.units.front();
        x.skipped = true;
        pop_emit();
      }
      // The client's Sync is still to come (it flushed first): what it
      // sends before that Sync is skipped too.
      if (k.units.empty()) k.skip_to_sync = true;
      return;
    }
    case '1':
    case '2':
    case '3':
    case 'n':
      answer(*u);
      pop_emit();
      return;
    case 't':
      answer(*u);
      return;
    case 'T':
      answer(*u);
      if (u->kind == 'D') {
        pop_emit();
      } else {
        u->columns = row_columns(m.body);
      }
      return;
    case 'D':
      answer(*u);
      ++u->data_rows;
      if (u->shown_rows.size() < opt_.view_rows && opt_.decode_view) u->shown_rows.push_back(data_row(m.body));
      return;
    case 'C': {
      std::string tag;
      r.cstr(tag);
      answer(*u);
      u->tags.push_back(wire_escape(tag));
      if (u->kind == 'E') pop_emit();
      return;
    }
    case 'I':
      answer(*u);
      u->tags.push_back("(empty query)");
      if (u->kind == 'E') pop_emit();
      return;
    case 's':
      answer(*u);
      u->tags.push_back("(portal suspended)");
      pop_emit();
      return;
    case 'G':
    case 'H':
    case 'W':
      answer(*u);
      u->copy = true;
      view(k, kS2C, m.first_ts, m.type == 'G' ? "CopyInResponse" : m.type == 'H' ? "CopyOutResponse" : "CopyBothResponse");
      return;
    case 'd':
      answer(*u);
      u->copy_bytes += m.length;
      return;
    case 'c':
    case 'V':
      answer(*u);
      return;
    default:
      view(k, kS2C, m.first_ts, std::string("message '") + wire_escape(std::string(1, m.type)) + "' (" +
                                    std::to_string(m.length) + " bytes)");
      return;
  }
}

void PostgresAnalyzer::emit(Conn& k, Unit& u, const std::string& unanswered_why) {
  const Connection& c = conn_of(k);
  constexpr Dir kS2C = Dir::kServerToClient;
  const bool recorded = u.kind == 'Q' || u.kind == 'E' || u.kind == '0' || u.kind == 'F' ||
                        (u.has_error && (u.kind == 'P' || u.kind == 'B' || u.kind == 'S'));
  if (!recorded) return;
  const char* kind = u.kind == 'Q' ? "query" : u.kind == 'E' ? "execute" : u.kind == '0' ? "startup"
                     : u.kind == 'P' ? "parse" : u.kind == 'B' ? "bind" : u.kind == 'F' ? "function_call" : "sync";
  std::string tag;
  int64_t counted = -1;
  for (const std::string& t : u.tags) {
    tag += (tag.empty() ? "" : "; ") + t;
    const int64_t n = tag_rows(t);
    if (n >= 0) counted = (counted < 0 ? 0 : counted) + n;
  }
  const int64_t rows = counted >= 0 ? counted : (u.data_rows > 0 ? static_cast<int64_t>(u.data_rows) : -1);
  const Timestamp latency = u.answered ? u.resp_first - u.last : -1;
  // Only a finding needs it: not built for every message.
  const auto what = [&] {
    return std::string(kind) + (u.sql_known && !u.sql.empty() ? " (" + one_line(u.sql, 60) + ")" : "");
  };

  // The console's answer line (built only for --decode).
  if (!opt_.decode_view) {
  } else if (u.answered && u.kind != '0' && !u.skipped) {
    std::vector<std::string> lines;
    if (!u.columns.empty()) {
      std::string cols;
      for (const std::string& col : u.columns) cols += (cols.empty() ? "" : " | ") + col;
      lines.push_back(cols);
    }
    for (const std::string& row : u.shown_rows) lines.push_back(row);
    if (u.data_rows > u.shown_rows.size() && !u.shown_rows.empty()) {
      lines.push_back("(" + std::to_string(u.data_rows) + " rows)");
    }
    if (u.copy) lines.push_back("COPY data: " + std::to_string(u.copy_bytes) + " bytes");
    std::string summary = u.has_error ? error_line(u.error) : tag.empty() ? std::string("(no result)") : tag;
    if (u.has_error) {
      if (!u.error.detail.empty()) lines.push_back("DETAIL: " + cut_text(u.error.detail, u.error.detail.size(), 300));
      if (!u.error.hint.empty()) lines.push_back("HINT: " + cut_text(u.error.hint, u.error.hint.size(), 300));
      if (!u.error.position.empty()) lines.push_back("POSITION: " + wire_escape(u.error.position));
    }
    view(k, kS2C, u.resp_first, std::move(summary), latency, std::move(lines));
  } else if (u.kind == '0' && u.answered && !u.has_error) {
    view(k, kS2C, u.resp_last, "ReadyForQuery (startup done)", latency);
  }

  // Findings.
  if (u.after_close && (u.kind == 'Q' || u.kind == 'E')) {
    report(k, Dir::kClientToServer, u.first, u.offset, u.bytes,
           what() + ", " + std::to_string(u.bytes) + " bytes, was sent " + seconds_text(u.first - k.server_shut_ts) +
               " s after the server closed its side (" + (k.server_reset ? "RST" : "FIN") + ")" +
               (u.answered ? "; it was answered anyway" : "; it was never answered"));
  } else if (!u.answered && !u.skipped && (u.kind == 'Q' || u.kind == 'E' || u.kind == '0')) {
    const uint64_t missing = k.server_missing + c.analysis.unseen_acked[1];
    if (missing == 0 && !k.stopped[1] && unanswered_why.rfind("delivered before", 0) != 0) {
      report(k, Dir::kClientToServer, u.first, u.offset, u.bytes,
             what() + " was never answered" + (unanswered_why.empty() ? "" : " (" + unanswered_why + ")"));
    }
  }
  if (!opt_.out || !opt_.out->wants_exchanges()) return;
  ExchangeRecord rec;
  rec.proto = "postgresql";
  rec.ts = u.first;
  rec.end = u.answered ? u.resp_last : u.last;
  if (u.answered) rec.latency = latency;
  if (u.has_error) {
    rec.error_json = error_json(u.error);
  } else if (u.skipped) {
    rec.error_json = error_text_json("not executed: an earlier message of its batch failed");
  } else if (!u.answered) {
    std::string why = unanswered_why;
    if (u.after_close) why = std::string("sent after the server closed (") + (k.server_reset ? "RST" : "FIN") + ")";
    rec.error_json = error_text_json("unanswered" + (why.empty() ? "" : " (" + why + ")"));
  }
  if (!opt_.out->wants_exchange_fields()) {  // --report counts it
    opt_.out->exchange(c, rec);
    return;
  }
  rec.fields.reserve(8);
  rec.fields.emplace_back("kind", json_str(kind));
  rec.fields.emplace_back("query", u.sql_known && u.kind != '0' ? json_str(cut_text(u.sql, u.sql.size(), 4096)) : "null");
  rec.fields.emplace_back("params", u.kind == 'E' || u.kind == 'B' ? u.params_json : "null");
  rec.fields.emplace_back("tag", tag.empty() ? "null" : json_str(tag));
  rec.fields.emplace_back("rows", rows >= 0 ? std::to_string(rows) : "null");
  if (u.kind == 'E' || u.kind == 'P') rec.fields.emplace_back(u.kind == 'E' ? "portal" : "statement", json_str(wire_escape(u.name)));
  if (u.copy) rec.fields.emplace_back("copy_bytes", std::to_string(u.copy_bytes));
  if (u.kind == '0') {
    rec.fields.emplace_back("user", json_str(wire_escape(u.user)));
    rec.fields.emplace_back("database", json_str(wire_escape(u.database.empty() ? u.user : u.database)));
    rec.fields.emplace_back("application_name", u.application.empty() ? "null" : json_str(wire_escape(u.application)));
  }
  opt_.out->exchange(c, rec);
}

void PostgresAnalyzer::stop(Conn& k, const std::string& why) {
  report(k, Dir::kClientToServer, conn_of(k).last_ts, 0, 0, why + "; the connection is not decoded", true);
  k.fr[0]->stop();
  k.fr[1]->stop();
  k.stopped[0] = k.stopped[1] = true;
  k.server_stop_why = why;
}

void PostgresAnalyzer::on_error(Conn& k, Dir d, const std::string& why, uint64_t offset) {
  const bool client = d == Dir::kClientToServer;
  report(k, d, conn_of(k).last_ts, offset, 0,
         std::string(client ? "the client's" : "the server's") + " bytes at offset " +
             std::to_string(offset) + " are not PostgreSQL messages (" + why + "); its messages are not decoded from there on");
  k.stopped[index_of(d)] = true;
  if (!client) {
    k.server_stop_why = "the server's messages could not be decoded";
    while (!k.units.empty()) {
      Unit x = std::move(k.units.front());
      k.units.pop_front();
      emit(k, x, k.server_stop_why);
    }
  }
}

void PostgresAnalyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                              Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  if (k.tls_on) {
    tls_handoff_gap(*tls_, k.tls_base[index_of(d)], c, d, offset, length, ts);
    return;
  }
  PgFramer& f = *k.fr[index_of(d)];
  if (!f.active()) return;
  f.stop();
  k.stopped[index_of(d)] = true;
  if (d == Dir::kClientToServer) {
    report(k, d, ts, offset, length,
           "the client's messages are not decoded past the capture gap at offset " + std::to_string(offset) +
               " (" + std::to_string(length) + " bytes); answers to the messages before it are still paired",
           false);
    return;
  }
  k.server_missing += length;
  k.server_stop_why = "the capture lacks " + std::to_string(length) + " bytes the server sent";
  report(k, d, ts, offset, length,
         "the server's messages are not decoded past the capture gap at offset " + std::to_string(offset) +
             " (" + std::to_string(length) + " bytes): the queries waiting and the later ones stay unanswered",
         false);
  while (!k.units.empty()) {
    Unit x = std::move(k.units.front());
    k.units.pop_front();
    emit(k, x, k.server_stop_why);
  }
}

void PostgresAnalyzer::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  if (k.tls_on) tls_->on_shutdown(c, d, reset, ts);
  if (d == Dir::kServerToClient && !k.server_shut) {
    k.server_shut = true;
    k.server_reset = reset;
    k.server_shut_ts = ts;
  }
}

void PostgresAnalyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  Conn& k = *it->second;
  current_ = &c;
  k.why = why;
  const std::string reason = close_reason_text(why);
  for (int i = 0; i < 2; ++i) {
    if (k.fr[i]->in_message()) {
      report(k, static_cast<Dir>(i), c.last_ts, 0, 0,
             std::string("the connection ended inside a message of the ") + (i == 0 ? "client" : "server") +
                 (reason.empty() ? "" : " (" + reason + ")"));
    }
  }
  while (!k.units.empty()) {
    Unit x = std::move(k.units.front());
    k.units.pop_front();
    emit(k, x, k.stopped[1] ? k.server_stop_why : reason);
  }
  if (k.errors > 0) {
    report(k, Dir::kServerToClient, c.last_ts, 0, 0,
           std::to_string(k.errors) + (k.errors == 1 ? " error" : " errors") +
               " on this connection (first: " + k.first_error + ")");
  }
  // A CancelRequest targets a connection still open (its query runs).
  if (k.have_key) backends_.erase(k.backend_key);
  if (k.tls_on) tls_->on_close(c, why);
  conns_.erase(it);
  current_ = nullptr;
}

void PostgresAnalyzer::finish() {
  while (!conns_.empty()) {
    const Connection info = conns_.begin()->second->info;
    on_close(info, CloseReason::kEndOfInput);
  }
  if (tls_) tls_->finish();
}

bool PostgresAnalyzer::tells(const Connection& c, const Finding& f) const {
  if (f.kind != Finding::Kind::kDataAfterPeerFin || f.dir != Dir::kClientToServer) return false;
  auto it = conns_.find(c.id);
  return it != conns_.end() && it->second->after_close_offset < f.offset + f.length;
}

std::unique_ptr<ProtocolAnalyzer> make_postgresql_analyzer(const AnalyzerSettings& s) {
  PostgresOptions o;
  o.out = s.out;
  o.decode_view = s.decode_view;
  o.tls = std::make_shared<const AnalyzerSettings>(s);
  return std::make_unique<PostgresAnalyzer>(o);
}

}  // namespace tcpscribe
