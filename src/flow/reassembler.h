// One direction of a TCP connection: sequence numbers in, ordered bytes out.
//
// Sequence numbers are mapped to 64-bit stream offsets by their signed
// 32-bit distance (RFC 1982) from the next byte expected, so wraparound
// needs no special case. Bytes arrive in any order and any number of
// copies; the first copy of a byte wins (as in Wireshark) and later copies
// that differ are counted as conflicting overlaps. Bytes that can be
// delivered in order go out at once; the rest wait in a buffer of
// non-overlapping pieces until the hole before them fills or is declared
// a gap (flow end, buffer cap, or the peer acknowledging past it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// Receives a direction's stream in offset order: every offset is covered
/// by exactly one data or gap call.
class StreamOutput {
 public:
  virtual ~StreamOutput() = default;
  virtual void data(uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts) = 0;
  virtual void gap(uint64_t offset, uint64_t length, Timestamp ts) = 0;
};

/// What one call to add() found, for statistics.
struct AddResult {
  uint64_t new_bytes = 0;        ///< bytes not seen before
  uint64_t old_bytes = 0;        ///< bytes already seen (retransmitted)
  bool conflict = false;         ///< some old byte differed from the first copy
  bool before_start = false;     ///< data before the stream's first byte (dropped)
  uint64_t after_end = 0;        ///< bytes beyond the direction's FIN/RST (dropped)
};

class StreamReassembler {
 public:
  /// Bytes of delivered stream kept to compare retransmissions with.
  static constexpr size_t kHistoryBytes = 1024;

  bool has_base() const { return has_base_; }
  /// Sets the sequence number of stream offset 0 (ISN + 1, or the first
  /// sequence number seen when the connection was picked up midstream).
  void set_base(uint32_t seq);
  uint32_t base() const { return base_; }

  /// Offset of a sequence number, relative to the next byte expected.
  int64_t offset_of(uint32_t seq) const;

  /// Adds `len` captured bytes at `seq`, followed by `missing` bytes that
  /// the capture cut off (they become a gap unless another copy fills them).
  AddResult add(uint32_t seq, const uint8_t* data, uint32_t len, uint32_t missing,
                Timestamp ts, StreamOutput& out);

  /// Declares holes up to `offset` lost when data waits beyond them: called
  /// when the peer acknowledged past a hole, or a buffer cap is hit.
  void flush_holes_until(uint64_t offset, Timestamp ts, StreamOutput& out);
  /// Delivers everything buffered, holes becoming gaps (end of flow),
  /// including a hole between the last byte seen and a FIN.
  void flush_all(Timestamp ts, StreamOutput& out);

  /// A keep-alive probe: at most one (garbage) byte just before the next
  /// byte expected. Its byte is not stream data.
  bool is_keep_alive(uint32_t seq, uint32_t len) const;

  /// Records a FIN (or RST) at `seq`; the first one wins. Nothing at or
  /// beyond it (or beyond what was already delivered, if that is further)
  /// is taken from then on, and what waits there is dropped: the
  /// direction's stream ends there, so its shutdown is its last event.
  void set_end(uint32_t seq);
  /// The direction ended where its delivered bytes end (a RST, after
  /// flush_all): nothing later is taken, a FIN seen later included.
  void seal() { end_ = next_; }
  std::optional<uint64_t> end_offset() const { return end_; }
  /// All bytes before the FIN/RST have been delivered.
  bool complete() const { return end_ && next_ >= *end_; }

  uint64_t next_offset() const { return next_; }
  /// Memory the buffered pieces cost, as the caps count it: each piece is
  /// charged piece_cost(), so a flood of tiny pieces reaches a cap as
  /// soon as its real memory does (a one-byte piece costs ~130 bytes).
  size_t buffered_bytes() const { return buffered_; }
  /// A piece's map node (std::map node of offset + Piece, as malloc
  /// rounds it) plus its bytes' allocation (at least malloc's smallest).
  static constexpr size_t kPieceOverhead = 96;
  static constexpr size_t kMinAllocation = 32;
  static constexpr size_t piece_cost(size_t bytes) {
    return kPieceOverhead + (bytes == 0 ? 0 : std::max(bytes, kMinAllocation));
  }
  bool has_holes() const { return !pieces_.empty(); }
  /// Offset of the first buffered piece (only when has_holes()).
  uint64_t first_buffered_offset() const { return pieces_.begin()->first; }

 private:
  struct Piece {
    std::vector<uint8_t> bytes;  // empty for a cut (missing) range
    uint64_t length = 0;
    Timestamp ts = 0;
  };
  void insert(uint64_t offset, const uint8_t* data, uint64_t len, Timestamp ts,
              AddResult& r);
  void compare_history(uint64_t offset, const uint8_t* data, uint64_t len,
                       AddResult& r) const;
  void deliver_ready(StreamOutput& out);
  void emit(uint64_t offset, const Piece& p, StreamOutput& out);
  void remember(std::span<const uint8_t> bytes);

  bool has_base_ = false;
  uint32_t base_ = 0;
  uint64_t next_ = 0;
  std::optional<uint64_t> end_;
  std::map<uint64_t, Piece> pieces_;
  size_t buffered_ = 0;
  // The last kHistoryBytes delivered, as a ring indexed by stream offset.
  std::unique_ptr<uint8_t[]> history_;
  // Offsets below this were delivered as gaps (or never): not comparable.
  uint64_t history_valid_from_ = 0;
};

}  // namespace tcpscribe
