// Redis (RESP2 and RESP3) commands and replies from reassembled streams
// (-e redis).
//
// Each direction goes through a RespParser. Replies answer commands in
// order (pipelined or not), so each reply is paired with the oldest
// unanswered command; what a server pushes is not paired: RESP3 push data
// (except the subscribe confirmations, which answer their command, one per
// channel), RESP2 pub/sub messages once subscribed, and everything after a
// MONITOR's +OK. MULTI's commands are answered +QUEUED and EXEC's reply is
// the array of their results, so order pairing holds there too.
//
// A record (--messages) per command with its reply; a console message
// (--decode) per command and per reply; findings: commands sent after the
// server closed, commands never answered, error replies (counted per
// connection), and where parsing stopped (a capture gap or bytes that are
// not RESP). AUTH's arguments (and HELLO's AUTH, MIGRATE's AUTH/AUTH2,
// CONFIG SET's passwords, ACL SETUSER's >password) are never kept past the
// parser: they show as "[redacted, N bytes]".
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer.h"
#include "resp_parser.h"

namespace tcpscribe {

struct RedisOptions {
  AnalyzerOutput* out = nullptr;   ///< records, messages and findings; null: none
  bool decode_view = false;        ///< build console messages
  size_t max_pending = 10000;      ///< unanswered commands held per connection
};

/// A command's words for display: upper-case name, arguments with the
/// secrets replaced by "[redacted, N bytes]", each cut to `max_arg` bytes.
struct RedisCommandText {
  std::string name;                ///< "SET"; "" for a value that is not an array of strings
  std::vector<std::string> args;   ///< escaped (\xHH), cut, redacted
};
/// Without `with_args` only the name is filled in.
RedisCommandText redis_command_text(const RespValue& cmd, size_t max_arg, bool with_args = true);
/// One line for a reply: +OK, -ERR ..., :42, "Ada", (nil), *3 ["a", "b", :1], %1 {"k": "v"}.
std::string redis_reply_summary(const RespValue& v, size_t max = 200);

class RedisAnalyzer : public ProtocolAnalyzer {
 public:
  explicit RedisAnalyzer(RedisOptions o);
  ~RedisAnalyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  bool tells(const Connection& c, const Finding& f) const override;

  struct Stats {
    uint64_t commands = 0;
    uint64_t replies = 0;
    uint64_t pushes = 0;
    uint64_t errors = 0;
    uint64_t findings = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Conn;
  struct Pending;
  Conn& conn_for(const Connection& c);
  void on_command(Conn& k, RespValue&& v, uint64_t offset, uint64_t bytes, Timestamp first,
                  Timestamp last);
  void on_reply(Conn& k, RespValue&& v, uint64_t offset, uint64_t bytes, Timestamp first,
                Timestamp last);
  void on_error(Conn& k, Dir d, const std::string& why, uint64_t offset);
  void deliver(Conn& k, Pending& p, const RespValue* reply, Timestamp reply_first,
               Timestamp reply_last, const std::string& why);
  void push(Conn& k, const RespValue& v, Timestamp first, Timestamp last);
  /// Delivers the commands at the front that get no reply (CLIENT REPLY).
  void drain_silent(Conn& k);
  void report(const Connection& c, Dir d, Timestamp ts, uint64_t offset, uint64_t length,
              std::string text, bool alarm = true);

  RedisOptions opt_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  const Connection* current_ = nullptr;
  Stats stats_;
};

std::unique_ptr<ProtocolAnalyzer> make_redis_analyzer(const AnalyzerSettings& s);
/// The registry's probe: a RESP array of bulk strings, or an inline
/// command Redis knows, from the client; the server never speaks first.
ProbeResult probe_redis(Dir d, std::span<const uint8_t> first);

}  // namespace tcpscribe
