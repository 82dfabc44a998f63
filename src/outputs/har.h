// --har FILE: an HTTP Archive 1.2 (http://www.softwareishard.com/blog/har-12-spec/)
// of every HTTP transaction, written as transactions complete so memory
// does not grow with the capture (one entry per line; viewers sort by
// startedDateTime).
//
// Times come from packet timestamps: startedDateTime is the request's first
// byte; timings.connect is the handshake (SYN -> SYN-ACK) for a
// connection's first transaction when the capture has it, else -1; send is
// the request's first to last byte, wait its last byte to the response's
// first, receive the response's first to last byte (negative spans, e.g. an
// early response, count 0). time is the sum of the timings that apply.
// Responses without a request are not entries (they are findings).
#pragma once

#include "json_text.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "atomic_file.h"
#include "http.h"

namespace tcpscribe {

/// Appends `s` as a JSON string literal: valid UTF-8 passes through,
/// control characters (and U+2028/2029) are escaped, and each byte that is
/// not part of valid UTF-8 becomes the code point of the same value
/// (\u0080..\u00ff, as if Latin-1), so any header bytes give valid JSON.
void append_har_string(std::string& out, std::string_view s);
std::string base64(std::string_view bytes);
/// ISO 8601, UTC, milliseconds: 2024-05-01T12:00:00.123Z.
std::string iso8601(Timestamp ns);

/// One "entries" element, without a trailing newline.
std::string har_entry(const HttpTransaction& t);

/// An output like the others: it takes no stream events (the HTTP
/// analyzer hands it transactions through add()), and finish() closes the
/// document after the analyzer delivered its last transaction.
class HarWriter : public Sink {
 public:
  HarWriter() = default;
  ~HarWriter() override;
  HarWriter(const HarWriter&) = delete;
  HarWriter& operator=(const HarWriter&) = delete;

  /// Creates FILE.tmp ("-": standard output) and writes the log header;
  /// finish() renames it to FILE, so a failed write never leaves a cut HAR.
  bool open(const std::string& path, std::string& error);
  /// Adds an entry (responses without a request are skipped).
  void add(const HttpTransaction& t);
  /// Closes the document. False (and `error`) if anything failed to write.
  bool finish(std::string& error);

  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {}
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_close(const Connection&, CloseReason) override {}
  void finish() override {
    if (std::string e; !finish(e)) finish_error_ = e;
  }
  std::string failure() const override { return finish_error_; }
  uint64_t entries() const { return entries_; }
  /// The file the archive goes to (for -U: its directory, its owner).
  AtomicFile& file() { return file_; }

 private:
  void put(const std::string& s);

  AtomicFile file_;
  std::FILE* f_ = nullptr;
  std::string path_;
  bool write_failed_ = false;
  int write_errno_ = 0;
  uint64_t entries_ = 0;
  std::string finish_error_;
};

}  // namespace tcpscribe
