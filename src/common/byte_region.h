// Memory whose bytes stay put while someone holds a reference to it: the
// chunks a capture file is read into. A packet read into one points into
// it, so the reorder window and the file writers can keep the packet's
// bytes by taking a reference instead of copying them (a 64 KB loopback
// segment used to be copied three more times on its way to its file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tcpscribe/packet.h"

namespace tcpscribe {

struct ByteRegion {
  const uint8_t* data = nullptr;
  size_t size = 0;

  bool contains(const uint8_t* p, size_t n) const {
    const auto lo = reinterpret_cast<uintptr_t>(data);
    const auto at = reinterpret_cast<uintptr_t>(p);
    return at >= lo && n <= size && at - lo <= size - n;
  }
};

/// The region of the packet the pipeline is working on, if it has one:
/// set around each packet, so that a sink handed bytes of that packet may
/// keep them by reference.
struct CurrentRegion {
  const ByteRegionRef* ref = nullptr;

  /// A reference to the region holding [p, p + n), or null.
  ByteRegionRef holding(const uint8_t* p, size_t n) const {
    if (ref && *ref && (*ref)->contains(p, n)) return *ref;
    return nullptr;
  }
};

}  // namespace tcpscribe
