// Content-Encoding decoding for HTTP bodies (HTTP/1 and HTTP/2): gzip and
// deflate with zlib, br with libbrotli, zstd with libzstd, fed
// incrementally so a body is never held whole.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tcpscribe {

enum class ContentCoding { kIdentity, kGzip, kDeflate, kBrotli, kZstd, kUnsupported };

/// The coding named by a Content-Encoding value: "" / "identity" ->
/// kIdentity; "gzip", "x-gzip" -> kGzip; "deflate" -> kDeflate; "br" ->
/// kBrotli; "zstd" -> kZstd; anything else, including a list of several
/// codings, -> kUnsupported.
ContentCoding parse_content_coding(std::string_view value);

/// How far a body is decoded: decoding stops (an error, which the HTTP
/// analyzer reports as a finding) once the decoded bytes pass both `floor`
/// and `ratio` times the compressed bytes read. Real content compresses
/// 3-20x, rarely past 100x; a decompression bomb reaches about 1000x (a
/// 4.4 MB capture gave a 4 GiB body file). The floor keeps small, very
/// repetitive bodies whole.
struct DecodeLimit {
  uint64_t floor = uint64_t{64} << 20;
  uint64_t ratio = 100;
};

/// Inflates one body. "deflate" is meant to be a zlib stream (RFC 9110) but
/// servers also send raw deflate; the first two bytes tell which.
class ContentDecoder {
 public:
  using Output = std::function<void(std::span<const uint8_t>)>;

  explicit ContentDecoder(ContentCoding coding, DecodeLimit limit = {});
  ~ContentDecoder();
  ContentDecoder(const ContentDecoder&) = delete;
  ContentDecoder& operator=(const ContentDecoder&) = delete;

  /// Decodes `in`, handing decoded bytes to `out`. Returns false once the
  /// stream is found corrupt (error() says why); later calls do nothing.
  bool feed(std::span<const uint8_t> in, const Output& out);
  /// True when the compressed stream reached its end marker.
  bool finished() const { return finished_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  uint64_t decoded_bytes() const { return decoded_; }
  /// Bytes after the end of the compressed stream (ignored).
  uint64_t trailing_bytes() const { return trailing_; }

 private:
  bool start(const Output& out);
  bool inflate_some(std::span<const uint8_t> in, const Output& out);
  bool brotli_some(std::span<const uint8_t> in, const Output& out);
  bool zstd_some(std::span<const uint8_t> in, const Output& out);
  /// Hands `produced` decoded bytes on, within the bomb limit given the
  /// compressed bytes `read` so far; false (error set) past it.
  bool emit(const uint8_t* buf, size_t produced, uint64_t read, const Output& out);

  struct Zlib;
  struct Brotli;
  struct Zstd;
  ContentCoding coding_;
  std::unique_ptr<Zlib> z_;
  std::unique_ptr<Brotli> br_;
  std::unique_ptr<Zstd> zs_;
  uint8_t head_[2] = {0, 0};  // "deflate": the first bytes, until the kind is known
  size_t head_len_ = 0;
  bool finished_ = false;
  DecodeLimit limit_;
  uint64_t decoded_ = 0;
  uint64_t consumed_ = 0;  // compressed bytes given to zlib
  uint64_t trailing_ = 0;
  std::string error_;
};

}  // namespace tcpscribe
