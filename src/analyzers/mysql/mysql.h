// MySQL / MariaDB client/server protocol from reassembled streams
// (-e mysql).
//
// Both directions go through a MyFramer. The server's greeting (version,
// capabilities), the client's handshake response (user, database, client
// program; the auth data never shown) and the authentication exchange
// (plugin switches and more-data packets, sizes only) make the login
// record. After an SSL request the rest of the connection is TLS: a TLS
// analyzer of its own (tls_analyzer.h, offsets counted from the TLS bytes'
// start) decrypts it with a key log, shows it as any TLS connection (the
// console, FLOW-TLS, the report's "tls" object) and hands the plaintext
// back here, where the login (the handshake response, now inside TLS) and
// the commands are decoded as on a plain connection; without a key the
// connection is marked encrypted, not decoded. The compressed protocol, when negotiated, is reported and not decoded.
// Then each command is answered in order: COM_QUERY (OK: affected rows,
// last insert id; ERR: code, SQLSTATE, message; result sets: columns,
// rows, several with SERVER_MORE_RESULTS_EXISTS), COM_STMT_PREPARE (the
// statement id mapped to its SQL), COM_STMT_EXECUTE (its SQL and its
// binary parameters decoded), COM_STMT_CLOSE, COM_INIT_DB, COM_PING,
// COM_QUIT. Records (--messages) keys as PostgreSQL's: kind, query,
// params, tag, rows (+ affected_rows, last_insert_id, columns).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "analyzer.h"
#include "mysql_parser.h"

namespace tcpscribe {

struct MysqlOptions {
  AnalyzerOutput* out = nullptr;
  bool decode_view = false;
  size_t max_pending = 10000;
  size_t max_statements = 10000;
  size_t view_rows = 5;
  /// The settings for the TLS analyzer an SSL request hands the connection
  /// to; null: decoding stops there.
  std::shared_ptr<const AnalyzerSettings> tls;
};

class MysqlAnalyzer : public ProtocolAnalyzer {
 public:
  explicit MysqlAnalyzer(MysqlOptions o);
  ~MysqlAnalyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  void secrets_added() override;

 private:
  struct Conn;
  struct Cmd;
  class TlsTap;
  /// TLS's plaintext of a connection, decoded as MySQL.
  void from_tls(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts);
  void from_tls_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp ts);
  /// A hole in what the framer of `d` reads: decoding stops there.
  void lost(Conn& k, Dir d, uint64_t offset, uint64_t length, Timestamp ts);
  Conn& conn_for(const Connection& c);
  void on_client(Conn& k, MyPacket&& p);
  void on_server(Conn& k, MyPacket&& p);
  void answer(Conn& k, Cmd& cmd, MyPacket& p);
  void done(Conn& k, const std::string& unanswered_why);
  void emit(Conn& k, Cmd& cmd, const std::string& unanswered_why);
  void stop(Conn& k, const std::string& why, bool alarm);
  void view(Conn& k, Dir d, Timestamp ts, std::string summary, Timestamp latency = -1,
            std::vector<std::string> lines = {});
  void report(Conn& k, Dir d, Timestamp ts, uint64_t offset, std::string text, bool alarm = true);
  const Connection& conn_of(Conn& k) const;

  MysqlOptions opt_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  const Connection* current_ = nullptr;
  std::unique_ptr<TlsTap> tap_;
  std::unique_ptr<ProtocolAnalyzer> tls_;  // connections after an SSL request
};

std::unique_ptr<ProtocolAnalyzer> make_mysql_analyzer(const AnalyzerSettings& s);
/// The registry's probe: the server's greeting (protocol 10, a version
/// string); the client never speaks first.
ProbeResult probe_mysql(Dir d, std::span<const uint8_t> first);

}  // namespace tcpscribe
