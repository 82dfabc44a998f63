#include "packet_core.h"

#include <algorithm>

namespace tcpscribe {

PacketCore::PacketCore(PacketCoreConfig config, std::vector<Sink*> sinks)
    : filter_text_(std::move(config.filter)),
      current_(config.current),
      shard_(config.shard),
      threads_(std::max<size_t>(config.threads, 1)),
      limits_(config.limits),
      sinks_(sinks),
      window_(config.reorder_window),
      table_(config.limits, std::move(sinks)) {}

PacketCore::~PacketCore() = default;

bool PacketCore::compile_filter(std::string& error) { return filter_.set(filter_text_, error); }

uint32_t PacketCore::add_source(std::string name, bool finish_only) {
  sources_.push_back({std::move(name), finish_only});
  return static_cast<uint32_t>(sources_.size() - 1);
}

const PacketCore::Source& PacketCore::source_of(const RawPacket& p) const {
  static const Source kUnnamed{"input", false};
  return p.source < sources_.size() ? sources_[p.source] : kUnnamed;
}

void PacketCore::problem(const RawPacket& p, const std::string& text, bool input_error) {
  if (on_problem_) on_problem_(source_of(p).name, text, input_error);
}

void PacketCore::on_packet(const RawPacket& p) {
  std::string error;
  if (!filter_.matches(p, error)) {
    if (!error.empty() && !filter_warned_) {
      filter_warned_ = true;
      problem(p, error + "; those packets are skipped", false);
    }
    return;
  }
  if (!linktype_supported(p.linktype)) {
    if (unknown_linktypes_.insert(p.linktype).second) {
      problem(p,
              "link type " + std::to_string(p.linktype) +
                  " is not supported; its packets are skipped (supported: Ethernet, "
                  "VLAN/QinQ, PPPoE, MPLS, Linux SLL/SLL2, BSD loopback, raw IP)",
              true);
    }
    return;
  }
  window_.push(p, [this](const RawPacket& q) { consume(q); });
}

FlowWorkers& PacketCore::workers() {
  if (!workers_) {
    workers_ = std::make_unique<FlowWorkers>(threads_, limits_, sinks_, observers_);
    workers_->set_after_batch(after_batch_);
  }
  return *workers_;
}

void PacketCore::consume(const RawPacket& p) {
  Segment seg;
  if (threaded()) {
    if (decoder_.decode(p, seg)) {
      const uint64_t hash = flow_hash(seg.src, seg.dst);
      workers().on_segment(seg, hash, !source_of(p).finish_only, shard_.takes(hash));
    }
    return;
  }
  if (current_) current_->ref = p.region;  // its bytes may be kept by reference meanwhile
  // A -R source's packets only continue connections open at their time.
  if (decoder_.decode(p, seg)) {
    // Without --shard no hash is taken (this runs for every packet).
    if (shard_.count <= 1 || shard_.takes(flow_hash(seg.src, seg.dst))) {
      table_.on_segment(seg, !source_of(p).finish_only);
    } else {
      table_.pass_time(seg.ts);  // another shard's: only its time counts here
    }
  }
  if (current_) current_->ref = nullptr;
}

void PacketCore::flush() {
  window_.drain([this](const RawPacket& q) { consume(q); });
}

void PacketCore::expire(Timestamp now) {
  if (threaded()) {
    workers().expire(now);
  } else {
    table_.expire(now);
  }
}

void PacketCore::post(std::function<void()> f) {
  if (threaded()) {
    workers().post(std::move(f));
  } else {
    f();
  }
}

const FlowTableStats& PacketCore::flow_stats() const {
  if (!workers_) return table_.stats();
  shown_ = workers_->stats();
  return shown_;
}

void PacketCore::finish() {
  flush();
  if (threaded()) {
    workers().finish();
  } else {
    table_.finish();
  }
}

}  // namespace tcpscribe
