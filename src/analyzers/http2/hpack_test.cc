#include "hpack.h"

#include <gtest/gtest.h>

#include "http2_test_support.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> b(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Hpack, KnownTableDecodesEveryField) {
  h2test::Encoder enc;
  HpackDecoder dec;
  std::vector<HttpHeader> f;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(dec.decode(b(enc.block({{":status", "200"}, {"x-custom", "value " + std::to_string(i)},
                                        {"server", "same every time"}})),
                           f));
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[1].value, "value " + std::to_string(i));
    EXPECT_EQ(f[2].value, "same every time");
  }
}

TEST(Hpack, UnknownTableGivesUnknownNeverAGuess) {
  h2test::Encoder enc;
  enc.block({{"server", "cached"}, {"x-name", "v1"}});
  const std::string second = enc.block({{"server", "cached"}, {"x-name", "v2"}, {":status", "404"}});
  HpackDecoder dec;
  dec.forget();
  std::vector<HttpHeader> f;
  EXPECT_FALSE(dec.decode(b(second), f));
  ASSERT_EQ(f.size(), 3u);
  // "server: cached" is a dynamic-table reference: unknown.
  EXPECT_EQ(f[0].name, kHpackUnknown);
  EXPECT_EQ(f[0].value, kHpackUnknown);
  // "x-name: v2": the name from the dynamic table, the value a literal.
  EXPECT_EQ(f[1].name, kHpackUnknown);
  EXPECT_EQ(f[1].value, "v2");
  EXPECT_EQ(f[2].name, ":status");
  EXPECT_EQ(f[2].value, "404");
}

TEST(Hpack, SizeUpdateToZeroMakesTheTableKnownAgain) {
  HpackDecoder dec;
  dec.forget();
  // Size updates to 0 (the table is emptied) and back to 4096, then
  // "x-a: 1" with incremental indexing (literal name), then an indexed
  // reference to it (62).
  const std::string block = std::string("\x20\x3f\xe1\x1f\x40\x03x-a\x01" "1\xbe", 12);
  std::vector<HttpHeader> f;
  EXPECT_TRUE(dec.decode(b(block), f));
  EXPECT_TRUE(dec.known());
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].name, "x-a");
  EXPECT_EQ(f[1].value, "1");
}

TEST(Hpack, CutBlockIsNotDecoded) {
  h2test::Encoder enc;
  const std::string block = enc.block({{"x-long", std::string(100, 'q')}});
  HpackDecoder dec;
  std::vector<HttpHeader> f;
  EXPECT_FALSE(dec.decode(b(block.substr(0, block.size() - 10)), f));
  EXPECT_FALSE(dec.known());
}

}  // namespace
}  // namespace tcpscribe
