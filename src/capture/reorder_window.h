// Puts packets back in timestamp order within a small window.
//
// Captures taken on several interfaces or queues (tcpdump -i any, pcapng
// merges, multi-queue NICs) record packets slightly out of time order; a
// SYN written after the data that followed it would otherwise turn one
// connection into two. Holding the last N packets and always releasing the
// earliest restores the order; packets with equal timestamps keep their
// capture order.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "byte_region.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

class ReorderWindow {
 public:
  /// `window` packets are held; 0 passes packets straight through.
  explicit ReorderWindow(size_t window) : window_(window) {}

  /// Adds a packet (copied, or when it lies in a region, kept by a
  /// reference to the region); calls `emit(const RawPacket&)` for each packet
  /// that leaves the window, earliest first.
  template <typename Emit>
  void push(const RawPacket& p, Emit&& emit) {
    if (window_ == 0) {
      emit(p);
      return;
    }
    hold(p);
    while (heap_.size() > window_) release(emit);
  }

  /// Releases everything held (end of a capture file).
  template <typename Emit>
  void drain(Emit&& emit) {
    while (!heap_.empty()) release(emit);
  }

  size_t held() const { return heap_.size(); }
  /// Packets that arrived too late for the window (released out of order).
  uint64_t late() const { return late_; }

 private:
  struct Held {
    Timestamp ts;
    uint64_t serial;
    size_t slot;
  };
  struct Later {
    bool operator()(const Held& a, const Held& b) const {
      return a.ts != b.ts ? a.ts > b.ts : a.serial > b.serial;
    }
  };
  struct Slot {
    RawPacket meta;
    std::vector<uint8_t> bytes;
    ByteRegionRef region;  // meta.data points into it (else into bytes)
  };

  void hold(const RawPacket& p);

  template <typename Emit>
  void release(Emit& emit) {
    const Held h = heap_.top();
    heap_.pop();
    Slot& s = slots_[h.slot];
    if (s.region) {
      s.meta.region = &s.region;
    } else {
      s.meta.data = s.bytes.data();
    }
    if (released_any_ && s.meta.ts < last_released_) ++late_;
    released_any_ = true;
    if (s.meta.ts > last_released_) last_released_ = s.meta.ts;
    emit(static_cast<const RawPacket&>(s.meta));
    s.region.reset();
    free_.push_back(h.slot);
  }

  size_t window_;
  std::priority_queue<Held, std::vector<Held>, Later> heap_;
  std::vector<Slot> slots_;
  std::vector<size_t> free_;
  uint64_t serial_ = 0;
  uint64_t late_ = 0;
  Timestamp last_released_ = INT64_MIN;
  bool released_any_ = false;
};

}  // namespace tcpscribe
