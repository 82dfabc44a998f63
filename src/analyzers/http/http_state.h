// The HTTP/1 analyzer's state, shared by http.cc (the analyzer: one
// connection's transactions, pairing, delivery) and http_side.cc (one
// direction: the parser's events, bodies). Internal to the analyzer.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "http.h"
#include "http_body.h"
#include "http_decode.h"
#include "http_parser.h"

namespace tcpscribe {

struct HttpAnalyzer::Side final : HttpParserEvents {
  Side(HttpAnalyzer& a, Conn& k, Dir d)
      : an(a), conn(k), dir(d), parser(d == Dir::kClientToServer, *this, a.opt_.max_head_bytes) {}

  BodyFraming on_head(HttpHead& head, uint64_t offset, Timestamp start_ts, Timestamp ts) override;
  void on_body(std::span<const uint8_t> bytes, Timestamp ts) override;
  void on_body_gap(uint64_t length, Timestamp ts) override;
  void on_trailers(std::vector<HttpHeader>& trailers) override;
  void on_message_end(const MessageEnd& end, Timestamp ts) override;
  void on_error(uint64_t offset, const std::string& what, Timestamp ts) override;

  void start_body(const BodyFraming& f);
  /// The answer to a protocol switch: the switch is settled at its end.
  void settle_switch(const BodyFraming& f);
  /// A response to a request delivered early: parsed into `interim`
  /// (its body still extracted), paired with nothing.
  BodyFraming early_response(HttpHead& head, uint64_t offset, Timestamp start_ts, Timestamp ts);
  /// Counts memory `t` holds while undelivered.
  void charge(HttpTransaction& t, size_t bytes);
  void take_decoded(std::span<const uint8_t> bytes);
  void write(std::span<const uint8_t> bytes);
  /// The current message's body file, created on first use.
  BodyFile& body_file();

  HttpAnalyzer& an;
  Conn& conn;
  Dir dir;
  HttpStreamParser parser;
  HttpMessage* msg = nullptr;  // the message being parsed (in conn.txns, or interim)
  HttpTransaction* txn = nullptr;  // msg's transaction (deque elements do not move)
  // 1xx responses, and responses to requests delivered early (the pending
  // caps), are parsed here and dropped.
  HttpMessage interim;
  uint32_t numbers = 0;
  bool ended = false;
  // Body of the current message.
  std::unique_ptr<ContentDecoder> decoder;
  bool decoding = false;       // decoder still usable
  bool write_decoded = false;
  bool text_ok = false;
  std::unique_ptr<BodyFile> file;
};

struct HttpAnalyzer::Conn {
  Connection info;             // as at on_open, for finish()
  std::unique_ptr<Side> side[2];
  std::deque<HttpTransaction> txns;  // not yet delivered, in order
  uint32_t count = 0;          // transactions created
  uint32_t close_request = 0;  // the first request that said close
  uint32_t close_response = 0; // the first response that said close
  Timestamp close_response_ts = 0;
  std::string close_response_words;
  bool server_shut = false;
  bool server_reset = false;
  uint64_t after_close_offset = UINT64_MAX;  // first request sent after server_shut
  uint64_t server_missing = 0; // bytes of the server's stream the capture lacks (gaps)
  Timestamp server_shut_ts = 0;
  uint32_t hold_index = 0;     // transaction whose request asked to switch protocols
  // The answer to a protocol switch (Upgrade, CONNECT) settles it at its
  // end: the client side resumes (or becomes a tunnel) then, with the
  // server side held meanwhile, so that the events come in the same order
  // however the streams were cut into pieces.
  bool resume_at_answer_end = false;
  bool resume_pending = false;  // the answer ended: resume after this parse call
  bool resume_tunnel = false;
  bool server_held = false;     // the server side holds the bytes after the answer
  CloseReason why = CloseReason::kEndOfInput;
  size_t held_bytes = 0;       // memory of txns (estimate), for max_pending_bytes
  // Requests delivered unanswered by a pending cap, oldest first: the next
  // responses are theirs (parsed, not paired with later requests).
  struct Early {
    std::string method;
    uint32_t index;
  };
  std::deque<Early> early;
  uint64_t delivered_early = 0;
  // h2c (RFC 7540 3.2): a request asked for "Upgrade: h2c"; a 101 answer
  // hands the rest of the connection to the HTTP/2 analyzer. Until the
  // answer, the events are kept (bounded) so that it gets the client's
  // preface, which follows the request at once.
  bool h2c_wait = false;
  uint32_t h2c_index = 0;      // the transaction whose request asked for h2c
  bool h2c_go = false;         // the 101 came: start at the end of this parse call
  bool h2c_on = false;         // the HTTP/2 analyzer has the connection
  uint64_t h2c_client = 0;     // stream offsets where HTTP/2 starts
  uint64_t h2c_server = 0;
  HttpMessage h2c_request;
  struct Held {
    Dir dir;
    uint64_t offset;
    uint64_t gap;              // > 0: a gap of this length
    std::vector<uint8_t> bytes;
    Timestamp ts;
  };
  std::vector<Held> h2c_held;
  size_t h2c_held_bytes = 0;
};

}  // namespace tcpscribe
