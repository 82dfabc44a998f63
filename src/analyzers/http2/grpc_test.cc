#include "grpc.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::span<const uint8_t> b(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Grpc, DecodeRawLikeProtoc) {
  // 1: 150, 2: "a\n", 3 {4: 0x01020304 (fixed32)}, 5: fixed64, 6: bytes that are no message
  const std::string pb = std::string("\x08\x96\x01\x12\x02" "a\n", 7) +
                         std::string("\x1a\x05\x25\x04\x03\x02\x01", 7) +
                         std::string("\x29\x01\0\0\0\0\0\0\0", 9) + std::string("\x32\x02\xff\xfe", 4);
  EXPECT_EQ(protobuf_decode_raw(b(pb)),
            (std::vector<std::string>{"1: 150", "2: \"a\\n\"", "3 {", "  4: 0x01020304", "}",
                                      "5: 0x0000000000000001", "6: \"\\377\\376\""}));
}

TEST(Grpc, DecodeRawRejectsWhatIsNoMessageAndBoundsDepth) {
  EXPECT_TRUE(protobuf_decode_raw(b("\x08")).empty());          // varint cut
  EXPECT_TRUE(protobuf_decode_raw(b("\x12\x05" "ab")).empty());  // length past the end
  EXPECT_TRUE(protobuf_decode_raw(b(std::string("\x07\x00", 2))).empty());  // wire type 7
  // 12 levels of nesting: below the limit, the rest is shown as bytes.
  std::string pb = "\x08\x01";
  for (int i = 0; i < 12; ++i) pb = "\x0a" + std::string(1, static_cast<char>(pb.size())) + pb;
  ProtoRawLimits lim;
  lim.max_depth = 3;
  const std::vector<std::string> lines = protobuf_decode_raw(b(pb), lim);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "1 {");
  EXPECT_EQ(lines[3].rfind("      1: \"", 0), 0u) << lines[3];
  lim.max_lines = 2;
  EXPECT_EQ(protobuf_decode_raw(b(pb), lim).back(), "...");
}

TEST(Grpc, FramerSplitsMessagesAcrossPieces) {
  const std::string stream = std::string("\0\0\0\0\x02" "\x08\x01" "\x01\0\0\0\x03" "abc" "\0\0\0", 16);
  for (size_t piece : {1, 3, 100}) {
    GrpcFramer f;
    for (size_t at = 0; at < stream.size(); at += piece) {
      f.feed(b(stream.substr(at, piece)));
    }
    ASSERT_EQ(f.count(), 2u);
    EXPECT_FALSE(f.messages()[0].compressed);
    EXPECT_EQ(f.messages()[0].head, "\x08\x01");
    EXPECT_TRUE(f.messages()[1].compressed);
    EXPECT_EQ(f.messages()[1].size, 3u);
    EXPECT_TRUE(f.partial());
  }
}

TEST(Grpc, ServiceMethodAndStatusNames) {
  EXPECT_EQ(grpc_service_method("/helloworld.Greeter/SayHello"),
            (std::pair<std::string, std::string>{"helloworld.Greeter", "SayHello"}));
  EXPECT_EQ(grpc_service_method("/a/b/c"), (std::pair<std::string, std::string>{}));
  EXPECT_EQ(grpc_status_name(14), "UNAVAILABLE");
  EXPECT_EQ(grpc_status_name(17), "");
}

}  // namespace
}  // namespace tcpscribe
