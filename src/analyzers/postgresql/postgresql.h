// PostgreSQL (frontend/backend protocol 3.0) from reassembled streams
// (-e postgresql).
//
// Both directions go through a PgFramer. The server answers the client's
// messages in order, so each answer is matched with the oldest client
// message still waiting for one: a simple Query until its ReadyForQuery,
// and in the extended protocol Parse, Bind, Describe, Execute, Close and
// Sync each (after an ErrorResponse the server skips to the Sync). The
// statements (Parse) and portals (Bind) a connection names are kept, so
// every Execute is reported with its statement's SQL and the parameters
// bound to it (text decoded, binary as hex).
//
// A record (--messages) per simple Query, per Execute, per failed Parse or
// Bind, per startup (user, database, application_name; its outcome), per
// CancelRequest (linked to the connection it cancels by the backend's
// process id and key) and per NotificationResponse; a console message
// (--decode) per client message and per answer. Passwords, SASL/SCRAM and
// GSSAPI exchanges are never shown ("[redacted, N bytes]"). An accepted
// SSLRequest hands the rest of the connection to a TLS analyzer of its own
// (tls_analyzer.h), offsets counted from the TLS bytes' start: with a key
// log it decrypts, and its inner dispatcher finds PostgreSQL again inside
// (the console, FLOW-TLS, the report's "tls" object as for any TLS
// connection). An accepted GSSENCRequest turns the rest encrypted: the
// connection is marked so and decoding stops.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "analyzer.h"
#include "pg_parser.h"

namespace tcpscribe {

struct PostgresOptions {
  AnalyzerOutput* out = nullptr;
  bool decode_view = false;
  size_t max_pending = 10000;      ///< client messages waiting for their answers, per connection
  size_t max_names = 10000;        ///< named statements and portals kept per connection
  size_t view_rows = 5;            ///< rows shown under a result (--decode)
  /// The settings for the TLS analyzer an accepted SSLRequest hands the
  /// connection to; null: decoding stops there.
  std::shared_ptr<const AnalyzerSettings> tls;
};

/// The fields of an ErrorResponse / NoticeResponse.
struct PgNotice {
  std::string severity, code, message, detail, hint, position;
};
PgNotice parse_pg_notice(const std::string& body);

class PostgresAnalyzer : public ProtocolAnalyzer {
 public:
  explicit PostgresAnalyzer(PostgresOptions o);
  ~PostgresAnalyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  bool tells(const Connection& c, const Finding& f) const override;
  void secrets_added() override;

 private:
  struct Conn;
  struct Unit;
  Conn& conn_for(const Connection& c);
  void on_client(Conn& k, PgMessage&& m);
  void on_server(Conn& k, PgMessage&& m);
  void on_error(Conn& k, Dir d, const std::string& why, uint64_t offset);
  void stop(Conn& k, const std::string& why);
  void emit(Conn& k, Unit& u, const std::string& unanswered_why);
  void view(Conn& k, Dir d, Timestamp ts, std::string summary, Timestamp latency = -1,
            std::vector<std::string> lines = {});
  void report(Conn& k, Dir d, Timestamp ts, uint64_t offset, uint64_t length, std::string text,
              bool alarm = true);
  const Connection& conn_of(Conn& k) const;

  PostgresOptions opt_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  /// Backend process id and secret key (BackendKeyData) -> connection id,
  /// for CancelRequest.
  std::unordered_map<uint64_t, uint64_t> backends_;
  const Connection* current_ = nullptr;
  std::unique_ptr<ProtocolAnalyzer> tls_;  // connections after an accepted SSLRequest
};

std::unique_ptr<ProtocolAnalyzer> make_postgresql_analyzer(const AnalyzerSettings& s);
/// The registry's probe: a StartupMessage (3.0), SSLRequest, GSSENCRequest
/// or CancelRequest from the client; the server never speaks first.
ProbeResult probe_postgresql(Dir d, std::span<const uint8_t> first);

}  // namespace tcpscribe
