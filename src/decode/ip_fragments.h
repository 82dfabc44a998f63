// IPv4/IPv6 fragment reassembly with bounded memory.
//
// The decoder parses the IP (and IPv6 Fragment) headers itself and hands
// each fragment's payload to an IpDefragmenter; once every byte of a
// datagram is present the reassembled payload comes back and is decoded as
// if it had arrived unfragmented. Fragments come from the network, so every
// piece of state here is capped: an attacker's fragment stream can cost at
// most FragmentLimits worth of memory, never more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tcpscribe/flow_key.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

/// Caps on the reassembly state. When a cap would be exceeded the oldest
/// datagrams (by capture time of their first fragment) are dropped.
struct FragmentLimits {
  /// Reassembly buffer bytes held by all pending datagrams together (see
  /// IpDefragmenter::pending_bytes()).
  size_t max_bytes = 32u << 20;
  /// Datagrams being reassembled at once. 0 is treated as 1.
  size_t max_datagrams = 8192;
  /// Capture time since a datagram's first fragment after which it is
  /// abandoned.
  Timestamp timeout = 30 * kNanosPerSecond;
};

/// Counters for diagnostics; all only ever grow.
struct FragmentStats {
  uint64_t fragments = 0;             ///< Calls to add().
  uint64_t reassembled = 0;           ///< Datagrams completed and returned.
  uint64_t timed_out = 0;             ///< Datagrams dropped by the timeout.
  uint64_t evicted_for_limits = 0;    ///< Datagrams dropped to honour limits.
  uint64_t overlaps_conflicting = 0;  ///< Fragments whose overlap differed.
  uint64_t malformed = 0;             ///< Fragments rejected as inconsistent.
};

/// Reassembles IPv4 and IPv6 fragments into whole datagram payloads.
///
/// Datagrams are keyed by (src, dst, id, protocol, IP version). Fragments may
/// arrive in any order, duplicated or overlapping; where copies overlap the
/// bytes seen first win (as most stacks and tcpflow do), and a later copy that
/// disagrees is counted in overlaps_conflicting.
///
/// A fragment is malformed, counted, and its datagram dropped when it would
/// make the reassembled payload exceed 65535 bytes (the IPv4 Total Length and
/// the IPv6 Payload Length are 16-bit, and RFC 8200 forbids fragmenting
/// jumbograms), when its offset is not a multiple of 8, when two final
/// fragments (more == false) disagree on the end, or when data lies beyond
/// the known end.
///
/// Not thread-safe; use one instance per decoding thread.
class IpDefragmenter {
 public:
  /// Largest reassembled payload accepted, in bytes.
  static constexpr uint32_t kMaxPayload = 65535;

  explicit IpDefragmenter(FragmentLimits limits = {});

  // Not copyable: by_age_ points at keys inside table_'s nodes. Moving the
  // node-based containers keeps those nodes, so moves are fine.
  IpDefragmenter(const IpDefragmenter&) = delete;
  IpDefragmenter& operator=(const IpDefragmenter&) = delete;
  IpDefragmenter(IpDefragmenter&&) = default;
  IpDefragmenter& operator=(IpDefragmenter&&) = default;

  /// Feeds one fragment. `offset` is in bytes (already multiplied by 8),
  /// `more` is the MF flag, `data`/`len` the fragment's payload (after the
  /// IPv4 header, or after the IPv6 Fragment header). `protocol` is the IPv4
  /// protocol field or the IPv6 Next Header of the Fragment header.
  /// Returns true when the datagram is complete; `out` then holds the whole
  /// payload (offset 0..end) and the datagram is forgotten. On false `out` is
  /// left untouched. A fragment with offset 0 and more == false (e.g. an IPv6
  /// atomic fragment) completes at once. Datagrams older than the timeout at
  /// `ts` are expired first.
  bool add(Timestamp ts, const IpAddr& src, const IpAddr& dst, uint32_t id,
           uint8_t protocol, uint32_t offset, bool more, const uint8_t* data,
           size_t len, std::vector<uint8_t>& out);

  /// Drops datagrams whose first fragment is older than the timeout at
  /// capture time `now`.
  void expire(Timestamp now);

  /// Counters since construction.
  const FragmentStats& stats() const { return stats_; }

  /// Reassembly buffer bytes currently allocated by pending datagrams: what
  /// FragmentLimits::max_bytes caps. This is at least the fragment data held,
  /// and includes gaps below the highest byte received, because a datagram's
  /// buffer is contiguous.
  size_t pending_bytes() const { return pending_bytes_; }

  /// Datagrams currently being reassembled.
  size_t pending_datagrams() const { return table_.size(); }

 private:
  struct Key {
    IpAddr src;
    IpAddr dst;
    uint32_t id = 0;
    uint8_t protocol = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };

  struct KeyHash {
    uint64_t seed = 0;
    size_t operator()(const Key& k) const noexcept;
  };

  /// Half-open byte range [begin, end) of a datagram that has been received.
  struct Range {
    uint32_t begin = 0;
    uint32_t end = 0;
  };

  /// Orders datagrams by age; `seq` breaks ties between equal timestamps so
  /// that every datagram has a distinct entry.
  using AgeKey = std::pair<Timestamp, uint64_t>;

  struct Datagram {
    /// Payload bytes at their final offsets; size() is the highest byte end
    /// received so far. Gaps are zero until filled.
    std::vector<uint8_t> buf;
    /// Received ranges: sorted, disjoint and non-adjacent (merged).
    std::vector<Range> ranges;
    uint32_t end = 0;  ///< Payload length; valid once end_known.
    bool end_known = false;
    /// Bytes this datagram adds to pending_bytes_ (buf's capacity), kept
    /// separately so the charge can be undone after buf has been moved out.
    size_t charged = 0;
    AgeKey age;
  };

  using Table = std::unordered_map<Key, Datagram, KeyHash>;

  /// Forgets a datagram and the memory charged to it.
  void drop(Table::iterator it);
  /// Drops the oldest datagram other than the one keyed by `keep` (nullptr:
  /// none spared), counting it as evicted. Returns false when there is none.
  bool evict_oldest_except(const Key* keep);
  /// Grows `it`'s buffer to hold `need` bytes, evicting other datagrams to
  /// stay within max_bytes. Returns false (having dropped `it`) when the
  /// datagram alone cannot fit.
  bool reserve_for(Table::iterator it, uint32_t need);
  /// Copies [offset, offset+len) into the datagram where no bytes were
  /// received yet; returns true when already-present bytes differ.
  static bool merge(Datagram& d, uint32_t offset, const uint8_t* data,
                    uint32_t len);
  static bool complete(const Datagram& d);

  FragmentLimits limits_;
  FragmentStats stats_;
  Table table_;
  /// Ages of every datagram in table_, oldest first, for expiry and
  /// eviction. The pointers target keys inside table_ nodes, which stay put
  /// across rehashing.
  std::map<AgeKey, const Key*> by_age_;
  uint64_t next_seq_ = 0;
  size_t pending_bytes_ = 0;
};

}  // namespace tcpscribe
