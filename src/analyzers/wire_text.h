// Text for the protocol analyzers' records and console lines (Redis,
// PostgreSQL, MySQL): bytes that may be anything shown safely and cut.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// UTF-8 kept; control bytes, DEL and bytes that are not UTF-8 as the text
/// \xHH (\r \n \t as \r \n \t); a backslash as \\.
std::string wire_escape(std::string_view s);
/// wire_escape of the first `max` bytes of `kept`; when the value was
/// longer (`full` bytes) or cut here: "...(N bytes)" after it.
std::string cut_text(std::string_view kept, uint64_t full, size_t max);
/// `s` as a JSON string literal (UTF-8 invalid bytes replaced).
std::string json_str(std::string_view s);
/// Bytes as lower-case hex, the first `max` bytes, then "...(N bytes)".
std::string hex_text(std::string_view s, uint64_t full, size_t max);
/// The secret stays out: "[redacted, N bytes]".
std::string redacted_text(uint64_t bytes);

}  // namespace tcpscribe
