// Does a stream start like HTTP/1.x? The probe the dispatcher asks
// (analyzer.h): a request line's method and space from the client, or
// "HTTP/" from the server.
#pragma once

#include <cstdint>
#include <span>

#include "analyzer.h"

namespace tcpscribe {

/// Yes when `first` begins with a request method (RFC 9110 9.3, the
/// registered WebDAV ones; not PRI, which begins HTTP/2's preface) and a
/// space from the client, or with "HTTP/1." from the server; need-more
/// while `first` is a prefix of one; no otherwise.
ProbeResult probe_http1(Dir d, std::span<const uint8_t> first);

}  // namespace tcpscribe
