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
  /// Bytes of packet data held.
  size_t used() const { return used_; }
  const uint8_t* data() const { return buffer_.get(); }
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
  /// Faults the buffer in now rather than on first use: one write per
  /// page (the kernel zeroes it), not a second pass over all of it.
  void touch() {
    if (!buffer_) return;
    volatile uint8_t* m = buffer_.get();
    for (size_t off = 0; off < kCapacity; off += 4096) m[off] = 0;
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
///
/// Memory is mapped as the queue is used, not up front: a few spare batches
/// (`ahead`) are kept mapped and faulted in by another thread (top_up(), see
/// wait_for_demand()), so the capture thread copies into pages that are
/// already there while the queue grows towards its bound, and an idle
/// capture holds only those few. Consumed batches are recycled, so the
/// memory held is the deepest the queue has been, plus `ahead`.
class PacketQueue {
 public:
  static constexpr size_t kDefaultAhead = 8;  // 32 MiB

  explicit PacketQueue(size_t max_bytes, size_t ahead = kDefaultAhead)
      : max_bytes_(max_bytes),
        max_batches_(max_bytes / PacketBatch::kCapacity + 1),
        ahead_(std::min(ahead, max_batches_)) {}

  bool push(PacketBatch&& b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (bytes_ + b.size_bytes() > max_bytes_ && !q_.empty()) return false;
      bytes_ += b.size_bytes();
      packets_ += b.packets.size();
      data_bytes_ += b.used();
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
    packets_ -= out.packets.size();
    data_bytes_ -= out.used();
    return true;
  }
  bool empty() const {
    std::lock_guard<std::mutex> lock(mu_);
    return q_.empty();
  }
  /// Packets waiting in the queue, and their bytes.
  size_t queued_packets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return packets_;
  }
  size_t queued_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return data_bytes_;
  }
  /// Throws away every queued batch (their memory is kept for reuse);
  /// returns how many packets they held.
  size_t discard() {
    std::lock_guard<std::mutex> lock(mu_);
    const size_t n = packets_;
    while (!q_.empty()) {
      keep_locked(std::move(q_.front()));
      q_.pop_front();
    }
    bytes_ = 0;
    packets_ = 0;
    data_bytes_ = 0;
    return n;
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
    std::lock_guard<std::mutex> lock(mu_);
    keep_locked(std::move(b));
  }
  /// The capture thread's next batch: a spare one, already faulted in.
  /// Only when none is ready (the faulting thread fell behind) is one made
  /// here, its pages then faulted in as packets are copied into it.
  PacketBatch take_free() {
    std::unique_lock<std::mutex> lock(mu_);
    if (free_.empty()) {
      ++made_;
      ++made_on_demand_;
      lock.unlock();
      demand_.notify_one();
      return PacketBatch::make();
    }
    PacketBatch b = std::move(free_.back());
    free_.pop_back();
    const bool low = needs_more_locked();
    lock.unlock();
    if (low) demand_.notify_one();
    return b;
  }
  /// Maps and faults in batches until `ahead` spare ones are ready or the
  /// queue's bound is reached; returns how many it made. Slow (page
  /// faults): call it off the capture thread. One caller at a time.
  size_t top_up() {
    size_t n = 0;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!needs_more_locked()) break;
        ++made_;
      }
      PacketBatch b = PacketBatch::make();
      b.touch();
      ++n;
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(std::move(b));
    }
    return n;
  }
  /// For the thread that calls top_up(): waits until spare batches run
  /// low; false once stop_faulting() was called.
  bool wait_for_demand() {
    std::unique_lock<std::mutex> lock(mu_);
    demand_.wait(lock, [&] { return stopped_ || needs_more_locked(); });
    return !stopped_;
  }
  void stop_faulting() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    demand_.notify_all();
  }
  /// Batches mapped so far (the queue's memory is this many times 4 MiB),
  /// and how many of them the capture thread had to make itself.
  size_t batches_made() const {
    std::lock_guard<std::mutex> lock(mu_);
    return made_;
  }
  size_t made_on_demand() const {
    std::lock_guard<std::mutex> lock(mu_);
    return made_on_demand_;
  }

 private:
  bool needs_more_locked() const { return free_.size() < ahead_ && made_ < max_batches_; }
  void keep_locked(PacketBatch&& b) {
    b.clear();
    if (free_.size() < max_batches_) free_.push_back(std::move(b));
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable demand_;
  std::deque<PacketBatch> q_;
  std::vector<PacketBatch> free_;
  size_t bytes_ = 0;
  size_t packets_ = 0;
  size_t data_bytes_ = 0;
  size_t max_bytes_;
  size_t max_batches_;  // as many as the queue holds: never more are made ahead
  size_t ahead_;        // spare batches kept faulted in
  size_t made_ = 0;
  size_t made_on_demand_ = 0;
  bool closed_ = false;
  bool stopped_ = false;
};

}  // namespace tcpscribe
