// Batches of packets from the capture thread to the reassembling thread.
#pragma once

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
  size_t size_bytes() const { return bytes.size() + packets.size() * sizeof(Meta); }
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

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PacketBatch> q_;
  size_t bytes_ = 0;
  size_t max_bytes_;
  bool closed_ = false;
};

}  // namespace tcpscribe
