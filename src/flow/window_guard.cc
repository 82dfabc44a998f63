#include "window_guard.h"

#include <algorithm>

namespace tcpscribe {

void WindowGuard::observe(Dir d, const Segment& s) {
  const int di = index_of(d);
  uint64_t window = s.window;
  if (s.has(tcp_flags::kSyn)) {
    // A SYN's window is never scaled; it announces the scale of the rest.
    syn_[di] = true;
    wscale_[di] = s.wscale;
  } else {
    // RFC 7323: scaling holds when both SYNs carried the option.
    int shift = 14;
    if (syn_[0] && syn_[1]) shift = wscale_[0] >= 0 && wscale_[1] >= 0 ? wscale_[di] : 0;
    window <<= shift;
  }
  max_window_ = std::max(max_window_, window);
}

uint64_t WindowGuard::reach() const { return std::max(kMinReach, 2 * max_window_); }

WindowGuard::Verdict WindowGuard::judge(int di, int64_t offset, uint32_t data_seq,
                                        const Segment& s, std::unique_ptr<Held>& rejected) {
  if (offset < 0) return Verdict::kTake;  // before the stream: the reassembler's case
  const auto at = static_cast<uint64_t>(offset);
  std::unique_ptr<Held>& h = held_[di];
  if (h && at >= h->offset && at <= h->end()) return Verdict::kTakeHeldFirst;
  if (in_window(di, at)) return Verdict::kTake;
  if (h) rejected = std::move(h);
  h = std::make_unique<Held>();
  h->seg = s;
  h->bytes.assign(s.payload, s.payload + s.payload_len);
  h->seg.payload = h->bytes.data();
  h->data_seq = data_seq;
  h->offset = at;
  return Verdict::kHold;
}

std::unique_ptr<WindowGuard::Held> WindowGuard::release_if_in_window(int di) {
  if (!held_[di] || acked_[di] < held_[di]->offset) return nullptr;
  return take_held(di);
}

}  // namespace tcpscribe
