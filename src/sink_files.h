// One file per direction per connection, named like tcpflow's.
//
// Small flows are written with one open/write/close at their end; long ones
// are written in chunks through a cache of file descriptors that never
// grows beyond RLIMIT_NOFILE. Data goes to its stream offset (pwrite), so a
// hole in the capture is a hole in the file (zero-filled, sparse).
#pragma once

#include <list>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tcpscribe/sink.h"

namespace tcpscribe {

struct FileSinkOptions {
  std::string outdir = ".";
  std::string name_template;       ///< tcpflow-style; see name_template.h
  bool strip_nonprint = false;     ///< -s: non-printable bytes become '.'
  size_t max_fds = 0;              ///< 0: derived from RLIMIT_NOFILE
  size_t chunk_bytes = 64u << 10;  ///< bytes buffered per direction before writing
  bool write_index = false;        ///< -I: FILE.findx with offset|time|length
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
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;

  /// The first write error, empty while all is well ("cannot write X: ...").
  const std::string& error() const { return error_; }
  uint64_t files_written() const { return files_created_; }

 private:
  struct DirFile {
    std::string path;
    int fd = -1;
    bool created = false;
    uint64_t base = 0;         // offset 0 of the stream in the file (name shared in this run)
    uint64_t end = 0;          // stream bytes covered so far, gaps included
    uint64_t pending_offset = 0;
    std::vector<uint8_t> pending;
    std::string index;         // -I lines not yet written
    bool index_created = false;
    std::list<DirFile*>::iterator lru;
  };
  struct ConnFiles {
    DirFile dir[2];
  };

  void flush(DirFile& f);
  bool ensure_open(DirFile& f);
  void close_fd(DirFile& f);
  void finalize(DirFile& f);
  void fail(const std::string& what, int err);
  void write_index(DirFile& f);

  FileSinkOptions opt_;
  std::unordered_map<uint64_t, ConnFiles> conns_;
  std::unordered_set<std::string> names_this_run_;
  std::unordered_set<std::string> dirs_made_;
  std::list<DirFile*> open_fds_;  // least recently used first
  size_t max_fds_ = 0;
  uint64_t files_created_ = 0;
  std::string error_;
};

}  // namespace tcpscribe
