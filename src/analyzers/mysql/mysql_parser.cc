#include "mysql_parser.h"

#include <cstring>
#include <utility>

namespace tcpscribe {

MyFramer::MyFramer(PacketFn on_packet) : on_packet_(std::move(on_packet)) {}

void MyFramer::feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n && !dead_) {
    if (!in_body_) {
      if (!started_ && head_len_ == 0) {
        cur_ = MyPacket();
        cur_.offset = offset + i;
        cur_.first_ts = ts;
      }
      const size_t take = std::min<size_t>(4 - head_len_, n - i);
      std::memcpy(head_ + head_len_, bytes.data() + i, take);
      head_len_ += take;
      i += take;
      if (head_len_ < 4) break;
      head_len_ = 0;
      piece_left_ = uint32_t{head_[0]} | (uint32_t{head_[1]} << 8) | (uint32_t{head_[2]} << 16);
      if (!started_) cur_.seq = head_[3];
      started_ = true;
      more_ = piece_left_ == 0xffffff;
      in_body_ = true;
    }
    const size_t take = std::min<size_t>(piece_left_, n - i);
    if (cur_.body.size() < kKeptBytes && take > 0) {
      cur_.body.append(reinterpret_cast<const char*>(bytes.data() + i),
                       std::min(take, kKeptBytes - cur_.body.size()));
    }
    cur_.length += take;
    piece_left_ -= static_cast<uint32_t>(take);
    i += take;
    if (piece_left_ > 0) break;
    in_body_ = false;
    if (more_) continue;  // the payload goes on in the next piece
    started_ = false;
    cur_.last_ts = ts;
    MyPacket p = std::move(cur_);
    cur_ = MyPacket();
    on_packet_(std::move(p));
  }
}

bool MyReader::u8(uint8_t& v) {
  if (!ok_ || left() < 1) return ok_ = false;
  v = static_cast<uint8_t>(s_[pos_++]);
  return true;
}
bool MyReader::u16(uint16_t& v) {
  uint8_t a = 0, b = 0;
  if (!u8(a) || !u8(b)) return false;
  v = static_cast<uint16_t>(a | (b << 8));
  return true;
}
bool MyReader::u32(uint32_t& v) {
  uint16_t a = 0, b = 0;
  if (!u16(a) || !u16(b)) return false;
  v = uint32_t{a} | (uint32_t{b} << 16);
  return true;
}
bool MyReader::u64(uint64_t& v) {
  uint32_t a = 0, b = 0;
  if (!u32(a) || !u32(b)) return false;
  v = uint64_t{a} | (uint64_t{b} << 32);
  return true;
}
bool MyReader::lenenc(uint64_t& v, bool* null) {
  uint8_t b = 0;
  if (null) *null = false;
  if (!u8(b)) return false;
  if (b < 0xfb) {
    v = b;
    return true;
  }
  if (b == 0xfb) {
    v = 0;
    if (null) *null = true;
    return true;
  }
  if (b == 0xfc) {
    uint16_t x = 0;
    if (!u16(x)) return false;
    v = x;
    return true;
  }
  if (b == 0xfd) {
    uint8_t a = 0, c = 0, d = 0;
    if (!u8(a) || !u8(c) || !u8(d)) return false;
    v = uint64_t{a} | (uint64_t{c} << 8) | (uint64_t{d} << 16);
    return true;
  }
  if (b == 0xfe) return u64(v);
  return ok_ = false;  // 0xff: not an integer
}
bool MyReader::lenenc_str(std::string& v, bool* null) {
  uint64_t n = 0;
  if (!lenenc(n, null)) return false;
  if (null && *null) {
    v.clear();
    return true;
  }
  return bytes(static_cast<size_t>(std::min<uint64_t>(n, SIZE_MAX / 2)), v);
}
bool MyReader::cstr(std::string& v) {
  if (!ok_) return false;
  const size_t end = s_.find('\0', pos_);
  if (end == std::string::npos) {
    v = s_.substr(pos_);
    pos_ = s_.size();
    return ok_ = false;
  }
  v = s_.substr(pos_, end - pos_);
  pos_ = end + 1;
  return true;
}
bool MyReader::bytes(size_t n, std::string& v) {
  if (!ok_) return false;
  const size_t take = std::min(n, left());
  v = s_.substr(pos_, take);
  pos_ += take;
  if (take < n) return ok_ = false;
  return true;
}
bool MyReader::skip(size_t n) {
  if (!ok_ || left() < n) return ok_ = false;
  pos_ += n;
  return true;
}
std::string MyReader::rest() {
  std::string v = ok_ ? s_.substr(pos_) : std::string();
  pos_ = s_.size();
  return v;
}

}  // namespace tcpscribe
