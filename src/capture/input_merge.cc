#include "input_merge.h"

#include <utility>

namespace tcpscribe {

InputMerge::InputMerge(std::vector<PacketSource*> sources)
    : sources_(std::move(sources)), pending_(sources_.size()) {}

void InputMerge::fetch(size_t i) {
  RawPacket& p = pending_[i];
  switch (sources_[i]->next(p)) {
    case ReadStatus::kPacket:
      p.source = static_cast<uint32_t>(i);
      heap_.push({p.ts, static_cast<uint32_t>(i)});
      break;
    case ReadStatus::kEnd:
      events_.push({Status::kSourceEnd, i});
      break;
    case ReadStatus::kError:
      events_.push({Status::kError, i});
      break;
  }
}

InputMerge::Status InputMerge::next(RawPacket& out, size_t& index) {
  if (!primed_) {
    primed_ = true;
    for (size_t i = 0; i < sources_.size(); ++i) {
      if (sources_[i]) fetch(i);
    }
  } else if (advance_ != SIZE_MAX) {
    fetch(advance_);
  }
  advance_ = SIZE_MAX;
  if (!events_.empty()) {
    const Event e = events_.front();
    events_.pop();
    index = e.index;
    return e.status;
  }
  if (heap_.empty()) return Status::kEnd;
  const Head h = heap_.top();
  heap_.pop();
  out = pending_[h.index];
  index = h.index;
  advance_ = h.index;
  return Status::kPacket;
}

}  // namespace tcpscribe
