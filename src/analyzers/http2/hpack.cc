#include "hpack.h"

#include <nghttp2/nghttp2.h>

namespace tcpscribe {
namespace {

/// An HPACK integer with an N-bit prefix (RFC 7541 5.1); false if cut or
/// absurdly large.
bool read_int(std::span<const uint8_t>& in, int bits, uint64_t& v) {
  if (in.empty()) return false;
  const uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
  v = in[0] & mask;
  in = in.subspan(1);
  if (v < mask) return true;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = in[0];
    in = in.subspan(1);
    v += uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

void put_int(std::vector<uint8_t>& out, uint8_t first, int bits, uint64_t v) {
  const uint64_t mask = (1u << bits) - 1;
  if (v < mask) {
    out.push_back(static_cast<uint8_t>(first | v));
    return;
  }
  out.push_back(static_cast<uint8_t>(first | mask));
  v -= mask;
  while (v >= 128) {
    out.push_back(static_cast<uint8_t>(v % 128 + 128));
    v /= 128;
  }
  out.push_back(static_cast<uint8_t>(v));
}

/// The bytes of one string literal (H bit, length, octets); false if cut.
bool take_string(std::span<const uint8_t>& in, std::span<const uint8_t>& raw) {
  std::span<const uint8_t> p = in;
  uint64_t len;
  if (!read_int(p, 7, len) || len > p.size()) return false;
  const size_t total = static_cast<size_t>(in.size() - p.size() + len);
  raw = in.first(total);
  in = in.subspan(total);
  return true;
}

}  // namespace

HpackDecoder::HpackDecoder() {
  if (nghttp2_hd_inflate_new(&live_) != 0) live_ = nullptr;
  if (nghttp2_hd_inflate_new(&scratch_) != 0) scratch_ = nullptr;
}

HpackDecoder::~HpackDecoder() {
  if (live_) nghttp2_hd_inflate_del(live_);
  if (scratch_) nghttp2_hd_inflate_del(scratch_);
}

void HpackDecoder::set_max_table(uint32_t size) {
  max_table_ = size;
  if (live_ && known_ && nghttp2_hd_inflate_change_table_size(live_, size) != 0) known_ = false;
}

bool HpackDecoder::decode(std::span<const uint8_t> block, std::vector<HttpHeader>& fields) {
  fields.clear();
  if (!known_ && !block.empty() && (block[0] & 0xe0) == 0x20) {
    // A table size update first: to 0, the table is empty, hence known.
    std::span<const uint8_t> p = block;
    uint64_t size;
    if (read_int(p, 5, size) && size == 0) {
      if (live_) nghttp2_hd_inflate_del(live_);
      live_ = nullptr;
      if (nghttp2_hd_inflate_new(&live_) == 0 &&
          nghttp2_hd_inflate_change_table_size(live_, max_table_) == 0) {
        known_ = true;
      }
    }
  }
  if (known_ && live_) {
    if (decode_known(block, fields)) return true;
    known_ = false;
    fields.clear();
  }
  known_ = false;
  return decode_alone(block, fields);
}

bool HpackDecoder::decode_known(std::span<const uint8_t> block, std::vector<HttpHeader>& fields) {
  std::span<const uint8_t> in = block;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t n = nghttp2_hd_inflate_hd2(live_, &nv, &flags, in.data(), in.size(), 1);
    if (n < 0) return false;
    in = in.subspan(static_cast<size_t>(n));
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      fields.push_back({std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                        std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen)});
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(live_);
      return true;
    }
    if (n == 0 && in.empty() && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return false;
  }
}

bool HpackDecoder::decode_field(const std::vector<uint8_t>& mini, HttpHeader& out) {
  if (!scratch_) return false;
  std::span<const uint8_t> in(mini);
  bool got = false;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t n = nghttp2_hd_inflate_hd2(scratch_, &nv, &flags, in.data(), in.size(), 1);
    if (n < 0) {
      // The scratch inflater is unusable after an error: a new one.
      nghttp2_hd_inflate_del(scratch_);
      scratch_ = nullptr;
      if (nghttp2_hd_inflate_new(&scratch_) != 0) scratch_ = nullptr;
      return false;
    }
    in = in.subspan(static_cast<size_t>(n));
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      out = {std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
             std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen)};
      got = true;
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(scratch_);
      return got;
    }
    if (n == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT)) return false;
  }
}

bool HpackDecoder::decode_alone(std::span<const uint8_t> block, std::vector<HttpHeader>& fields) {
  constexpr uint64_t kStatic = 61;
  bool all = true;
  std::span<const uint8_t> in = block;
  while (!in.empty()) {
    const uint8_t b = in[0];
    std::vector<uint8_t> mini;
    HttpHeader f{kHpackUnknown, kHpackUnknown};
    uint64_t index;
    if (b & 0x80) {  // indexed field
      if (!read_int(in, 7, index)) return false;
      if (index >= 1 && index <= kStatic) {
        put_int(mini, 0x80, 7, index);
        if (!decode_field(mini, f)) f = {kHpackUnknown, kHpackUnknown};
      }
      if (f.value == kHpackUnknown) all = false;
      fields.push_back(std::move(f));
      continue;
    }
    if ((b & 0xe0) == 0x20) {  // table size update
      if (!read_int(in, 5, index)) return false;
      continue;
    }
    // A literal: with incremental indexing (6-bit index), without or never
    // indexed (4-bit index); decoded as a literal without indexing.
    const int bits = (b & 0x40) ? 6 : 4;
    if (!read_int(in, bits, index)) return false;
    std::span<const uint8_t> name_raw, value_raw;
    if (index == 0 && !take_string(in, name_raw)) return false;
    if (!take_string(in, value_raw)) return false;
    bool name_known = true;
    if (index == 0) {
      mini.push_back(0x00);
      mini.insert(mini.end(), name_raw.begin(), name_raw.end());
    } else if (index <= kStatic) {
      put_int(mini, 0x00, 4, index);
    } else {
      // The name is in the dynamic table: decode the value under a
      // stand-in name.
      name_known = false;
      mini.push_back(0x00);
      mini.push_back(0x01);
      mini.push_back('x');
    }
    mini.insert(mini.end(), value_raw.begin(), value_raw.end());
    if (!decode_field(mini, f)) {
      all = false;
      fields.push_back({kHpackUnknown, kHpackUnknown});
      continue;
    }
    if (!name_known) {
      f.name = kHpackUnknown;
      all = false;
    }
    fields.push_back(std::move(f));
  }
  return all;
}

}  // namespace tcpscribe
