// What the outputs say about one application exchange (analyzer.h's
// ExchangeRecord) without knowing its protocol: the request in one line,
// whether the answer was an error, and the --slow finding. They read the
// record's own keys (already redacted by the analyzers: AUTH arguments and
// passwords never reach a record), so every request/response protocol gets
// the same findings, counts and HTML marks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "analyzer.h"

namespace tcpscribe {

/// The value of a JSON string literal (`"a\"b"` -> `a"b`); "" for null or
/// anything that is not a string.
std::string json_string_value(std::string_view json);

/// The request in one line, at most `max` characters (cut with "..."):
/// "GET /a" (HTTP/1), "stream 3 GET /a" (HTTP/2), "SET user:1 Ada" (Redis),
/// "query: SELECT 1" (PostgreSQL, MySQL); the protocol's name when the
/// record names no request.
std::string exchange_request_text(const ExchangeRecord& r, size_t max = 100);

/// The answer in one line: "200", "+OK", "SELECT 1"; "" when none.
std::string exchange_answer_text(const ExchangeRecord& r, size_t max = 60);

/// The record's error in one line (a string, or an object's "message"),
/// "" without one.
std::string exchange_error_text(const ExchangeRecord& r, size_t max = 100);

/// An answer came, and it was an error (Redis -ERR, PostgreSQL
/// ErrorResponse, MySQL ERR, HTTP 4xx/5xx, a reset HTTP/2 stream...).
bool is_error_reply(const ExchangeRecord& r);

/// --slow SECONDS (passive modes and the proxy): seconds from 0.001 to
/// 1000000, fractions allowed, as nanoseconds; false for anything else.
bool parse_slow_seconds(const std::string& text, Timestamp& out);
/// What --slow takes, for the one-line error: "seconds from 0.001 to ...".
extern const char* const kSlowRange;

/// --slow: the finding for an answer that took longer than `threshold`
/// (the record's latency: the answer's first byte - the request's last).
std::optional<Finding> slow_finding(const ExchangeRecord& r, Timestamp threshold);

}  // namespace tcpscribe
