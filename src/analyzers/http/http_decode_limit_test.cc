// A decompressed body has a limit: decoding stops once it passes both the
// floor and 100 times the compressed bytes read (decompression bombs).
#ifdef TCPSCRIBE_HAVE_ZLIB
#include <gtest/gtest.h>

#include <random>

#include "http_decode.h"
#include "http_test_support.h"

namespace tcpscribe {
namespace {

uint64_t decode_in_pieces(ContentDecoder& d, const std::string& z, size_t piece) {
  uint64_t out = 0;
  for (size_t at = 0; at < z.size(); at += piece) {
    const auto* p = reinterpret_cast<const uint8_t*>(z.data()) + at;
    if (!d.feed({p, std::min(piece, z.size() - at)},
                [&](std::span<const uint8_t> b) { out += b.size(); })) {
      break;
    }
  }
  return out;
}

// 8 MiB of zeros gzip to about 8 kB (ratio ~1000): with a 1 MiB floor
// decoding stops at the floor, whole or fed in pieces, and says why.
TEST(HttpDecode, BombStopsAtTheLimit) {
  const std::string bomb = testing::compress(std::string(8u << 20, '\0'), 15 + 16);
  ASSERT_LT(bomb.size(), 20'000u);
  for (size_t piece : {bomb.size(), size_t{100}}) {
    ContentDecoder d(ContentCoding::kGzip, DecodeLimit{1u << 20, 100});
    EXPECT_EQ(decode_in_pieces(d, bomb, piece), 1u << 20) << piece;
    EXPECT_EQ(d.decoded_bytes(), 1u << 20);
    ASSERT_TRUE(d.failed());
    EXPECT_EQ(d.error().rfind("decoding stopped at 1048576 bytes, more than 100 times the ", 0),
              0u)
        << d.error();
  }
}

// Ordinary content (about 4x) passes the floor many times over, whole.
TEST(HttpDecode, OrdinaryContentIsNotLimited) {
  std::mt19937 rng(3);
  std::string text;
  while (text.size() < (4u << 20)) text += "word" + std::to_string(rng() % 5000) + ' ';
  const std::string z = testing::compress(text, 15 + 16);
  ContentDecoder d(ContentCoding::kGzip, DecodeLimit{64u << 10, 100});
  EXPECT_EQ(decode_in_pieces(d, z, 1500), text.size());
  EXPECT_FALSE(d.failed()) << d.error();
  EXPECT_TRUE(d.finished());
}

// The default: 64 MiB floor, 100x.
TEST(HttpDecode, DefaultLimit) {
  const DecodeLimit l;
  EXPECT_EQ(l.floor, uint64_t{64} << 20);
  EXPECT_EQ(l.ratio, 100u);
}

}  // namespace
}  // namespace tcpscribe
#endif
