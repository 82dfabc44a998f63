#include "ip_fragments.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "keyed_hash.h"

namespace tcpscribe {
namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

size_t IpDefragmenter::KeyHash::operator()(const Key& k) const noexcept {
  // Word-at-a-time rather than byte-at-a-time: this runs for every fragment.
  const uint64_t words[5] = {
      load64(k.src.bytes.data()),
      load64(k.src.bytes.data() + 8),
      load64(k.dst.bytes.data()),
      load64(k.dst.bytes.data() + 8),
      (uint64_t{k.id} << 32) | (uint64_t{k.protocol} << 8) |
          (uint64_t{k.src.v6} << 1) | uint64_t{k.dst.v6},
  };
  return static_cast<size_t>(keyed_hash_words(seed, words));
}

IpDefragmenter::IpDefragmenter(FragmentLimits limits)
    : limits_(limits),
      // Keys (addresses, ids) are chosen by whoever sends the fragments:
      // keyed with the run's random seed (keyed_hash.h), colliding key sets
      // cannot be precomputed. Nothing observable depends on hash order:
      // expiry and eviction go by by_age_.
      table_(0, KeyHash{run_hash_seed()}) {
  // A cap of zero datagrams would leave nowhere to put the one being fed.
  if (limits_.max_datagrams == 0) limits_.max_datagrams = 1;
  if (limits_.timeout < 0) limits_.timeout = 0;
}

bool IpDefragmenter::add(Timestamp ts, const IpAddr& src, const IpAddr& dst,
                         uint32_t id, uint8_t protocol, uint32_t offset,
                         bool more, const uint8_t* data, size_t len,
                         std::vector<uint8_t>& out) {
  ++stats_.fragments;
  // Lazily, so that memory stays bounded even if the decoder rarely calls
  // expire(); cheap when nothing is due (one look at by_age_'s front).
  expire(ts);

  const Key key{src, dst, id, protocol};
  auto it = table_.find(key);
  const uint64_t frag_end = uint64_t{offset} + len;
  // Offsets are multiples of 8 on the wire; the check also caps how many
  // disjoint ranges one datagram can accumulate (65536 / 8).
  if (frag_end > kMaxPayload || offset % 8 != 0 ||
      (data == nullptr && len > 0)) {
    ++stats_.malformed;
    if (it != table_.end()) drop(it);
    return false;
  }
  const auto fend = static_cast<uint32_t>(frag_end);

  if (it == table_.end()) {
    if (offset == 0 && !more) {
      // The whole datagram in one piece (an IPv6 atomic fragment, or a
      // caller that did not filter): nothing to store.
      out.assign(data, data + len);
      ++stats_.reassembled;
      return true;
    }
    while (table_.size() >= limits_.max_datagrams &&
           evict_oldest_except(nullptr)) {
    }
    it = table_.emplace(key, Datagram{}).first;
    it->second.age = AgeKey{ts, next_seq_++};
    by_age_.emplace(it->second.age, &it->first);
  }

  Datagram& d = it->second;
  if (!more) {
    // A second, different end or bytes already past this end mean the
    // fragments cannot describe one datagram; guessing which copy is right
    // would hand the TCP layer invented data.
    if ((d.end_known && d.end != fend) || d.buf.size() > fend) {
      ++stats_.malformed;
      drop(it);
      return false;
    }
    d.end = fend;
    d.end_known = true;
  } else if (d.end_known && fend > d.end) {
    ++stats_.malformed;
    drop(it);
    return false;
  }

  if (len > 0) {
    if (!reserve_for(it, fend)) return false;
    if (merge(d, offset, data, static_cast<uint32_t>(len))) {
      ++stats_.overlaps_conflicting;
    }
  }
  if (!complete(d)) return false;

  ++stats_.reassembled;
  out = std::move(d.buf);
  drop(it);
  return true;
}

void IpDefragmenter::expire(Timestamp now) {
  const auto timeout = static_cast<uint64_t>(limits_.timeout);
  while (!by_age_.empty()) {
    const Timestamp first = by_age_.begin()->first.first;
    // Unsigned difference: timestamps come from capture files and may be
    // garbage, and now - first must not overflow.
    if (now <= first ||
        static_cast<uint64_t>(now) - static_cast<uint64_t>(first) <= timeout) {
      break;
    }
    ++stats_.timed_out;
    drop(table_.find(*by_age_.begin()->second));
  }
}

void IpDefragmenter::drop(Table::iterator it) {
  pending_bytes_ -= it->second.charged;
  by_age_.erase(it->second.age);
  table_.erase(it);
}

bool IpDefragmenter::evict_oldest_except(const Key* keep) {
  for (const auto& [age, key] : by_age_) {
    if (key == keep) continue;
    ++stats_.evicted_for_limits;
    drop(table_.find(*key));
    return true;
  }
  return false;
}

bool IpDefragmenter::reserve_for(Table::iterator it, uint32_t need) {
  Datagram& d = it->second;
  if (need > d.buf.capacity()) {
    if (need > limits_.max_bytes) {
      ++stats_.evicted_for_limits;
      drop(it);
      return false;
    }
    // Once the end is known, allocate exactly. Before that, grow
    // geometrically so that a stream of tiny in-order fragments does not
    // copy the buffer once per fragment.
    size_t want =
        d.end_known
            ? d.end
            : std::min<size_t>(std::max<size_t>(need, 2 * d.buf.capacity()),
                               kMaxPayload);
    if (want > limits_.max_bytes) want = need;
    // Evict others rather than the datagram being fed: it is the one making
    // progress, and under pressure dropping it would let nothing complete.
    while (pending_bytes_ - d.charged + want > limits_.max_bytes &&
           evict_oldest_except(&it->first)) {
    }
    d.buf.reserve(want);
    pending_bytes_ += d.buf.capacity() - d.charged;
    d.charged = d.buf.capacity();
  }
  if (need > d.buf.size()) d.buf.resize(need);
  return true;
}

bool IpDefragmenter::merge(Datagram& d, uint32_t offset, const uint8_t* data,
                           uint32_t len) {
  const uint32_t begin = offset;
  const uint32_t end = offset + len;
  std::vector<Range>& ranges = d.ranges;
  // The first range that overlaps or touches [begin, end), or lies after it.
  // Ranges are disjoint and sorted, so their ends are sorted too.
  const auto first =
      std::lower_bound(ranges.begin(), ranges.end(), begin,
                       [](const Range& r, uint32_t v) { return r.end < v; });

  bool conflict = false;
  uint32_t cur = begin;  // Bytes of the fragment before cur are handled.
  auto last = first;
  for (; last != ranges.end() && last->begin <= end; ++last) {
    if (last->begin > cur) {
      // A gap: new bytes.
      std::memcpy(d.buf.data() + cur, data + (cur - begin), last->begin - cur);
      cur = last->begin;
    }
    // Already present: first copy wins, later ones are only compared.
    const uint32_t overlap_end = std::min(end, last->end);
    if (overlap_end > cur &&
        std::memcmp(d.buf.data() + cur, data + (cur - begin),
                    overlap_end - cur) != 0) {
      conflict = true;
    }
    cur = std::max(cur, last->end);
  }
  if (cur < end) {
    std::memcpy(d.buf.data() + cur, data + (cur - begin), end - cur);
  }

  // Replace the overlapped/touching ranges [first, last) by their union
  // with the fragment.
  if (first == last) {
    ranges.insert(first, Range{begin, end});
  } else {
    first->begin = std::min(begin, first->begin);
    first->end = std::max(end, std::prev(last)->end);
    ranges.erase(std::next(first), last);
  }
  return conflict;
}

bool IpDefragmenter::complete(const Datagram& d) {
  if (!d.end_known) return false;
  // Data past the end is rejected on arrival, so the ranges lie in [0, end).
  if (d.end == 0) return true;
  return d.ranges.size() == 1 && d.ranges[0].begin == 0 &&
         d.ranges[0].end == d.end;
}

}  // namespace tcpscribe
