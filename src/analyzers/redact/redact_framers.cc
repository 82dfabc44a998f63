#include "redact_framers.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tcpscribe {
namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint32_t le24(const uint8_t* p) { return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16; }
uint32_t le32(const uint8_t* p) { return le24(p) | uint32_t{p[3]} << 24; }

constexpr uint32_t kPgSslRequest = 80877103;
constexpr uint32_t kPgGssEncRequest = 80877104;
constexpr uint32_t kMyProtocol41 = 0x200;
constexpr uint32_t kMySsl = 0x800;
constexpr uint32_t kMySecureConnection = 0x8000;
constexpr uint32_t kMyLenencAuth = 0x200000;

class AuthFramer final : public ProtocolFramer {
 public:
  void feed(std::span<const uint8_t> bytes, uint64_t offset, const Mark& mark) override {
    size_t i = 0;
    while (i < bytes.size() && state_ != State::kDone) {
      if (skip_ > 0) {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(skip_, bytes.size() - i));
        i += k;
        skip_ -= k;
        continue;
      }
      step(bytes, i, offset, mark);
    }
  }
  void stop() override { state_ = State::kDone; }

 private:
  enum class State {
    kDetect, kPgTyped, kMyFixed, kMyUser, kMyAuthLen, kMyLenencMore, kMyAuthNul, kMyHeader, kDone
  };

  // Gathers up to `n` bytes of a header into hdr_; true once it has them.
  bool gather(std::span<const uint8_t> bytes, size_t& i, size_t n) {
    const size_t k = std::min(n - hdr_.size(), bytes.size() - i);
    hdr_.insert(hdr_.end(), bytes.begin() + i, bytes.begin() + i + k);
    i += k;
    return hdr_.size() == n;
  }

  // The auth field of `n` bytes starts at `at`; the rest of the packet is skipped.
  void auth_field(uint64_t at, uint64_t n, const Mark& mark) {
    n = std::min<uint64_t>(n, left());
    if (n > 0) mark(at, at + n);
    skip_ = left();
    state_ = State::kMyHeader;
  }
  uint64_t left() const { return consumed_ < my_len_ ? my_len_ - consumed_ : 0; }

  void step(std::span<const uint8_t> bytes, size_t& i, uint64_t offset, const Mark& mark) {
    switch (state_) {
      case State::kDetect: {
        if (!gather(bytes, i, 8)) return;
        const uint8_t* h = hdr_.data();
        const uint32_t len = be32(h), code = be32(h + 4);
        if ((code >> 16) == 3 && len >= 8 && len <= 10000) {
          skip_ = len - 8;  // the startup message: parameters, no password
          state_ = State::kPgTyped;
        } else if ((code == kPgSslRequest || code == kPgGssEncRequest) && len == 8) {
          state_ = State::kDetect;  // answered 'N': a startup message; 'S': TLS (not ours)
        } else if (h[3] == 1 && le24(h) >= 32 && (le32(h + 4) & kMyProtocol41)) {
          my_len_ = le24(h);
          caps_ = le32(h + 4);
          consumed_ = 4;
          // An SSLRequest is the fixed part alone; TLS follows it.
          state_ = my_len_ == 32 && (caps_ & kMySsl) ? State::kDone : State::kMyFixed;
        } else {
          state_ = State::kDone;
        }
        hdr_.clear();
        return;
      }
      case State::kPgTyped: {
        if (!gather(bytes, i, 5)) return;
        const uint32_t len = be32(hdr_.data() + 1);
        const uint64_t at = offset + i;
        if (len < 4) {
          state_ = State::kDone;
        } else {
          if (hdr_[0] == 'p' && len > 4) mark(at, at + len - 4);
          skip_ = len - 4;
        }
        hdr_.clear();
        return;
      }
      case State::kMyFixed:  // max packet size 4, character set 1, filler 23
        if (!gather(bytes, i, 28)) return;
        consumed_ += 28;
        hdr_.clear();
        state_ = State::kMyUser;
        return;
      case State::kMyUser: {
        const size_t end = i + static_cast<size_t>(std::min<uint64_t>(left(), bytes.size() - i));
        const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(bytes.data() + i, 0, end - i));
        const size_t k = nul ? static_cast<size_t>(nul - (bytes.data() + i)) + 1 : end - i;
        i += k;
        consumed_ += k;
        if (nul) state_ = State::kMyAuthLen;
        else if (left() == 0) state_ = State::kMyHeader;
        return;
      }
      case State::kMyAuthLen: {
        if (left() == 0) {
          state_ = State::kMyHeader;
          return;
        }
        if (!(caps_ & (kMyLenencAuth | kMySecureConnection))) {
          state_ = State::kMyAuthNul;
          return;
        }
        if (!gather(bytes, i, 1)) return;
        const uint8_t b = hdr_[0];
        hdr_.clear();
        consumed_ += 1;
        if (!(caps_ & kMyLenencAuth) || b < 0xfb) {
          auth_field(offset + i, b, mark);
        } else if (b >= 0xfc && b <= 0xfe) {
          lenenc_more_ = b == 0xfc ? 2 : b == 0xfd ? 3 : 8;
          state_ = State::kMyLenencMore;
        } else {
          auth_field(offset + i, 0, mark);
        }
        return;
      }
      case State::kMyLenencMore: {
        if (!gather(bytes, i, lenenc_more_)) return;
        uint64_t n = 0;
        for (size_t k = lenenc_more_; k-- > 0;) n = n << 8 | hdr_[k];
        consumed_ += lenenc_more_;
        hdr_.clear();
        auth_field(offset + i, n, mark);
        return;
      }
      case State::kMyAuthNul: {  // old clients: the auth response ends at a NUL
        const size_t end = i + static_cast<size_t>(std::min<uint64_t>(left(), bytes.size() - i));
        const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(bytes.data() + i, 0, end - i));
        const size_t k = nul ? static_cast<size_t>(nul - (bytes.data() + i)) : end - i;
        if (k > 0) mark(offset + i, offset + i + k);
        i += k;
        consumed_ += k;
        if (nul || left() == 0) {
          skip_ = left();
          state_ = State::kMyHeader;
        }
        return;
      }
      case State::kMyHeader: {
        if (!gather(bytes, i, 4)) return;
        const uint32_t len = le24(hdr_.data());
        const uint8_t seq = hdr_[3];
        hdr_.clear();
        if (seq == 0) {  // the first command: authentication is over
          state_ = State::kDone;
          return;
        }
        const uint64_t at = offset + i;
        if (len > 0) mark(at, at + len);  // AuthSwitchResponse and the like
        skip_ = len;
        return;
      }
      case State::kDone:
        i = bytes.size();
        return;
    }
  }

  State state_ = State::kDetect;
  std::vector<uint8_t> hdr_;
  uint64_t skip_ = 0;
  uint64_t my_len_ = 0, consumed_ = 0;
  uint32_t caps_ = 0;
  size_t lenenc_more_ = 0;
};

}  // namespace

std::unique_ptr<ProtocolFramer> make_auth_framer() { return std::make_unique<AuthFramer>(); }

}  // namespace tcpscribe
