// --threads N: connections reassembled on N worker threads, every event
// told to the sinks on one thread, in the order one flow table would tell
// it. So every output (files, console, reports) is the same as with one
// thread, and the analyzers and outputs stay single-threaded.
//
// The reader (the caller: filter, reorder window, decoder) numbers every
// decoded segment and hands it, in batches, to all workers. Worker w owns
// the connections whose flow_hash picks w: it feeds their segments to its
// FlowTable; of every other segment it only takes the time
// (FlowTable::pass_time), so that its closes after close_delay and its idle
// expiry happen at the same segment as in one table. Its table's sinks are
// a recorder: each event becomes a record keyed by (segment number, the
// table's event_order()), with a copy of the Connection as the sinks would
// see it and the bytes (by pointer when they lie in the batch, else a copy).
// The merge thread takes every worker's records of a batch in key order
// and tells them to the real sinks, with one Connection object per
// connection and ids renumbered in order of first packet (previous_id,
// and the "#N" of a tuple-reuse finding, too). End of input: every worker
// ends its connections; they are told in order of first packet.
//
// Caps over all connections (--max-flows, --max-buffer) are split evenly
// over the workers: where one binds, output may differ from one thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "flow_table.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

class FlowWorkers {
 public:
  /// `limits` are the run's (the caps over all connections get split);
  /// the sinks and observers are not owned and are called on the merge
  /// thread only.
  FlowWorkers(size_t workers, const FlowTableLimits& limits, std::vector<Sink*> sinks,
              std::vector<SegmentObserver*> observers);
  ~FlowWorkers();
  FlowWorkers(const FlowWorkers&) = delete;
  FlowWorkers& operator=(const FlowWorkers&) = delete;

  /// The worker that owns the connection of flow_hash `hash` (other bits
  /// than --shard's hash % N, so that a shard still spreads over workers).
  static size_t worker_of(uint64_t hash, size_t workers) { return (hash >> 32) % workers; }

  /// Called on the merge thread after each batch was told.
  void set_after_batch(std::function<void()> f) { after_batch_ = std::move(f); }

  /// Reader: the next decoded segment (its bytes are copied). `own` false:
  /// no worker takes it, only its time counts (another --shard's).
  void on_segment(const Segment& s, uint64_t hash, bool may_open, bool own = true);
  /// Reader: FlowTable::expire(now) on every table.
  void expire(Timestamp now);
  /// Reader: runs `f` on the merge thread after the events of every
  /// segment given so far and before the events of the next.
  void post(std::function<void()> f);
  /// Reader: end of input. Every connection ends, the sinks finish();
  /// returns when everything is told and the threads are gone.
  void finish();

  /// The tables' counts added up: exact once finish() has told the sinks'
  /// finish(); before, only `connections` (those told so far).
  FlowTableStats stats() const;

  struct Batch;
  struct Result;
  struct Event;

 private:
  struct Worker;
  class Recorder;
  void start();
  /// Batches and results are used again (their buffers keep their size).
  std::shared_ptr<Batch> new_batch();
  std::unique_ptr<Result> new_result();
  void recycle(std::unique_ptr<Result> r);
  void publish(bool last);
  void work(Worker& w);
  void merge();
  void tell(size_t w, const Result& r, const Event& e);
  uint64_t global_id(size_t w, uint64_t local) const;

  FlowTableLimits limits_;
  std::vector<Sink*> sinks_;
  std::vector<SegmentObserver*> observers_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread merger_;
  bool started_ = false;
  bool finished_ = false;
  std::function<void()> after_batch_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Batch>> free_batches_;
  std::vector<std::unique_ptr<Result>> free_results_;
  std::shared_ptr<Batch> batch_;  // being filled by the reader
  uint64_t next_seq_ = 0;
  // Merge thread: ids, and one Connection per open connection.
  std::vector<std::vector<uint64_t>> global_of_;  // per worker: local id -> id
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> live_;
  uint64_t next_id_ = 0;
  std::atomic<uint64_t> told_connections_{0};
  std::atomic<bool> done_{false};
};

}  // namespace tcpscribe
