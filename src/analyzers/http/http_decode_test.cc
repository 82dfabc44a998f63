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

// Found by fuzz/fuzz_http_body: a zstd frame whose checksum is wrong.
// Fed whole, zstd decodes the block and fails on the checksum in the same
// call without handing out the block; fed in pieces, the block came out
// before. Both fail, and what came out agrees (a prefix).
TEST(ContentDecoder, ZstdBytesBeforeABadChecksumGoOut) {
  static const char kBody[] = "(\xb5" "/\xfd\x04" "X\xb1\x01\x00\xd4\x02" "The quick brown fox jumps over te hlazy dog. \x01\x00\xb5\x08\xfe\xaa\x0c" "z\x9f\x3f\x1c";
  const std::string body(kBody, sizeof kBody - 1);
  ContentDecoder whole(ContentCoding::kZstd);
  std::string out;
  EXPECT_FALSE(whole.feed({reinterpret_cast<const uint8_t*>(body.data()), body.size()},
                          [&](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); }));
  EXPECT_NE(whole.error().find("zstd data is corrupt"), std::string::npos) << whole.error();
  const Decoded pieces = decode_pieces(ContentCoding::kZstd, body, 40);
  EXPECT_TRUE(pieces.failed);
  EXPECT_FALSE(pieces.out.empty());
  EXPECT_EQ(out, pieces.out.substr(0, out.size()));
}

// Only zstd frames (magic 28 b5 2f fd) and skippable frames (50-5f 2a 4d
// 18) are decoded, at the start and after each frame, wherever the input
// is cut. libzstd also takes the pre-1.0 formats, whose streaming decoders
// handed out different bytes depending on the pieces
// (fuzz/corpus/http_body/http_body-zstd-corrupt-output-depends-on-pieces:
// a v0.7 frame, 27 b5 2f fd).
TEST(ContentDecoder, ZstdTakesOnlyZstdAndSkippableFrames) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  const std::string frame = zstd(text);
  const std::string skippable = std::string("\x53\x2a\x4d\x18\x03\x00\x00\x00" "abc", 11);
  std::string legacy = frame;
  legacy[0] = '\x27';  // v0.7's magic number
  struct Case {
    std::string body;
    std::string out;
    bool failed;
    bool finished;
  };
  const Case cases[] = {
      {skippable + frame + skippable + frame, text + text, false, true},
      {legacy, "", true, false},
      {frame + legacy, text, true, false},
      {frame + "\x28\xb5", text, false, false},  // the next frame's magic, cut short
      {frame + "xyzw", text, true, false},
  };
  for (const Case& c : cases) {
    for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, frame.size() - 1, frame.size() + 1,
                       frame.size() + 3}) {
      SCOPED_TRACE(::testing::PrintToString(c.body) + " cut " + std::to_string(cut));
      ContentDecoder dec(ContentCoding::kZstd);
      std::string out;
      const auto sink = [&](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); };
      const size_t k = std::min(cut, c.body.size());
      for (size_t i = 0; i < k; ++i) {  // byte by byte up to the cut, then the rest
        dec.feed({reinterpret_cast<const uint8_t*>(c.body.data()) + i, 1}, sink);
      }
      dec.feed({reinterpret_cast<const uint8_t*>(c.body.data()) + k, c.body.size() - k}, sink);
      EXPECT_EQ(out, c.out);
      EXPECT_EQ(dec.failed(), c.failed) << dec.error();
      EXPECT_EQ(dec.finished(), c.finished);
      if (c.failed && c.out.empty()) {
        EXPECT_NE(dec.error().find("not a zstd frame"), std::string::npos) << dec.error();
      }
    }
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
