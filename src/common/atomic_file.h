// A report file written beside its name and renamed over it when complete.
//
// The HTML report, the HAR and the DFXML are written to NAME.tmp and
// renamed to NAME only when everything reached the disk, so a full disk or
// a crash never leaves a truncated file under the name (an older report
// there stays as it was). The directory is opened with the file and held,
// so the rename still lands in the right place after -U or -z.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>

namespace tcpscribe {

class AtomicFile {
 public:
  AtomicFile() = default;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Opens the directory of `path` and creates `path`.tmp in it. "-" is
  /// standard output, written directly. False and `error` on failure.
  bool open(const std::string& path, std::string& error);
  bool is_open() const { return out_ != nullptr; }
  std::FILE* stream() const { return out_; }
  /// Flushes, closes and renames the temporary file to its name. On a
  /// write error the temporary file is removed; if only the rename fails
  /// it is kept and `error` says where the report is.
  bool commit(std::string& error);
  /// Removes the temporary file (nothing is renamed).
  void abandon();

  /// -U: hands the temporary file to the user, so the rename works in a
  /// sticky directory such as /tmp.
  bool chown_to(uid_t uid, gid_t gid) const;
  /// The held directory (-1 for standard output) and how messages name it.
  int dir_fd() const { return dir_fd_; }
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }
  bool is_stdout() const { return is_stdout_; }

 private:
  void close_all();

  std::string path_;
  std::string dir_;    // the directory part of path_ ("." when none)
  std::string base_;   // the name within it
  int dir_fd_ = -1;
  std::FILE* out_ = nullptr;
  bool is_stdout_ = false;
};

}  // namespace tcpscribe
