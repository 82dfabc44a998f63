#include "replay_compare.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(ReplayCompare, SameWithoutMasks) {
  Masker m;
  EXPECT_TRUE(compare_answers("+OK\r\n", "+OK\r\n", m).same);
  EXPECT_TRUE(compare_answers("", "", m).same);
}

TEST(ReplayCompare, FirstDifferenceWithContext) {
  Masker m;
  const Difference d = compare_answers("+OK\r\n:1\r\n$5\r\nhello\r\n", "+OK\r\n:2\r\n$5\r\nhello\r\n", m, 4);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(d.recorded_offset, 6u);
  EXPECT_EQ(d.target_offset, 6u);
  EXPECT_EQ(d.recorded_context, "...\"K\\r\\n:1\\r\\n$\"...");
  EXPECT_EQ(d.target_context, "...\"K\\r\\n:2\\r\\n$\"...");
}

TEST(ReplayCompare, ShorterAnswerDiffersAtItsEnd) {
  Masker m;
  const Difference d = compare_answers("+OK\r\n$5\r\nhello\r\n", "+OK\r\n", m, 4);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(d.recorded_offset, 5u);
  EXPECT_EQ(d.target_offset, 5u);
  EXPECT_EQ(d.target_context, "...\"OK\\r\\n\" (end)");
  EXPECT_EQ(d.recorded_context, "...\"OK\\r\\n$5\\r\\n\"...");
}

TEST(ReplayCompare, MasksBothSidesAndMapsOffsetsBack) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("Date: [^\\r]*", error)) << error;
  const std::string a = "HTTP/1.0 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nLen: 5\r\n";
  const std::string b = "HTTP/1.0 200 OK\r\nDate: Tue, 2 Jan 2024 10:00:00 GMT\r\nLen: 5\r\n";
  EXPECT_TRUE(compare_answers(a, b, m).same);

  // A difference after the masked field is reported at unmasked offsets.
  const std::string c = "HTTP/1.0 200 OK\r\nDate: Tue, 2 Jan 2024 10:00:00 GMT\r\nLen: 6\r\n";
  const Difference d = compare_answers(a, c, m, 3);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(a.substr(d.recorded_offset, 1), "5");
  EXPECT_EQ(c.substr(d.target_offset, 1), "6");
  EXPECT_EQ(d.recorded_offset, 59u);
  EXPECT_EQ(d.target_offset, 58u);
}

TEST(ReplayCompare, MaskTokenAndOrigins) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("[0-9]+", error));
  ASSERT_TRUE(m.add("id=<ignored>", error));  // later masks see earlier ones' output
  const MaskedStream s = m.apply("x 12 id=7 y");
  EXPECT_EQ(s.text, "x <ignored> <ignored> y");
  ASSERT_EQ(s.origin.size(), s.text.size());
  EXPECT_EQ(s.origin[2], 2u);   // the first token stands for "12" at offset 2
  EXPECT_EQ(s.origin[12], 5u);  // the second for "id=7" at offset 5
  EXPECT_EQ(s.origin[22], 10u);
}

// std::regex recursed once per character: a match of ~30 KB overflowed the
// stack (exit 139). RE2 has no such limit.
TEST(ReplayCompare, MatchesOfMegabytesDoNotCrash) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("\"data\":\"[^\"]*\"", error)) << error;
  ASSERT_TRUE(m.add("\\$10000000\r\n[^\r]*", error)) << error;
  const std::string big_json = "{\"id\":1,\"data\":\"" + std::string(4 << 20, 'x') + "\"}";
  const MaskedStream s = m.apply(big_json);
  EXPECT_EQ(s.text, "{\"id\":1,<ignored>}");
  const std::string resp = "$10000000\r\n" + std::string(10'000'000, 'v') + "\r\n+OK\r\n";
  EXPECT_EQ(m.apply(resp).text, "<ignored>\r\n+OK\r\n");
  const std::string other = "$10000000\r\n" + std::string(10'000'000, 'w') + "\r\n+OK\r\n";
  EXPECT_TRUE(compare_answers(resp, other, m).same);
}

// Answers are bytes: a class matches bytes >= 0x80 one by one, whatever
// UTF-8 would make of them, and a NUL is an ordinary byte.
TEST(ReplayCompare, MasksMatchBytesNotUtf8) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("k=[^;]*", error)) << error;
  const std::string a("k=\xff\xfe\x00\x80;end", 10);
  const MaskedStream s = m.apply(a);
  EXPECT_EQ(s.text, "<ignored>;end");
  ASSERT_TRUE(m.add("^<ign", error));  // ^ anchors at the start only
  EXPECT_EQ(m.apply("k=1;k=2").text, "<ignored>ored>;<ignored>");
}

TEST(ReplayCompare, BadRegexIsAnError) {
  Masker m;
  std::string error;
  EXPECT_FALSE(m.add("(", error));
  EXPECT_NE(error.find("bad regex '('"), std::string::npos) << error;
}

}  // namespace
}  // namespace tcpscribe
