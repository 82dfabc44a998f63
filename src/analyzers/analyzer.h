// The protocol analyzer seam: what a protocol analyzer is, how one is
// registered and chosen for a connection, and what it may emit.
//
// An analyzer (HTTP/1 today; TLS, HTTP/2, Redis, PostgreSQL, MySQL beside
// it) is a Sink over the connections the dispatcher (dispatcher.h) hands
// it: the same data / gap / shutdown / close events as every output, in
// stream order. It sends what it understood to an AnalyzerOutput:
// findings, one record per application exchange (--messages), one
// console message per request or answer (--decode), and, for HTTP
// semantics, transactions for the HAR and the HTML timeline.
//
// Analyzers stack by composition: an analyzer that uncovers an inner
// stream (TLS's plaintext) feeds it to a dispatcher of its own, which
// chooses the inner protocol the same way (see dispatcher_test.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tcpscribe/sink.h"

namespace tcpscribe {

struct HttpTransaction;
class TlsKeyLog;
struct AnalyzerInfo;

/// Why a connection's unfinished messages ended, for "unanswered (why)"
/// and "unfinished: why": "the connection was reset", "the capture ended"...;
/// "" for a FIN close.
std::string close_reason_text(CloseReason why);
/// "1.250": a duration in seconds with milliseconds, for findings' texts.
std::string seconds_text(Timestamp ns);

/// One application exchange (a request with its answer), for --messages.
struct ExchangeRecord {
  std::string proto;           ///< the analyzer's name: "http"
  Timestamp ts = 0;            ///< first byte of the request (of the answer if none)
  Timestamp end = 0;           ///< last byte of the answer (of the request if unanswered)
  /// Answer's first byte - request's last byte (negative when the server
  /// answered before the request ended); none: unanswered.
  std::optional<Timestamp> latency;
  std::string error_json;      ///< empty: no error (null); else a JSON value
  /// The protocol's own keys, in order, each value already JSON.
  std::vector<std::pair<std::string, std::string>> fields;
};

/// One message (a request or an answer) for the console's --decode view.
struct DecodedMessage {
  std::string proto;           ///< "http"
  Dir dir = Dir::kClientToServer;
  Timestamp ts = 0;            ///< its first byte
  std::string summary;         ///< "GET /a HTTP/1.1", "200 OK"
  Timestamp latency = -1;      ///< answers: since the request's last byte; -1: none
  std::vector<std::string> lines;  ///< what the protocol shows (start line, headers, body)
};

/// Where analyzers send what they found; the output set implements it.
class AnalyzerOutput {
 public:
  virtual ~AnalyzerOutput() = default;
  virtual void finding(const Connection& c, const Finding& f) = 0;
  virtual void exchange(const Connection& c, const ExchangeRecord& r) = 0;
  /// False when exchange() throws its records away (no --messages): an
  /// analyzer may then skip building them.
  virtual bool wants_exchanges() const { return true; }
  /// False when only the record's proto, times, latency and error are used
  /// (--report counts exchanges and error replies per protocol): an
  /// analyzer may then leave ExchangeRecord::fields empty and skip what
  /// builds them (the command's arguments, the answer's summary).
  virtual bool wants_exchange_fields() const { return wants_exchanges(); }
  virtual void message(const Connection& c, const DecodedMessage& m) = 0;
  /// HTTP semantics (HTTP/1 today, HTTP/2 later): the HAR and the HTML
  /// timeline's marks.
  virtual void http_transaction(const HttpTransaction& t) = 0;

  // An inner stream an analyzer uncovered (TLS's plaintext), for the
  // outputs that show bytes: the console shows it instead of the wire's
  // bytes of `c` from inner_open on; the flow files get it beside their own
  // (FLOW-<layer>, at its own offsets). `layer` names it ("TLS"). Offsets
  // count the inner stream's bytes, holes included.
  virtual void inner_open(const Connection& c, const char* layer) { (void)c, (void)layer; }
  virtual void inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                          std::span<const uint8_t> bytes, Timestamp ts) {
    (void)c, (void)layer, (void)d, (void)offset, (void)bytes, (void)ts;
  }
  virtual void inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset,
                         uint64_t length, Timestamp ts) {
    (void)c, (void)layer, (void)d, (void)offset, (void)length, (void)ts;
  }
  /// A JSON object the analyzer knows about `c` ("tls": version, suite...),
  /// for its --report line; given before the analyzer's on_close returns.
  virtual void connection_info(const Connection& c, const std::string& key,
                               const std::string& json) {
    (void)c, (void)key, (void)json;
  }
};

class RedactRules;

/// What every analyzer may be given; each takes what applies to it.
struct AnalyzerSettings {
  std::string outdir = ".";     ///< where extracted objects go (beside the flow files)
  int outdir_fd = -1;           ///< the open output directory; -1: extract nothing
  std::string name_template;    ///< flow file names (name_template.h)
  bool extract = false;         ///< write extracted objects (HTTP bodies)
  bool keep_encoded = false;    ///< -Z
  size_t keep_text_bytes = 0;   ///< bodies up to this size are kept for the HAR
  bool decode_view = false;     ///< --decode: build DecodedMessage lines
  AnalyzerOutput* out = nullptr;
  /// TLS: the secrets (--tls-keylog, pcapng Decryption Secrets Blocks);
  /// null: no key log, handshake facts only.
  const TlsKeyLog* tls_keylog = nullptr;
  /// TLS: records whose key is not known yet wait for it (live capture:
  /// the key log is still being written).
  bool tls_hold_for_keys = false;
  /// The stream is an inner one of TLS (HTTP: the scheme is https).
  bool inside_tls = false;
  /// --redact: an analyzer that uncovers an inner stream (TLS's plaintext)
  /// blanks it with these rules before its inner analyzers and the outputs
  /// see it, as the outer stream was; null: no redaction.
  const RedactRules* redact = nullptr;
  /// The analyzers of the dispatcher creating this one (an analyzer that
  /// stacks chooses its inner ones among them); the dispatcher fills it in.
  std::vector<const AnalyzerInfo*> enabled;
};

/// The analyzer of one protocol, over every connection given to it.
class ProtocolAnalyzer : public Sink {
 public:
  /// `f` (a TCP finding) is about something this analyzer reports better
  /// (HTTP: a request sent after the server closed): the console prints
  /// one line, the analyzer's.
  virtual bool tells(const Connection& c, const Finding& f) const {
    (void)c, (void)f;
    return false;
  }
  /// The key log gained secrets: work that waited for a key may go on.
  virtual void secrets_added() {}
};

/// A probe's verdict on the first bytes of one direction.
enum class ProbeResult { kNo, kNeedMore, kYes };

struct AnalyzerInfo {
  const char* name;            ///< -e NAME, --messages' "proto"
  const char* description;     ///< one line for --help and the error listing names
  std::vector<uint16_t> ports; ///< the hint: services usually on these ports
  /// Looks at the first bytes of direction `d` (from the stream's start).
  ProbeResult (*probe)(Dir d, std::span<const uint8_t> first);
  std::unique_ptr<ProtocolAnalyzer> (*create)(const AnalyzerSettings& s);
};

/// Every analyzer tcpscribe has, in the order they are tried when no port
/// hint says otherwise (registry.cc: one line each).
const std::vector<AnalyzerInfo>& analyzer_registry();
/// The analyzer called `name`, or null.
const AnalyzerInfo* find_analyzer(const std::string& name);
/// "http, ..." for messages.
std::string analyzer_names();

}  // namespace tcpscribe
