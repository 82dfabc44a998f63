#include "analyzer.h"

#include <cstdio>

namespace tcpscribe {

std::string close_reason_text(CloseReason why) {
  switch (why) {
    case CloseReason::kFin: return "";
    case CloseReason::kRst: return "the connection was reset";
    case CloseReason::kIdle: return "the connection went idle";
    case CloseReason::kEndOfInput: return "the capture ended";
    case CloseReason::kReused: return "a new connection reused the 4-tuple";
    case CloseReason::kEvicted: return "the connection table was full";
  }
  return "";
}

std::string seconds_text(Timestamp ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace tcpscribe
