#include "http_decode.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tcpscribe
