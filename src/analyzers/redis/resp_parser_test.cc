#include "resp_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis.h"

namespace tcpscribe {
namespace {

struct Got {
  std::vector<std::string> values;  // summary @offset+bytes
  std::string error;
};

Got parse(bool client, const std::string& in, size_t piece) {
  Got g;
  RespParser p(
      client,
      [&](RespValue&& v, uint64_t off, uint64_t n, Timestamp, Timestamp) {
        g.values.push_back(redis_reply_summary(v, 1000) + "@" + std::to_string(off) + "+" +
                           std::to_string(n));
      },
      [&](const std::string& why, uint64_t off) { g.error = why + "@" + std::to_string(off); });
  for (size_t i = 0; i < in.size(); i += piece) {
    const size_t n = std::min(piece, in.size() - i);
    p.feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()) + i, n), i, 1);
  }
  return g;
}

/// Whole, in pieces of 2, 3, 7 and byte by byte: the same values.
Got parse_all_ways(bool client, const std::string& in) {
  const Got whole = parse(client, in, in.size() + 1);
  for (size_t piece : {1, 2, 3, 7}) {
    const Got g = parse(client, in, piece);
    EXPECT_EQ(g.values, whole.values) << "piece " << piece;
    EXPECT_EQ(g.error, whole.error) << "piece " << piece;
  }
  return whole;
}

TEST(RespParser, Resp2Replies) {
  const Got g = parse_all_ways(
      false, "+OK\r\n-ERR unknown command 'FOO'\r\n:42\r\n$3\r\nAda\r\n$-1\r\n*-1\r\n"
             "*3\r\n$1\r\na\r\n:1\r\n*1\r\n+x\r\n*0\r\n$0\r\n\r\n");
  EXPECT_EQ(g.error, "");
  ASSERT_EQ(g.values.size(), 9u);
  EXPECT_EQ(g.values[0], "+OK@0+5");
  EXPECT_EQ(g.values[1], "-ERR unknown command 'FOO'@5+28");
  EXPECT_EQ(g.values[2], ":42@33+5");
  EXPECT_EQ(g.values[3], "\"Ada\"@38+9");
  EXPECT_EQ(g.values[4], "(nil)@47+5");
  EXPECT_EQ(g.values[5], "(nil)@52+5");
  EXPECT_EQ(g.values[6], "*3 [\"a\", :1, *1 [+x]]@57+23");
  EXPECT_EQ(g.values[7], "*0 []@80+4");
  EXPECT_EQ(g.values[8], "\"\"@84+6");
}

TEST(RespParser, Resp3Types) {
  const Got g = parse_all_ways(
      false,
      "%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n"  // map
      "~2\r\n:1\r\n:2\r\n"                           // set
      "_\r\n,3.14\r\n#t\r\n(3492890328409238509324850943850943825024385\r\n"
      "!21\r\nSYNTAX invalid syntax\r\n=15\r\ntxt:Some string\r\n"
      "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:7\r\n"  // attribute, then value
      ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
      "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n");  // attribute inside an array
  EXPECT_EQ(g.error, "");
  ASSERT_EQ(g.values.size(), 11u);
  EXPECT_EQ(g.values[0].substr(0, g.values[0].find('@')), "%2 {+server: +redis, +proto: :3}");
  EXPECT_EQ(g.values[1].substr(0, g.values[1].find('@')), "~2 {:1, :2}");
  EXPECT_EQ(g.values[2].substr(0, 5), "(nil)");
  EXPECT_EQ(g.values[3].substr(0, 5), ",3.14");
  EXPECT_EQ(g.values[4].substr(0, 2), "#t");
  EXPECT_EQ(g.values[5].substr(0, 4), "(349");
  EXPECT_EQ(g.values[6].substr(0, g.values[6].find('@')), "-SYNTAX invalid syntax");
  EXPECT_EQ(g.values[7].substr(0, g.values[7].find('@')), "\"Some string\"");
  EXPECT_EQ(g.values[8].substr(0, g.values[8].find('@')),
            "|1 {+key-popularity: %1 {\"a\": ,0.19}} *1 [:7]");
  EXPECT_EQ(g.values[9].substr(0, g.values[9].find('@')), ">3 [\"message\", \"ch\", \"hi\"]");
  EXPECT_EQ(g.values[10].substr(0, g.values[10].find('@')), "*2 [|1 {+ttl: :3600} :1, :2]");
}

TEST(RespParser, ClientCommandsArraysAndInline) {
  const Got g = parse_all_ways(true,
                               "*3\r\n$3\r\nSET\r\n$6\r\nuser:1\r\n$3\r\nAda\r\n"
                               "PING\r\n\r\nset k \"a b\\x41\\n\" 'it''s'\n");
  // 'it''s' is unbalanced in redis-server's rules (a quote must end a word).
  EXPECT_EQ(g.values.size(), 2u);
  EXPECT_EQ(g.values[0], "*3 [\"SET\", \"user:1\", \"Ada\"]@0+34");
  EXPECT_EQ(g.values[1], "*1 [\"PING\"]@34+6");
  EXPECT_EQ(g.error.substr(0, 13), "unbalanced qu");
  std::vector<std::string> w;
  ASSERT_TRUE(split_inline_command("set k \"a b\\x41\\n\" 'it\\'s'", w));
  EXPECT_EQ(w, (std::vector<std::string>{"set", "k", "a bA\n", "it's"}));
}

TEST(RespParser, LongValuesAreCutButCounted) {
  const std::string big(100000, 'x');
  const Got g = parse_all_ways(false, "$100000\r\n" + big + "\r\n+" + big + "\r\n");
  ASSERT_EQ(g.values.size(), 2u);
  EXPECT_NE(g.values[0].find("...(100000 bytes)"), std::string::npos);
  EXPECT_NE(g.values[1].find("...(100000 bytes)"), std::string::npos);
  EXPECT_EQ(g.error, "");
}

TEST(RespParser, HugeCountsCostNothingUntilTheirItemsCome) {
  const Got g = parse_all_ways(false, "*4611686018427387904\r\n:1\r\n:2\r\n");
  EXPECT_TRUE(g.values.empty());
  EXPECT_EQ(g.error, "");
  const Got over = parse_all_ways(false, "*99999999999999999999\r\n");
  EXPECT_EQ(over.error, "bad length in a '*' header@22");
}

TEST(RespParser, ErrorsStopTheParser) {
  EXPECT_EQ(parse_all_ways(false, "+OK\r\nhello\r\n+OK\r\n").error,
            "byte 0x68 where a RESP type was expected@5");
  EXPECT_EQ(parse_all_ways(false, "$3\r\nabcd\r\n").error, "a bulk string is not followed by CRLF@7");
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "*1\r\n";
  EXPECT_EQ(parse_all_ways(false, deep).error.substr(0, 30), "aggregates nested deeper than ");
  EXPECT_EQ(parse_all_ways(true, std::string(70000, 'a')).error, "inline command longer than 64 KiB@0");
}

}  // namespace
}  // namespace tcpscribe
