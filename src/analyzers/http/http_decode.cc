#include "http_decode.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>

namespace tcpscribe {

namespace {

std::string lower_trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string s(v);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

ContentCoding parse_content_coding(std::string_view value) {
  const std::string v = lower_trimmed(value);
  if (v.empty() || v == "identity") return ContentCoding::kIdentity;
  if (v == "gzip" || v == "x-gzip") return ContentCoding::kGzip;
  if (v == "deflate") return ContentCoding::kDeflate;
  if (v == "br") return ContentCoding::kBrotli;
  if (v == "zstd") return ContentCoding::kZstd;
  return ContentCoding::kUnsupported;
}

struct ContentDecoder::Zlib {
  z_stream s{};
  bool ready = false;
  ~Zlib() {
    if (ready) inflateEnd(&s);
  }
};

struct ContentDecoder::Brotli {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  ~Brotli() {
    if (s) BrotliDecoderDestroyInstance(s);
  }
};

struct ContentDecoder::Zstd {
  ZSTD_DStream* s = ZSTD_createDStream();
  // The first bytes of the next frame, held until its 4-byte magic number
  // is known: only zstd frames and skippable frames (RFC 8878) are
  // decoded. libzstd would also take the pre-1.0 formats, whose streaming
  // decoders hand out different bytes depending on how the input is cut.
  uint8_t magic[4] = {0, 0, 0, 0};
  size_t magic_len = 0;
  bool at_frame_start = true;
  ~Zstd() {
    if (s) ZSTD_freeDStream(s);
  }
};

ContentDecoder::ContentDecoder(ContentCoding coding, DecodeLimit limit)
    : coding_(coding), limit_(limit) {}

ContentDecoder::~ContentDecoder() = default;

bool ContentDecoder::start(const Output& out) {
  z_ = std::make_unique<Zlib>();
  int window = 15 + 16;  // gzip wrapper only
  if (coding_ == ContentCoding::kDeflate) {
    // A zlib header: CM 8, window <= 32K, and the check bits (RFC 1950).
    const unsigned cmf = head_[0], flg = head_[1];
    const bool zlib_header = (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
    window = zlib_header ? 15 : -15;
  }
  if (inflateInit2(&z_->s, window) != Z_OK) {
    error_ = "zlib could not be initialised";
    return false;
  }
  z_->ready = true;
  if (coding_ == ContentCoding::kDeflate) {
    // Replay the bytes held back to pick the kind.
    const size_t n = head_len_;
    head_len_ = 0;
    return inflate_some(std::span<const uint8_t>(head_, n), out);
  }
  return true;
}

bool ContentDecoder::emit(const uint8_t* buf, size_t produced, uint64_t read, const Output& out) {
  const uint64_t allowed = std::max(limit_.floor, limit_.ratio * read);
  const bool over = decoded_ + produced > allowed;
  if (over) produced = static_cast<size_t>(allowed - std::min(allowed, decoded_));
  if (produced > 0) {
    decoded_ += produced;
    out(std::span<const uint8_t>(buf, produced));
  }
  if (over) {
    error_ = "decoding stopped at " + std::to_string(decoded_) + " bytes, more than " +
             std::to_string(limit_.ratio) + " times the " + std::to_string(read) +
             " compressed bytes read (decompression bomb limit; -Z keeps the body as sent)";
    return false;
  }
  return true;
}

bool ContentDecoder::brotli_some(std::span<const uint8_t> in, const Output& out) {
  if (!br_) br_ = std::make_unique<Brotli>();
  if (!br_->s) {
    error_ = "brotli could not be initialised";
    return false;
  }
  if (finished_) {
    trailing_ += in.size();
    return true;
  }
  uint8_t buf[16384];
  size_t avail_in = in.size();
  const uint8_t* next_in = in.data();
  for (;;) {
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    const BrotliDecoderResult rc =
        BrotliDecoderDecompressStream(br_->s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    const uint64_t read = consumed_ + (in.size() - avail_in);
    if (!emit(buf, sizeof buf - avail_out, read, out)) return false;
    if (rc == BROTLI_DECODER_RESULT_ERROR) {
      error_ = std::string("br data is corrupt (") +
               BrotliDecoderErrorString(BrotliDecoderGetErrorCode(br_->s)) + ") after " +
               std::to_string(decoded_) + " decoded bytes";
      return false;
    }
    if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
      finished_ = true;
      trailing_ += avail_in;
      break;
    }
    if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) break;
  }
  consumed_ += in.size() - avail_in;
  return true;
}

namespace {

// RFC 8878 section 3: a zstd frame, or a skippable frame (0x184D2A50 to
// 0x184D2A5F), little-endian.
bool zstd_frame_magic(const uint8_t m[4]) {
  const uint32_t v = uint32_t{m[0]} | uint32_t{m[1]} << 8 | uint32_t{m[2]} << 16 |
                     uint32_t{m[3]} << 24;
  return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

}  // namespace

bool ContentDecoder::zstd_some(std::span<const uint8_t> in, const Output& out) {
  if (!zs_) zs_ = std::make_unique<Zstd>();
  if (!zs_->s) {
    error_ = "zstd could not be initialised";
    return false;
  }
  uint8_t buf[16384];
  // Runs the decoder over `chunk` (whose first byte is compressed byte
  // number `base`) until it is used up or a frame ends; `used` says how
  // far it got.
  auto run = [&](std::span<const uint8_t> chunk, uint64_t base, size_t& used) -> bool {
    ZSTD_inBuffer input{chunk.data(), chunk.size(), 0};
    for (;;) {
      ZSTD_outBuffer output{buf, sizeof buf, 0};
      const size_t rc = ZSTD_decompressStream(zs_->s, &output, &input);
      // What was decoded before an error still goes out.
      if (!emit(buf, output.pos, base + input.pos, out)) return false;
      if (ZSTD_isError(rc)) {
        error_ = std::string("zstd data is corrupt (") + ZSTD_getErrorName(rc) + ") after " +
                 std::to_string(decoded_) + " decoded bytes";
        return false;
      }
      if (rc == 0) {  // a frame ended (another may follow, as with gzip members)
        finished_ = true;
        zs_->at_frame_start = true;
        break;
      }
      finished_ = false;
      if (output.pos < output.size && input.pos == input.size) break;
    }
    used = input.pos;
    return true;
  };
  size_t pos = 0;
  while (pos < in.size()) {
    if (zs_->at_frame_start) {
      while (zs_->magic_len < 4 && pos < in.size()) zs_->magic[zs_->magic_len++] = in[pos++];
      finished_ = false;  // a next frame has begun
      if (zs_->magic_len < 4) break;
      if (!zstd_frame_magic(zs_->magic)) {
        error_ = "zstd data is corrupt (not a zstd frame) after " + std::to_string(decoded_) +
                 " decoded bytes";
        return false;
      }
      zs_->at_frame_start = false;
      zs_->magic_len = 0;
      // Four bytes never complete a frame: the decoder keeps them.
      size_t used = 0;
      if (!run(std::span<const uint8_t>(zs_->magic, 4), consumed_ + pos - 4, used)) return false;
    }
    size_t used = 0;
    if (!run(in.subspan(pos), consumed_ + pos, used)) return false;
    pos += used;
    if (!zs_->at_frame_start) break;  // input used up, the frame goes on
  }
  consumed_ += in.size();
  return true;
}

bool ContentDecoder::feed(std::span<const uint8_t> in, const Output& out) {
  if (failed()) return false;
  if (coding_ == ContentCoding::kBrotli) return brotli_some(in, out);
  if (coding_ == ContentCoding::kZstd) return zstd_some(in, out);
  if (coding_ != ContentCoding::kGzip && coding_ != ContentCoding::kDeflate) {
    decoded_ += in.size();
    if (!in.empty()) out(in);
    return true;
  }
  if (!z_) {
    if (coding_ == ContentCoding::kDeflate) {
      while (head_len_ < 2 && !in.empty()) {
        head_[head_len_++] = in.front();
        in = in.subspan(1);
      }
      if (head_len_ < 2) return true;
    }
    if (!start(out)) return false;
  }
  return inflate_some(in, out);
}

bool ContentDecoder::inflate_some(std::span<const uint8_t> in, const Output& out) {
  uint8_t buf[16384];
  while (!in.empty()) {
    if (finished_) {
      // A gzip body may hold several members back to back; anything else
      // after the end marker is ignored, and so is everything after that
      // (whatever byte a later piece starts with), so the result does not
      // depend on how the body was cut into pieces.
      if (coding_ == ContentCoding::kGzip && trailing_ == 0 && in.front() == 0x1f) {
        inflateReset(&z_->s);
        finished_ = false;
      } else {
        trailing_ += in.size();
        return true;
      }
    }
    z_->s.next_in = const_cast<Bytef*>(in.data());
    z_->s.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), 1u << 30));
    const size_t offered = z_->s.avail_in;
    int rc = Z_OK;
    do {
      z_->s.next_out = buf;
      z_->s.avail_out = sizeof buf;
      rc = inflate(&z_->s, Z_NO_FLUSH);
      size_t produced = sizeof buf - z_->s.avail_out;
      const uint64_t read = consumed_ + (offered - z_->s.avail_in);
      const uint64_t allowed = std::max(limit_.floor, limit_.ratio * read);
      const bool over = decoded_ + produced > allowed;
      if (over) produced = static_cast<size_t>(allowed - std::min(allowed, decoded_));
      if (produced > 0) {
        decoded_ += produced;
        out(std::span<const uint8_t>(buf, produced));
      }
      if (over) {
        error_ = "decoding stopped at " + std::to_string(decoded_) + " bytes, more than " +
                 std::to_string(limit_.ratio) + " times the " + std::to_string(read) +
                 " compressed bytes read (decompression bomb limit; -Z keeps the body as sent)";
        return false;
      }
      if (rc == Z_STREAM_END) {
        finished_ = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = std::string(coding_ == ContentCoding::kGzip ? "gzip" : "deflate") +
                 " data is corrupt (" + (z_->s.msg ? z_->s.msg : "zlib error") + ") after " +
                 std::to_string(decoded_) + " decoded bytes";
        return false;
      }
    } while (z_->s.avail_in > 0 || z_->s.avail_out == 0);
    consumed_ += offered - z_->s.avail_in;
    in = in.subspan(offered - z_->s.avail_in);
  }
  return true;
}

}  // namespace tcpscribe
