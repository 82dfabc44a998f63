// Writes flow files on background threads.
//
// Creating a file costs the kernel far more than reassembling a short
// connection does; with the writes on their own threads, reassembly and
// file creation overlap and use both cores. Every job for one path goes to
// the same thread, in order, so a file's writes never race.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tcpscribe {

/// One piece of work on one file. The first job for a file names its path.
struct WriteJob {
  uint64_t file = 0;          ///< the caller's id for the file
  std::string path;           ///< set on the file's first job
  bool continue_file = false; ///< first job: keep what is there and write after it
  uint64_t offset = 0;        ///< stream offset of `data`
  std::vector<uint8_t> data;
  std::string index;          ///< lines for PATH.findx, offsets relative to the stream
  uint64_t extend_to = 0;     ///< final job: the file covers at least this much stream
  bool final = false;         ///< close the file after this job
};

class FileWriter {
 public:
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

  /// Queues a job. `route` picks the thread (jobs with equal routes run in order).
  void submit(WriteJob job, size_t route);
  /// Wakes every worker that has jobs waiting. submit() wakes a sleeping
  /// worker only once a batch of jobs is queued (a wake-up costs a system
  /// call and a context switch per file otherwise); callers that want the
  /// writes to happen now (live capture's periodic flush) kick.
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
  struct Worker {
    std::mutex mu;
    std::condition_variable cv;       // the worker waits here for jobs
    std::condition_variable idle_cv;  // drain() waits here
    std::deque<WriteJob> queue;
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
  void execute(Worker& w, WriteJob& job);
  bool ensure_open(Worker& w, OpenFile& f, uint64_t id, bool create, bool keep);
  /// Closes the least recently used files until one more may open.
  void make_room(Worker& w);
  bool open_file(Worker& w, OpenFile& f, bool create, bool keep);
  /// Writes the job's data and index lines; a final job extends the file
  /// over a trailing gap. False after an error.
  bool write_job(OpenFile& f, const WriteJob& job);
  void close_fd(Worker& w, OpenFile& f);
  void fail(const std::string& what, int err);
  void recycle(std::vector<uint8_t>&& buffer);

  std::string shown(const std::string& path) const { return display_dir_ + "/" + path; }

  int dirfd_;
  int thread_nice_;
  std::string display_dir_;
  static constexpr size_t kWakeBatch = 32;
  // Kept buffers: at most this many, each of 16 KiB to 1 MiB.
  static constexpr size_t kPoolBuffers = 64;
  std::mutex pool_mu_;
  std::vector<std::vector<uint8_t>> pool_;

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
