// The netrecord log format (docs/NETRECORD.md): one file per TCP
// connection, `<root>_<N>`, a sequence of records
//   `<side> <seconds>.<6-digit microseconds> <con|hup|err|N>\n` [N raw bytes]
//
// Writing: every record goes to the file with one write() (header and bytes
// together), so a log is complete up to its last record whenever a reader
// looks, and SIGKILL loses at most the record being written. Nothing is
// buffered in user space.
//
// Reading: files may end anywhere (a recorder that died, a log copied while
// the connection was open); every complete record is returned, and a data
// record cut short comes back with the bytes that are there and `truncated`.
// The original's timestamp quirk (`4.1000000`, a 7-digit microsecond part
// that means +1 s) is read as two integers and normalised.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tcpscribe {

/// "12.000345" from microseconds (negative input prints as 0.000000).
std::string format_netrecord_time(int64_t micros);

/// The header of one record: "c 12.000345 con\n", `what` being "con",
/// "hup", "err" or a byte count.
std::string netrecord_header(char side, int64_t micros, std::string_view what);

/// Writes one record (header, then `data` for a data record) to `fd` with a
/// single writev, retrying on short writes and EINTR. Returns false and sets
/// `error` (strerror text) on failure; a failed write may have left part of
/// the record in the file. `written`, when given, gets the record's size.
bool write_netrecord(int fd, char side, int64_t micros, std::string_view what,
                     std::span<const uint8_t> data, std::string& error,
                     uint64_t* written = nullptr);

/// Names and creates the log files `<root>_1`, `<root>_2`, ... An existing
/// file is never overwritten: numbering starts after the highest `<root>_N`
/// already present, and each file is created with O_EXCL (a file appearing
/// meanwhile is skipped, not clobbered).
class NetrecordFiles {
 public:
  explicit NetrecordFiles(std::string root);
  ~NetrecordFiles();
  NetrecordFiles(const NetrecordFiles&) = delete;
  NetrecordFiles& operator=(const NetrecordFiles&) = delete;

  /// Checks that the directory of the root exists and accepts new files.
  /// Returns an empty string, or why not ("/x: No such file or directory").
  std::string check_writable() const;

  /// Opens the root's directory and keeps it: logs are then created and
  /// reopened through it, so they land in the right place after -U/-z.
  /// Returns the descriptor, or -1 (logs are then found by path).
  int hold_directory();
  /// The directory, as messages name it.
  std::string directory() const;
  /// Reopens a log this object created, for append (-1 and errno on failure).
  int reopen(const std::string& path) const;

  /// Creates the next log. Returns its fd (O_WRONLY|O_APPEND|O_CLOEXEC) and
  /// sets `number` and `path`, or returns -1 with `error` set.
  int create_next(uint64_t& number, std::string& path, std::string& error);

  const std::string& root() const { return root_; }

 private:
  void scan_existing();

  std::string root_;
  uint64_t next_ = 0;  // 0: not scanned yet
  int dir_fd_ = -1;    // hold_directory()
};

struct NetrecordRecord {
  enum class Kind { kConnect, kData, kHangup, kError };
  char side = 'c';         ///< 'c' or 's'
  int64_t micros = 0;      ///< normalised seconds * 1e6 + microseconds
  Kind kind = Kind::kConnect;
  std::string data;        ///< the bytes of a data record
  uint64_t declared = 0;   ///< the byte count of the header (data records)
  bool truncated = false;  ///< the file ended inside the data: data is shorter
  uint64_t offset = 0;     ///< file offset of the header
};

const char* to_string(NetrecordRecord::Kind k);

/// Reads records one by one from a file (streaming, any size) or a string.
class NetrecordReader {
 public:
  enum class Status { kRecord, kEnd, kMalformed, kIoError };

  NetrecordReader() = default;
  ~NetrecordReader();
  NetrecordReader(const NetrecordReader&) = delete;
  NetrecordReader& operator=(const NetrecordReader&) = delete;

  /// Returns false with error() set when the file cannot be opened.
  bool open(const std::string& path);
  /// Opens `path` and starts reading at file offset `offset` (a record's
  /// header, as tell() gave it).
  bool open(const std::string& path, uint64_t offset);
  /// The file offset of the next record's header (after next() returned a
  /// record).
  uint64_t tell() const { return consumed_ + pos_; }
  void open_string(std::string contents);

  /// The next record. kEnd: no more records (see ended_mid_record());
  /// kMalformed / kIoError: error() says what and where; the records
  /// returned before are valid.
  Status next(NetrecordRecord& r);

  /// The input ended inside a record (a header without its newline, or a
  /// data record shorter than declared).
  bool ended_mid_record() const { return ended_mid_record_; }
  const std::string& error() const { return error_; }

 private:
  /// Makes at least `n` bytes available at pos_, or as many as remain.
  /// Returns false on a read error.
  bool fill(size_t n);
  size_t available() const { return buf_.size() - pos_; }

  int fd_ = -1;
  bool eof_ = false;
  bool done_ = false;
  bool ended_mid_record_ = false;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0;  // file offset of buf_[0]
  std::string path_;
  std::string error_;
};

/// Parses a timestamp as the original wrote it: "<s>.<us>", both decimal
/// integers (so "4.1000000" is 5 s). Returns false if it is not one.
bool parse_netrecord_time(std::string_view s, int64_t& micros);

}  // namespace tcpscribe
