#include "whole_number.h"

#include <charconv>

namespace tcpscribe {

bool parse_whole_number(const std::string& text, uint64_t min, uint64_t max, uint64_t& out) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  // from_chars takes no sign, no space and no prefix for an unsigned type.
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < min || v > max) return false;
  out = v;
  return true;
}

}  // namespace tcpscribe
