// The proxy's outputs: the same OutputConfig the passive modes fill from
// their options, filled from the proxy's.
#pragma once

#include "output_set.h"
#include "proxy_options.h"

namespace tcpscribe {

/// Flow files open at once under -o: the sockets (two per connection) and
/// the netrecord logs need the rest of the descriptors.
inline constexpr size_t kProxyFlowFiles = 256;

/// What `opt` asks the output set for. The proxy's own console view shows
/// the connections, so the set has no console of its own; `start` (wall
/// clock, epoch ns) is time zero of the netrecord logs; `source` names the
/// proxy in the HTML report ("proxy 127.0.0.1:6380 -> 127.0.0.1:6379").
OutputConfig proxy_output_config(const ProxyOptions& opt, Timestamp start,
                                 const std::string& source);

}  // namespace tcpscribe
