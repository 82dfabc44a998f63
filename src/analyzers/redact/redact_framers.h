// --redact auth for the protocols whose passwords a regular expression
// cannot find (they sit in length-prefixed binary messages): a framer
// follows the client's direction of a PostgreSQL or MySQL connection,
// message by message as the PostgreSQL and MySQL analyzers frame them
// (src/analyzers/postgresql/pg_parser.h, src/analyzers/mysql/mysql_parser.h),
// and marks the stream ranges that hold a password before any output
// sees them:
// - PostgreSQL: after the startup message (an SSLRequest/GSSENCRequest
//   answered 'N' may come first), the payload of every 'p' message
//   (PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse).
// - MySQL: in the HandshakeResponse41 (sequence 1), the auth-response
//   field; then the whole payload of every further client packet of the
//   authentication phase (AuthSwitchResponse and the like, sequence > 1),
//   until a packet with sequence 0 (the first command) ends it.
// A stream that looks like neither (or TLS after an SSLRequest) is left
// alone from its first bytes on; the framer never holds bytes back, since
// a password's place is known from the bytes before it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace tcpscribe {

class ProtocolFramer {
 public:
  using Mark = std::function<void(uint64_t from, uint64_t to)>;
  virtual ~ProtocolFramer() = default;
  /// The next bytes of the client's direction, at stream offset `offset`.
  /// Calls `mark` with ranges to blank, which may reach past these bytes.
  virtual void feed(std::span<const uint8_t> bytes, uint64_t offset, const Mark& mark) = 0;
  /// The bytes went out of step (a gap): stop.
  virtual void stop() = 0;
};

/// The framer for a client direction: detects PostgreSQL or MySQL from the
/// first bytes.
std::unique_ptr<ProtocolFramer> make_auth_framer();

}  // namespace tcpscribe
