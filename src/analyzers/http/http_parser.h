// Incremental HTTP/1.x message framing for one direction of a connection.
//
// The parser sees a direction's reassembled stream in pieces of any size
// (down to one byte) and gaps, and reports message heads, body bytes (with
// the chunked framing removed) and message ends to an HttpParserEvents.
// Memory is bounded: a head (or a trailer block) is buffered up to a cap,
// bodies pass straight through. How a message's body is framed is decided
// by the caller on each head (a response's framing depends on its request:
// HEAD, CONNECT), following RFC 9112 section 6.
//
// After a gap that the framing cannot absorb (inside a head, a chunk-size
// line, between messages) or a parse error, the parser resynchronises: it
// scans line by line for something that looks like a start line and resumes
// there. A stream whose very first bytes are not HTTP/1.x is dropped
// silently (it is some other protocol).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

struct HttpHeader {
  std::string name;
  std::string value;
};

/// A message's start line and header fields.
struct HttpHead {
  bool is_request = true;
  std::string method;   ///< requests
  std::string target;   ///< requests: as sent (origin, absolute, authority or *)
  int status = 0;       ///< responses
  std::string reason;   ///< responses
  std::string version;  ///< "HTTP/1.1"
  std::vector<HttpHeader> headers;
  uint64_t size = 0;    ///< bytes from the first byte to the blank line, inclusive
  bool truncated = false;  ///< cut by a gap: only the lines before it

  /// The first field with this name (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
  /// True when a comma-separated field (all of its lines) lists `token`
  /// (case-insensitive), as in `Connection: keep-alive, close`.
  bool has_token(std::string_view name, std::string_view token) const;
};

/// How a message body is delimited (RFC 9112 6.3).
struct BodyFraming {
  enum class Kind {
    kNone,        ///< no body (HEAD/1xx/204/304 response, request without length)
    kLength,      ///< Content-Length bytes
    kChunked,     ///< Transfer-Encoding: chunked
    kUntilClose,  ///< a response read until the server closes
    kTunnel,      ///< after this message the connection is no longer HTTP
    kInvalid,     ///< unusable framing (bad Content-Length, ...)
  };
  Kind kind = Kind::kNone;
  uint64_t length = 0;
};

/// The framing RFC 9112 gives a message. For a response, `request_method`
/// is the method of the request it answers ("" if unknown).
BodyFraming framing_for(const HttpHead& head, std::string_view request_method);

/// How a message ended.
struct MessageEnd {
  bool complete = false;    ///< ended as framed, no byte missing
  uint64_t body_wire = 0;   ///< bytes after the head (chunk framing, trailers included)
  uint64_t missing = 0;     ///< bytes of the message the capture lacks (known part)
  std::string problem;      ///< why it is not complete, empty if it is
};

class HttpParserEvents {
 public:
  virtual ~HttpParserEvents() = default;
  /// A head is complete. `offset`/`start_ts`: the message's first byte.
  /// Returns how its body is framed.
  virtual BodyFraming on_head(HttpHead& head, uint64_t offset, Timestamp start_ts,
                              Timestamp ts) = 0;
  /// Body bytes, transfer coding removed.
  virtual void on_body(std::span<const uint8_t> bytes, Timestamp ts) = 0;
  /// Body bytes the capture lacks (the message continues after them).
  virtual void on_body_gap(uint64_t length, Timestamp ts) = 0;
  virtual void on_trailers(std::vector<HttpHeader>& trailers) = 0;
  virtual void on_message_end(const MessageEnd& end, Timestamp ts) = 0;
  /// Bytes that are not HTTP where a message was expected (once per run
  /// of bad bytes; the parser then looks for the next start line).
  virtual void on_error(uint64_t offset, const std::string& what, Timestamp ts) = 0;
};

class HttpStreamParser {
 public:
  HttpStreamParser(bool requests, HttpParserEvents& events, size_t max_head = 64u << 10);

  /// The stream may start inside a message (a connection picked up
  /// midstream): bytes that are not HTTP at its start are skipped, not
  /// taken as another protocol.
  void set_midstream(bool midstream);

  void feed(std::span<const uint8_t> data, uint64_t offset, Timestamp ts);
  void gap(uint64_t offset, uint64_t length, Timestamp ts);
  /// The direction ended: `clean` for a FIN, false for a RST or when the
  /// connection ended without one (`why` says how, for the problem text).
  /// Ends a body read until close; any other message is unfinished.
  void end(bool clean, const std::string& why, Timestamp ts);

  /// Holds bytes after the current message until resume(): used after a
  /// request that asks to switch protocols (Upgrade, CONNECT), whose fate
  /// depends on the response.
  void hold();
  /// Ends a hold: `tunnel` drops the held and later bytes (the protocol
  /// changed), otherwise they are parsed.
  void resume(bool tunnel);

  bool in_message() const;
  /// False once the stream was found not to be HTTP or became a tunnel.
  bool active() const { return state_ != State::kDead && state_ != State::kTunnel; }
  uint64_t messages() const { return messages_; }

 private:
  enum class State {
    kStart, kHead, kBody, kChunkSize, kChunkData, kChunkEnd, kTrailers,
    kUntilClose, kTunnel, kResync, kHeld, kDead,
  };

  size_t take_head_bytes(std::span<const uint8_t> d, size_t i, bool trailers, Timestamp ts);
  void head_complete(Timestamp ts);
  void begin_body(const BodyFraming& f, Timestamp ts);
  void finish_message(bool complete, const std::string& problem, Timestamp ts);
  void fail(const std::string& what, Timestamp ts);
  size_t resync_scan(std::span<const uint8_t> d, size_t i, uint64_t offset, Timestamp ts);
  bool plausible_prefix() const;

  struct Held {
    std::vector<uint8_t> bytes;
    uint64_t offset = 0;
    uint64_t gap = 0;
    Timestamp ts = 0;
  };

  bool requests_;
  HttpParserEvents& ev_;
  size_t max_head_;
  State state_ = State::kStart;
  std::vector<Held> held_;
  size_t held_bytes_ = 0;
  std::string buf_;          // head, chunk-size line, trailer block, resync line
  size_t line_start_ = 0;    // in buf_: where the line being read starts
  uint64_t msg_offset_ = 0;  // first byte of the current message
  Timestamp msg_ts_ = 0;
  uint64_t remaining_ = 0;   // body or chunk bytes left
  MessageEnd cur_;
  uint64_t messages_ = 0;
  bool midstream_ = false;
  bool seen_error_ = false;
  bool complete_head_ = true;       // head_complete(): false for a head cut short
  bool hold_after_ = false;         // hold() once the current message ends
  bool tunnel_after_ = false;       // resume(true) before the message ended
  bool resync_line_start_ = false;  // buf_ starts at a line start
  uint64_t resync_offset_ = 0;      // where the line in buf_ starts
  Timestamp resync_ts_ = 0;
};

}  // namespace tcpscribe
