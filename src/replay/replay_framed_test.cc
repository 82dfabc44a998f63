#include "replay_framed.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::vector<ReplaceRule> rules(std::initializer_list<std::pair<const char*, const char*>> l) {
  std::vector<ReplaceRule> out;
  for (const auto& [a, b] : l) out.push_back({a, b});
  return out;
}

// Fed whole, in pieces of every size, and byte by byte: the same output.
std::string run(Framing f, const std::vector<ReplaceRule>& r, const std::string& in,
                size_t piece = 0) {
  FramedReplacer fr(f, r);
  std::string out;
  if (piece == 0) {
    fr.feed(in, out);
  } else {
    for (size_t i = 0; i < in.size(); i += piece) fr.feed(std::string_view(in).substr(i, piece), out);
  }
  fr.flush(out);
  return out;
}

TEST(ReplayFramed, DetectsTheFraming) {
  EXPECT_EQ(detect_framing("*3\r\n$3\r\nSET"), Framing::kResp);
  EXPECT_EQ(detect_framing("GET /a HTTP/1.1\r\nHost: x\r\n"), Framing::kHttp);
  EXPECT_EQ(detect_framing("POST /upload HTTP/1.0\r\n"), Framing::kHttp);
  EXPECT_EQ(detect_framing("GET /a HTTP/1.1"), Framing::kPlain);  // no line end yet
  EXPECT_EQ(detect_framing("PING\r\n"), Framing::kPlain);
  EXPECT_EQ(detect_framing("hello world\r\n"), Framing::kPlain);
  EXPECT_EQ(detect_framing(""), Framing::kPlain);
}

// What no rule touches goes out byte for byte, length lines with leading
// zeros included; only a rewritten argument gets a new length line
// (fuzz/corpus/replay_plan/campaign-resp-header-rewritten: "*00" went out
// as "*0").
TEST(ReplayFramed, RespBytesNoRuleTouchesStayAsSent) {
  const std::string in = "*00\r\n*2\r\n$03\r\nGET\r\n$005\r\nalice\r\n";
  for (size_t piece : {0, 1, 3}) {
    EXPECT_EQ(run(Framing::kResp, rules({{"carol", "dave"}}), in, piece), in);
    EXPECT_EQ(run(Framing::kResp, rules({{"alice", "bob"}}), in, piece),
              "*00\r\n*2\r\n$03\r\nGET\r\n$3\r\nbob\r\n");
  }
}

// The same for HTTP: a Content-Length of "02" stays as sent while the body
// keeps its length (fuzz/corpus/replay_plan/campaign-http-length-rewritten).
TEST(ReplayFramed, HttpContentLengthStaysAsSentWhileTheBodyKeepsItsLength) {
  const std::string in = "POST /a HTTP/1.1\r\ncontent-length:02\r\n\r\nhi";
  for (size_t piece : {0, 1, 3}) {
    EXPECT_EQ(run(Framing::kHttp, rules({{"carol", "dave"}}), in, piece), in);
    EXPECT_EQ(run(Framing::kHttp, rules({{"hi", "ho"}}), in, piece),
              "POST /a HTTP/1.1\r\ncontent-length:02\r\n\r\nho");
    EXPECT_EQ(run(Framing::kHttp, rules({{"hi", "hello"}}), in, piece),
              "POST /a HTTP/1.1\r\ncontent-length:5\r\n\r\nhello");
  }
}

// The case: alice=bob on RESP used to leave "$5\r\nbob" and redis
// answered -ERR; now the bulk length follows the new argument.
TEST(ReplayFramed, RespBulkLengthsFollowTheReplacement) {
  const std::string in = "*3\r\n$3\r\nSET\r\n$4\r\nuser\r\n$5\r\nalice\r\n*2\r\n$3\r\nGET\r\n$4\r\nuser\r\n";
  const std::string want = "*3\r\n$3\r\nSET\r\n$4\r\nuser\r\n$3\r\nbob\r\n*2\r\n$3\r\nGET\r\n$4\r\nuser\r\n";
  const auto r = rules({{"alice", "bob"}});
  for (size_t piece : {0, 1, 2, 3, 7, 100}) EXPECT_EQ(run(Framing::kResp, r, in, piece), want) << piece;
  FramedReplacer fr(Framing::kResp, r);
  std::string out;
  fr.feed(in, out);
  EXPECT_EQ(fr.replacements(), 1u);
  EXPECT_EQ(fr.reframed(), 1u);
  EXPECT_TRUE(fr.fallback().empty());
}

TEST(ReplayFramed, RespLongerValuesRulesInOrderAndInlineCommands) {
  const auto r = rules({{"k", "key"}, {"keyk", "X"}});
  EXPECT_EQ(run(Framing::kResp, r, "*2\r\n$3\r\nGET\r\n$2\r\nkk\r\nPING k\r\n"),
            "*2\r\n$3\r\nGET\r\n$3\r\nXey\r\nPING key\r\n");
  // A value with CR LF inside is data, not framing.
  EXPECT_EQ(run(Framing::kResp, rules({{"a", "bb"}}), "*1\r\n$4\r\na\r\na\r\n"),
            "*1\r\n$6\r\nbb\r\nbb\r\n");
  // A match spanning two arguments is not replaced.
  EXPECT_EQ(run(Framing::kResp, rules({{"ab", "Z"}}), "*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
}

// An incomplete command at a flush goes out as it came (plain replace).
TEST(ReplayFramed, FlushSendsAnIncompleteCommandAsItCame) {
  FramedReplacer fr(Framing::kResp, rules({{"x", "yy"}}));
  std::string out;
  fr.feed("*1\r\n$4\r\nPIx", out);
  EXPECT_EQ(out, "");
  fr.flush(out);
  EXPECT_EQ(out, "*1\r\n$4\r\nPIyy");
}

TEST(ReplayFramed, NotRespAfterAllFallsBackToPlain) {
  FramedReplacer fr(Framing::kResp, rules({{"a", "bb"}}));
  std::string out;
  fr.feed("*1\r\n+a\r\n", out);
  fr.flush(out);
  EXPECT_EQ(out, "*1\r\n+bb\r\n");
  EXPECT_NE(fr.fallback().find("not a bulk string"), std::string::npos) << fr.fallback();
}

TEST(ReplayFramed, HttpContentLengthFollowsTheBody) {
  const std::string in =
      "POST /u HTTP/1.1\r\nHost: alice.example\r\ncontent-length: 15\r\n\r\n{\"who\":\"alice\"}"
      "GET /alice HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string want =
      "POST /u HTTP/1.1\r\nHost: bob.example\r\ncontent-length: 13\r\n\r\n{\"who\":\"bob\"}"
      "GET /bob HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto r = rules({{"alice", "bob"}});
  for (size_t piece : {0, 1, 5, 64}) EXPECT_EQ(run(Framing::kHttp, r, in, piece), want) << piece;
}

TEST(ReplayFramed, HttpChunkedFallsBackToPlain) {
  FramedReplacer fr(Framing::kHttp, rules({{"a", "b"}}));
  std::string out;
  fr.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", out);
  fr.flush(out);
  EXPECT_EQ(out, "POST / HTTP/1.1\r\nTrbnsfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n");
  EXPECT_EQ(fr.fallback(), "a chunked HTTP body");
}

TEST(ReplayFramed, ReplaceAllRules) {
  uint64_t n = 0;
  EXPECT_EQ(replace_all_rules("aaa", rules({{"aa", "b"}}), &n), "ba");
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(replace_all_rules("abc", rules({{"a", "x"}, {"xb", "y"}})), "yc");
}

}  // namespace
}  // namespace tcpscribe
