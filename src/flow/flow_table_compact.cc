// FlowTable: half-open connections kept compact. A connection that has
// seen nothing but its client's SYNs (a SYN flood, a scan, a server that
// never answers) is a Pending of those SYNs, not an Entry of ~1.4 KB; it is
// rebuilt by replaying them, with the sinks and observers out of the way
// (they saw the SYNs when they came), when its next packet comes, when it
// is closed (idle, evicted, end of input) or evicted. The replay runs the
// same code as the SYNs did, so the rebuilt Entry is the one the SYNs made.
#include <utility>

#include "flow_table_entry.h"

namespace tcpscribe {

namespace {

/// Puts `fresh` where `old` is in an intrusive list.
template <typename T>
void list_replace(T*& head, T*& tail, T& old, T& fresh) {
  fresh.lru_prev = old.lru_prev;
  fresh.lru_next = old.lru_next;
  (old.lru_prev ? old.lru_prev->lru_next : head) = &fresh;
  (old.lru_next ? old.lru_next->lru_prev : tail) = &fresh;
  old.lru_prev = old.lru_next = nullptr;
}

}  // namespace

void FlowTable::after_syn(Entry& e, std::unique_ptr<Pending> p, const Segment& s) {
  if (!limits_.compact_half_open || !e.only_syns) return;
  // A Pending holds every segment its Entry saw (packets counts them): a
  // connection with more SYNs, or one unlike the first, stays whole.
  if (p) {
    // Revived for this SYN: it was compact before, so it is again at once.
    if (e.packets == p->count + 1u && p->takes(s)) {
      p->add(s);
      compact(e, std::move(p));
    }
    return;
  }
  if (e.syns) {  // young, and another SYN
    if (e.packets == e.syns->count + 1u && e.syns->takes(s)) e.syns->add(s);
    else drop_young(e);
    return;
  }
  if (e.packets != 1) return;
  e.syns = std::make_unique<Pending>();
  Pending& y = *e.syns;
  y.key = e.key;
  y.id = e.conn.id;
  y.previous_id = e.conn.previous_id;
  y.reuse_index = e.conn.reuse_index;
  y.continues = e.conn.continues;
  y.client_is_lo = e.conn.client == e.key.lo;
  y.add(s);
  e.young_prev = young_tail_;
  (young_tail_ ? young_tail_->young_next : young_head_) = &e;
  young_tail_ = &e;
  ++young_count_;
  while (young_count_ > limits_.young_half_open) {
    Entry& oldest = *young_head_;
    std::unique_ptr<Pending> q = std::move(oldest.syns);
    drop_young(oldest);
    compact(oldest, std::move(q));
  }
}

void FlowTable::drop_young(Entry& e) {
  (e.young_prev ? e.young_prev->young_next : young_head_) = e.young_next;
  (e.young_next ? e.young_next->young_prev : young_tail_) = e.young_prev;
  e.young_prev = e.young_next = nullptr;
  e.syns.reset();
  --young_count_;
}

void FlowTable::compact(Entry& e, std::unique_ptr<Pending> p) {
  static_assert(sizeof(Pending) <= 160, "a compact connection stays in jemalloc's 160-byte class");
  p->last_activity = e.last_activity;
  if (ordered_) pending_order_[e.key] = e.order_seq;
  list_replace<Node>(lru_head_, lru_tail_, e, *p);
  const FlowKey key = e.key;
  pending_.insert(std::move(p));
  table_.erase(key);  // destroys e
}

FlowTable::Entry& FlowTable::revive(Pending& p) {
  auto e = std::make_unique<Entry>();
  init_entry(*e, p.key, p.segment(0), p.id, p.reuse_index, p.previous_id, p.continues);
  {
    // Quietly: nothing outside the Entry may change (SYNs without payload
    // change no statistics or buffers; kept anyway, should that change).
    std::vector<Sink*> sinks;
    std::vector<SegmentObserver*> observers;
    const FlowTableStats stats = stats_;
    const size_t buffered = buffered_;
    sinks_.swap(sinks);
    observers_.swap(observers);
    struct Restore {
      FlowTable& t;
      std::vector<Sink*>& sinks;
      std::vector<SegmentObserver*>& observers;
      ~Restore() {
        t.sinks_.swap(sinks);
        t.observers_.swap(observers);
      }
    } restore{*this, sinks, observers};
    for (int i = 0; i < p.count; ++i) update(*e, p.segment(i));
    stats_ = stats;
    buffered_ = buffered;
  }
  e->last_activity = p.last_activity;
  if (ordered_) {
    const auto it = pending_order_.find(p.key);
    if (it != pending_order_.end()) {
      e->order_seq = it->second;
      pending_order_.erase(it);
    }
  }
  Entry* raw = table_.insert(std::move(e));
  list_replace<Node>(lru_head_, lru_tail_, p, *raw);
  return *raw;
}

FlowTable::Entry& FlowTable::whole(Node& n) {
  if (!n.compact) return static_cast<Entry&>(n);
  const std::unique_ptr<Pending> p = pending_.take(static_cast<Pending&>(n).key);
  return revive(*p);
}

}  // namespace tcpscribe
