// One file per direction per connection, named like tcpflow's.
//
// Each direction's bytes are gathered in memory and handed to the
// FileWriter in chunks (a short flow: one job that creates, writes and
// closes its file). Data goes to its stream offset, so a hole in the
// capture is a hole in the file (zero-filled, sparse).
//
// The bytes gathered in all connections together are bounded by
// `pending_budget`: past it, the largest pending buffers are handed to
// the writers until half the budget is left, so memory stays bounded
// however many connections are open at once (each then writes in smaller
// pieces, as tcpflow writes every segment).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "byte_region.h"
#include "file_writer.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct FileSinkOptions {
  std::string outdir = ".";        ///< shown in messages
  int outdir_fd = -1;              ///< the open output directory (required)
  std::string name_template;       ///< tcpflow-style; see name_template.h
  bool strip_nonprint = false;     ///< -s: non-printable bytes become '.'
  size_t max_fds = 0;              ///< 0: derived from RLIMIT_NOFILE
  size_t chunk_bytes = 64u << 10;  ///< bytes gathered per direction before a write
  bool write_index = false;        ///< -I: FILE.findx with offset|time|length
  size_t writer_threads = 2;       ///< 0: write in the calling thread
  int writer_nice = 0;             ///< niceness of the writer threads (live: yield)
  /// Large pieces of data in the region of the packet being handled are
  /// written from there, not copied (null: every byte is copied).
  const CurrentRegion* current = nullptr;
  size_t view_at_least = 16u << 10;  ///< smaller pieces are copied all the same
  size_t view_batch = 256u << 10;    ///< bytes by reference per write
  /// Memory of the copied bytes (and -I lines) gathered in all directions
  /// together before the largest are written (bytes by reference are the
  /// capture's, counted there).
  size_t pending_budget = kDefaultPendingBudget;
  static constexpr size_t kDefaultPendingBudget = 16u << 20;
};

class FileSink : public Sink {
 public:
  explicit FileSink(FileSinkOptions o);
  ~FileSink() override;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset,
               std::span<const uint8_t> bytes, Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  /// A direction that reached its FIN is complete: its file is finished
  /// now, not at on_close (which comes a close delay later).
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  /// Hands every direction's buffered bytes to the writers (live capture:
  /// files keep up with the traffic).
  void flush_pending();

  /// The first write error, empty while all is well ("cannot write X: ...").
  std::string error() const { return writer_->error(); }
  bool failed() const { return writer_->failed(); }
  std::string failure() const override {
    return failed() ? error() + "; stopped (free space or fix permissions, then run again)"
                    : std::string();
  }
  uint64_t files_written() const { return writer_->files_created(); }
  /// Memory held by pending buffers now (their capacity), and at most so far.
  size_t pending_bytes() const { return pending_bytes_; }
  size_t peak_pending_bytes() const { return peak_pending_; }
  /// Buffers written early because the budget was reached.
  uint64_t budget_writes() const { return budget_writes_; }

 private:
  struct DirFile {
    std::string path;
    size_t route = 0;
    bool submitted = false;    // the writer knows the path
    bool continue_file = false;
    bool done = false;         // finished at its FIN (on_shutdown)
    uint64_t shift = 0;        // stream offset where a continued file resumes
    uint64_t end = 0;          // stream bytes covered so far, gaps included
    uint64_t pending_offset = 0;
    std::vector<uint8_t> pending;
    // Bytes after `pending`, left where they are (in `view_region`).
    std::vector<std::span<const uint8_t>> views;
    size_t view_bytes = 0;
    ByteRegionRef view_region;
    std::string index;
    size_t charged = 0;        // of pending_bytes_: the capacities of pending and index
  };
  struct ConnFiles {
    DirFile dir[2];
  };

  DirFile& file_for(const Connection& c, Dir d);
  /// The stable region holding `bytes` when they are worth writing from
  /// there, else null (they are copied).
  ByteRegionRef by_reference(std::span<const uint8_t> bytes) const;
  /// Appends copied bytes to the direction's pending chunk.
  void append_copy(DirFile& f, uint64_t offset, std::span<const uint8_t> bytes);
  /// `mtime`: a final job's file time (0: none).
  void submit(uint64_t id, DirFile& f, bool final, Timestamp mtime = 0);
  /// Counts the memory `f` holds now in pending_bytes_.
  void recharge(DirFile& f);
  /// Over the budget: writes the largest pending buffers until half of it
  /// is left.
  void shed();

  FileSinkOptions opt_;
  bool names_unique_ = false;  // the template tells every connection apart
  std::unordered_map<uint64_t, ConnFiles> conns_;
  std::unordered_set<std::string> names_this_run_;
  std::unique_ptr<FileWriter> writer_;
  // The one direction holding bytes by reference, if any: each such byte
  // keeps its whole chunk of the capture in memory, so another
  // direction's data hands them to the writer first.
  DirFile* viewing_ = nullptr;
  uint64_t viewing_id_ = 0;
  size_t pending_bytes_ = 0;
  size_t peak_pending_ = 0;
  uint64_t budget_writes_ = 0;
};

}  // namespace tcpscribe
