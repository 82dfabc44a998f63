#include "http_decode.h"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zstd.h>

#include <string>

#include "http_test_support.h"

namespace tcpscribe {
namespace {

struct Decoded {
  std::string out;
  bool failed = false;
  uint64_t trailing = 0;
};

Decoded decode_pieces(ContentCoding coding, const std::string& body, size_t cut) {
  Decoded d;
  ContentDecoder dec(coding);
  const auto out = [&](std::span<const uint8_t> b) { d.out.append(b.begin(), b.end()); };
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  dec.feed({p, cut}, out);
  dec.feed({p + cut, body.size() - cut}, out);
  d.failed = dec.failed();
  d.trailing = dec.trailing_bytes();
  return d;
}

// Found by fuzz/fuzz_http_body: after a gzip member and bytes that are not
// another member, a later piece that happened to start with 0x1f was taken
// as a new member (and then failed as corrupt), so the result depended on
// where the body was cut.
TEST(ContentDecoder, TrailingBytesStayTrailingWhereverThePiecesAreCut) {
  const std::string body = testing::compress("abc", 15 + 16) + "xy" + "\x1f\x8b" + "junk";
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    const Decoded d = decode_pieces(ContentCoding::kGzip, body, cut);
    EXPECT_EQ(d.out, "abc") << "cut at " << cut;
    EXPECT_FALSE(d.failed) << "cut at " << cut;
    EXPECT_EQ(d.trailing, 8u) << "cut at " << cut;
  }
}

TEST(ContentDecoder, GzipMembersBackToBackWhereverThePiecesAreCut) {
  const std::string body = testing::compress("one", 31) + testing::compress("two", 31);
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    const Decoded d = decode_pieces(ContentCoding::kGzip, body, cut);
    EXPECT_EQ(d.out, "onetwo") << "cut at " << cut;
    EXPECT_FALSE(d.failed);
    EXPECT_EQ(d.trailing, 0u);
  }
}

std::string brotli(const std::string& data) {
  size_t n = BrotliEncoderMaxCompressedSize(data.size()) + 16;
  std::string out(n, '\0');
  EXPECT_TRUE(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW,
                                    BROTLI_DEFAULT_MODE, data.size(),
                                    reinterpret_cast<const uint8_t*>(data.data()), &n,
                                    reinterpret_cast<uint8_t*>(out.data())));
  out.resize(n);
  return out;
}

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

TEST(ContentDecoder, BrotliAndZstdWhereverThePiecesAreCut) {
  EXPECT_EQ(parse_content_coding("br"), ContentCoding::kBrotli);
  EXPECT_EQ(parse_content_coding(" ZSTD "), ContentCoding::kZstd);
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + " of the body\n";
  for (ContentCoding coding : {ContentCoding::kBrotli, ContentCoding::kZstd}) {
    const std::string body = coding == ContentCoding::kBrotli ? brotli(text) : zstd(text);
    for (size_t cut : {size_t{0}, size_t{1}, body.size() / 2, body.size()}) {
      const Decoded d = decode_pieces(coding, body, cut);
      EXPECT_EQ(d.out, text) << "cut at " << cut;
      EXPECT_FALSE(d.failed);
    }
    // Cut short: not finished; not that coding at all: an error.
    ContentDecoder cut(coding);
    cut.feed({reinterpret_cast<const uint8_t*>(body.data()), body.size() - 1},
             [](std::span<const uint8_t>) {});
    EXPECT_FALSE(cut.finished());
    ContentDecoder other(coding);
    const std::string gz = testing::compress(text, 31);
    EXPECT_FALSE(other.feed({reinterpret_cast<const uint8_t*>(gz.data()), gz.size()},
                            [](std::span<const uint8_t>) {}));
    EXPECT_NE(other.error().find("corrupt"), std::string::npos) << other.error();
  }
}

TEST(ContentDecoder, BrotliBombStopsAtTheLimit) {
  const std::string body = brotli(std::string(8u << 20, 'a'));
  ContentDecoder dec(ContentCoding::kBrotli, DecodeLimit{1u << 20, 100});
  uint64_t out = 0;
  EXPECT_FALSE(dec.feed({reinterpret_cast<const uint8_t*>(body.data()), body.size()},
                        [&](std::span<const uint8_t> b) { out += b.size(); }));
  EXPECT_EQ(out, 1u << 20);
  EXPECT_NE(dec.error().find("decompression bomb"), std::string::npos);
}

}  // namespace
}  // namespace tcpscribe
