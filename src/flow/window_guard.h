// Keeps a segment far beyond any window its connection has shown (a forged
// or corrupt sequence number) out of the stream, so that one such segment
// does not stretch the stream into a sparse file of hundreds of megabytes.
//
// A sender has at most one receive window of bytes in flight beyond what
// its peer acknowledged. The guard knows the largest window either side
// advertised (scaled by the SYNs' window scale options; when the handshake
// was not seen, by the largest scale, 14, so a midstream connection is
// judged leniently), and per direction the end of the highest bytes
// accepted and the highest offset the peer acknowledged. A segment that
// starts more than twice that window (and at least kMinReach) past both is
// out of window. It is held, not dropped at once: if the next segment of
// its direction continues it, or the peer acknowledges up to it, the jump
// was real (a long capture outage) and it goes into the stream; otherwise,
// when another far segment replaces it or the connection ends, it is
// rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "tcpscribe/segment.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

class WindowGuard {
 public:
  static constexpr uint64_t kMinReach = 1u << 20;

  /// A segment held back, with a copy of its bytes.
  struct Held {
    Segment seg;          // payload points into `bytes`
    std::vector<uint8_t> bytes;
    uint32_t data_seq = 0;
    uint64_t offset = 0;  // stream offset of its first byte
    uint64_t end() const { return offset + seg.payload_len + seg.missing_len; }
  };

  /// Every segment of the connection: window sizes and scales.
  void observe(Dir d, const Segment& s);
  /// Bytes of direction `di` accepted into the stream up to `end`.
  void accepted(int di, uint64_t end) { front_[di] = std::max(front_[di], end); }
  /// The peer acknowledged direction `di` up to `offset`.
  void acked(int di, uint64_t offset) { acked_[di] = std::max(acked_[di], offset); }

  enum class Verdict {
    kTake,           ///< into the stream
    kHold,           ///< out of window: held (see held())
    kTakeHeldFirst,  ///< continues the held segment: take_held(), then this one
  };
  /// Judges a segment of direction `di` starting at stream `offset`. A held
  /// segment that this one replaces is moved to `rejected`.
  Verdict judge(int di, int64_t offset, uint32_t data_seq, const Segment& s,
                std::unique_ptr<Held>& rejected);
  /// The held segment of direction `di`, if the evidence now puts it in
  /// window (the peer acknowledged up to it), else nothing.
  std::unique_ptr<Held> release_if_in_window(int di);
  std::unique_ptr<Held> take_held(int di) { return std::move(held_[di]); }
  const Held* held(int di) const { return held_[di].get(); }

  /// How far past the highest byte accepted or acknowledged a segment may start.
  uint64_t reach() const;
  uint64_t largest_window() const { return max_window_; }

 private:
  bool in_window(int di, uint64_t offset) const {
    return offset <= std::max(front_[di], acked_[di]) + reach();
  }

  bool syn_[2] = {false, false};
  int8_t wscale_[2] = {-1, -1};
  uint64_t max_window_ = 0;
  uint64_t front_[2] = {0, 0};
  uint64_t acked_[2] = {0, 0};
  std::unique_ptr<Held> held_[2];  // out of line: rare, and entries stay small
};

}  // namespace tcpscribe
