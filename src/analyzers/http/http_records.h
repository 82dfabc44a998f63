// HTTP/1 messages and transactions as the seam's records: the console's
// --decode view of one message, and the --messages record of one exchange.
#pragma once

#include <string>
#include <string_view>

#include "analyzer.h"
#include "http.h"

namespace tcpscribe {

/// One line of text from the wire for a finding or the console: control
/// bytes become '.', text longer than `max` is cut and ends in "...".
std::string printable_text(std::string_view s, size_t max = 120);

/// The --decode view of a message that ended: the summary ("GET /a",
/// "200 OK"), then the start line, the header fields (credentials of
/// Authorization and Proxy-Authorization replaced by their size), and a
/// body line with its size and a printable preview. `latency`: for an
/// answer, its first byte minus the request's last byte (-1: none).
DecodedMessage http_decoded_message(const HttpMessage& m, Timestamp latency);

/// The --messages record of a transaction. Keys after the common ones:
/// method, target, host, version, status, reason, request_body_bytes,
/// response_body_bytes (bodies without transfer coding, null when the
/// message is absent). "error" is null for a complete exchange answered
/// below 400; otherwise the status line (4xx/5xx), "unanswered" plus
/// `unanswered_why`, "response without a request", or the message's
/// problem (cut by the close, a gap).
ExchangeRecord http_exchange_record(const HttpTransaction& t, const std::string& unanswered_why);

}  // namespace tcpscribe
