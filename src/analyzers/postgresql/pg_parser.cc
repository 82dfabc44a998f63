#include "pg_parser.h"

#include <cstring>
#include <utility>

namespace tcpscribe {
namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

PgFramer::PgFramer(MessageFn on_message, ErrorFn on_error)
    : on_message_(std::move(on_message)), on_error_(std::move(on_error)) {}

void PgFramer::fail(const std::string& why, uint64_t offset) {
  if (dead_) return;
  dead_ = true;
  if (on_error_) on_error_(why, offset);
}

void PgFramer::feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n && !dead_) {
    if (have_ == 0) {
      cur_ = PgMessage();
      cur_.offset = offset + i;
      cur_.first_ts = ts;
      head_len_ = 0;
      if (bare_) {
        bare_ = false;
        cur_.type = static_cast<char>(bytes[i]);
        cur_.bare = true;
        cur_.last_ts = ts;
        ++i;
        on_message_(std::move(cur_));
        continue;
      }
    }
    const size_t head_size = untyped_ ? 4 : 5;
    if (head_len_ < head_size) {
      const size_t take = std::min(head_size - head_len_, n - i);
      std::memcpy(head_ + head_len_, bytes.data() + i, take);
      head_len_ += take;
      have_ += take;
      i += take;
      if (head_len_ < head_size) break;
      const uint32_t len = be32(head_ + head_size - 4);
      if (!untyped_) cur_.type = static_cast<char>(head_[0]);
      const uint32_t cap = untyped_ ? kMaxStartup : kMaxLength;
      if (len < 4 || len > cap) {
        fail("a message length of " + std::to_string(len) + (untyped_ ? " in the startup phase" : "") +
                 (untyped_ ? "" : std::string(" (type byte 0x") + "0123456789abcdef"[head_[0] >> 4] +
                                      "0123456789abcdef"[head_[0] & 15] + ")"),
             cur_.offset);
        break;
      }
      cur_.length = len - 4;
      body_left_ = cur_.length;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, n - i));
    if (cur_.body.size() < kKeptBytes && take > 0) {
      cur_.body.append(reinterpret_cast<const char*>(bytes.data() + i),
                       std::min(take, kKeptBytes - cur_.body.size()));
    }
    body_left_ -= take;
    i += take;
    have_ += take;
    if (body_left_ == 0) {
      cur_.last_ts = ts;
      have_ = 0;
      head_len_ = 0;
      PgMessage m = std::move(cur_);
      on_message_(std::move(m));
    }
  }
}

bool PgReader::u8(uint8_t& v) {
  if (!ok_ || left() < 1) return ok_ = false;
  v = static_cast<uint8_t>(s_[pos_++]);
  return true;
}

bool PgReader::i16(int16_t& v) {
  if (!ok_ || left() < 2) return ok_ = false;
  v = static_cast<int16_t>((static_cast<uint8_t>(s_[pos_]) << 8) | static_cast<uint8_t>(s_[pos_ + 1]));
  pos_ += 2;
  return true;
}

bool PgReader::i32(int32_t& v) {
  if (!ok_ || left() < 4) return ok_ = false;
  v = static_cast<int32_t>(be32(reinterpret_cast<const uint8_t*>(s_.data() + pos_)));
  pos_ += 4;
  return true;
}

bool PgReader::cstr(std::string& v) {
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

bool PgReader::bytes(size_t n, std::string& v) {
  if (!ok_) return false;
  const size_t take = std::min(n, left());
  v = s_.substr(pos_, take);
  pos_ += take;
  if (take < n) return ok_ = false;
  return true;
}

}  // namespace tcpscribe
