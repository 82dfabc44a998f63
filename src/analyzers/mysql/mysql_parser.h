// The MySQL / MariaDB client/server protocol's packet framing for one
// direction (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html):
// a 3-byte little-endian length, a sequence id, the payload; a payload of
// 0xffffff bytes continues in the next packet (payloads over 16 MiB), and
// the pieces come out as one packet. Incremental: the same packets whether
// the stream is fed whole, in pieces or byte by byte. A payload is kept up
// to kKeptBytes (its full length counted).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "tcpscribe/packet.h"

namespace tcpscribe {

struct MyPacket {
  uint8_t seq = 0;            ///< the sequence id of its first piece
  uint64_t length = 0;        ///< the payload's full length (pieces joined)
  std::string body;           ///< its first kKeptBytes bytes
  uint64_t offset = 0;
  Timestamp first_ts = 0;
  Timestamp last_ts = 0;
  bool cut() const { return body.size() < length; }
};

class MyFramer {
 public:
  static constexpr size_t kKeptBytes = 64u << 10;
  using PacketFn = std::function<void(MyPacket&& p)>;

  explicit MyFramer(PacketFn on_packet);
  void feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  void stop() { dead_ = true; }
  bool active() const { return !dead_; }
  bool in_packet() const { return !dead_ && (head_len_ > 0 || started_); }

 private:
  PacketFn on_packet_;
  bool dead_ = false;
  uint8_t head_[4] = {0, 0, 0, 0};
  size_t head_len_ = 0;
  uint32_t piece_left_ = 0;
  bool in_body_ = false;
  bool more_ = false;         ///< the current piece is 0xffffff long: another follows
  bool started_ = false;      ///< a packet (maybe of several pieces) is under way
  MyPacket cur_;
};

/// Little-endian readers with MySQL's length-encoded integers and strings.
class MyReader {
 public:
  explicit MyReader(const std::string& s, size_t pos = 0) : s_(s), pos_(pos) {}
  bool u8(uint8_t& v);
  bool u16(uint16_t& v);
  bool u32(uint32_t& v);
  bool u64(uint64_t& v);
  /// A length-encoded integer; `null` is set for 0xfb (NULL in a text row).
  bool lenenc(uint64_t& v, bool* null = nullptr);
  bool lenenc_str(std::string& v, bool* null = nullptr);
  bool cstr(std::string& v);
  bool bytes(size_t n, std::string& v);
  bool skip(size_t n);
  std::string rest();
  size_t left() const { return s_.size() - pos_; }
  bool ok() const { return ok_; }

 private:
  const std::string& s_;
  size_t pos_;
  bool ok_ = true;
};

}  // namespace tcpscribe
