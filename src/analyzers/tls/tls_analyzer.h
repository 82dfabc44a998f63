// The "tls" protocol analyzer: one TlsSession (tls_session.h) per
// connection, the decrypted application data fed to a dispatcher of its
// own (analyzers stack by composition, analyzer.h), which chooses the inner
// protocol by the ALPN the server chose ("http/1.1": http, "h2": http2 when
// an analyzer of that name is enabled) or else by probing.
//
// With --redact (AnalyzerSettings::redact) the plaintext is blanked by
// the same rules as the wire's bytes (a RedactSink of its own) before the
// inner analyzers and the outputs see it.
//
// To the outputs (AnalyzerOutput) it gives:
//   - the plaintext as an inner stream "TLS" (inner_open / inner_data /
//     inner_gap): the console shows it instead of the ciphertext, the flow
//     files get FLOW-TLS beside them. A connection is handed over at its
//     ClientHello when the key log has its client random, or always when
//     records wait for keys (live capture: the key usually comes later);
//   - with --decode, one message per connection with the handshake's
//     facts and whether it was decrypted (or why not);
//   - for --report, a "tls" object per connection (connection_info).
#pragma once

#include <memory>
#include <unordered_map>

#include "analyzer.h"
#include "dispatcher.h"
#include "redact_sink.h"
#include "tls_resume.h"
#include "tls_session.h"

namespace tcpscribe {

class TlsAnalyzer final : public ProtocolAnalyzer {
 public:
  explicit TlsAnalyzer(const AnalyzerSettings& s);
  ~TlsAnalyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  std::string failure() const override { return inner_.failure(); }
  void secrets_added() override;

  /// The "tls" object of a connection's --report line.
  static std::string report_json(const TlsSession& s);
  /// The --decode line: "TLS 1.3 TLS_AES_128_GCM_SHA256 sni=a alpn=h2: decrypted".
  static std::string summary(const TlsSession& s);

  /// The inner protocol the ALPN names ("http", "http2"), empty: none.
  static std::string inner_for_alpn(const std::string& alpn);

 private:
  struct Conn;
  /// Where the (blanked) plaintext goes: the inner analyzers and the
  /// outputs' inner stream.
  struct InnerFanout final : Sink {
    explicit InnerFanout(TlsAnalyzer& a) : an(a) {}
    void on_open(const Connection&) override {}
    void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                 Timestamp ts) override;
    void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp ts) override;
    void on_close(const Connection&, CloseReason) override {}
    TlsAnalyzer& an;
  };
  Conn& conn_for(const Connection& c);
  /// The end of a direction / of the connection for the inner stream: what
  /// --redact holds back goes first.
  void inner_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts);
  void inner_close(const Connection& c, CloseReason why);

  AnalyzerSettings settings_;
  TlsResumptionCache resumption_;
  AnalyzerDispatcher inner_;
  InnerFanout fanout_{*this};
  /// --redact: the plaintext goes through it to fanout_; null: straight.
  std::unique_ptr<RedactSink> redact_;
  size_t held_total_ = 0;  // records all connections hold (TlsSessionOptions::total_held)
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
};

std::unique_ptr<ProtocolAnalyzer> make_tls_analyzer(const AnalyzerSettings& s);

/// A protocol that turns to TLS mid-connection (PostgreSQL's accepted
/// SSLRequest, MySQL's SSL request) hands `tls` the bytes of direction `d`
/// from stream offset `base` on, at offsets counted from there: the part of
/// a chunk (or of a gap) before `base` is the protocol's own.
void tls_handoff_data(ProtocolAnalyzer& tls, uint64_t base, const Connection& c, Dir d,
                      uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts);
void tls_handoff_gap(ProtocolAnalyzer& tls, uint64_t base, const Connection& c, Dir d,
                     uint64_t offset, uint64_t length, Timestamp ts);

}  // namespace tcpscribe
