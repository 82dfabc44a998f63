#include "http_probe.h"

#include <algorithm>
#include <string_view>

namespace tcpscribe {
namespace {

// The methods of RFC 9110 and PATCH, and the registered WebDAV/versioning
// ones seen in the wild (IANA's HTTP Method Registry).
constexpr std::string_view kMethods[] = {
    "GET ",        "HEAD ",       "POST ",      "PUT ",         "DELETE ",   "CONNECT ",
    "OPTIONS ",    "TRACE ",      "PATCH ",     "PROPFIND ",    "PROPPATCH ", "MKCOL ",
    "COPY ",       "MOVE ",       "LOCK ",      "UNLOCK ",      "REPORT ",   "SEARCH ",
    "MKCALENDAR ", "ACL ",        "CHECKOUT ",  "CHECKIN ",     "MERGE ",    "LABEL ",
    "UPDATE ",     "VERSION-CONTROL ", "MKWORKSPACE ", "MKACTIVITY ", "BIND ",  "UNBIND ",
    "REBIND ",     "UNCHECKOUT ", "BASELINE-CONTROL ", "ORDERPATCH ", "QUERY ",
};

/// kYes if `have` starts with `want`, kNeedMore if it is a prefix of it.
ProbeResult match(std::string_view have, std::string_view want) {
  const size_t n = std::min(have.size(), want.size());
  if (have.substr(0, n) != want.substr(0, n)) return ProbeResult::kNo;
  return have.size() >= want.size() ? ProbeResult::kYes : ProbeResult::kNeedMore;
}

}  // namespace

ProbeResult probe_http1(Dir d, std::span<const uint8_t> first) {
  const std::string_view have(reinterpret_cast<const char*>(first.data()), first.size());
  if (have.empty()) return ProbeResult::kNeedMore;
  if (d == Dir::kServerToClient) return match(have, "HTTP/1.");
  ProbeResult best = ProbeResult::kNo;
  for (std::string_view m : kMethods) {
    const ProbeResult r = match(have, m);
    if (r == ProbeResult::kYes) return r;
    if (r == ProbeResult::kNeedMore) best = r;
  }
  return best;
}

}  // namespace tcpscribe
