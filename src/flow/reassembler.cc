#include "reassembler.h"

#include <algorithm>
#include <cstring>

namespace tcpscribe {

void StreamReassembler::set_base(uint32_t seq) {
  has_base_ = true;
  base_ = seq;
}

int64_t StreamReassembler::offset_of(uint32_t seq) const {
  const uint32_t expected = base_ + static_cast<uint32_t>(next_);
  return static_cast<int64_t>(next_) + static_cast<int32_t>(seq - expected);
}

AddResult StreamReassembler::add(uint32_t seq, const uint8_t* data, uint32_t len,
                                 uint32_t missing, Timestamp ts, StreamOutput& out) {
  AddResult r;
  int64_t offset = offset_of(seq);
  if (offset < 0) {
    // Bytes from before the stream's first byte: a retransmission of data
    // sent before a midstream pickup, or garbage. Keep what follows 0.
    const uint64_t skip = static_cast<uint64_t>(-offset);
    if (skip >= uint64_t{len} + missing) {
      r.before_start = len + missing > 0;
      return r;
    }
    if (skip <= len) {
      data += skip;
      len -= static_cast<uint32_t>(skip);
    } else {
      missing -= static_cast<uint32_t>(skip - len);
      len = 0;
    }
    offset = 0;
  }
  auto start = static_cast<uint64_t>(offset);
  if (end_) {
    // Past the end of the stream: a second FIN's data, garbage.
    const uint64_t limit = std::max(*end_, next_);
    if (start >= limit) {
      r.after_end = uint64_t{len} + missing;
      return r;
    }
    const uint64_t room = limit - start;
    if (len > room) {
      r.after_end = len - room + missing;
      len = static_cast<uint32_t>(room);
      missing = 0;
    } else if (uint64_t{len} + missing > room) {
      r.after_end = len + missing - room;
      missing = static_cast<uint32_t>(room - len);
    }
  }
  if (pieces_.empty() && start <= next_ && start + len > next_) {
    // The common case, in-order data with nothing waiting: straight out,
    // without a trip through the buffer.
    const uint64_t old = next_ - start;
    if (old > 0) {
      compare_history(start, data, old, r);
      r.old_bytes += old;
    }
    const std::span<const uint8_t> fresh(data + old, len - old);
    remember(fresh);
    out.data(next_, fresh, ts);
    next_ += fresh.size();
    r.new_bytes += fresh.size();
    if (missing > 0) insert(next_, nullptr, missing, ts, r);
    deliver_ready(out);
    return r;
  }
  if (len > 0) insert(start, data, len, ts, r);
  if (missing > 0) insert(start + len, nullptr, missing, ts, r);
  deliver_ready(out);
  return r;
}

void StreamReassembler::compare_history(uint64_t offset, const uint8_t* data,
                                        uint64_t len, AddResult& r) const {
  // Only bytes still in the ring and delivered as data can be compared.
  if (!history_) return;
  const uint64_t kept = std::min<uint64_t>(kHistoryBytes, next_ - history_valid_from_);
  const uint64_t lo = std::max(offset, next_ - kept);
  const uint64_t hi = std::min(offset + len, next_);
  for (uint64_t o = lo; o < hi; ++o) {
    if (history_[o % kHistoryBytes] != data[o - offset]) {
      r.conflict = true;
      return;
    }
  }
}

void StreamReassembler::insert(uint64_t offset, const uint8_t* data, uint64_t len,
                               Timestamp ts, AddResult& r) {
  uint64_t cur = offset;
  const uint64_t end = offset + len;
  if (cur < next_) {
    const uint64_t upto = std::min(end, next_);
    if (data) {
      compare_history(cur, data, upto - cur, r);
      r.old_bytes += upto - cur;
    }
    cur = upto;
  }
  auto it = pieces_.upper_bound(cur);
  if (it != pieces_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.length > cur) it = prev;
  }
  while (cur < end) {
    if (it != pieces_.end() && it->first <= cur) {
      const Piece& p = it->second;
      const uint64_t upto = std::min(end, it->first + p.length);
      if (data) {
        if (!p.bytes.empty() &&
            std::memcmp(p.bytes.data() + (cur - it->first), data + (cur - offset),
                        upto - cur) != 0) {
          r.conflict = true;
        }
        r.old_bytes += upto - cur;
      }
      cur = upto;
      ++it;
      continue;
    }
    const uint64_t stop = it == pieces_.end() ? end : std::min(end, it->first);
    Piece piece;
    piece.length = stop - cur;
    piece.ts = ts;
    if (data) {
      piece.bytes.assign(data + (cur - offset), data + (stop - offset));
      r.new_bytes += piece.length;
    }
    buffered_ += piece_cost(piece.bytes.size());
    it = std::next(pieces_.emplace_hint(it, cur, std::move(piece)));
    cur = stop;
  }
}

void StreamReassembler::remember(std::span<const uint8_t> bytes) {
  if (!history_) history_ = std::make_unique_for_overwrite<uint8_t[]>(kHistoryBytes);
  const size_t n = std::min(bytes.size(), kHistoryBytes);
  const uint64_t first = next_ + bytes.size() - n;
  const uint8_t* src = bytes.data() + bytes.size() - n;
  const size_t at = first % kHistoryBytes;
  const size_t head = std::min(n, kHistoryBytes - at);
  std::memcpy(history_.get() + at, src, head);
  std::memcpy(history_.get(), src + head, n - head);
}

void StreamReassembler::emit(uint64_t offset, const Piece& p, StreamOutput& out) {
  if (p.bytes.empty()) {
    out.gap(offset, p.length, p.ts);
    history_valid_from_ = offset + p.length;
  } else {
    remember(p.bytes);
    out.data(offset, p.bytes, p.ts);
  }
}

void StreamReassembler::deliver_ready(StreamOutput& out) {
  while (!pieces_.empty() && pieces_.begin()->first == next_) {
    auto node = pieces_.extract(pieces_.begin());
    Piece& p = node.mapped();
    buffered_ -= piece_cost(p.bytes.size());
    emit(next_, p, out);
    next_ += p.length;
  }
}

void StreamReassembler::flush_holes_until(uint64_t offset, Timestamp ts,
                                          StreamOutput& out) {
  while (!pieces_.empty() && pieces_.begin()->first < offset) {
    const uint64_t start = pieces_.begin()->first;
    if (start > next_) {
      out.gap(next_, start - next_, ts);
      next_ = start;
      history_valid_from_ = start;
    }
    deliver_ready(out);
  }
}

void StreamReassembler::flush_all(Timestamp ts, StreamOutput& out) {
  flush_holes_until(UINT64_MAX, ts, out);
  // The FIN's sequence number proves the bytes before it were sent.
  if (end_ && next_ < *end_) {
    out.gap(next_, *end_ - next_, ts);
    next_ = *end_;
    history_valid_from_ = next_;
  }
}

bool StreamReassembler::is_keep_alive(uint32_t seq, uint32_t len) const {
  return len <= 1 && next_ > 0 && pieces_.empty() &&
         offset_of(seq) == static_cast<int64_t>(next_) - 1;
}

void StreamReassembler::set_end(uint32_t seq) {
  if (end_) return;
  const int64_t o = offset_of(seq);
  if (o < 0) return;
  end_ = static_cast<uint64_t>(o);
  // What waits beyond the end would reach the sinks after the shutdown.
  const uint64_t limit = std::max(*end_, next_);
  auto it = pieces_.lower_bound(limit);
  if (it != pieces_.begin()) {
    auto prev = std::prev(it);
    Piece& p = prev->second;
    if (prev->first + p.length > limit) {
      const uint64_t keep = limit - prev->first;
      buffered_ -= piece_cost(p.bytes.size());
      if (!p.bytes.empty()) p.bytes.resize(keep);
      p.length = keep;
      buffered_ += piece_cost(p.bytes.size());
    }
  }
  while (it != pieces_.end()) {
    buffered_ -= piece_cost(it->second.bytes.size());
    it = pieces_.erase(it);
  }
}

}  // namespace tcpscribe
