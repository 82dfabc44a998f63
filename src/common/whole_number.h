// Numeric command-line values, read as text and checked.
#pragma once

#include <cstdint>
#include <string>

namespace tcpscribe {

/// `text` as a whole decimal number within [min, max] into `out`; false for
/// anything else ("-5", "1e3", "", " 5", "+5"). Boost.Program_options would
/// wrap "-5" to 2^64-5 for an unsigned option, so numeric options are read
/// as text and checked here.
bool parse_whole_number(const std::string& text, uint64_t min, uint64_t max, uint64_t& out);

}  // namespace tcpscribe
