// Writes flow files on background threads.
//
// Creating a file costs the kernel far more than reassembling a short
// connection does; with the writes on their own threads, reassembly and
// file creation overlap and use both cores. Every job for one path goes to
// the same thread, in order, so a file's writes never race.
//
// Jobs travel in blocks: submit() copies a job's path and small data into
// the block being filled for its thread, and a full block (hundreds of
// short files) is handed over with one lock and at most one wake-up. A job
// per queue node would cost a lock, often a futex wake, and allocations
// freed on the other thread (contended malloc arenas) for every file.
// Large data is moved into the block, not copied, and bytes a job holds by
// reference (views into a chunk of the capture, kept alive by the job) are
// written from where they are with one pwritev.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "byte_region.h"

namespace tcpscribe {

/// One piece of work on one file. The first job for a file names its path.
struct WriteJob {
  uint64_t file = 0;          ///< the caller's id for the file
  std::string path;           ///< set on the file's first job
  bool continue_file = false; ///< first job: keep what is there and write after it
  uint64_t offset = 0;        ///< stream offset of `data`
  std::vector<uint8_t> data;
  /// Bytes written after `data`, by reference (at most kMaxViews): they
  /// must stay readable until the job is done, which `keep` sees to.
  std::vector<std::span<const uint8_t>> views;
  ByteRegionRef keep;
  std::string index;          ///< lines for PATH.findx, offsets relative to the stream
  uint64_t extend_to = 0;     ///< final job: the file covers at least this much stream
  /// Final job: the file's access and modification time, in nanoseconds
  /// since the epoch (0: left as the writes made them).
  int64_t mtime_ns = 0;
  bool final = false;         ///< close the file after this job
};

class FileWriter {
 public:
  static constexpr size_t kMaxViews = 64;

  /// `threads` 0 runs jobs in the caller's thread. `max_fds` bounds the open
  /// descriptors of all threads together. `max_queued` bounds the bytes
  /// waiting; submit() blocks beyond it.
  /// Paths of jobs are relative to `dirfd` (an open directory, so that
  /// chroot and dropped privileges after opening it do not matter);
  /// `display_dir` prefixes them in error messages.
  FileWriter(int dirfd, std::string display_dir, size_t threads, size_t max_fds,
             size_t max_queued = 16u << 20, int thread_nice = 0);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  /// Queues a job. `route` picks the thread (jobs with equal routes run in
  /// order). submit(), kick() and drain() are called from one thread.
  void submit(WriteJob job, size_t route);
  /// Hands over every block being filled and wakes its worker. Jobs wait in
  /// a block until it is full; callers that want the writes to happen now
  /// (live capture's periodic flush) kick.
  void kick();
  /// Waits until every queued job is done.
  void drain();
  /// An empty buffer with room for `capacity` bytes, for a job's data:
  /// finished jobs hand their buffers back, so a busy stream of chunks
  /// reuses memory that is already mapped instead of faulting in (and
  /// zeroing) fresh pages for every chunk. Safe from any thread.
  std::vector<uint8_t> take_buffer(size_t capacity);
  /// The first error, empty while all is well. Safe from any thread.
  std::string error() const;
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  uint64_t files_created() const { return files_created_.load(); }

 private:
  struct OpenFile {
    int fd = -1;
    uint64_t base = 0;
    uint64_t written_end = 0;  // stream offset after the last byte written
    bool index_started = false;
    std::string path;
    std::list<uint64_t>::iterator lru;
  };
  /// Jobs for one worker, back to back: a Record, its views (iovecs), the
  /// path (with a terminating NUL), the data unless it was moved into
  /// `moved`, and the index lines; each record starts 8-byte aligned.
  struct Block {
    std::vector<uint8_t> bytes;
    std::vector<std::vector<uint8_t>> moved;
    std::vector<ByteRegionRef> keep;  // the views' regions
    // Bytes counted in queued_bytes_: the jobs' bytes, and the size of each
    // region the views keep (once per block), which is the memory queued.
    size_t queued = 0;
    size_t pinned = 0;  // of which regions'
    const ByteRegion* last_kept = nullptr;
  };
  struct Record {
    uint64_t file;
    uint64_t offset;
    uint64_t extend_to;
    int64_t mtime_ns;
    uint32_t path_len;   // 0: not the file's first job
    uint32_t data_len;   // inline bytes
    uint32_t index_len;
    uint32_t moved;      // 0: data inline; else 1 + its place in Block::moved
    uint32_t views;      // iovecs after the record
    uint8_t continue_file;
    uint8_t final;
  };
  /// One job as the worker sees it (pointing into a block, or at a WriteJob).
  struct JobView {
    uint64_t file = 0;
    std::string_view path;  // NUL-terminated when not empty
    bool continue_file = false;
    uint64_t offset = 0;
    std::span<const uint8_t> data;
    const uint8_t* views = nullptr;  // `view_count` iovecs (unaligned)
    size_t view_count = 0;
    uint64_t view_bytes = 0;
    std::string_view index;
    uint64_t extend_to = 0;
    int64_t mtime_ns = 0;
    bool final = false;
  };
  static constexpr size_t kBlockBytes = 256u << 10;
  static constexpr size_t kMoveAtLeast = 16u << 10;  // larger data is moved, not copied

  struct Worker {
    std::mutex mu;
    std::condition_variable cv;       // the worker waits here for jobs
    std::condition_variable idle_cv;  // drain() waits here
    std::deque<std::unique_ptr<Block>> queue;
    std::unique_ptr<Block> filling;   // the submitting thread's, not yet queued
    bool busy = false;
    bool sleeping = false;            // waiting on cv: a submit must wake it
    bool stop = false;
    std::thread thread;
    // Owned by the worker's thread only:
    std::unordered_map<uint64_t, OpenFile> files;
    std::list<uint64_t> open_fds;  // least recently used first
    std::unordered_set<std::string> dirs_made;
    size_t max_fds = 16;
  };

  void run(Worker& w);
  /// Appends `job` to the worker's block, handing the block over when full.
  void add_to_block(Worker& w, WriteJob& job);
  /// Queues the worker's block being filled, if any (waits while the queue
  /// is over its bound).
  void hand_over(Worker& w);
  void execute_block(Worker& w, Block& b);
  std::unique_ptr<Block> new_block();
  void execute(Worker& w, const JobView& job);
  bool ensure_open(Worker& w, OpenFile& f, uint64_t id, bool create, bool keep);
  /// Closes the least recently used files until one more may open.
  void make_room(Worker& w);
  /// Opens (creating when asked) `path`, NUL-terminated; -1 after an error.
  /// `base` becomes the length of a file that is continued.
  int open_file(Worker& w, std::string_view path, bool create, bool keep, uint64_t& base);
  /// Writes the job's data and views at `at`; false after an error.
  bool write_bytes(int fd, std::string_view path, const JobView& job, off_t at);
  /// Writes the job's data and index lines; a final job extends the file
  /// over a trailing gap. False after an error.
  bool write_job(OpenFile& f, std::string_view path, const JobView& job);
  /// Sets a final job's file times (before the close; later writes would
  /// move the modification time again).
  static void set_times(int fd, const JobView& job);
  void close_fd(Worker& w, OpenFile& f);
  void fail(const std::string& what, int err);
  void recycle(std::vector<uint8_t>&& buffer);

  std::string shown(std::string_view path) const {
    return display_dir_ + "/" + std::string(path);
  }

  int dirfd_;
  int thread_nice_;
  std::string display_dir_;
  // Kept buffers: at most this many, each of 16 KiB to 1 MiB.
  static constexpr size_t kPoolBuffers = 64;
  static constexpr size_t kPoolBlocks = 16;
  std::mutex pool_mu_;
  std::vector<std::vector<uint8_t>> pool_;
  std::vector<std::unique_ptr<Block>> free_blocks_;

  std::vector<std::unique_ptr<Worker>> workers_;
  Worker inline_;
  std::mutex queued_mu_;
  std::condition_variable queued_cv_;
  size_t queued_bytes_ = 0;
  size_t max_queued_;
  mutable std::mutex error_mu_;
  std::string error_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> files_created_{0};
};

}  // namespace tcpscribe
