// Batches of packets from the capture thread to the reassembling thread.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// Packets copied out of libpcap's buffer, stored back to back in a buffer
/// of fixed size that is never reallocated: the capture thread must not
/// spend its time growing vectors (copying what it already copied, and
/// faulting in fresh pages) while packets wait in the kernel's ring.
struct PacketBatch {
  static constexpr size_t kCapacity = 4u << 20;  // > the largest packet (snaplen)
  struct Meta {
    Timestamp ts;
    uint32_t caplen;
    uint32_t origlen;
    size_t offset;
  };
  int linktype = 0;
  std::vector<Meta> packets;

  /// A batch with its buffer (a default-constructed one has none).
  static PacketBatch make() {
    PacketBatch b;
    b.buffer_ = Buffer(allocate());
    b.packets.reserve(1024);
    return b;
  }
  bool has_buffer() const { return buffer_ != nullptr; }
  /// False when the packet does not fit: hand this batch on, take another.
  bool add(Timestamp ts, uint32_t caplen, uint32_t origlen, const uint8_t* data) {
    if (used_ + caplen > kCapacity) return false;
    packets.push_back({ts, caplen, origlen, used_});
    std::memcpy(buffer_.get() + used_, data, caplen);
    used_ += caplen;
    return true;
  }
  void clear() {
    packets.clear();
    used_ = 0;
  }
  /// Faults the buffer in now rather than on first use.
  void touch() {
    if (buffer_) std::memset(buffer_.get(), 0, kCapacity);
  }
  RawPacket at(size_t i) const {
    const Meta& m = packets[i];
    return {m.ts, linktype, m.caplen, m.origlen, buffer_.get() + m.offset};
  }
  /// Memory held: what bounds the queue is real memory.
  size_t size_bytes() const {
    return (buffer_ ? kCapacity : 0) + packets.capacity() * sizeof(Meta);
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

 private:
  struct Unmap {
    void operator()(uint8_t* p) const { ::munmap(p, kCapacity); }
  };
  using Buffer = std::unique_ptr<uint8_t, Unmap>;
  // Aligned to 2 MiB and marked for transparent huge pages: a fresh batch
  // then costs two page faults instead of a thousand.
  static uint8_t* allocate() {
    constexpr size_t kHuge = 2u << 20;
    void* m = ::mmap(nullptr, kCapacity + kHuge, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    auto* raw = static_cast<uint8_t*>(m);
    const uintptr_t addr = reinterpret_cast<uintptr_t>(raw);
    auto* aligned = reinterpret_cast<uint8_t*>((addr + kHuge - 1) & ~(kHuge - 1));
    const size_t head = static_cast<size_t>(aligned - raw);
    if (head > 0) ::munmap(raw, head);
    if (kHuge - head > 0) ::munmap(aligned + kCapacity, kHuge - head);
    ::madvise(aligned, kCapacity, MADV_HUGEPAGE);
    return aligned;
  }
  Buffer buffer_;
  size_t used_ = 0;
};

/// Single producer, single consumer; bounded in bytes. A full queue refuses
/// the batch (the producer counts those packets as dropped) rather than
/// blocking the capture thread.
class PacketQueue {
 public:
  explicit PacketQueue(size_t max_bytes)
      : max_bytes_(max_bytes), max_free_(max_bytes / PacketBatch::kCapacity + 1) {}

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
    b.clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < max_free_) free_.push_back(std::move(b));
  }
  /// Maps and touches batches for the whole queue ahead of need: a burst
  /// must not make the capture thread fault in (and zero) fresh pages while
  /// the kernel's ring fills; measured, that alone made it drop packets.
  void reserve() {
    const size_t n = max_free_;
    std::vector<PacketBatch> made;
    for (size_t i = 0; i < n; ++i) {
      made.push_back(PacketBatch::make());
      made.back().touch();
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (PacketBatch& b : made) {
      if (free_.size() < max_free_) free_.push_back(std::move(b));
    }
  }
  PacketBatch take_free() {
    std::unique_lock<std::mutex> lock(mu_);
    if (free_.empty()) {
      lock.unlock();
      return PacketBatch::make();
    }
    PacketBatch b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PacketBatch> q_;
  std::vector<PacketBatch> free_;
  size_t bytes_ = 0;
  size_t max_bytes_;
  size_t max_free_;  // batches kept for reuse: as many as the queue holds
  bool closed_ = false;
};

}  // namespace tcpscribe
