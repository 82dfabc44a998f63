#include "reorder_window.h"

namespace tcpscribe {

void ReorderWindow::hold(const RawPacket& p) {
  size_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = slots_.size();
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.meta = p;
  s.meta.region = nullptr;
  if (p.region && *p.region) {
    s.region = *p.region;  // no copy of the bytes
  } else {
    s.bytes.assign(p.data, p.data + p.caplen);
  }
  heap_.push({p.ts, serial_++, slot});
}

}  // namespace tcpscribe
