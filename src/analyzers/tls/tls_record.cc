#include "tls_record.h"

#include <algorithm>

namespace tcpscribe {
namespace {

size_t length_of(const uint8_t* h) { return (size_t{h[3]} << 8) | h[4]; }

}  // namespace

bool tls_plausible_header(const uint8_t* h) {
  if (h[0] < kTlsChangeCipherSpec || h[0] > kTlsHeartbeat) return false;
  if (h[1] != 3 || h[2] > 4) return false;
  const size_t len = length_of(h);
  return len <= kTlsMaxFragment && (len > 0 || h[0] == kTlsApplicationData);
}

ProbeResult probe_tls(Dir d, std::span<const uint8_t> first) {
  const uint8_t want = d == Dir::kClientToServer ? 1 : 2;  // ClientHello, ServerHello
  const uint8_t prefix[] = {kTlsHandshake, 3};
  for (size_t i = 0; i < first.size() && i < 6; ++i) {
    const bool ok = i < 2 ? first[i] == prefix[i] : i == 2 ? first[i] <= 4
                  : i == 5 ? first[i] == want : true;
    if (!ok) return ProbeResult::kNo;
  }
  if (first.size() < 6) return ProbeResult::kNeedMore;
  return tls_plausible_header(first.data()) ? ProbeResult::kYes : ProbeResult::kNo;
}

bool TlsRecordFramer::strong(const uint8_t* h) const {
  return locked_version_ == 0 || ((uint16_t{h[1]} << 8) | h[2]) == locked_version_;
}

void TlsRecordFramer::feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts) {
  if (bytes.empty()) return;
  if (!resync_) {
    drain(bytes, offset, ts);
  } else {
    append(bytes, offset, ts);
  }
  // A loop, not recursion: each found boundary may lead to another bad
  // header and another scan of what is left.
  while (resync_ && scan_resync()) {
    std::vector<uint8_t> rest;
    rest.swap(buf_);
    std::deque<Mark> marks;
    marks.swap(marks_);
    const uint64_t start = buf_offset_;
    // What is left, piece by piece with its own capture time, as if fed
    // again: a record's time stays its first byte's.
    for (size_t i = 0; i < marks.size(); ++i) {
      const size_t from = static_cast<size_t>(marks[i].offset - start);
      const size_t to = i + 1 < marks.size() ? static_cast<size_t>(marks[i + 1].offset - start)
                                             : rest.size();
      const auto piece = std::span<const uint8_t>(rest).subspan(from, to - from);
      if (!resync_) {
        drain(piece, marks[i].offset, marks[i].ts);
      } else {
        append(piece, marks[i].offset, marks[i].ts);
      }
    }
  }
}

void TlsRecordFramer::gap(uint64_t offset, uint64_t length) {
  (void)offset, (void)length;
  counts_.skipped_bytes += buf_.size();  // the cut-short record, or an unfinished scan
  buf_.clear();
  marks_.clear();
  resync_ = true;
}

void TlsRecordFramer::append(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts) {
  if (bytes.empty()) return;
  if (buf_.empty()) {
    buf_offset_ = offset;
    marks_.clear();
  }
  if (marks_.empty() || marks_.back().ts != ts) marks_.push_back({buf_offset_ + buf_.size(), ts});
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

void TlsRecordFramer::drop_front(size_t n) {
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n));
  buf_offset_ += n;
  if (buf_.empty()) {
    marks_.clear();
    return;
  }
  while (marks_.size() > 1 && marks_[1].offset <= buf_offset_) marks_.pop_front();
  if (!marks_.empty()) marks_.front().offset = buf_offset_;
}

Timestamp TlsRecordFramer::ts_at(uint64_t at) const {
  Timestamp ts = marks_.empty() ? 0 : marks_.front().ts;
  for (const Mark& m : marks_) {
    if (m.offset > at) break;
    ts = m.ts;
  }
  return ts;
}

void TlsRecordFramer::drain(std::span<const uint8_t> data, uint64_t offset, Timestamp ts) {
  auto emit = [&](const uint8_t* rec, uint64_t at, Timestamp when) {
    ++counts_.records;
    TlsRecord r;
    r.type = rec[0];
    r.version = static_cast<uint16_t>((rec[1] << 8) | rec[2]);
    r.fragment = {rec + kTlsHeader, length_of(rec)};
    r.offset = at;
    r.ts = when;
    on_record_(r);
  };
  auto take = [&](size_t n) {
    append(data.first(n), offset, ts);
    data = data.subspan(n);
    offset += n;
  };
  auto to_resync = [&] {
    ++counts_.bad_headers;
    resync_ = true;
    take(data.size());
  };
  while (!data.empty()) {
    if (!buf_.empty()) {  // finish the record begun in an earlier piece
      if (buf_.size() < kTlsHeader) {
        take(std::min(kTlsHeader - buf_.size(), data.size()));
        if (buf_.size() < kTlsHeader) return;
        if (!tls_plausible_header(buf_.data())) return to_resync();
      }
      const size_t want = kTlsHeader + length_of(buf_.data());
      take(std::min(want - buf_.size(), data.size()));
      if (buf_.size() == want) {
        emit(buf_.data(), buf_offset_, marks_.front().ts);  // its first byte's time
        buf_.clear();
        marks_.clear();
      }
      continue;
    }
    if (data.size() >= kTlsHeader) {
      if (!tls_plausible_header(data.data())) return to_resync();
      const size_t n = kTlsHeader + length_of(data.data());
      if (data.size() >= n) {  // whole in this piece: no copy
        emit(data.data(), offset, ts);
        data = data.subspan(n);
        offset += n;
        continue;
      }
    }
    take(data.size());
  }
}

bool TlsRecordFramer::scan_resync() {
  // A candidate is a record when the header after it is plausible, or when
  // the validator opens it; it is no record when neither holds and the
  // next header is there to see; otherwise the scan waits for more.
  size_t p = 0;
  bool found = false;
  for (; p + kTlsHeader <= buf_.size(); ++p) {
    const uint8_t* h = buf_.data() + p;
    if (!tls_plausible_header(h) || !strong(h)) continue;
    const size_t next = p + kTlsHeader + length_of(h);
    if (next > buf_.size()) break;  // incomplete: decided later
    const bool next_seen = next + kTlsHeader <= buf_.size();
    if (next_seen && tls_plausible_header(buf_.data() + next) && strong(buf_.data() + next)) {
      found = true;
      break;
    }
    if (validate_) {
      TlsRecord r;
      r.type = h[0];
      r.version = static_cast<uint16_t>((h[1] << 8) | h[2]);
      r.fragment = {h + kTlsHeader, length_of(h)};
      r.offset = buf_offset_ + p;
      r.ts = ts_at(r.offset);
      if (validate_(r)) {
        found = true;
        break;
      }
    }
    if (!next_seen) break;  // the next header decides
  }
  // Every position before p is no record start.
  p = std::min(p, buf_.size());
  counts_.skipped_bytes += p;
  drop_front(p);
  if (!found) return false;
  ++counts_.resyncs;
  resync_ = false;
  return true;
}

}  // namespace tcpscribe
