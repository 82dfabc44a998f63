#include "dispatcher.h"

#include <algorithm>

namespace tcpscribe {

struct AnalyzerDispatcher::Held {
  enum class Kind : uint8_t { kData, kGap, kShutdown, kFinding };
  Kind kind = Kind::kData;
  Dir dir = Dir::kClientToServer;
  bool reset = false;
  uint64_t offset = 0;
  uint64_t length = 0;
  Timestamp ts = 0;
  std::vector<uint8_t> bytes;
  Finding finding;
};

struct AnalyzerDispatcher::State {
  int chosen = kProbing;
  std::vector<int> order;        // candidate slots, port-hinted first
  std::vector<bool> ruled_out;   // by slot
  std::string first[2];          // each direction's first bytes, for the probes
  bool started[2] = {false, false};
  bool aligned[2] = {true, true};  // the direction's bytes start at its stream's start
  bool done[2] = {false, false};   // no more probing on this direction
  std::vector<Held> held;
  size_t held_bytes = 0;
};

namespace {

bool hinted(const AnalyzerInfo& a, uint16_t port) {
  return std::find(a.ports.begin(), a.ports.end(), port) != a.ports.end();
}

/// A direction whose start is missing: a message may begin at any line.
ProbeResult scan(const AnalyzerInfo& a, Dir d, std::span<const uint8_t> bytes) {
  ProbeResult last = ProbeResult::kNo;
  for (size_t at = 0; at < bytes.size();) {
    last = a.probe(d, bytes.subspan(at));
    if (last == ProbeResult::kYes) return last;
    const auto nl = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end(), '\n');
    if (nl == bytes.end()) break;
    at = static_cast<size_t>(nl - bytes.begin()) + 1;
  }
  return last == ProbeResult::kNeedMore ? last : ProbeResult::kNo;
}

}  // namespace

AnalyzerDispatcher::AnalyzerDispatcher(std::vector<const AnalyzerInfo*> enabled,
                                       const AnalyzerSettings& s, Sink* view)
    : view_(view) {
  AnalyzerSettings settings = s;
  settings.enabled = enabled;
  for (const AnalyzerInfo* info : enabled) slots_.push_back({info, info->create(settings)});
}

AnalyzerDispatcher::~AnalyzerDispatcher() = default;

void AnalyzerDispatcher::order_for(const Connection& c, State& st) const {
  st.order.clear();
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (hinted(*slots_[i].info, c.server.port) == (pass == 0)) {
        st.order.push_back(static_cast<int>(i));
      }
    }
  }
  st.ruled_out.assign(slots_.size(), false);
}

AnalyzerDispatcher::State& AnalyzerDispatcher::state_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<State>();
    State& st = *it->second;
    order_for(c, st);
    if (slots_.empty()) st.chosen = kNone;
  }
  return *it->second;
}

void AnalyzerDispatcher::on_open(const Connection& c) {
  // No state until the connection's first event after it: connections
  // that never carry a byte (a SYN flood, scans) cost nothing here.
  if (view_) view_->on_open(c);
}

void AnalyzerDispatcher::on_data(const Connection& c, Dir d, uint64_t offset,
                                 std::span<const uint8_t> bytes, Timestamp ts) {
  State& st = state_for(c);
  if (st.chosen >= 0) {
    slots_[static_cast<size_t>(st.chosen)].analyzer->on_data(c, d, offset, bytes, ts);
    return;
  }
  if (st.chosen == kNone) {
    if (view_) view_->on_data(c, d, offset, bytes, ts);
    return;
  }
  Held h;
  h.kind = Held::Kind::kData;
  h.dir = d;
  h.offset = offset;
  h.ts = ts;
  h.bytes.assign(bytes.begin(), bytes.end());
  st.held.push_back(std::move(h));
  st.held_bytes += bytes.size();
  const int i = index_of(d);
  if (!st.started[i]) {
    // Picked up midstream (asked now: on_open comes before the flow table
    // has seen the handshake): the bytes need not start a message.
    st.aligned[i] = c.handshake_seen;
    st.started[i] = true;
  }
  if (!st.done[i]) {
    std::string& first = st.first[i];
    const size_t take = std::min(bytes.size(), kProbeBytes - first.size());
    first.append(reinterpret_cast<const char*>(bytes.data()), take);
    probe(c, st, d);
    if (st.chosen != kProbing) return;
    if (first.size() >= kProbeBytes) st.done[i] = true;
  }
  if ((st.done[0] && st.done[1]) || st.held_bytes > 2 * kProbeBytes) settle(c, st);
}

void AnalyzerDispatcher::probe(const Connection& c, State& st, Dir d) {
  const int i = index_of(d);
  const std::span<const uint8_t> first(reinterpret_cast<const uint8_t*>(st.first[i].data()),
                                       st.first[i].size());
  bool any_left = false;
  for (int k : st.order) {
    if (st.ruled_out[static_cast<size_t>(k)]) continue;
    const AnalyzerInfo& a = *slots_[static_cast<size_t>(k)].info;
    const ProbeResult r = st.aligned[i] ? a.probe(d, first) : scan(a, d, first);
    if (r == ProbeResult::kYes) {
      choose(c, st, k);
      return;
    }
    if (r == ProbeResult::kNo && st.aligned[i]) {
      st.ruled_out[static_cast<size_t>(k)] = true;
    } else {
      any_left = true;
    }
  }
  if (!any_left) choose(c, st, kNone);
}

void AnalyzerDispatcher::settle(const Connection& c, State& st) {
  if (st.chosen != kProbing) return;
  for (int k : st.order) {
    if (!st.ruled_out[static_cast<size_t>(k)] &&
        hinted(*slots_[static_cast<size_t>(k)].info, c.server.port)) {
      choose(c, st, k);
      return;
    }
  }
  choose(c, st, kNone);
}

void AnalyzerDispatcher::choose(const Connection& c, State& st, int slot) {
  st.chosen = slot;
  ProtocolAnalyzer* an = slot >= 0 ? slots_[static_cast<size_t>(slot)].analyzer.get() : nullptr;
  if (an) {
    ++stats_.claimed;
    an->on_open(c);
  } else {
    ++stats_.unclaimed;
  }
  std::vector<Held> held;
  held.swap(st.held);
  st.held_bytes = 0;
  for (std::string& f : st.first) std::string().swap(f);
  // The held events in order: bytes to the analyzer (or, unclaimed, to the
  // view); shutdowns to both; findings to the view.
  Sink* bytes_to = an ? static_cast<Sink*>(an) : view_;
  for (const Held& h : held) {
    switch (h.kind) {
      case Held::Kind::kData:
        if (bytes_to) bytes_to->on_data(c, h.dir, h.offset, h.bytes, h.ts);
        break;
      case Held::Kind::kGap:
        if (bytes_to) bytes_to->on_gap(c, h.dir, h.offset, h.length, h.ts);
        break;
      case Held::Kind::kShutdown:
        if (an) an->on_shutdown(c, h.dir, h.reset, h.ts);
        if (view_) view_->on_shutdown(c, h.dir, h.reset, h.ts);
        break;
      case Held::Kind::kFinding:
        if (an) an->on_finding(c, h.finding);
        if (view_) view_->on_finding(c, h.finding);
        break;
    }
  }
}

void AnalyzerDispatcher::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                                Timestamp ts) {
  State& st = state_for(c);
  if (st.chosen >= 0) {
    slots_[static_cast<size_t>(st.chosen)].analyzer->on_gap(c, d, offset, length, ts);
    return;
  }
  if (st.chosen == kNone) {
    if (view_) view_->on_gap(c, d, offset, length, ts);
    return;
  }
  Held h;
  h.kind = Held::Kind::kGap;
  h.dir = d;
  h.offset = offset;
  h.length = length;
  h.ts = ts;
  st.held.push_back(std::move(h));
  const int i = index_of(d);
  if (!st.started[i]) {
    st.aligned[i] = false;  // the start is missing: search line starts
  } else {
    st.done[i] = true;      // a hole: nothing after it continues the first bytes
  }
  st.started[i] = true;
  if (st.done[0] && st.done[1]) settle(c, st);
}

void AnalyzerDispatcher::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  State& st = state_for(c);
  if (st.chosen == kProbing) {
    Held h;
    h.kind = Held::Kind::kShutdown;
    h.dir = d;
    h.reset = reset;
    h.ts = ts;
    st.held.push_back(std::move(h));
    st.done[index_of(d)] = true;
    if (st.done[0] && st.done[1]) settle(c, st);
    return;
  }
  if (st.chosen >= 0) slots_[static_cast<size_t>(st.chosen)].analyzer->on_shutdown(c, d, reset, ts);
  if (view_) view_->on_shutdown(c, d, reset, ts);
}

void AnalyzerDispatcher::on_finding(const Connection& c, const Finding& f) {
  State& st = state_for(c);
  if (st.chosen == kProbing) {
    Held h;
    h.kind = Held::Kind::kFinding;
    h.finding = f;
    st.held.push_back(std::move(h));
    return;
  }
  if (st.chosen >= 0) slots_[static_cast<size_t>(st.chosen)].analyzer->on_finding(c, f);
  if (view_) view_->on_finding(c, f);
}

void AnalyzerDispatcher::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it != conns_.end()) {
    State& st = *it->second;
    settle(c, st);
    if (st.chosen >= 0) slots_[static_cast<size_t>(st.chosen)].analyzer->on_close(c, why);
    conns_.erase(it);
  } else if (!slots_.empty()) {
    ++stats_.unclaimed;  // closed before any event: no analyzer could claim it
  }
  if (view_) view_->on_close(c, why);
}

void AnalyzerDispatcher::finish() {
  for (Slot& s : slots_) s.analyzer->finish();
  if (view_) view_->finish();
}

std::string AnalyzerDispatcher::failure() const {
  for (const Slot& s : slots_) {
    if (std::string why = s.analyzer->failure(); !why.empty()) return why;
  }
  return {};
}

void AnalyzerDispatcher::secrets_added() {
  for (Slot& s : slots_) s.analyzer->secrets_added();
}

bool AnalyzerDispatcher::choose_by_name(const Connection& c, const std::string& name) {
  if (conns_.count(c.id) != 0) return false;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (name != slots_[i].info->name) continue;
    State& st = state_for(c);
    choose(c, st, static_cast<int>(i));
    return true;
  }
  return false;
}

bool AnalyzerDispatcher::tells(const Connection& c, const Finding& f) const {
  auto it = conns_.find(c.id);
  if (it == conns_.end() || it->second->chosen < 0) return false;
  return slots_[static_cast<size_t>(it->second->chosen)].analyzer->tells(c, f);
}

const char* AnalyzerDispatcher::chosen(uint64_t id) const {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->chosen < 0) return nullptr;
  return slots_[static_cast<size_t>(it->second->chosen)].info->name;
}

}  // namespace tcpscribe
