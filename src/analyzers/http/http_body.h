// Writes one extracted HTTP body to its file in bounded pieces.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// A body file written in pieces of at most `chunk` bytes, each with its
/// own open/pwrite/close, so thousands of bodies in flight never hold
/// thousands of descriptors. Bytes missing from the capture become a hole
/// (zero-filled, sparse) at the right offset. The file is created (or
/// truncated: no silent de-duplication, no suffixes) on the first byte.
class BodyFile {
 public:
  explicit BodyFile(std::string path, size_t chunk = 64u << 10)
      : path_(std::move(path)), chunk_(chunk) {}
  ~BodyFile() { close(); }
  BodyFile(const BodyFile&) = delete;
  BodyFile& operator=(const BodyFile&) = delete;

  /// Creates and reopens the file as `name` inside the open directory
  /// `dir_fd` instead of by path, so it lands in the right place after -z.
  void place(int dir_fd, std::string name) {
    dir_fd_ = dir_fd;
    name_ = std::move(name);
  }
  /// The file's times when it is closed: the capture time of its message
  /// (ns since the epoch; 0: left as the file system sets them), as flow
  /// files carry their first packet's.
  void set_time(Timestamp ns) { mtime_ = ns; }

  void append(std::span<const uint8_t> bytes);
  void hole(uint64_t length);
  /// Flushes and sets the final size. Returns false on a write error.
  bool close();

  const std::string& path() const { return path_; }
  bool created() const { return created_; }
  uint64_t size() const { return end_; }
  /// The first error ("cannot write PATH: reason"), empty if none.
  const std::string& error() const { return error_; }

 private:
  bool flush(bool final);

  std::string path_;
  int dir_fd_ = -1;
  std::string name_;
  Timestamp mtime_ = 0;
  size_t chunk_;
  std::vector<uint8_t> pending_;
  uint64_t pending_offset_ = 0;
  uint64_t end_ = 0;       // bytes covered so far, holes included
  bool created_ = false;
  bool closed_ = false;
  std::string error_;
};

}  // namespace tcpscribe
