// Incremental HTTP/2 frame layer (RFC 9113 section 4-6) for one direction
// of a connection: our own state machine, fed pieces of any size (down to
// one byte) and gaps.
//
// The client's direction starts with the connection preface; frames
// follow. Frames other than DATA are buffered whole (up to kMaxFrame,
// longer ones are skipped as bad) and handed over with padding and the
// priority fields removed; DATA payloads pass straight through, so a
// body is never held. A gap inside a DATA frame's data is a hole in that
// body; any other gap loses the frame boundaries, and so does a stream
// picked up midstream: the parser then looks for them again (two
// plausible frame headers back to back, each of at most the default
// maximum frame size) and goes on from there. What it decides never
// depends on how the stream was cut into pieces.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

enum class H2Type : uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPushPromise = 5,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};

namespace h2flag {
inline constexpr uint8_t kEndStream = 0x1;
inline constexpr uint8_t kAck = 0x1;
inline constexpr uint8_t kEndHeaders = 0x4;
inline constexpr uint8_t kPadded = 0x8;
inline constexpr uint8_t kPriority = 0x20;
}  // namespace h2flag

inline constexpr char kH2Preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kH2PrefaceLen = 24;

struct H2FrameHeader {
  uint32_t length = 0;   ///< payload length as sent
  uint8_t type = 0;
  uint8_t flags = 0;
  uint32_t stream = 0;   ///< reserved bit cleared
  uint64_t offset = 0;   ///< stream offset of the frame's first byte
  bool is(H2Type t) const { return type == static_cast<uint8_t>(t); }
  bool has(uint8_t f) const { return (flags & f) != 0; }
};

/// "DATA", "HEADERS", ... or "type 0xNN".
std::string h2_type_name(uint8_t type);
/// "NO_ERROR", "PROTOCOL_ERROR", ... (RFC 9113 7) or "0xNNNNNNNN".
std::string h2_error_name(uint32_t code);
/// "HEADER_TABLE_SIZE", ... or "0xNNNN".
std::string h2_setting_name(uint16_t id);

class H2FrameEvents {
 public:
  virtual ~H2FrameEvents() = default;
  /// The client's connection preface was seen at `offset`.
  virtual void on_preface(uint64_t offset, Timestamp ts) = 0;
  /// A whole frame other than DATA. `payload`: for HEADERS and
  /// PUSH_PROMISE without padding and priority fields (PUSH_PROMISE keeps
  /// its promised stream id first); for the others as sent.
  virtual void on_frame(const H2FrameHeader& h, std::span<const uint8_t> payload, Timestamp ts) = 0;
  /// A DATA frame begins (its padding already known to be valid or not
  /// yet read); `data_length` excludes padding.
  virtual void on_data_begin(const H2FrameHeader& h, Timestamp ts) = 0;
  virtual void on_data(const H2FrameHeader& h, std::span<const uint8_t> bytes, Timestamp ts) = 0;
  /// Data bytes of the current DATA frame the capture lacks.
  virtual void on_data_gap(const H2FrameHeader& h, uint64_t length, Timestamp ts) = 0;
  virtual void on_data_end(const H2FrameHeader& h, Timestamp ts) = 0;
  /// A frame that cannot be used as it is (skipped; parsing goes on).
  virtual void on_bad_frame(const H2FrameHeader& h, const std::string& what, Timestamp ts) = 0;
  /// Frame boundaries are lost at `offset` (gap, not HTTP/2); the parser
  /// searches for them again. `found`: they were found again at `offset`.
  virtual void on_sync(uint64_t offset, bool found, const std::string& why, Timestamp ts) = 0;
};

class H2FrameParser {
 public:
  static constexpr size_t kMaxFrame = 1u << 20;     ///< non-DATA frames longer are skipped
  static constexpr uint32_t kSyncMaxLength = 16384; ///< frames a resync may start on
  static constexpr size_t kSyncBuffer = 2 * (9 + kSyncMaxLength) + 64;

  /// `client`: this direction starts with the preface.
  H2FrameParser(bool client, H2FrameEvents& ev);

  /// The stream's start is not in the capture: look for frame boundaries.
  void set_midstream();
  /// The preface (client) is not expected: frames from the first byte
  /// (h2c after an upgrade, where the client's preface still comes first).
  void feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  void gap(uint64_t offset, uint64_t length, Timestamp ts);
  /// True while the frames are followed (not searching).
  bool synced() const { return state_ != State::kSearch; }
  uint64_t frames() const { return frames_; }

 private:
  enum class State { kPreface, kHeader, kPayload, kDataPad, kData, kPadding, kSkip, kSearch };

  void start_frame(Timestamp ts);
  void frame_done(Timestamp ts);
  void deliver_buffered(Timestamp ts);
  void lose(uint64_t offset, const std::string& why, Timestamp ts);
  /// Searching: consumes what cannot start a frame chain; true once synced.
  bool search(Timestamp ts);

  H2FrameEvents& ev_;
  State state_;
  uint64_t pos_ = 0;                 // stream offset of the next byte
  std::vector<uint8_t> buf_;         // header, payload, or search window
  uint64_t buf_offset_ = 0;          // search: stream offset of buf_[0]
  H2FrameHeader h_;
  uint64_t left_ = 0;                // payload bytes left (current state)
  uint64_t pad_ = 0;                 // DATA padding after the data
  uint64_t frames_ = 0;
};

/// True when `h` could be a frame header a peer sends (known type with
/// the length and stream rules of RFC 9113, length <= kSyncMaxLength).
bool h2_plausible_header(std::span<const uint8_t> nine);
H2FrameHeader h2_parse_header(std::span<const uint8_t> nine);

}  // namespace tcpscribe
