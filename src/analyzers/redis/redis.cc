#include "redis.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "json_text.h"
#include "wire_text.h"

namespace tcpscribe {
namespace {

constexpr size_t kJsonArg = 256;     // argument bytes in --messages
constexpr size_t kConsoleArg = 64;   // ... and on the console
constexpr size_t kViewItems = 16;    // aggregate items listed under a reply (--decode)
constexpr const char* kNoReply = "no reply expected (CLIENT REPLY OFF or SKIP)";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

bool is_string(const RespValue& v) { return !v.null && (v.type == '$' || v.type == '+'); }

/// Which arguments (0-based after the command name) hold secrets.
std::vector<bool> secret_args(const std::string& name, const std::vector<std::string>& args_upper) {
  std::vector<bool> secret(args_upper.size(), false);
  const size_t n = args_upper.size();
  if (name == "AUTH") {
    secret.assign(n, true);
  } else if (name == "HELLO") {
    for (size_t i = 0; i < n; ++i) {
      if (args_upper[i] == "AUTH") {
        for (size_t j = i + 1; j < n && j <= i + 2; ++j) secret[j] = true;
        i += 2;
      }
    }
  } else if (name == "MIGRATE") {
    for (size_t i = 0; i < n; ++i) {
      if (args_upper[i] == "AUTH" && i + 1 < n) {
        secret[i + 1] = true;
        ++i;
      } else if (args_upper[i] == "AUTH2") {
        for (size_t j = i + 1; j < n && j <= i + 2; ++j) secret[j] = true;
        i += 2;
      }
    }
  } else if (name == "CONFIG" && n >= 1 && args_upper[0] == "SET") {
    for (size_t i = 1; i + 1 < n; i += 2) {
      const std::string p = lower(args_upper[i]);
      if (p == "requirepass" || p == "masterauth") secret[i + 1] = true;
    }
  } else if (name == "ACL" && n >= 1 && args_upper[0] == "SETUSER") {
    for (size_t i = 2; i < n; ++i) {
      const char c0 = args_upper[i].empty() ? 0 : args_upper[i][0];
      if (c0 == '>' || c0 == '<' || c0 == '#' || c0 == '!') secret[i] = true;
    }
  }
  return secret;
}

struct Budget {
  size_t left;
  bool take(size_t n) {
    if (n > left) {
      left = 0;
      return false;
    }
    left -= n;
    return true;
  }
};

void render(std::string& out, const RespValue& v, size_t max) {
  if (v.attribute) {
    render(out, *v.attribute, max);
    out += ' ';
  }
  if (v.null) {
    out += "(nil)";
    return;
  }
  switch (v.type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '(':
      out += v.type;
      out += cut_text(v.text, v.size, 100);
      return;
    case '!':
      out += '-';
      out += cut_text(v.text, v.size, 100);
      return;
    case '$':
    case '=': {
      std::string_view t = v.text;
      uint64_t full = v.size;
      if (v.type == '=' && t.size() >= 4 && t[3] == ':') {  // "txt:" format prefix
        t.remove_prefix(4);
        full -= 4;
      }
      std::string s = cut_text(t, full, 64);
      out += '"';
      for (char ch : s) {
        if (ch == '"') out += '\\';
        out += ch;
      }
      out += '"';
      return;
    }
    default:
      break;
  }
  // Aggregates.
  const bool keyed = v.type == '%' || v.type == '|';
  out += v.type == 'i' ? '*' : v.type;
  out += std::to_string(v.size);
  out += keyed || v.type == '~' ? " {" : " [";
  for (size_t i = 0; i < v.items.size(); ++i) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (i > 0) out += keyed && i % 2 == 1 ? ": " : ", ";
    render(out, v.items[i], max);
  }
  if (v.items.size() < v.wire_items() && out.size() < max) out += ", ...";
  out += keyed || v.type == '~' ? "}" : "]";
}

/// An argument on the console: bare when it is a plain word.
std::string console_arg(const std::string& a) {
  bool plain = !a.empty() && a[0] != '[';
  for (char ch : a) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::strchr(":_./-@*", ch))) {
      plain = false;
      break;
    }
  }
  if (plain || (a.rfind("[redacted", 0) == 0)) return a;
  std::string out = "\"";
  for (char ch : a) {
    if (ch == '"') out += '\\';
    out += ch;
  }
  return out + "\"";
}

constexpr std::string_view kSubscribeKinds[] = {"subscribe",   "psubscribe",   "ssubscribe",
                                                "unsubscribe", "punsubscribe", "sunsubscribe"};
bool is_subscribe_kind(std::string_view s) {
  return std::find(std::begin(kSubscribeKinds), std::end(kSubscribeKinds), s) !=
         std::end(kSubscribeKinds);
}
bool is_message_kind(std::string_view s) {
  return s == "message" || s == "pmessage" || s == "smessage";
}

}  // namespace

RedisCommandText redis_command_text(const RespValue& cmd, size_t max_arg, bool with_args) {
  RedisCommandText t;
  const bool words = (cmd.type == '*' || cmd.type == 'i') && !cmd.null && !cmd.items.empty() &&
                     std::all_of(cmd.items.begin(), cmd.items.end(), is_string);
  if (!words) {
    if (with_args) t.args.push_back(redis_reply_summary(cmd));
    return t;
  }
  t.name = upper(cut_text(cmd.items[0].text, cmd.items[0].size, 64));
  if (!with_args) return t;
  // Only the commands that can carry a secret need their words compared.
  const bool may_hide = t.name == "AUTH" || t.name == "HELLO" || t.name == "MIGRATE" ||
                        t.name == "CONFIG" || t.name == "ACL";
  std::vector<bool> secret;
  if (may_hide) {
    std::vector<std::string> args_upper;
    for (size_t i = 1; i < cmd.items.size(); ++i) args_upper.push_back(upper(cmd.items[i].text));
    secret = secret_args(t.name, args_upper);
  }
  t.args.reserve(cmd.items.size());
  for (size_t i = 1; i < cmd.items.size(); ++i) {
    const RespValue& a = cmd.items[i];
    t.args.push_back(may_hide && secret[i - 1] ? redacted_text(a.size)
                                               : cut_text(a.text, a.size, max_arg));
  }
  if (cmd.size > cmd.items.size()) {
    // Arguments past the kept ones: a secret could be among them when the
    // command takes one anywhere, so their count is all that is shown.
    t.args.push_back("...(" + std::to_string(cmd.size - cmd.items.size()) + " more arguments)");
  }
  return t;
}

std::string redis_reply_summary(const RespValue& v, size_t max) {
  std::string out;
  render(out, v, max);
  return out;
}

// ------------------------------------------------------------------ probe

ProbeResult probe_redis(Dir d, std::span<const uint8_t> first) {
  const std::string_view s(reinterpret_cast<const char*>(first.data()), first.size());
  if (s.empty()) return ProbeResult::kNeedMore;
  if (d == Dir::kServerToClient) {
    // The server never speaks first; a reply only hints (the port decides).
    return std::strchr("+-:$*%>_,#!=(~|", s[0]) && s[0] ? ProbeResult::kNeedMore
                                                         : ProbeResult::kNo;
  }
  if (s[0] == '*') {
    size_t i = 1;
    while (i < s.size() && i < 12 && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == s.size()) return ProbeResult::kNeedMore;
    if (i == 1 || i >= 12) return ProbeResult::kNo;
    const std::string_view rest = s.substr(i);
    const std::string_view want = "\r\n$";
    const size_t n = std::min(rest.size(), want.size());
    if (rest.substr(0, n) != want.substr(0, n)) return ProbeResult::kNo;
    return rest.size() >= want.size() ? ProbeResult::kYes : ProbeResult::kNeedMore;
  }
  // An inline command: a command name Redis has, then a space or the line's end.
  static constexpr std::string_view kInline[] = {
      "PING",  "AUTH",   "HELLO", "INFO",    "SET",      "GET",     "DEL",     "KEYS",
      "SELECT", "QUIT",  "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "PUBLISH", "CLIENT", "CONFIG",
      "COMMAND", "EXISTS", "INCR", "DECR",   "LPUSH",    "RPUSH",   "LPOP",    "RPOP",
      "LRANGE", "HSET",  "HGET",  "HGETALL", "SADD",     "SMEMBERS", "ZADD",   "ZRANGE",
      "EXPIRE", "TTL",   "TYPE",  "SCAN",    "FLUSHALL", "FLUSHDB", "DBSIZE",  "MULTI",
      "EXEC",  "ECHO",   "MGET",  "MSET",    "SLOWLOG",  "DEBUG",   "SHUTDOWN", "SAVE"};
  size_t i = 0;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  if (i > 16) return ProbeResult::kNo;
  const std::string word = upper(s.substr(0, i));
  bool prefix = false;
  for (std::string_view k : kInline) {
    if (i == s.size() && k.substr(0, std::min(k.size(), word.size())) == word) prefix = true;
    if (k == word && i < s.size() && (s[i] == ' ' || s[i] == '\r' || s[i] == '\n')) {
      return ProbeResult::kYes;
    }
  }
  return prefix ? ProbeResult::kNeedMore : ProbeResult::kNo;
}

// --------------------------------------------------------------- analyzer

struct RedisAnalyzer::Pending {
  uint64_t index = 0;             // 1-based command number on its connection
  RedisCommandText text;          // already redacted
  std::string console;            // the --decode summary
  uint64_t offset = 0;
  uint64_t bytes = 0;
  Timestamp first = 0;
  Timestamp last = 0;
  bool after_close = false;
  uint64_t confirmations = 1;     // replies it takes (SUBSCRIBE a b: 2)
  bool silent = false;            // CLIENT REPLY OFF/SKIP: none
  bool has_reply = false;
  std::string reply;              // the (first) reply's summary
  std::string error;              // the reply's error text
  Timestamp reply_first = 0;
  Timestamp reply_last = 0;
};

struct RedisAnalyzer::Conn {
  Connection info;
  std::unique_ptr<RespParser> parser[2];
  std::deque<Pending> pending;
  uint64_t commands = 0;
  bool subscribed = false;
  bool monitor = false;
  bool server_shut = false;
  bool server_reset = false;
  Timestamp server_shut_ts = 0;
  uint64_t after_close_offset = UINT64_MAX;
  bool server_stopped = false;
  std::string server_stop_why;     // why replies are missing from then on
  uint64_t server_missing = 0;
  bool client_stopped = false;
  uint64_t orphan_replies = 0;
  uint64_t errors = 0;
  std::string first_error;
  bool capped = false;
  /// CLIENT REPLY: 0 on, 1 off (no replies until ON), 2 skip (the next command's).
  int reply_mode = 0;
  CloseReason why = CloseReason::kFin;
};

RedisAnalyzer::RedisAnalyzer(RedisOptions o) : opt_(o) {}
RedisAnalyzer::~RedisAnalyzer() = default;

RedisAnalyzer::Conn& RedisAnalyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<Conn>();
    Conn& k = *it->second;
    k.info = c;
    Conn* kp = &k;
    k.parser[0] = std::make_unique<RespParser>(
        true,
        [this, kp](RespValue&& v, uint64_t off, uint64_t n, Timestamp f, Timestamp l) {
          on_command(*kp, std::move(v), off, n, f, l);
        },
        [this, kp](const std::string& why, uint64_t off) {
          on_error(*kp, Dir::kClientToServer, why, off);
        });
    k.parser[1] = std::make_unique<RespParser>(
        false,
        [this, kp](RespValue&& v, uint64_t off, uint64_t n, Timestamp f, Timestamp l) {
          on_reply(*kp, std::move(v), off, n, f, l);
        },
        [this, kp](const std::string& why, uint64_t off) {
          on_error(*kp, Dir::kServerToClient, why, off);
        });
    if (!c.handshake_seen) {
      // Picked up midstream: the bytes need not start a command, and the
      // replies cannot be paired by order.
      k.parser[0]->seek_command();
      k.parser[1]->stop();
      k.server_stopped = true;
      k.server_stop_why = "the capture started mid-connection";
    }
  }
  return *it->second;
}

void RedisAnalyzer::report(const Connection& c, Dir d, Timestamp ts, uint64_t offset,
                           uint64_t length, std::string text, bool alarm) {
  ++stats_.findings;
  if (!opt_.out) return;
  Finding f;
  f.kind = Finding::Kind::kProtocol;
  f.dir = d;
  f.ts = ts;
  f.offset = offset;
  f.length = length;
  f.text = "redis: " + std::move(text);
  f.alarm = alarm;
  opt_.out->finding(c, f);
}

void RedisAnalyzer::on_open(const Connection& c) { conn_for(c); }

void RedisAnalyzer::on_data(const Connection& c, Dir d, uint64_t offset,
                            std::span<const uint8_t> bytes, Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  current_ = &c;
  k.parser[index_of(d)]->feed(bytes, offset, ts);
}

void RedisAnalyzer::on_command(Conn& k, RespValue&& v, uint64_t offset, uint64_t bytes,
                               Timestamp first, Timestamp last) {
  const Connection& c = current_ ? *current_ : k.info;
  ++stats_.commands;
  Pending p;
  p.index = ++k.commands;
  // The arguments go only into the record's fields (and CLIENT REPLY's mode).
  const bool args = opt_.out && opt_.out->wants_exchange_fields();
  p.text = redis_command_text(v, kJsonArg, args);
  if (!args && p.text.name == "CLIENT") p.text = redis_command_text(v, kJsonArg);
  p.offset = offset;
  p.bytes = bytes;
  p.first = first;
  p.last = last;
  if (opt_.decode_view && opt_.out) {
    const RedisCommandText shown = redis_command_text(v, kConsoleArg);
    std::string line = shown.name;
    for (const std::string& a : shown.args) line += (line.empty() ? "" : " ") + console_arg(a);
    DecodedMessage m;
    m.proto = "redis";
    m.dir = Dir::kClientToServer;
    m.ts = first;
    m.summary = std::move(line);
    opt_.out->message(c, m);
  }
  // The name is upper case: lower-cased only when it can be a subscribe kind.
  if (p.text.name.size() >= 9 && p.text.name.find("SUBSCRIBE") != std::string::npos &&
      is_subscribe_kind(lower(p.text.name))) {
    // One confirmation per channel (UNSUBSCRIBE with none: at least one).
    p.confirmations = std::max<uint64_t>(1, v.size > 0 ? v.size - 1 : 1);
  }
  if (k.server_shut) {
    p.after_close = true;
    k.after_close_offset = std::min(k.after_close_offset, offset);
  }
  // CLIENT REPLY OFF / SKIP: the server sends no reply to some commands.
  bool silent = k.reply_mode != 0;
  if (k.reply_mode == 2) k.reply_mode = 0;
  if (p.text.name == "CLIENT" && p.text.args.size() >= 2 && upper(p.text.args[0]) == "REPLY") {
    const std::string mode = upper(p.text.args[1]);
    if (mode == "ON") {
      k.reply_mode = 0;
      silent = false;
    } else if (mode == "OFF") {
      k.reply_mode = 1;
      silent = true;
    } else if (mode == "SKIP") {
      if (k.reply_mode == 0) k.reply_mode = 2;
      silent = true;
    }
  }
  if (silent && k.pending.empty()) {
    deliver(k, p, nullptr, 0, 0, kNoReply);
    return;
  }
  p.silent = silent;  // delivered in order, once the commands before it are
  if (k.server_stopped) {
    deliver(k, p, nullptr, 0, 0, p.silent ? kNoReply : k.server_stop_why);
    return;
  }
  k.pending.push_back(std::move(p));
  if (k.pending.size() > opt_.max_pending) {
    if (!k.capped) {
      k.capped = true;
      report(c, Dir::kClientToServer, first, offset, 0,
             std::to_string(k.pending.size()) + " commands wait for their replies (cap " +
                 std::to_string(opt_.max_pending) +
                 "): the oldest are delivered unanswered from now on");
    }
    Pending old = std::move(k.pending.front());
    k.pending.pop_front();
    deliver(k, old, nullptr, 0, 0, "delivered before its reply (pending-command cap)");
  }
}

void RedisAnalyzer::push(Conn& k, const RespValue& v, Timestamp first, Timestamp last) {
  const Connection& c = current_ ? *current_ : k.info;
  ++stats_.pushes;
  const std::string summary = redis_reply_summary(v);
  if (opt_.decode_view && opt_.out) {
    DecodedMessage m;
    m.proto = "redis";
    m.dir = Dir::kServerToClient;
    m.ts = first;
    m.summary = "push: " + summary;
    opt_.out->message(c, m);
  }
  if (!opt_.out || !opt_.out->wants_exchanges()) return;
  ExchangeRecord r;
  r.proto = "redis";
  r.ts = first;
  r.end = last;
  r.fields.emplace_back("command", "null");
  r.fields.emplace_back("args", "[]");
  r.fields.emplace_back("reply", json_str(summary));
  r.fields.emplace_back("push", "true");
  opt_.out->exchange(c, r);
}

void RedisAnalyzer::on_reply(Conn& k, RespValue&& v, uint64_t offset, uint64_t bytes,
                             Timestamp first, Timestamp last) {
  const Connection& c = current_ ? *current_ : k.info;
  if (k.monitor) {
    push(k, v, first, last);
    return;
  }
  const bool aggregate = (v.type == '*' || v.type == '>') && !v.null;
  const std::string kind = aggregate && !v.items.empty() && is_string(v.items[0])
                               ? lower(v.items[0].text)
                               : std::string();
  drain_silent(k);
  Pending* p = k.pending.empty() ? nullptr : &k.pending.front();
  if (!kind.empty() && is_subscribe_kind(kind)) {
    if (!p || lower(p->text.name) != kind) {
      push(k, v, first, last);  // an UNSUBSCRIBE's further confirmations, or unasked
      return;
    }
    if (kind.find("unsubscribe") == std::string::npos) {
      k.subscribed = true;
    } else if (v.items.size() >= 3 && v.items[2].type == ':' && v.items[2].text == "0") {
      k.subscribed = false;
    }
  } else if (v.type == '>' || (k.subscribed && is_message_kind(kind))) {
    push(k, v, first, last);
    return;
  }
  ++stats_.replies;
  // The one-line summary goes into the record, the console, an error's or
  // an orphan's finding and a command-after-close finding: only built then.
  const bool need_summary = (opt_.out && opt_.out->wants_exchange_fields()) || opt_.decode_view ||
                            v.is_error() || !p || p->after_close;
  const std::string summary = need_summary ? redis_reply_summary(v) : std::string();
  const Timestamp latency = p ? first - p->last : -1;
  if (opt_.decode_view && opt_.out) {
    DecodedMessage m;
    m.proto = "redis";
    m.dir = Dir::kServerToClient;
    m.ts = first;
    m.summary = summary;
    m.latency = latency;
    if (v.is_aggregate() && v.items.size() > 1) {
      for (size_t i = 0; i < v.items.size() && i < kViewItems; ++i) {
        m.lines.push_back(std::to_string(i + 1) + ") " + redis_reply_summary(v.items[i], 160));
      }
      if (v.wire_items() > kViewItems) {
        m.lines.push_back("(" + std::to_string(v.wire_items()) + " items)");
      }
    }
    opt_.out->message(c, m);
  }
  if (v.is_error()) {
    ++stats_.errors;
    if (k.errors++ == 0) {
      k.first_error = (p ? p->text.name + ": " : std::string()) + summary;
    }
  }
  if (!p) {
    if (k.orphan_replies++ == 0) {
      report(c, Dir::kServerToClient, first, offset, bytes,
             "a reply (" + summary + ") answers no command" +
                 (k.client_stopped ? " (the client's commands are not decoded past a gap)" : ""),
             !k.client_stopped);
    }
    return;
  }
  if (!p->has_reply) {
    p->has_reply = true;
    p->reply = summary;
    if (v.is_error()) p->error = cut_text(v.text, v.size, 200);
    p->reply_first = first;
  }
  p->reply_last = last;
  if (--p->confirmations > 0) return;
  if (p->text.name == "MONITOR" && v.type == '+') k.monitor = true;
  Pending done = std::move(*p);
  k.pending.pop_front();
  deliver(k, done, &v, done.reply_first, last, "");
  drain_silent(k);
}

void RedisAnalyzer::drain_silent(Conn& k) {
  while (!k.pending.empty() && k.pending.front().silent) {
    Pending q = std::move(k.pending.front());
    k.pending.pop_front();
    deliver(k, q, nullptr, 0, 0, kNoReply);
  }
}

void RedisAnalyzer::deliver(Conn& k, Pending& p, const RespValue* reply, Timestamp reply_first,
                            Timestamp reply_last, const std::string& why) {
  const Connection& c = current_ ? *current_ : k.info;
  // Only a finding needs it: not built for every command.
  const auto what = [&p] {
    return "command " + std::to_string(p.index) + " (" + (p.text.name.empty() ? "?" : p.text.name) +
           ")";
  };
  const bool answered = reply != nullptr || p.has_reply;
  if (p.after_close) {
    std::string text = what() + ", " + std::to_string(p.bytes) + " bytes, was sent " +
                       seconds_text(p.first - k.server_shut_ts) +
                       " s after the server closed its side (" + (k.server_reset ? "RST" : "FIN") +
                       ")";
    text += answered ? "; it was answered anyway (" + p.reply + ")" : "; it was never answered";
    report(c, Dir::kClientToServer, p.first, p.offset, p.bytes, std::move(text));
  } else if (!answered) {
    const uint64_t missing = k.server_missing + c.analysis.unseen_acked[1];
    if (why == kNoReply) {
      // Nothing was owed.
    } else if (!why.empty() && why.rfind("delivered before", 0) == 0) {
      // Told once (the cap's finding).
    } else if (missing > 0 || k.server_stopped) {
      // The capture gap (or undecodable bytes) has its own line.
    } else {
      report(c, Dir::kClientToServer, p.first, p.offset, p.bytes,
             what() + " was never answered" + (why.empty() ? "" : " (" + why + ")"));
    }
  }
  if (!opt_.out || !opt_.out->wants_exchanges()) return;
  ExchangeRecord r;
  r.proto = "redis";
  r.ts = p.first;
  r.end = answered ? reply_last : p.last;
  if (answered) r.latency = reply_first - p.last;
  std::string error;
  if (!p.error.empty()) {
    error = p.error;
  } else if (!answered && why != kNoReply) {
    std::string reason = why;
    if (p.after_close) reason = std::string("sent after the server closed (") +
                                (k.server_reset ? "RST" : "FIN") + ")";
    error = "unanswered" + (reason.empty() ? "" : " (" + reason + ")");
  }
  if (!error.empty()) r.error_json = json_str(error);
  if (!opt_.out->wants_exchange_fields()) {  // --report counts it
    opt_.out->exchange(c, r);
    return;
  }
  r.fields.reserve(4);
  r.fields.emplace_back("command", p.text.name.empty() ? "null" : json_str(p.text.name));
  std::string args = "[";
  for (size_t i = 0; i < p.text.args.size(); ++i) {
    if (i > 0) args += ',';
    append_json_string(args, p.text.args[i]);
  }
  args += ']';
  r.fields.emplace_back("args", std::move(args));
  r.fields.emplace_back("reply", answered ? json_str(p.reply) : "null");
  r.fields.emplace_back("push", "false");
  opt_.out->exchange(c, r);
}

void RedisAnalyzer::on_error(Conn& k, Dir d, const std::string& why, uint64_t offset) {
  const Connection& c = current_ ? *current_ : k.info;
  const bool client = d == Dir::kClientToServer;
  report(c, d, c.last_ts, offset, 0,
         std::string(client ? "the client's" : "the server's") + " bytes at offset " +
             std::to_string(offset) + " are not RESP (" + why + "); its " +
             (client ? "commands" : "replies") + " are not decoded from there on");
  if (client) {
    k.client_stopped = true;
  } else {
    k.server_stopped = true;
    k.server_stop_why = "the server's replies could not be decoded";
    while (!k.pending.empty()) {
      Pending q = std::move(k.pending.front());
      k.pending.pop_front();
      deliver(k, q, nullptr, q.reply_first, q.reply_last,
              q.has_reply ? "" : q.silent ? kNoReply : k.server_stop_why);
    }
  }
}

void RedisAnalyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                           Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  RespParser& p = *k.parser[index_of(d)];
  if (!p.active()) return;
  p.stop();
  if (d == Dir::kClientToServer) {
    k.client_stopped = true;
    report(c, d, ts, offset, length,
           "commands are not decoded past the capture gap at client offset " +
               std::to_string(offset) + " (" + std::to_string(length) +
               " bytes); replies to the commands before it are still paired",
           false);
    return;
  }
  k.server_stopped = true;
  k.server_missing += length;
  k.server_stop_why = "the capture lacks " + std::to_string(length) + " bytes the server sent";
  report(c, d, ts, offset, length,
         "replies are not decoded past the capture gap at server offset " +
             std::to_string(offset) + " (" + std::to_string(length) + " bytes): " +
             std::to_string(k.pending.size()) + " commands waiting and the later ones stay unpaired",
         false);
  while (!k.pending.empty()) {
    Pending q = std::move(k.pending.front());
    k.pending.pop_front();
    deliver(k, q, nullptr, 0, 0, q.silent ? kNoReply : k.server_stop_why);
  }
}

void RedisAnalyzer::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  Conn& k = conn_for(c);
  k.info = c;
  if (d == Dir::kServerToClient && !k.server_shut) {
    k.server_shut = true;
    k.server_reset = reset;
    k.server_shut_ts = ts;
  }
}

void RedisAnalyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  Conn& k = *it->second;
  current_ = &c;
  k.why = why;
  const std::string reason = close_reason_text(why);
  if (k.parser[0]->in_value()) {
    report(c, Dir::kClientToServer, c.last_ts, 0, 0,
           "the connection ended inside a command" + (reason.empty() ? "" : " (" + reason + ")"));
  }
  if (k.parser[1]->in_value()) {
    report(c, Dir::kServerToClient, c.last_ts, 0, 0,
           "the connection ended inside a reply" + (reason.empty() ? "" : " (" + reason + ")"));
  }
  while (!k.pending.empty()) {
    Pending q = std::move(k.pending.front());
    k.pending.pop_front();
    const bool answered = q.has_reply;
    deliver(k, q, nullptr, q.reply_first, q.reply_last,
            answered ? "" : q.silent ? kNoReply : k.server_stopped ? k.server_stop_why : reason);
  }
  if (k.errors > 0) {
    report(c, Dir::kServerToClient, c.last_ts, 0, 0,
           std::to_string(k.errors) + (k.errors == 1 ? " error reply" : " error replies") +
               " on this connection (first: " + k.first_error + ")");
  }
  conns_.erase(it);
  current_ = nullptr;
}

void RedisAnalyzer::finish() {
  while (!conns_.empty()) {
    const Connection info = conns_.begin()->second->info;
    on_close(info, CloseReason::kEndOfInput);
  }
}

bool RedisAnalyzer::tells(const Connection& c, const Finding& f) const {
  if (f.kind != Finding::Kind::kDataAfterPeerFin || f.dir != Dir::kClientToServer) return false;
  auto it = conns_.find(c.id);
  return it != conns_.end() && it->second->after_close_offset < f.offset + f.length;
}

std::unique_ptr<ProtocolAnalyzer> make_redis_analyzer(const AnalyzerSettings& s) {
  RedisOptions o;
  o.out = s.out;
  o.decode_view = s.decode_view;
  return std::make_unique<RedisAnalyzer>(o);
}

}  // namespace tcpscribe
