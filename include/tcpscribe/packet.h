// Raw packets as they come out of a capture source, before any decoding.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace tcpscribe {

/// Nanoseconds since the Unix epoch (capture time).
using Timestamp = int64_t;

constexpr Timestamp kNanosPerSecond = 1'000'000'000;

/// A time as whole seconds, rounded down (so a time before 1970 keeps a
/// positive fraction), and the nanoseconds after them (0 to 10^9 - 1).
struct SplitTime {
  Timestamp sec;
  Timestamp ns;
};
constexpr SplitTime split_time(Timestamp t) {
  const Timestamp ns = t % kNanosPerSecond;
  return ns < 0 ? SplitTime{t / kNanosPerSecond - 1, ns + kNanosPerSecond}
                : SplitTime{t / kNanosPerSecond, ns};
}

/// Memory a packet may live in (src/byte_region.h).
struct ByteRegion;
/// Holding one keeps the region's bytes readable and unchanged.
using ByteRegionRef = std::shared_ptr<const ByteRegion>;

/// One captured frame. `data` stays valid until the next call to the
/// source that produced it.
struct RawPacket {
  Timestamp ts = 0;
  int linktype = 0;        ///< DLT_* value of the interface the frame came from.
  uint32_t caplen = 0;     ///< Bytes present at `data`.
  uint32_t origlen = 0;    ///< Bytes the frame had on the wire.
  const uint8_t* data = nullptr;
  /// Which input it came from: the index of its -r/-R file in command-line
  /// order (several files are read merged by timestamp), 0 for live capture.
  uint32_t source = 0;
  /// Not null when `data` lies in a region that can be kept beyond the
  /// next call to the source: a copy of *region keeps the bytes (valid,
  /// like `data`, until that next call).
  const ByteRegionRef* region = nullptr;
};

enum class ReadStatus { kPacket, kEnd, kError };

/// Where packets come from: a capture file, a live device, or (in tests) a
/// vector of crafted frames.
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  /// Fetches the next packet. On kError, error() says what went wrong and
  /// where; the packets returned before stay valid results.
  virtual ReadStatus next(RawPacket& out) = 0;
  virtual const std::string& error() const = 0;
  /// Human-readable name for messages ("capture.pcap", "eth0").
  virtual const std::string& name() const = 0;
};

}  // namespace tcpscribe
