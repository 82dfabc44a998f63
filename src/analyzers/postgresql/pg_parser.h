// The PostgreSQL frontend/backend protocol 3.0 framing of one direction
// (https://www.postgresql.org/docs/current/protocol-message-formats.html),
// incremental: messages come out the same whether the stream is fed whole,
// in pieces or byte by byte.
//
// A message is a type byte, a 4-byte big-endian length (itself included)
// and the payload; the client's first message (StartupMessage,
// SSLRequest, GSSENCRequest, CancelRequest) has no type byte, and the
// server answers an SSLRequest or GSSENCRequest with one bare byte. The
// connection tells the framer which comes next (expect_untyped,
// expect_byte). A payload is kept up to kKeptBytes (its full length is
// counted), so memory is bounded whatever the lengths say.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "tcpscribe/packet.h"

namespace tcpscribe {

struct PgMessage {
  /// The type byte; 0: an untyped startup-phase message; for a bare byte
  /// (the answer to SSLRequest) the byte itself with `bare` set.
  char type = 0;
  bool bare = false;
  uint32_t length = 0;        ///< the payload's length on the wire
  std::string body;           ///< the payload's first kKeptBytes bytes
  uint64_t offset = 0;        ///< stream offset of its first byte
  Timestamp first_ts = 0;
  Timestamp last_ts = 0;

  bool cut() const { return body.size() < length; }
};

class PgFramer {
 public:
  static constexpr size_t kKeptBytes = 64u << 10;
  /// Longer messages are not PostgreSQL (the server's own cap is 1 GB).
  static constexpr uint32_t kMaxLength = (1u << 30) + 64;
  /// Startup-phase messages are short (the server refuses over 10000).
  static constexpr uint32_t kMaxStartup = 10000;

  using MessageFn = std::function<void(PgMessage&& m)>;
  using ErrorFn = std::function<void(const std::string& why, uint64_t offset)>;

  PgFramer(MessageFn on_message, ErrorFn on_error);

  void feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  /// The next message has no type byte (the client's startup phase).
  void expect_untyped(bool on) { untyped_ = on; }
  /// The next byte is a message of its own (the answer to SSLRequest).
  void expect_byte(bool on) { bare_ = on; }
  void stop() { dead_ = true; }
  bool active() const { return !dead_; }
  bool in_message() const { return !dead_ && have_ > 0; }

 private:
  void fail(const std::string& why, uint64_t offset);

  MessageFn on_message_;
  ErrorFn on_error_;
  bool dead_ = false;
  bool untyped_ = false;
  bool bare_ = false;
  uint8_t head_[5] = {0, 0, 0, 0, 0};
  size_t head_len_ = 0;        ///< bytes of the header seen
  size_t have_ = 0;            ///< bytes of the current message seen (header included)
  PgMessage cur_;
  uint64_t body_left_ = 0;
};

/// Big-endian readers over a payload, safe past its end (they report it).
class PgReader {
 public:
  explicit PgReader(const std::string& s) : s_(s) {}
  bool u8(uint8_t& v);
  bool i16(int16_t& v);
  bool i32(int32_t& v);
  /// A NUL-terminated string.
  bool cstr(std::string& v);
  /// `n` bytes (fewer when the kept payload ends: `v` holds what there is).
  bool bytes(size_t n, std::string& v);
  size_t left() const { return s_.size() - pos_; }
  bool ok() const { return ok_; }

 private:
  const std::string& s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tcpscribe
