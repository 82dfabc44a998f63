// Batches of packets from the capture thread to the reassembling thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// Packets copied out of libpcap's buffer, stored back to back.
struct PacketBatch {
  struct Meta {
    Timestamp ts;
    uint32_t caplen;
    uint32_t origlen;
    size_t offset;
  };
  int linktype = 0;
  std::vector<uint8_t> bytes;
  std::vector<Meta> packets;

  void add(Timestamp ts, uint32_t caplen, uint32_t origlen, const uint8_t* data) {
    packets.push_back({ts, caplen, origlen, bytes.size()});
    bytes.insert(bytes.end(), data, data + caplen);
  }
  RawPacket at(size_t i) const {
    const Meta& m = packets[i];
    return {m.ts, linktype, m.caplen, m.origlen, bytes.data() + m.offset};
  }
  /// Memory held, capacity included: what bounds the queue is real memory.
  size_t size_bytes() const {
    return bytes.capacity() + packets.capacity() * sizeof(Meta);
  }
  /// Puts the packets in timestamp order (stable): packets merged from
  /// several interfaces (-i any) can be a little out of order.
  void sort_by_time() {
    if (!std::is_sorted(packets.begin(), packets.end(),
                        [](const Meta& a, const Meta& b) { return a.ts < b.ts; })) {
      std::stable_sort(packets.begin(), packets.end(),
                       [](const Meta& a, const Meta& b) { return a.ts < b.ts; });
    }
  }
};

/// Single producer, single consumer; bounded in bytes. A full queue refuses
/// the batch (the producer counts those packets as dropped) rather than
/// blocking the capture thread.
class PacketQueue {
 public:
  explicit PacketQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  bool push(PacketBatch&& b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (bytes_ + b.size_bytes() > max_bytes_ && !q_.empty()) return false;
      bytes_ += b.size_bytes();
      q_.push_back(std::move(b));
    }
    cv_.notify_one();
    return true;
  }
  /// Waits up to `timeout` for a batch; false when none came.
  bool pop(PacketBatch& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !q_.empty() || closed_; })) return false;
    if (q_.empty()) return false;
    out = std::move(q_.front());
    q_.pop_front();
    bytes_ -= out.size_bytes();
    return true;
  }
  bool empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    return q_.empty();
  }
  /// The producer is done; pop() stops waiting.
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  /// Hands a consumed batch back so its buffers are reused: the capture
  /// thread then copies into memory that is already mapped instead of
  /// growing fresh vectors while packets wait in the kernel.
  void recycle(PacketBatch&& b) {
    b.bytes.clear();
    b.packets.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < kFreeBatches) free_.push_back(std::move(b));
  }
  PacketBatch take_free() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.empty()) {
      PacketBatch b;
      b.bytes.reserve(256u << 10);
      b.packets.reserve(256);
      return b;
    }
    PacketBatch b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PacketBatch> q_;
  static constexpr size_t kFreeBatches = 16;
  std::vector<PacketBatch> free_;
  size_t bytes_ = 0;
  size_t max_bytes_;
  bool closed_ = false;
};

}  // namespace tcpscribe
