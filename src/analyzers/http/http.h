// HTTP/1.x transactions from reassembled streams (-e http).
//
// Each connection's two streams go through an HttpStreamParser; requests
// and responses are paired in order (HTTP/1.x answers in request order,
// pipelined or not). A response's framing depends on its request (HEAD,
// CONNECT), so a response head is matched as soon as it is parsed. Bodies
// are streamed to `<flow file name>-HTTPBODY-NNN` beside the flow files, NNN
// the message's number in its direction (so response bodies number like
// their requests), decoded from gzip/deflate unless keep_encoded (-Z).
//
// A transaction is handed to the transaction callback (the HAR writer)
// once both halves ended, or when the connection closes; HTTP-level
// findings go to the finding callback at the same moment, when it is known
// whether a request was answered. Memory per connection is bounded by the
// head cap, the kept-text cap and the pending-transaction cap.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "analyzer.h"
#include "http_parser.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

class Http2Analyzer;

struct HttpOptions {
  std::string outdir = ".";
  int outdir_fd = -1;              ///< the open output directory: bodies are created through it
  std::string name_template;       ///< flow file names (name_template.h); empty: default
  bool extract_bodies = true;      ///< write <flow>-HTTPBODY-NNN files
  bool keep_encoded = false;       ///< -Z: bodies as sent (gzip stays gzip)
  size_t max_head_bytes = 64u << 10;  ///< a head (or trailer block) longer than this is an error
  size_t max_text_bytes = 0;       ///< decoded bodies up to this size are kept (HAR text)
  size_t max_pending = 1000;       ///< transactions held per connection before forced delivery
  /// Memory of the transactions held per connection (parsed heads: a head
  /// costs up to ~15x its bytes on the wire; kept body texts) before the
  /// oldest is delivered unanswered, with a finding.
  size_t max_pending_bytes = 4u << 20;
  /// Where exchange records (--messages) and, with decode_view, console
  /// messages (--decode) go; null: neither is built.
  AnalyzerOutput* out = nullptr;
  bool decode_view = false;
  size_t preview_bytes = 64;       ///< body bytes shown by the --decode view
  bool tls = false;                ///< the stream is TLS's plaintext: URLs are https
};

/// One request or response as far as the capture shows it.
struct HttpMessage {
  bool present = false;
  HttpHead head;
  std::vector<HttpHeader> trailers;
  uint32_t number = 0;          ///< 1-based, per direction (interim 1xx not counted)
  uint64_t offset = 0;          ///< stream offset of its first byte
  Timestamp start_ts = 0;       ///< packet time of its first byte
  Timestamp head_ts = 0;        ///< ... of the head's last byte
  Timestamp end_ts = 0;         ///< ... of its last byte (or of the FIN ending it)
  bool ended = false;
  bool complete = false;        ///< ended as framed, nothing missing
  std::string problem;          ///< why not complete
  uint64_t body_wire = 0;       ///< bytes after the head, chunk framing included
  uint64_t body_bytes = 0;      ///< body without transfer coding (content still encoded)
  uint64_t decoded_bytes = 0;   ///< body after content decoding (== body_bytes if none)
  uint64_t missing = 0;         ///< bytes the capture lacks
  std::string content_encoding; ///< Content-Encoding as sent
  bool decoded = false;         ///< gzip/deflate content decoded without error
  std::string decode_error;
  std::string body_path;        ///< the extracted body file, empty if none
  bool has_text = false;        ///< body_text is the whole decoded body
  std::string body_text;
  std::string preview;          ///< the decoded body's first bytes (--decode)

  uint64_t wire_size() const { return head.size + body_wire; }
};

struct HttpTransaction {
  uint64_t conn_id = 0;
  Endpoint client;
  Endpoint server;
  Timestamp syn_ts = 0;         ///< 0: not seen
  Timestamp synack_ts = 0;
  uint32_t index = 0;           ///< 1-based on its connection
  uint32_t stream = 0;          ///< HTTP/2: the stream id; 0: HTTP/1
  HttpMessage request;          ///< present == false: a response without request
  HttpMessage response;         ///< present == false: never answered
  bool after_close_header = false;  ///< request sent after a message said "Connection: close"
  bool after_server_close = false;  ///< request sent after the server's FIN/RST
  std::string close_note;       ///< which message said close / how the server closed
  size_t held_bytes = 0;        ///< memory held while undelivered (estimate)
  /// Delivered before its response came because a pending cap was reached
  /// (the response, if it comes, is not paired with it).
  bool delivered_early = false;
  bool tls = false;             ///< found inside TLS: the scheme is https
  /// HTTP/2's :scheme; empty: from `tls`.
  std::string h2_scheme;

  /// "http" or "https" (HTTP/2: its :scheme).
  std::string scheme() const { return !h2_scheme.empty() ? h2_scheme : tls ? "https" : "http"; }
  /// The absolute URL: scheme:// + Host (HTTP/2: :authority; else the
  /// server address) + target.
  std::string url() const;
};

class HttpAnalyzer : public ProtocolAnalyzer {
 public:
  using FindingCallback = std::function<void(const Connection&, const Finding&)>;
  using TransactionCallback = std::function<void(const HttpTransaction&)>;

  HttpAnalyzer(HttpOptions o, FindingCallback on_finding,
               TransactionCallback on_transaction = nullptr);
  ~HttpAnalyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  /// `f` (the TCP analysis' data after the server's FIN) is about a request
  /// this analyzer will report as sent after the server closed: its line
  /// tells the same story with more (which request, what said close).
  bool tells(const Connection& c, const Finding& f) const override;

  struct Stats {
    uint64_t transactions = 0;   ///< delivered, orphan responses included
    uint64_t bodies = 0;         ///< body files written
    uint64_t findings = 0;
  };
  const Stats& stats() const { return stats_; }
  /// Memory held by connection `id`'s undelivered transactions (0 when
  /// it has none), as HttpOptions::max_pending_bytes counts it.
  size_t pending_bytes(uint64_t id) const;
  /// The first body-file write error, empty while all is well.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::string failure() const override { return error_; }

 private:
  struct Side;
  struct Conn;
  friend struct Side;

  Conn& conn_for(const Connection& c);
  void after_parse(const Connection& c, Conn& k);
  void deliver_ready(const Connection& c, Conn& k, bool closing);
  /// h2c: keeps an event for the HTTP/2 analyzer while an upgrade is
  /// pending, hands the connection over once it is answered with 101, and
  /// forwards the events after that. True when the HTTP/2 analyzer has it.
  bool h2c(const Connection& c, Conn& k, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
           uint64_t gap, Timestamp ts);
  void deliver(const Connection& c, Conn& k, HttpTransaction& t);
  /// `t` goes out before its response because a pending cap was reached
  /// (reported once per connection, with a finding).
  void deliver_early(const Connection& c, Conn& k, HttpTransaction& t);
  void report(const Connection& c, Dir d, Timestamp ts, uint64_t offset, uint64_t length,
              std::string text, bool alarm = true);
  std::string body_path(const Connection& c, Dir d, uint32_t number);

  HttpOptions opt_;
  FindingCallback on_finding_;
  TransactionCallback on_transaction_;
  bool names_unique_ = true;
  std::unordered_map<std::string, uint32_t> body_numbers_;  // names_unique_ false
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::unique_ptr<Http2Analyzer> h2_;    // connections upgraded to h2c
  const Connection* current_ = nullptr;  // during a Sink call, for callbacks
  Stats stats_;
  std::string error_;
};

/// The registry's factory (registry.cc): an HttpAnalyzer whose findings,
/// transactions, exchange records and messages go to `s.out`.
std::unique_ptr<ProtocolAnalyzer> make_http_analyzer(const AnalyzerSettings& s);

}  // namespace tcpscribe
