// HTTP/2 streams from reassembled connections (-e http2): h2c with prior
// knowledge (the client's preface), h2c after an HTTP/1.1 "Upgrade: h2c"
// (handed over by the HTTP/1 analyzer, take_over()), and h2 as the inner
// analyzer of TLS (chosen by ALPN, fed the plaintext).
//
// Each direction goes through an H2FrameParser (h2_frame.h); header
// blocks (HEADERS/PUSH_PROMISE + CONTINUATION) are decoded by libnghttp2's
// HPACK inflater, one per direction, whose table size follows the peer's
// SETTINGS_HEADER_TABLE_SIZE. A direction picked up midstream, or whose
// frame boundaries were lost, has an unknown dynamic table: its header
// blocks are decoded only as far as they use the static table and
// literals, and a field that refers to the dynamic table is shown as
// "(unknown)", never as a wrong value.
//
// Per stream, the request and its response become an HttpTransaction
// (version "HTTP/2.0", the same model as HTTP/1: --messages, HAR, HTML
// timeline). Bodies go to `<flow>-HTTPBODY-NNN` beside the flow files, NNN
// the stream's number on its connection (in order of first HEADERS, for
// the request in the client's flow, the response in the server's),
// content-decoded unless keep_encoded (-Z). gRPC streams
// (content-type application/grpc...) also get their length-prefixed
// messages decoded schemaless (grpc.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "analyzer.h"
#include "http.h"
#include "http_body.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct Http2Options {
  std::string outdir = ".";
  int outdir_fd = -1;
  std::string name_template;       ///< flow file names; empty: default
  bool extract_bodies = true;
  bool keep_encoded = false;       ///< -Z
  size_t max_text_bytes = 0;       ///< decoded bodies up to this size are kept (HAR text)
  size_t max_streams = 1000;       ///< open streams per connection before the oldest is delivered
  size_t max_header_block = 256u << 10;  ///< a longer header block is not decoded
  AnalyzerOutput* out = nullptr;   ///< --messages records, --decode messages
  bool decode_view = false;
  size_t preview_bytes = 64;
};

class Http2Analyzer : public ProtocolAnalyzer {
 public:
  using FindingCallback = std::function<void(const Connection&, const Finding&)>;
  using TransactionCallback = std::function<void(const HttpTransaction&)>;

  Http2Analyzer(Http2Options o, FindingCallback on_finding,
                TransactionCallback on_transaction = nullptr);
  ~Http2Analyzer() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  std::string failure() const override { return error_; }

  /// h2c by Upgrade: connection `c` goes on as HTTP/2 from stream offset
  /// `client_offset` (the client's preface) and `server_offset` (the
  /// server's first frame, after the 101). Stream 1 is `request`, the
  /// upgraded HTTP/1.1 request, which had index `index` and whose body is
  /// already extracted. Later events of `c` must come here.
  void take_over(const Connection& c, uint64_t client_offset, uint64_t server_offset,
                 const HttpMessage& request);

  struct Stats {
    uint64_t streams = 0;        ///< transactions delivered
    uint64_t frames = 0;
    uint64_t bodies = 0;
    uint64_t findings = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Side;
  struct Stream;
  struct Conn;
  friend struct Side;

  Conn& conn_for(const Connection& c);
  Stream& stream_for(Conn& k, uint32_t id, Dir opener, Timestamp ts);
  void header_block(Conn& k, Side& s, Timestamp ts);
  void on_headers(Conn& k, Dir d, uint32_t id, std::vector<HttpHeader>& fields, bool known,
                  bool end_stream, uint64_t offset, uint64_t size, Timestamp ts, bool promise);
  void end_half(Conn& k, Stream& st, Dir d, Timestamp ts, bool complete, const std::string& problem);
  void start_body(Stream& st, Dir d);
  void body_bytes(Stream& st, Dir d, std::span<const uint8_t> bytes);
  void take_decoded(Stream& st, Dir d, std::span<const uint8_t> bytes);
  void close_body(Stream& st, Dir d);
  BodyFile& file_for(Stream& st, Dir d);
  void maybe_deliver(Conn& k, uint32_t id);
  void deliver(Conn& k, Stream& st);
  void show_message(Conn& k, Stream& st, Dir d);
  void show(Conn& k, Dir d, Timestamp ts, std::string summary, std::vector<std::string> lines);
  void report(Conn& k, Dir d, Timestamp ts, uint64_t offset, std::string text, bool alarm = true);
  std::string body_path(Dir d, uint32_t number);

  Http2Options opt_;
  FindingCallback on_finding_;
  TransactionCallback on_transaction_;
  bool names_unique_ = true;
  std::unordered_map<std::string, uint32_t> body_numbers_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  const Connection* current_ = nullptr;
  Stats stats_;
  std::string error_;
};

/// The registry's factory: an Http2Analyzer whose findings, transactions,
/// records and messages go to `s.out`.
std::unique_ptr<ProtocolAnalyzer> make_http2_analyzer(const AnalyzerSettings& s);
/// The same, typed, for the HTTP/1 analyzer's h2c upgrades.
std::unique_ptr<Http2Analyzer> make_http2_analyzer_for(const AnalyzerSettings& s);
/// The connection preface from the client; a server's first frame (a
/// SETTINGS frame header) from the server.
ProbeResult probe_http2(Dir d, std::span<const uint8_t> first);

}  // namespace tcpscribe
