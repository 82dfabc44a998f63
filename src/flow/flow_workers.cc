#include "flow_workers.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace tcpscribe {

namespace {

/// A bounded first-in first-out queue between two threads.
template <typename T>
class Channel {
 public:
  explicit Channel(size_t capacity) : capacity_(capacity) {}
  void push(T v) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < capacity_; });
    q_.push_back(std::move(v));
    not_empty_.notify_one();
  }
  T pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty(); });
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> q_;
};

constexpr size_t kBatchSegments = 512;
constexpr size_t kBatchBytes = 1u << 20;
constexpr size_t kQueuedBatches = 8;
/// The segment number of the events of the end of input.
constexpr uint64_t kFinishSeq = UINT64_MAX;
constexpr uint64_t kNoPos = UINT64_MAX;

/// The stop signals stay with the thread that reads (offline.cc).
std::thread start_thread(std::function<void()> f) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  std::thread t(std::move(f));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace

struct FlowWorkers::Batch {
  enum class Kind : uint8_t { kSegment, kExpire };
  struct Item {
    Segment seg;  // payload and mac point into `bytes` once published
    uint64_t hash = 0;
    uint64_t payload_pos = kNoPos;
    uint64_t mac_pos = kNoPos;
    Kind kind = Kind::kSegment;
    bool may_open = true;
    bool own = true;
  };
  uint64_t base = 0;  // the number of items[0]
  std::vector<Item> items;
  std::vector<uint8_t> bytes;
  /// For the merge thread only: run before the events of segment `first`.
  std::vector<std::pair<uint64_t, std::function<void()>>> posts;
  bool last = false;

  bool holds(const uint8_t* p, size_t n) const {
    return p && !bytes.empty() && p >= bytes.data() && n <= bytes.size() &&
           static_cast<size_t>(p - bytes.data()) <= bytes.size() - n;
  }
};

struct FlowWorkers::Event {
  enum class Kind : uint8_t {
    kOpen, kData, kGap, kShutdown, kFinding, kClose, kSegment, kAfterClose
  };
  uint64_t seq = 0;
  uint64_t order = 0;   // FlowTable::event_order()
  uint64_t id = 0;      // the worker's id of the connection
  uint32_t conn = 0;    // Result::conns index (not for kAfterClose)
  uint32_t extra = 0;   // Result::findings or Result::segs index
  uint64_t offset = 0;  // stream offset (data, gap)
  uint64_t length = 0;  // bytes (data, gap)
  const uint8_t* ptr = nullptr;  // data in the batch; null: Result::bytes at pos
  uint64_t pos = 0;
  Timestamp ts = 0;
  Kind kind = Kind::kOpen;
  Dir dir = Dir::kClientToServer;
  bool reset = false;
  CloseReason why = CloseReason::kFin;
};

struct FlowWorkers::Result {
  std::shared_ptr<Batch> batch;  // keeps the bytes that events point into
  std::vector<Event> events;
  std::vector<Connection> conns;
  std::vector<Finding> findings;
  struct Seg {
    Segment seg;  // payload and mac in the batch, or at these positions
    uint64_t payload_pos = kNoPos;
    uint64_t mac_pos = kNoPos;
  };
  std::vector<Seg> segs;
  std::vector<uint8_t> bytes;

  uint64_t keep(const uint8_t* p, size_t n) {
    const uint64_t pos = bytes.size();
    bytes.insert(bytes.end(), p, p + n);
    return pos;
  }
};

/// A worker's flow table's only sink and observer: every event a record.
class FlowWorkers::Recorder final : public Sink, public SegmentObserver {
 public:
  const FlowTable* table = nullptr;
  Result* out = nullptr;
  uint64_t seq = 0;
  bool finishing = false;

  void on_open(const Connection& c) override { add(Event::Kind::kOpen, c); }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    Event& e = add(Event::Kind::kData, c);
    e.dir = d;
    e.offset = offset;
    e.length = bytes.size();
    e.ts = ts;
    if (out->batch->holds(bytes.data(), bytes.size())) {
      e.ptr = bytes.data();
    } else {
      e.pos = out->keep(bytes.data(), bytes.size());
    }
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override {
    Event& e = add(Event::Kind::kGap, c);
    e.dir = d;
    e.offset = offset;
    e.length = length;
    e.ts = ts;
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    Event& e = add(Event::Kind::kShutdown, c);
    e.dir = d;
    e.reset = reset;
    e.ts = ts;
  }
  void on_finding(const Connection& c, const Finding& f) override {
    Event& e = add(Event::Kind::kFinding, c);
    e.extra = static_cast<uint32_t>(out->findings.size());
    out->findings.push_back(f);
  }
  void on_close(const Connection& c, CloseReason why) override {
    add(Event::Kind::kClose, c).why = why;
  }
  void on_segment(const Connection& c, Dir d, const Segment& s) override {
    Event& e = add(Event::Kind::kSegment, c);
    e.dir = d;
    e.extra = keep_segment(s);
  }
  void on_segment_after_close(uint64_t id, Dir d, const Segment& s) override {
    Event& e = bare(Event::Kind::kAfterClose, id);
    e.dir = d;
    e.extra = keep_segment(s);
  }

 private:
  Event& bare(Event::Kind kind, uint64_t id) {
    Event& e = out->events.emplace_back();
    e.kind = kind;
    e.id = id;
    e.seq = finishing ? kFinishSeq : seq;
    e.order = finishing ? 0 : table->event_order();
    return e;
  }
  Event& add(Event::Kind kind, const Connection& c) {
    Event& e = bare(kind, c.id);
    e.conn = static_cast<uint32_t>(out->conns.size());
    out->conns.push_back(c);
    return e;
  }
  uint32_t keep_segment(const Segment& s) {
    Result::Seg& k = out->segs.emplace_back();
    k.seg = s;
    if (s.payload_len > 0 && !out->batch->holds(s.payload, s.payload_len)) {
      k.payload_pos = out->keep(s.payload, s.payload_len);
    }
    if (s.mac && !out->batch->holds(s.mac, 12)) k.mac_pos = out->keep(s.mac, 12);
    return static_cast<uint32_t>(out->segs.size() - 1);
  }
};

struct FlowWorkers::Worker {
  Worker(const FlowTableLimits& limits, bool observe) : table(limits, {&recorder}) {
    recorder.table = &table;
    // Segments are recorded only for outputs that draw them.
    if (observe) table.add_observer(&recorder);
  }
  size_t index = 0;
  Recorder recorder;
  FlowTable table;
  Channel<std::shared_ptr<Batch>> in{kQueuedBatches};
  Channel<std::unique_ptr<Result>> out{kQueuedBatches};
  std::thread thread;
};

FlowWorkers::FlowWorkers(size_t workers, const FlowTableLimits& limits,
                         std::vector<Sink*> sinks, std::vector<SegmentObserver*> observers)
    : limits_(limits), sinks_(std::move(sinks)), observers_(std::move(observers)) {
  const size_t n = std::max<size_t>(workers, 1);
  FlowTableLimits each = limits;
  each.max_flows = std::max<size_t>(limits.max_flows / n, 1);
  each.max_buffer_total = std::max<size_t>(limits.max_buffer_total / n, 1);
  for (size_t i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<Worker>(each, !observers_.empty()));
    workers_.back()->index = i;
  }
  global_of_.resize(n);
  batch_ = new_batch();
}

FlowWorkers::~FlowWorkers() {
  if (started_ && !finished_) finish();
  batch_.reset();  // back into the pool, which goes after it
}

std::shared_ptr<FlowWorkers::Batch> FlowWorkers::new_batch() {
  std::unique_ptr<Batch> b;
  {
    const std::lock_guard lock(pool_mu_);
    if (!free_batches_.empty()) {
      b = std::move(free_batches_.back());
      free_batches_.pop_back();
    }
  }
  if (!b) b = std::make_unique<Batch>();
  return std::shared_ptr<Batch>(b.release(), [this](Batch* used) {
    used->items.clear();
    used->bytes.clear();
    used->posts.clear();
    used->last = false;
    const std::lock_guard lock(pool_mu_);
    free_batches_.emplace_back(used);
  });
}

std::unique_ptr<FlowWorkers::Result> FlowWorkers::new_result() {
  {
    const std::lock_guard lock(pool_mu_);
    if (!free_results_.empty()) {
      std::unique_ptr<Result> r = std::move(free_results_.back());
      free_results_.pop_back();
      return r;
    }
  }
  return std::make_unique<Result>();
}

void FlowWorkers::recycle(std::unique_ptr<Result> r) {
  r->batch.reset();
  r->events.clear();
  r->conns.clear();
  r->findings.clear();
  r->segs.clear();
  r->bytes.clear();
  const std::lock_guard lock(pool_mu_);
  free_results_.push_back(std::move(r));
}

void FlowWorkers::start() {
  if (started_) return;
  started_ = true;
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = start_thread([this, raw] { work(*raw); });
  }
  merger_ = start_thread([this] { merge(); });
}

void FlowWorkers::on_segment(const Segment& s, uint64_t hash, bool may_open, bool own) {
  Batch& b = *batch_;
  Batch::Item& it = b.items.emplace_back();
  it.seg = s;
  it.hash = hash;
  it.may_open = may_open;
  it.own = own;
  if (own) {  // others only move the clock: their bytes are not needed
    if (s.payload_len > 0) {
      it.payload_pos = b.bytes.size();
      b.bytes.insert(b.bytes.end(), s.payload, s.payload + s.payload_len);
    }
    if (s.mac) {
      it.mac_pos = b.bytes.size();
      b.bytes.insert(b.bytes.end(), s.mac, s.mac + 12);
    }
  }
  it.seg.payload = nullptr;
  it.seg.mac = nullptr;
  ++next_seq_;
  if (b.items.size() >= kBatchSegments || b.bytes.size() >= kBatchBytes) publish(false);
}

void FlowWorkers::expire(Timestamp now) {
  Batch::Item& it = batch_->items.emplace_back();
  it.kind = Batch::Kind::kExpire;
  it.seg.ts = now;
  ++next_seq_;
  if (batch_->items.size() >= kBatchSegments) publish(false);
}

void FlowWorkers::post(std::function<void()> f) {
  batch_->posts.emplace_back(next_seq_, std::move(f));
}

void FlowWorkers::publish(bool last) {
  start();
  std::shared_ptr<Batch> b = std::move(batch_);
  b->last = last;
  for (Batch::Item& it : b->items) {
    if (it.payload_pos != kNoPos) it.seg.payload = b->bytes.data() + it.payload_pos;
    if (it.mac_pos != kNoPos) it.seg.mac = b->bytes.data() + it.mac_pos;
  }
  for (auto& w : workers_) w->in.push(b);
  batch_ = new_batch();
  batch_->base = next_seq_;
}

void FlowWorkers::finish() {
  if (finished_) return;
  finished_ = true;
  publish(true);
  for (auto& w : workers_) w->thread.join();
  merger_.join();
}

void FlowWorkers::work(Worker& w) {
  const size_t n = workers_.size();
  for (;;) {
    std::shared_ptr<Batch> b = w.in.pop();
    std::unique_ptr<Result> r = new_result();
    r->batch = b;
    w.recorder.out = r.get();
    for (size_t i = 0; i < b->items.size(); ++i) {
      const Batch::Item& it = b->items[i];
      const uint64_t seq = b->base + i;
      w.table.set_sequence(seq);
      w.recorder.seq = seq;
      if (it.kind == Batch::Kind::kExpire) {
        w.table.expire(it.seg.ts);
      } else if (it.own && worker_of(it.hash, n) == w.index) {
        w.table.on_segment(it.seg, it.may_open);
      } else {
        w.table.pass_time(it.seg.ts);
      }
    }
    const bool last = b->last;
    if (last) {
      w.recorder.finishing = true;
      w.table.finish();
    }
    w.recorder.out = nullptr;
    w.out.push(std::move(r));
    if (last) return;
  }
}

uint64_t FlowWorkers::global_id(size_t w, uint64_t local) const {
  const std::vector<uint64_t>& ids = global_of_[w];
  return local < ids.size() ? ids[local] : UINT64_MAX;
}

void FlowWorkers::merge() {
  const size_t n = workers_.size();
  std::vector<std::unique_ptr<Result>> rs(n);
  std::vector<size_t> at(n);
  for (;;) {
    for (size_t w = 0; w < n; ++w) rs[w] = workers_[w]->out.pop();
    Batch& b = *rs[0]->batch;
    std::fill(at.begin(), at.end(), 0);
    size_t post = 0;
    for (;;) {
      // The earliest event of any worker: by segment, then by its place
      // among that segment's events; at the end, by connection id (the
      // connection's on_open has been told: it came earlier).
      size_t best = n;
      uint64_t best_seq = 0, best_order = 0;
      for (size_t w = 0; w < n; ++w) {
        if (at[w] >= rs[w]->events.size()) continue;
        const Event& e = rs[w]->events[at[w]];
        const uint64_t order = e.seq == kFinishSeq ? global_id(w, e.id) : e.order;
        if (best == n || e.seq < best_seq || (e.seq == best_seq && order < best_order)) {
          best = w;
          best_seq = e.seq;
          best_order = order;
        }
      }
      while (post < b.posts.size() && (best == n || b.posts[post].first <= best_seq)) {
        b.posts[post++].second();
      }
      if (best == n) break;
      tell(best, *rs[best], rs[best]->events[at[best]]);
      ++at[best];
    }
    if (after_batch_) after_batch_();
    const bool last = b.last;
    for (auto& r : rs) recycle(std::move(r));
    if (last) break;
  }
  // The tables are done: their counts are final (a report's run totals
  // read them in its finish()).
  done_.store(true);
  for (Sink* s : sinks_) s->finish();
}

void FlowWorkers::tell(size_t w, const Result& r, const Event& e) {
  auto segment = [&r](const Event& ev) {
    const Result::Seg& k = r.segs[ev.extra];
    Segment s = k.seg;
    if (k.payload_pos != kNoPos) s.payload = r.bytes.data() + k.payload_pos;
    if (k.mac_pos != kNoPos) s.mac = r.bytes.data() + k.mac_pos;
    return s;
  };
  if (e.kind == Event::Kind::kAfterClose) {
    const Segment s = segment(e);
    for (SegmentObserver* o : observers_) o->on_segment_after_close(global_id(w, e.id), e.dir, s);
    return;
  }
  uint64_t id;
  if (e.kind == Event::Kind::kOpen) {
    id = next_id_++;
    global_of_[w].push_back(id);  // a worker's ids come in order, from 0
    live_[id] = std::make_unique<Connection>();
    told_connections_.fetch_add(1, std::memory_order_relaxed);
  } else {
    id = global_id(w, e.id);
  }
  Connection& c = *live_.at(id);
  const Connection& seen = r.conns[e.conn];
  c = seen;
  c.id = id;
  if (seen.previous_id != UINT64_MAX) c.previous_id = global_id(w, seen.previous_id);
  switch (e.kind) {
    case Event::Kind::kOpen:
      for (Sink* s : sinks_) s->on_open(c);
      break;
    case Event::Kind::kData: {
      const uint8_t* p = e.ptr ? e.ptr : r.bytes.data() + e.pos;
      const std::span<const uint8_t> bytes(p, e.length);
      for (Sink* s : sinks_) s->on_data(c, e.dir, e.offset, bytes, e.ts);
      break;
    }
    case Event::Kind::kGap:
      for (Sink* s : sinks_) s->on_gap(c, e.dir, e.offset, e.length, e.ts);
      break;
    case Event::Kind::kShutdown:
      for (Sink* s : sinks_) s->on_shutdown(c, e.dir, e.reset, e.ts);
      break;
    case Event::Kind::kFinding: {
      const Finding& f = r.findings[e.extra];
      if (f.kind == Finding::Kind::kTupleReuse && seen.previous_id != UINT64_MAX) {
        // The text names the previous connection by the worker's id.
        Finding g = f;
        const std::string local = "#" + std::to_string(seen.previous_id);
        const size_t at = g.text.rfind(local);
        if (at != std::string::npos) {
          g.text.replace(at, local.size(), "#" + std::to_string(c.previous_id));
        }
        for (Sink* s : sinks_) s->on_finding(c, g);
      } else {
        for (Sink* s : sinks_) s->on_finding(c, f);
      }
      break;
    }
    case Event::Kind::kClose:
      for (Sink* s : sinks_) s->on_close(c, e.why);
      live_.erase(id);
      break;
    case Event::Kind::kSegment: {
      const Segment s = segment(e);
      for (SegmentObserver* o : observers_) o->on_segment(c, e.dir, s);
      break;
    }
    case Event::Kind::kAfterClose:
      break;
  }
}

FlowTableStats FlowWorkers::stats() const {
  FlowTableStats t;
  if (!done_.load()) {
    t.connections = told_connections_.load(std::memory_order_relaxed);
    return t;
  }
  for (const auto& w : workers_) {
    const FlowTableStats& s = w->table.stats();
    t.segments += s.segments;
    t.connections += s.connections;
    t.reused_tuples += s.reused_tuples;
    t.late_segments += s.late_segments;
    t.ignored_segments += s.ignored_segments;
    t.forced_flushes += s.forced_flushes;
    t.evicted += s.evicted;
    t.continued += s.continued;
    t.retired_dropped += s.retired_dropped;
    t.idle_closed += s.idle_closed;
    t.bytes_before_start += s.bytes_before_start;
    t.bytes_over_limit += s.bytes_over_limit;
    t.keep_alives += s.keep_alives;
    t.gap_bytes += s.gap_bytes;
    t.conflicting_overlaps += s.conflicting_overlaps;
    t.out_of_window += s.out_of_window;
    t.peak_buffered += s.peak_buffered;  // an upper bound: the peaks may not coincide
  }
  return t;
}


}  // namespace tcpscribe
