// The TLS record layer of one direction (RFC 8446 5.1, RFC 5246 6.2): cuts
// the reassembled byte stream into records whatever the segments were (a
// record over many segments, many records in one), checks each header, and
// after a capture gap (or a stream that does not start at a record) finds
// the next record boundary again.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "analyzer.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

enum TlsContentType : uint8_t {
  kTlsChangeCipherSpec = 20,
  kTlsAlert = 21,
  kTlsHandshake = 22,
  kTlsApplicationData = 23,
  kTlsHeartbeat = 24,
};

/// The largest fragment a record may carry (2^14 + 2048, RFC 5246 6.2.3).
constexpr size_t kTlsMaxFragment = (1u << 14) + 2048;
constexpr size_t kTlsHeader = 5;

/// Is this a plausible record header: content type 20..24, version
/// 0x0300..0x0304, length 1..2^14+2048 (a zero-length fragment is only
/// valid for application data)? `h` must hold 5 bytes.
bool tls_plausible_header(const uint8_t* h);

/// Does a direction start like TLS: a handshake record (version 3.x)
/// whose first message is a ClientHello (client) or ServerHello (server)?
ProbeResult probe_tls(Dir d, std::span<const uint8_t> first);

struct TlsRecord {
  uint8_t type = 0;
  uint16_t version = 0;
  std::span<const uint8_t> fragment;
  uint64_t offset = 0;  ///< stream offset of its header
  Timestamp ts = 0;     ///< when its first byte was captured
};

struct TlsFramerCounts {
  uint64_t records = 0;
  uint64_t skipped_bytes = 0;  ///< bytes not part of any record found (resync, gaps' leftovers)
  uint64_t resyncs = 0;        ///< times a boundary was found again
  uint64_t bad_headers = 0;    ///< headers that failed the checks where a record was due
};

class TlsRecordFramer {
 public:
  // Memory: at most one record and the next header are buffered, also
  // while resynchronising (a position is dropped as soon as it is known
  // not to start a record; each byte is looked at a bounded number of
  // times).

  using OnRecord = std::function<void(const TlsRecord&)>;
  /// While resynchronising, asked about a candidate record whose next
  /// header is not there or not plausible: true if it is certainly a
  /// record (the session opened it with a key). Must not change state:
  /// the answer, not the moment it is asked, decides, so the records found
  /// are the same however the stream was cut into pieces.
  using Validate = std::function<bool(const TlsRecord&)>;
  explicit TlsRecordFramer(OnRecord on_record, Validate validate = nullptr)
      : on_record_(std::move(on_record)), validate_(std::move(validate)) {}

  /// The next bytes of the stream (contiguous with what came before, or
  /// after a gap()).
  void feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  /// Bytes the capture missed: the record being read is lost; the framer
  /// resynchronises on what follows.
  void gap(uint64_t offset, uint64_t length);
  /// Once the version is known, resync only accepts headers with this
  /// record version (after the handshake every record carries it).
  void lock_version(uint16_t v) { locked_version_ = v; }
  /// Bytes of an incomplete record (or of a resync scan) kept.
  size_t buffered() const { return buf_.size(); }
  bool resyncing() const { return resync_; }
  const TlsFramerCounts& counts() const { return counts_; }

 private:
  void drain(std::span<const uint8_t> data, uint64_t offset, Timestamp ts);
  /// Drops what cannot start a record; true when a boundary was found.
  bool scan_resync();
  bool strong(const uint8_t* h) const;
  /// Buffers bytes captured at `ts` (their stream offset: where buf_ ends,
  /// or `offset` when it is empty).
  void append(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  /// Forgets the first n buffered bytes (and the times only they had).
  void drop_front(size_t n);
  /// When the buffered byte at stream offset `at` was captured.
  Timestamp ts_at(uint64_t at) const;

  /// Where the buffered bytes of each capture time begin: a record's time
  /// is its first byte's, also when a resync scan found it in the middle of
  /// the buffer (whatever pieces the buffer was filled from).
  struct Mark {
    uint64_t offset = 0;  ///< stream offset
    Timestamp ts = 0;
  };

  OnRecord on_record_;
  Validate validate_;
  std::vector<uint8_t> buf_;
  uint64_t buf_offset_ = 0;  ///< stream offset of buf_[0]
  std::deque<Mark> marks_;   ///< the first at buf_offset_; empty when buf_ is
  bool resync_ = false;
  uint16_t locked_version_ = 0;
  TlsFramerCounts counts_;
};

}  // namespace tcpscribe
