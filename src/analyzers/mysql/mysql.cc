#include "mysql.h"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "tls_analyzer.h"
#include "wire_text.h"

namespace tcpscribe {
namespace {

// Capability flags.
constexpr uint32_t kConnectWithDb = 0x8;
constexpr uint32_t kCompress = 0x20;
constexpr uint32_t kSsl = 0x800;
constexpr uint32_t kSecureConnection = 0x8000;
constexpr uint32_t kPluginAuth = 0x80000;
constexpr uint32_t kConnectAttrs = 0x100000;
constexpr uint32_t kPluginAuthLenenc = 0x200000;
constexpr uint32_t kDeprecateEof = 0x1000000;
constexpr uint32_t kQueryAttributes = 0x8000000;
constexpr uint16_t kMoreResults = 0x0008;

// Commands.
constexpr uint8_t kComQuit = 0x01, kComInitDb = 0x02, kComQuery = 0x03, kComPing = 0x0e,
                  kComPrepare = 0x16, kComExecute = 0x17, kComSendLongData = 0x18,
                  kComClose = 0x19;

const char* command_name(uint8_t c) {
  switch (c) {
    case 0x00: return "COM_SLEEP";
    case kComQuit: return "COM_QUIT";
    case kComInitDb: return "COM_INIT_DB";
    case kComQuery: return "COM_QUERY";
    case 0x04: return "COM_FIELD_LIST";
    case 0x07: return "COM_REFRESH";
    case 0x08: return "COM_SHUTDOWN";
    case 0x09: return "COM_STATISTICS";
    case 0x0a: return "COM_PROCESS_INFO";
    case 0x0c: return "COM_PROCESS_KILL";
    case 0x0d: return "COM_DEBUG";
    case kComPing: return "COM_PING";
    case 0x11: return "COM_CHANGE_USER";
    case 0x12: return "COM_BINLOG_DUMP";
    case kComPrepare: return "COM_STMT_PREPARE";
    case kComExecute: return "COM_STMT_EXECUTE";
    case kComSendLongData: return "COM_STMT_SEND_LONG_DATA";
    case kComClose: return "COM_STMT_CLOSE";
    case 0x1a: return "COM_STMT_RESET";
    case 0x1b: return "COM_SET_OPTION";
    case 0x1c: return "COM_STMT_FETCH";
    case 0x1f: return "COM_RESET_CONNECTION";
  }
  return "COM_?";
}

std::string one_line(const std::string& sql, size_t max) {
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

/// A value of the binary protocol (COM_STMT_EXECUTE parameters, binary rows).
std::string binary_value(MyReader& r, uint8_t type, bool is_unsigned) {
  char buf[96];
  switch (type) {
    case 6: return "NULL";
    case 1: {
      uint8_t v = 0;
      r.u8(v);
      return is_unsigned ? std::to_string(v) : std::to_string(static_cast<int8_t>(v));
    }
    case 2:
    case 13: {
      uint16_t v = 0;
      r.u16(v);
      return is_unsigned ? std::to_string(v) : std::to_string(static_cast<int16_t>(v));
    }
    case 3:
    case 9: {
      uint32_t v = 0;
      r.u32(v);
      return is_unsigned ? std::to_string(v) : std::to_string(static_cast<int32_t>(v));
    }
    case 8: {
      uint64_t v = 0;
      r.u64(v);
      return is_unsigned ? std::to_string(v) : std::to_string(static_cast<int64_t>(v));
    }
    case 4: {
      uint32_t v = 0;
      r.u32(v);
      float f = 0;
      std::memcpy(&f, &v, sizeof f);
      std::snprintf(buf, sizeof buf, "%g", static_cast<double>(f));
      return buf;
    }
    case 5: {
      uint64_t v = 0;
      r.u64(v);
      double f = 0;
      std::memcpy(&f, &v, sizeof f);
      std::snprintf(buf, sizeof buf, "%.17g", f);
      return buf;
    }
    case 7:
    case 10:
    case 12: {
      uint8_t n = 0;
      r.u8(n);
      uint16_t y = 0;
      uint8_t mo = 0, d = 0, h = 0, mi = 0, s = 0;
      uint32_t us = 0;
      if (n >= 4) r.u16(y), r.u8(mo), r.u8(d);
      if (n >= 7) r.u8(h), r.u8(mi), r.u8(s);
      if (n >= 11) r.u32(us);
      if (n != 0 && n != 4 && n != 7 && n != 11) r.skip(n);
      std::snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u.%06u", y, mo, d, h, mi, s, us);
      return buf;
    }
    case 11: {
      uint8_t n = 0, neg = 0, h = 0, mi = 0, s = 0;
      uint32_t days = 0, us = 0;
      r.u8(n);
      if (n >= 8) r.u8(neg), r.u32(days), r.u8(h), r.u8(mi), r.u8(s);
      if (n >= 12) r.u32(us);
      if (n != 0 && n != 8 && n != 12) r.skip(n);
      std::snprintf(buf, sizeof buf, "%s%u %02u:%02u:%02u.%06u", neg ? "-" : "", days, h, mi, s, us);
      return buf;
    }
    default: {
      std::string v;
      bool null = false;
      r.lenenc_str(v, &null);
      return cut_text(v, v.size(), 256);
    }
  }
}

struct Column {
  std::string name;
  uint8_t type = 253;
  bool is_unsigned = false;
};

Column column_def(const std::string& body) {
  MyReader r(body);
  Column c;
  std::string skip;
  for (int i = 0; i < 4; ++i) r.lenenc_str(skip);  // catalog, schema, table, org_table
  r.lenenc_str(c.name);
  r.lenenc_str(skip);  // org_name
  uint64_t fixed = 0;
  r.lenenc(fixed);
  uint16_t charset = 0, flags = 0;
  uint32_t length = 0;
  r.u16(charset);
  r.u32(length);
  r.u8(c.type);
  r.u16(flags);
  c.is_unsigned = (flags & 0x20) != 0;
  c.name = wire_escape(c.name);
  return c;
}

std::string error_json(uint16_t code, const std::string& state, const std::string& message) {
  return "{\"code\":" + std::to_string(code) + ",\"sqlstate\":" +
         (state.empty() ? std::string("null") : json_str(state)) + ",\"message\":" + json_str(message) + "}";
}

}  // namespace

// ------------------------------------------------------------------ probe

ProbeResult probe_mysql(Dir d, std::span<const uint8_t> first) {
  if (d == Dir::kClientToServer) return first.empty() ? ProbeResult::kNeedMore : ProbeResult::kNo;
  // length(3) seq(1)=0, protocol 10, a version "5.", "8.", "10.", ... then NUL.
  if (first.size() >= 4 && first[3] != 0) return ProbeResult::kNo;
  if (first.size() >= 5 && first[4] != 10 && first[4] != 0xff) return ProbeResult::kNo;
  if (first.size() >= 5 && first[4] == 0xff) {
    return first.size() >= 7 ? ProbeResult::kYes : ProbeResult::kNeedMore;  // ERR: host not allowed
  }
  size_t i = 5;
  while (i < first.size() && i < 5 + 64) {
    const uint8_t b = first[i];
    if (b == 0) return i > 5 ? ProbeResult::kYes : ProbeResult::kNo;
    if (b < 0x20 || b > 0x7e) return ProbeResult::kNo;
    ++i;
  }
  return i >= 5 + 64 ? ProbeResult::kNo : ProbeResult::kNeedMore;
}

// --------------------------------------------------------------- analyzer

struct MysqlAnalyzer::Cmd {
  uint8_t command = 0;
  std::string sql;
  uint64_t sql_len = 0;          // its full length (the kept part may be shorter)
  bool sql_known = true;
  std::string params_json = "null";
  std::string params_console;
  uint32_t stmt_id = 0;
  uint64_t offset = 0;
  Timestamp first = 0;
  Timestamp last = 0;
  bool answered = false;
  Timestamp resp_first = 0;
  Timestamp resp_last = 0;
  enum class State { kFirst, kColumns, kColumnsEof, kRows, kPrepParams, kPrepParamsEof,
                     kPrepColumns, kPrepColumnsEof, kDone } state = State::kFirst;
  uint64_t left = 0;             // column or parameter definitions still to come
  uint16_t prep_columns = 0;
  std::vector<Column> columns;
  uint64_t results = 0;          // result sets
  uint64_t rows = 0;
  std::vector<std::string> shown_rows;
  bool ok = false;
  uint64_t affected = 0;
  uint64_t insert_id = 0;
  bool has_error = false;
  uint16_t err_code = 0;
  std::string err_state, err_message;
  bool login = false;
  std::string user, database, program;
};

struct MysqlAnalyzer::Conn {
  Connection info;
  std::unique_ptr<MyFramer> fr[2];
  enum class Phase { kGreeting, kResponse, kAuth, kCommand, kStopped } phase = Phase::kGreeting;
  uint32_t server_caps = 0;
  uint32_t caps = 0;
  std::string version;
  std::deque<Cmd> cmds;
  struct Stmt {
    std::string sql;
    uint64_t sql_len = 0;
    uint16_t params = 0;
    std::vector<std::pair<uint8_t, bool>> types;  // last bound (type, unsigned)
  };
  std::map<uint32_t, Stmt> stmts;
  bool server_stopped = false;
  std::string stop_why;
  uint64_t errors = 0;
  std::string first_error;
  uint64_t greeting_end = 0;        // where the server's greeting ends
  bool tls_on = false;              // after the SSL request: the TLS analyzer has the bytes
  uint64_t tls_base[2] = {0, 0};    // where the TLS bytes start, per direction
  std::unique_ptr<MyFramer> tfr[2];  // the plaintext TLS hands back
  bool plain_seen = false;
  /// The framer reading direction `d` now: the wire's, or TLS's plaintext.
  MyFramer& framer(Dir d) { return tls_on ? *tfr[index_of(d)] : *fr[index_of(d)]; }
};

/// The output the connection's TLS analyzer reports to: everything goes on
/// to the run's output, and the plaintext also comes back to be decoded.
class MysqlAnalyzer::TlsTap final : public AnalyzerOutput {
 public:
  TlsTap(MysqlAnalyzer& an, AnalyzerOutput* out) : an_(an), out_(out) {}
  void finding(const Connection& c, const Finding& f) override {
    if (out_) out_->finding(c, f);
  }
  void exchange(const Connection& c, const ExchangeRecord& r) override {
    if (out_) out_->exchange(c, r);
  }
  bool wants_exchanges() const override { return out_ && out_->wants_exchanges(); }
  bool wants_exchange_fields() const override { return out_ && out_->wants_exchange_fields(); }
  void message(const Connection& c, const DecodedMessage& m) override {
    if (out_) out_->message(c, m);
  }
  void http_transaction(const HttpTransaction& t) override {
    if (out_) out_->http_transaction(t);
  }
  void inner_open(const Connection& c, const char* layer) override {
    if (out_) out_->inner_open(c, layer);
  }
  void inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                  std::span<const uint8_t> bytes, Timestamp ts) override {
    if (out_) out_->inner_data(c, layer, d, offset, bytes, ts);
    an_.from_tls(c, d, offset, bytes, ts);
  }
  void inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset, uint64_t length,
                 Timestamp ts) override {
    if (out_) out_->inner_gap(c, layer, d, offset, length, ts);
    an_.from_tls_gap(c, d, offset, length, ts);
  }
  void connection_info(const Connection& c, const std::string& key, const std::string& json) override {
    if (out_) out_->connection_info(c, key, json);
  }

 private:
  MysqlAnalyzer& an_;
  AnalyzerOutput* out_;
};

MysqlAnalyzer::MysqlAnalyzer(MysqlOptions o) : opt_(o) {}
MysqlAnalyzer::~MysqlAnalyzer() = default;

const Connection& MysqlAnalyzer::conn_of(Conn& k) const {
  return current_ && current_->id == k.info.id ? *current_ : k.info;
}

MysqlAnalyzer::Conn& MysqlAnalyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<Conn>();
    Conn& k = *it->second;
    k.info = c;
    Conn* kp = &k;
    k.fr[0] = std::make_unique<MyFramer>([this, kp](MyPacket&& p) { on_client(*kp, std::move(p)); });
    k.fr[1] = std::make_unique<MyFramer>([this, kp](MyPacket&& p) { on_server(*kp, std::move(p)); });
    if (!c.handshake_seen) {
      k.phase = Conn::Phase::kStopped;
      k.fr[0]->stop();
      k.fr[1]->stop();
      report(k, Dir::kClientToServer, c.first_ts, 0,
             "the capture starts mid-connection: its packets are not decoded", false);
    }
  }
  return *it->second;
}

void MysqlAnalyzer::report(Conn& k, Dir d, Timestamp ts, uint64_t offset, std::string text, bool alarm) {
  if (!opt_.out) return;
  Finding f;
  f.kind = Finding::Kind::kProtocol;
  f.dir = d;
  f.ts = ts;
  f.offset = offset;
  f.text = "mysql: " + std::move(text);
  f.alarm = alarm;
  opt_.out->finding(conn_of(k), f);
}

void MysqlAnalyzer::view(Conn& k, Dir d, Timestamp ts, std::string summary, Timestamp latency,
                         std::vector<std::string> lines) {
  if (!opt_.decode_view || !opt_.out) return;
  DecodedMessage m;
  m.proto = "mysql";
  m.dir = d;
  m.ts = ts;
  m.summary = std::move(summary);
  m.latency = latency;
  m.lines = std::move(lines);
  opt_.out->message(conn_of(k), m);
}

void MysqlAnalyzer::stop(Conn& k, const std::string& why, bool alarm) {
  report(k, Dir::kClientToServer, conn_of(k).last_ts, 0, why + ": the rest of the connection is not decoded", alarm);
  k.phase = Conn::Phase::kStopped;
  k.framer(Dir::kClientToServer).stop();
  k.framer(Dir::kServerToClient).stop();
  k.server_stopped = true;
  k.stop_why = why;
}

void MysqlAnalyzer::on_open(const Connection& c) { conn_for(c); }

void MysqlAnalyzer::on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                            Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  current_ = &c;
  if (!k.tls_on) k.fr[index_of(d)]->feed(bytes, offset, ts);
  // Also the rest of the chunk that switched.
  if (k.tls_on) tls_handoff_data(*tls_, k.tls_base[index_of(d)], c, d, offset, bytes, ts);
}

void MysqlAnalyzer::from_tls(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                             Timestamp ts) {
  auto it = conns_.find(c.id);
  if (it == conns_.end() || !it->second->tls_on) return;
  Conn& k = *it->second;
  const Connection* before = current_;
  current_ = &c;
  k.plain_seen = true;
  k.tfr[index_of(d)]->feed(bytes, offset, ts);
  current_ = before;
}

void MysqlAnalyzer::from_tls_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp ts) {
  auto it = conns_.find(c.id);
  if (it == conns_.end() || !it->second->tls_on) return;
  const Connection* before = current_;
  current_ = &c;
  lost(*it->second, d, offset, length, ts);
  current_ = before;
}

void MysqlAnalyzer::secrets_added() {
  if (tls_) tls_->secrets_added();
}

void MysqlAnalyzer::on_client(Conn& k, MyPacket&& p) {
  constexpr Dir kC2S = Dir::kClientToServer;
  MyReader r(p.body);
  if (k.phase == Conn::Phase::kGreeting || k.phase == Conn::Phase::kStopped) return;
  if (k.phase == Conn::Phase::kResponse) {
    uint32_t caps = 0;
    r.u32(caps);
    k.caps = caps & (k.server_caps | 0xffff0000u);
    if ((caps & kSsl) && p.length == 32 && !k.tls_on) {
      view(k, kC2S, p.first_ts, "SSL request");
      if (!opt_.tls) {
        stop(k, "the client asked for TLS (SSL request)", false);
        return;
      }
      // TLS from the next byte on, both ways (the server answers with its
      // ServerHello): the TLS analyzer takes the rest, and what it
      // decrypts comes back to framers of its own, the handshake response
      // first.
      k.tls_on = true;
      k.tls_base[0] = p.offset + 4 + p.length;
      k.tls_base[1] = k.greeting_end;
      k.fr[0]->stop();
      k.fr[1]->stop();
      Conn* kp = &k;
      k.tfr[0] = std::make_unique<MyFramer>([this, kp](MyPacket&& q) { on_client(*kp, std::move(q)); });
      k.tfr[1] = std::make_unique<MyFramer>([this, kp](MyPacket&& q) { on_server(*kp, std::move(q)); });
      if (!tls_) {
        AnalyzerSettings s = *opt_.tls;
        tap_ = std::make_unique<TlsTap>(*this, s.out);
        s.out = tap_.get();
        s.enabled.clear();  // what is inside is MySQL, decoded here
        tls_ = make_tls_analyzer(s);
      }
      tls_->on_open(conn_of(k));
      return;
    }
    Cmd cmd;
    cmd.login = true;
    cmd.offset = p.offset;
    cmd.first = p.first_ts;
    cmd.last = p.last_ts;
    uint32_t max_packet = 0;
    uint8_t charset = 0;
    r.u32(max_packet);
    r.u8(charset);
    r.skip(23);
    r.cstr(cmd.user);
    std::string auth;
    if (caps & kPluginAuthLenenc) {
      r.lenenc_str(auth);
    } else if (caps & kSecureConnection) {
      uint8_t n = 0;
      r.u8(n);
      r.bytes(n, auth);
    } else {
      r.cstr(auth);
    }
    if (caps & kConnectWithDb) r.cstr(cmd.database);
    std::string plugin;
    if (caps & kPluginAuth) r.cstr(plugin);
    if ((caps & kConnectAttrs) && r.ok()) {
      uint64_t total = 0;
      r.lenenc(total);
      while (r.ok() && r.left() > 0) {
        std::string key, value;
        if (!r.lenenc_str(key) || !r.lenenc_str(value)) break;
        if (key == "program_name") cmd.program = value;
      }
    }
    view(k, kC2S, p.first_ts,
         "Login user=" + wire_escape(cmd.user) + (cmd.database.empty() ? "" : " database=" + wire_escape(cmd.database)) +
             (cmd.program.empty() ? "" : " program=" + wire_escape(cmd.program)) + " auth " +
             redacted_text(auth.size()) + (plugin.empty() ? "" : " (" + wire_escape(plugin) + ")"));
    k.cmds.push_back(std::move(cmd));
    k.phase = Conn::Phase::kAuth;
    return;
  }
  if (k.phase == Conn::Phase::kAuth) {
    view(k, kC2S, p.first_ts, "authentication data " + redacted_text(p.length));
    return;
  }
  // The command phase: a command starts with sequence id 0.
  if (p.seq != 0) return;  // LOCAL INFILE data and the like
  uint8_t c = 0;
  r.u8(c);
  Cmd cmd;
  cmd.command = c;
  cmd.offset = p.offset;
  cmd.first = p.first_ts;
  cmd.last = p.last_ts;
  std::string summary;
  switch (c) {
    case kComQuery:
      cmd.sql = r.rest();
      cmd.sql_len = p.length - 1;
      if (opt_.decode_view) summary = "Query: " + one_line(cmd.sql, 300);
      break;
    case kComPrepare:
      cmd.sql = r.rest();
      cmd.sql_len = p.length - 1;
      if (opt_.decode_view) summary = "Prepare: " + one_line(cmd.sql, 300);
      break;
    case kComInitDb:
      cmd.sql = r.rest();
      summary = "Init DB: " + wire_escape(cmd.sql);
      break;
    case kComExecute: {
      uint32_t id = 0;
      uint8_t flags = 0;
      uint32_t iter = 0;
      r.u32(id);
      r.u8(flags);
      r.u32(iter);
      cmd.stmt_id = id;
      auto it = k.stmts.find(id);
      if (it == k.stmts.end()) {
        cmd.sql_known = false;
      } else {
        Conn::Stmt& st = it->second;
        cmd.sql = st.sql;
        cmd.sql_len = st.sql_len;
        uint64_t n = st.params;
        if (k.caps & kQueryAttributes) r.lenenc(n);
        if (n > 4096) n = 4096;
        if (n > 0) {
          std::string bitmap;
          r.bytes((n + 7) / 8, bitmap);
          uint8_t bound = 0;
          r.u8(bound);
          if (bound == 1) {
            st.types.clear();
            for (uint64_t i = 0; i < n && r.ok(); ++i) {
              uint8_t t = 0, f = 0;
              r.u8(t);
              r.u8(f);
              if (k.caps & kQueryAttributes) {
                std::string name;
                r.lenenc_str(name);
              }
              st.types.emplace_back(t, (f & 0x80) != 0);
            }
          }
          cmd.params_json = "[";
          for (uint64_t i = 0; i < n; ++i) {
            const bool null = i / 8 < bitmap.size() && (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
            std::string v;
            if (!null) {
              if (i >= st.types.size() || !r.ok()) break;
              v = binary_value(r, st.types[i].first, st.types[i].second);
              if (!r.ok()) break;
            }
            if (i > 0) cmd.params_json += ',';
            cmd.params_json += null ? "null" : json_str(v);
            if (i < 20) {
              cmd.params_console += (i > 0 ? ", " : "") + std::string("?") + std::to_string(i + 1) + "=" +
                                    (null ? "NULL" : cut_text(v, v.size(), 40));
            }
          }
          cmd.params_json += "]";
        } else {
          cmd.params_json = "[]";
        }
      }
      if (opt_.decode_view)
        summary = "Execute stmt " + std::to_string(id) + ": " +
                (cmd.sql_known ? one_line(cmd.sql, 300) : std::string("(a statement the capture does not show)")) +
                (cmd.params_console.empty() ? "" : "  [" + cmd.params_console + "]");
      break;
    }
    case kComClose: {
      uint32_t id = 0;
      r.u32(id);
      k.stmts.erase(id);
      view(k, kC2S, p.first_ts, "Close stmt " + std::to_string(id));
      return;  // no answer
    }
    case kComSendLongData:
      view(k, kC2S, p.first_ts, "Send long data (" + std::to_string(p.length) + " bytes)");
      return;  // no answer
    case kComQuit:
      view(k, kC2S, p.first_ts, "Quit");
      return;
    case kComPing:
      summary = "Ping";
      break;
    default:
      summary = command_name(c);
      break;
  }
  view(k, kC2S, p.first_ts, summary);
  if (k.server_stopped) {
    emit(k, cmd, k.stop_why);
    return;
  }
  k.cmds.push_back(std::move(cmd));
  if (k.cmds.size() > opt_.max_pending) {
    Cmd old = std::move(k.cmds.front());
    k.cmds.pop_front();
    emit(k, old, "delivered before its answer (pending cap)");
  }
}

void MysqlAnalyzer::on_server(Conn& k, MyPacket&& p) {
  constexpr Dir kS2C = Dir::kServerToClient;
  MyReader r(p.body);
  if (k.phase == Conn::Phase::kGreeting) {
    uint8_t proto = 0;
    r.u8(proto);
    if (proto == 0xff) {
      uint16_t code = 0;
      r.u16(code);
      view(k, kS2C, p.first_ts, "ERROR " + std::to_string(code) + ": " + cut_text(r.rest(), p.length, 200));
      k.phase = Conn::Phase::kStopped;
      return;
    }
    std::string salt;
    uint32_t id = 0;
    uint16_t lo = 0, hi = 0;
    uint8_t charset = 0;
    uint16_t status = 0;
    r.cstr(k.version);
    r.u32(id);
    r.skip(9);
    r.u16(lo);
    r.u8(charset);
    r.u16(status);
    r.u16(hi);
    k.server_caps = uint32_t{lo} | (uint32_t{hi} << 16);
    k.greeting_end = p.offset + 4 + p.length;
    view(k, kS2C, p.first_ts,
         "Greeting: server " + wire_escape(k.version) + ", connection id " + std::to_string(id) +
             ((k.server_caps & kSsl) ? ", TLS offered" : ""));
    k.phase = Conn::Phase::kResponse;
    return;
  }
  if (k.phase == Conn::Phase::kStopped || k.cmds.empty()) return;
  Cmd& cmd = k.cmds.front();
  if (!cmd.answered) {
    cmd.answered = true;
    cmd.resp_first = p.first_ts;
  }
  cmd.resp_last = p.last_ts;
  if (k.phase == Conn::Phase::kAuth) {
    uint8_t b = 0;
    r.u8(b);
    if (b == 0x00) {
      view(k, kS2C, p.first_ts, "OK (logged in)", p.first_ts - cmd.last);
      k.phase = Conn::Phase::kCommand;
      done(k, "");
      if (k.caps & kCompress) stop(k, "the compressed protocol was negotiated; it is not decoded", false);
    } else if (b == 0xff) {
      answer(k, cmd, p);
      k.phase = Conn::Phase::kStopped;
    } else if (b == 0xfe) {
      std::string plugin;
      r.cstr(plugin);
      view(k, kS2C, p.first_ts, "Auth switch to " + wire_escape(plugin));
    } else {
      view(k, kS2C, p.first_ts, "Auth more data " + redacted_text(p.length > 0 ? p.length - 1 : 0));
    }
    return;
  }
  answer(k, cmd, p);
}

void MysqlAnalyzer::answer(Conn& k, Cmd& cmd, MyPacket& p) {
  using S = Cmd::State;
  MyReader r(p.body);
  uint8_t b = 0;
  r.u8(b);
  const bool deprecate_eof = (k.caps & kDeprecateEof) != 0;
  auto eof_like = [&]() { return b == 0xfe && p.length < 0xffffff && (deprecate_eof || p.length < 9); };
  if (b == 0xff && (cmd.state == S::kFirst || cmd.state == S::kRows)) {
    cmd.has_error = true;
    r.u16(cmd.err_code);
    std::string rest = r.rest();
    if (!rest.empty() && rest[0] == '#' && rest.size() >= 6) {
      cmd.err_state = rest.substr(1, 5);
      rest = rest.substr(6);
    }
    cmd.err_message = rest;
    if (k.errors++ == 0) k.first_error = std::to_string(cmd.err_code) + " " + cut_text(rest, rest.size(), 200);
    done(k, "");
    return;
  }
  switch (cmd.state) {
    case S::kFirst: {
      if (cmd.command == kComPrepare && b == 0x00) {
        uint32_t id = 0;
        uint16_t cols = 0, params = 0;
        r.u32(id);
        r.u16(cols);
        r.u16(params);
        cmd.stmt_id = id;
        cmd.ok = true;
        cmd.prep_columns = cols;
        if (k.stmts.size() < opt_.max_statements || k.stmts.count(id)) {
          Conn::Stmt st;
          st.sql = cmd.sql;
          st.sql_len = cmd.sql_len;
          st.params = params;
          k.stmts[id] = std::move(st);
        }
        cmd.left = params;
        if (params > 0) {
          cmd.state = S::kPrepParams;
        } else if (cols > 0) {
          cmd.left = cols;
          cmd.state = S::kPrepColumns;
        } else {
          done(k, "");
        }
        return;
      }
      if (b == 0x00 || (b == 0xfe && cmd.command != kComQuery && cmd.command != kComExecute)) {
        uint16_t status = 0;
        r.lenenc(cmd.affected);
        r.lenenc(cmd.insert_id);
        r.u16(status);
        cmd.ok = true;
        if (!(status & kMoreResults)) done(k, "");
        return;
      }
      if (b == 0xfb) return;  // LOCAL INFILE: the client's file, then an OK
      MyReader c(p.body);
      uint64_t n = 0;
      c.lenenc(n);
      cmd.left = n;
      cmd.columns.clear();
      ++cmd.results;
      cmd.state = n > 0 ? S::kColumns : S::kRows;
      return;
    }
    case S::kColumns:
      if (cmd.columns.size() < 256) cmd.columns.push_back(column_def(p.body));
      if (--cmd.left == 0) cmd.state = deprecate_eof ? S::kRows : S::kColumnsEof;
      return;
    case S::kColumnsEof:
      cmd.state = S::kRows;
      return;
    case S::kRows: {
      if (eof_like()) {
        uint16_t status = 0;
        if (deprecate_eof) {
          uint64_t skip = 0;
          r.lenenc(skip);
          r.lenenc(skip);
          r.u16(status);
        } else {
          uint16_t warnings = 0;
          r.u16(warnings);
          r.u16(status);
        }
        if (status & kMoreResults) {
          cmd.state = S::kFirst;
        } else {
          done(k, "");
        }
        return;
      }
      ++cmd.rows;
      if (opt_.decode_view && cmd.shown_rows.size() < opt_.view_rows) {
        std::string row = "(";
        if (cmd.command == kComExecute && b == 0x00) {
          const size_t n = cmd.columns.size();
          std::string bitmap;
          r.bytes((n + 7 + 2) / 8, bitmap);
          for (size_t i = 0; i < n && r.ok(); ++i) {
            const size_t bit = i + 2;
            const bool null = bit / 8 < bitmap.size() && (static_cast<uint8_t>(bitmap[bit / 8]) >> (bit % 8)) & 1;
            row += (i > 0 ? ", " : "") +
                   (null ? std::string("NULL") : binary_value(r, cmd.columns[i].type, cmd.columns[i].is_unsigned));
          }
        } else {
          MyReader t(p.body);
          for (size_t i = 0; t.ok() && t.left() > 0 && i < 64; ++i) {
            std::string v;
            bool null = false;
            if (!t.lenenc_str(v, &null)) break;
            row += (i > 0 ? ", " : "") + (null ? std::string("NULL") : cut_text(v, v.size(), 40));
          }
        }
        cmd.shown_rows.push_back(row + ")");
      }
      return;
    }
    case S::kPrepParams:
      if (--cmd.left == 0) {
        if (!deprecate_eof) {
          cmd.state = S::kPrepParamsEof;
        } else if (cmd.prep_columns > 0) {
          cmd.left = cmd.prep_columns;
          cmd.state = S::kPrepColumns;
        } else {
          done(k, "");
        }
      }
      return;
    case S::kPrepParamsEof:
      if (cmd.prep_columns > 0) {
        cmd.left = cmd.prep_columns;
        cmd.state = S::kPrepColumns;
      } else {
        done(k, "");
      }
      return;
    case S::kPrepColumns:
      if (--cmd.left == 0) {
        if (deprecate_eof) {
          done(k, "");
        } else {
          cmd.state = S::kPrepColumnsEof;
        }
      }
      return;
    case S::kPrepColumnsEof:
      done(k, "");
      return;
    case S::kDone:
      return;
  }
}

void MysqlAnalyzer::done(Conn& k, const std::string& why) {
  Cmd cmd = std::move(k.cmds.front());
  k.cmds.pop_front();
  emit(k, cmd, why);
}

void MysqlAnalyzer::emit(Conn& k, Cmd& cmd, const std::string& unanswered_why) {
  const Connection& c = conn_of(k);
  const char* kind = cmd.login ? "login"
                     : cmd.command == kComQuery ? "query"
                     : cmd.command == kComExecute ? "execute"
                     : cmd.command == kComPrepare ? "prepare"
                     : cmd.command == kComInitDb ? "init_db"
                     : cmd.command == kComPing ? "ping" : "command";
  std::string tag;
  int64_t rows = -1;
  if (cmd.has_error) {
    tag = "ERR";
  } else if (cmd.results > 0) {
    tag = std::to_string(cmd.rows) + (cmd.rows == 1 ? " row" : " rows") + " in set";
    rows = static_cast<int64_t>(cmd.rows);
  } else if (cmd.ok) {
    if (cmd.command == kComPrepare) {
      tag = "statement " + std::to_string(cmd.stmt_id);
    } else {
      tag = "OK";
      if (cmd.command == kComQuery || cmd.command == kComExecute) {
        tag += ", " + std::to_string(cmd.affected) + (cmd.affected == 1 ? " row" : " rows") + " affected";
        rows = static_cast<int64_t>(cmd.affected);
      }
    }
  }
  const Timestamp latency = cmd.answered ? cmd.resp_first - cmd.last : -1;
  if (!opt_.decode_view) {
    // The console's lines are built only for --decode.
  } else if (cmd.answered && !cmd.login) {
    std::vector<std::string> lines;
    if (!cmd.columns.empty()) {
      std::string cols;
      for (const Column& col : cmd.columns) cols += (cols.empty() ? "" : " | ") + col.name;
      lines.push_back(cols);
    }
    for (const std::string& row : cmd.shown_rows) lines.push_back(row);
    if (cmd.insert_id > 0) lines.push_back("last insert id " + std::to_string(cmd.insert_id));
    const std::string summary = cmd.has_error ? "ERROR " + std::to_string(cmd.err_code) +
                                                    (cmd.err_state.empty() ? "" : " (" + cmd.err_state + ")") + ": " +
                                                    cut_text(cmd.err_message, cmd.err_message.size(), 300)
                                              : tag;
    view(k, Dir::kServerToClient, cmd.resp_first, summary, latency, std::move(lines));
  } else if (cmd.login && cmd.has_error) {
    view(k, Dir::kServerToClient, cmd.resp_first,
         "ERROR " + std::to_string(cmd.err_code) + ": " + cut_text(cmd.err_message, cmd.err_message.size(), 300), latency);
  }
  if (!cmd.answered && unanswered_why.rfind("delivered before", 0) != 0 && !k.server_stopped &&
      c.analysis.unseen_acked[1] == 0) {
    report(k, Dir::kClientToServer, cmd.first, cmd.offset,
           std::string(kind) + (cmd.sql.empty() ? "" : " (" + one_line(cmd.sql, 60) + ")") + " was never answered" +
               (unanswered_why.empty() ? "" : " (" + unanswered_why + ")"));
  }
  if (!opt_.out || !opt_.out->wants_exchanges()) return;
  ExchangeRecord rec;
  rec.proto = "mysql";
  rec.ts = cmd.first;
  rec.end = cmd.answered ? cmd.resp_last : cmd.last;
  if (cmd.answered) rec.latency = latency;
  if (cmd.has_error) {
    rec.error_json = error_json(cmd.err_code, cmd.err_state, cmd.err_message);
  } else if (!cmd.answered) {
    rec.error_json = "{\"code\":null,\"message\":" +
                     json_str("unanswered" + (unanswered_why.empty() ? "" : " (" + unanswered_why + ")")) + "}";
  }
  if (!opt_.out->wants_exchange_fields()) {  // --report counts it
    opt_.out->exchange(c, rec);
    return;
  }
  rec.fields.reserve(12);
  rec.fields.emplace_back("kind", json_str(kind));
  rec.fields.emplace_back("query", cmd.sql_known && !cmd.login && !cmd.sql.empty()
                                       ? json_str(cut_text(cmd.sql, std::max<uint64_t>(cmd.sql_len, cmd.sql.size()), 4096)) : "null");
  rec.fields.emplace_back("params", cmd.command == kComExecute ? cmd.params_json : "null");
  rec.fields.emplace_back("tag", tag.empty() ? "null" : json_str(tag));
  rec.fields.emplace_back("rows", rows >= 0 ? std::to_string(rows) : "null");
  if (cmd.ok && (cmd.command == kComQuery || cmd.command == kComExecute)) {
    rec.fields.emplace_back("affected_rows", std::to_string(cmd.affected));
    rec.fields.emplace_back("last_insert_id", std::to_string(cmd.insert_id));
  }
  if (cmd.command == kComExecute || cmd.command == kComPrepare) {
    rec.fields.emplace_back("statement_id", std::to_string(cmd.stmt_id));
  }
  if (cmd.login) {
    rec.fields.emplace_back("user", json_str(wire_escape(cmd.user)));
    rec.fields.emplace_back("database", cmd.database.empty() ? "null" : json_str(wire_escape(cmd.database)));
    rec.fields.emplace_back("program", cmd.program.empty() ? "null" : json_str(wire_escape(cmd.program)));
    rec.fields.emplace_back("server_version", json_str(wire_escape(k.version)));
  }
  opt_.out->exchange(c, rec);
}

void MysqlAnalyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  if (k.tls_on) {
    tls_handoff_gap(*tls_, k.tls_base[index_of(d)], c, d, offset, length, ts);
    return;
  }
  lost(k, d, offset, length, ts);
}

void MysqlAnalyzer::lost(Conn& k, Dir d, uint64_t offset, uint64_t length, Timestamp ts) {
  if (!k.framer(d).active()) return;
  report(k, d, ts, offset,
         std::string("a capture gap of ") + std::to_string(length) + " bytes in the " +
             (d == Dir::kClientToServer ? "client's" : "server's") + (k.tls_on ? " plaintext" : " packets") +
             " at offset " + std::to_string(offset),
         false);
  const std::string why = "the capture lacks " + std::to_string(length) + " bytes the " +
                          (d == Dir::kClientToServer ? "client" : "server") + " sent";
  // Packet boundaries are lost: the connection is not decoded from here on.
  k.phase = Conn::Phase::kStopped;
  k.framer(Dir::kClientToServer).stop();
  k.framer(Dir::kServerToClient).stop();
  k.server_stopped = true;
  k.stop_why = why;
  while (!k.cmds.empty()) done(k, why);
}

void MysqlAnalyzer::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  if (k.tls_on) tls_->on_shutdown(c, d, reset, ts);
}

void MysqlAnalyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  Conn& k = *it->second;
  // TLS first: records it still held may decrypt now and come back here.
  if (k.tls_on) tls_->on_close(c, why);
  current_ = &c;
  if (k.tls_on && !k.plain_seen && !k.server_stopped) {
    report(k, Dir::kClientToServer, c.last_ts, 0,
           "the client asked for TLS (SSL request) and nothing was decrypted: the rest of the connection is not "
           "decoded",
           false);
    k.server_stopped = true;
    k.stop_why = "encrypted (TLS)";
  }
  const std::string reason = k.server_stopped ? k.stop_why : close_reason_text(why);
  while (!k.cmds.empty()) done(k, reason);
  if (k.errors > 0) {
    report(k, Dir::kServerToClient, c.last_ts, 0,
           std::to_string(k.errors) + (k.errors == 1 ? " error" : " errors") + " on this connection (first: " +
               k.first_error + ")");
  }
  conns_.erase(it);
  current_ = nullptr;
}

void MysqlAnalyzer::finish() {
  while (!conns_.empty()) {
    const Connection info = conns_.begin()->second->info;
    on_close(info, CloseReason::kEndOfInput);
  }
  if (tls_) tls_->finish();
}

std::unique_ptr<ProtocolAnalyzer> make_mysql_analyzer(const AnalyzerSettings& s) {
  MysqlOptions o;
  o.out = s.out;
  o.decode_view = s.decode_view;
  o.tls = std::make_shared<const AnalyzerSettings>(s);
  return std::make_unique<MysqlAnalyzer>(o);
}

}  // namespace tcpscribe
