// The HTTP content decoders (src/analyzers/http/http_decode: gzip, deflate
// as zlib or raw, br, zstd) with a bounded output. Input: a flags byte (bit
// 0: gzip/deflate, bit 7 set: br/zstd instead), a seed byte, then bytes.
// Properties:
//  1. the input taken as a compressed body: decoding it whole and in
//     pieces (cut where the seed says) gives the same bytes, the same
//     error state, finished() and trailing_bytes() (br and zstd streams
//     that both fail: the bytes out before the error agree); decoded_bytes() counts
//     what was handed out; the output stops at a bound (the harness stops
//     reading once 1 MiB came out, and so must the decoder's memory);
//  2. the input compressed (zlib, brotli or zstd) in the coding chosen
//     decodes to itself, whole and in pieces.
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

#include "fuzz_check.h"
#include "http_decode.h"

using namespace tcpscribe;

namespace {

constexpr size_t kOutputBound = 1u << 20;

struct Result {
  std::string out;
  bool failed = false, finished = false, bounded = false;
  uint64_t decoded = 0, trailing = 0, handed = 0;
  bool operator==(const Result&) const = default;
};

Result decode(ContentCoding coding, std::string_view in, uint8_t seed, bool pieces) {
  Result r;
  ContentDecoder dec(coding);
  uint32_t state = seed;
  for (size_t i = 0; i < in.size() && !r.bounded;) {
    state = state * 1103515245u + 12345u;
    const size_t n = pieces ? std::min(in.size() - i, size_t{1} + (state >> 8) % 64) : in.size();
    const bool ok = dec.feed({reinterpret_cast<const uint8_t*>(in.data()) + i, n},
                             [&](std::span<const uint8_t> b) {
                               // One call may hand out more than the bound
                               // (zstd RLE blocks: 2.5 MB from 159 bytes,
                               // within the bomb limit's 64 MiB floor): kept
                               // up to it, counted past it.
                               r.handed += b.size();
                               if (r.bounded) return;
                               r.out.append(b.begin(), b.end());
                               if (r.out.size() >= kOutputBound) r.bounded = true;
                             });
    FUZZ_CHECK(ok == !dec.failed(), "feed() %d but failed() %d", ok, dec.failed());
    i += n;
  }
  r.failed = dec.failed();
  r.finished = dec.finished();
  r.decoded = dec.decoded_bytes();
  r.trailing = dec.trailing_bytes();
  FUZZ_CHECK(r.decoded == r.handed, "decoded_bytes %llu, handed out %llu",
             static_cast<unsigned long long>(r.decoded), static_cast<unsigned long long>(r.handed));
  FUZZ_CHECK(!r.failed || !dec.error().empty(), "failed without a reason");
  return r;
}

std::string compress(std::string_view data, int window_bits, int level) {
  z_stream s{};
  FUZZ_CHECK(deflateInit2(&s, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK,
             "deflateInit2");
  std::string out(deflateBound(&s, data.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&s, Z_FINISH) == Z_STREAM_END, "deflate");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::string compress_other(ContentCoding coding, std::string_view data, int level) {
  if (coding == ContentCoding::kZstd) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level + 1);
    FUZZ_CHECK(!ZSTD_isError(n), "ZSTD_compress");
    out.resize(n);
    return out;
  }
  size_t n = BrotliEncoderMaxCompressedSize(data.size()) + 16;
  std::string out(n, '\0');
  FUZZ_CHECK(BrotliEncoderCompress(level, BROTLI_DEFAULT_WINDOW, BROTLI_DEFAULT_MODE, data.size(),
                                   reinterpret_cast<const uint8_t*>(data.data()), &n,
                                   reinterpret_cast<uint8_t*>(out.data())),
             "BrotliEncoderCompress");
  out.resize(n);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 256 * 1024) return -1;
  const uint8_t flags = data[0], seed = data[1];
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  static const ContentCoding kCodings[] = {ContentCoding::kGzip, ContentCoding::kDeflate,
                                           ContentCoding::kBrotli, ContentCoding::kZstd};
  const ContentCoding coding = kCodings[(flags & 1) | ((flags & 0x80) ? 2 : 0)];

  const Result whole = decode(coding, in, seed, false);
  const Result pieces = decode(coding, in, seed, true);
  const bool zlib_coding = coding == ContentCoding::kGzip || coding == ContentCoding::kDeflate;
  if (!zlib_coding && whole.failed && pieces.failed) {
    // brotli and zstd find some corruption (a frame checksum) only after
    // decoding the bytes before it, and how much of those they hand out
    // first depends on the pieces: the bytes that came out agree.
    const size_t n = std::min(whole.out.size(), pieces.out.size());
    FUZZ_CHECK(whole.out.compare(0, n, pieces.out, 0, n) == 0, "outputs differ before the error");
  } else if (!whole.bounded && !pieces.bounded) {
    FUZZ_CHECK(whole == pieces, "whole and pieces differ: %zu/%zu bytes, failed %d/%d, "
               "finished %d/%d, trailing %llu/%llu", whole.out.size(), pieces.out.size(),
               whole.failed, pieces.failed, whole.finished, pieces.finished,
               static_cast<unsigned long long>(whole.trailing),
               static_cast<unsigned long long>(pieces.trailing));
  } else {
    // Cut at the bound: the bytes up to the shorter output agree.
    const size_t n = std::min(whole.out.size(), pieces.out.size());
    FUZZ_CHECK(whole.out.compare(0, n, pieces.out, 0, n) == 0, "outputs differ before the bound");
  }

  // Round trip: gzip (31), zlib (15) or raw deflate (-15) of the input, or
  // brotli / zstd.
  const int bits = coding == ContentCoding::kGzip ? 31 : (flags & 2) ? -15 : 15;
  const std::string packed = zlib_coding ? compress(in, bits, (flags >> 2) % 10)
                                         : compress_other(coding, in, (flags >> 2) % 10);
  for (bool p : {false, true}) {
    const Result r = decode(coding, packed, seed, p);
    FUZZ_CHECK(!r.failed && r.finished && r.out == in && r.trailing == 0,
               "round trip (bits %d, pieces %d): failed %d finished %d, %zu of %zu bytes", bits,
               p, r.failed, r.finished, r.out.size(), in.size());
  }
  return 0;
}
