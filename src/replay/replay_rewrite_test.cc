#include "replay_rewrite.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::string replace_in_pieces(const std::vector<ReplaceRule>& rules,
                              const std::vector<std::string>& pieces) {
  ReplacerChain chain(rules);
  std::string out;
  for (const std::string& p : pieces) chain.feed(p, out);
  chain.flush(out);
  return out;
}

/// Every way of cutting `input` into pieces (2^(n-1) splits; keep inputs short).
std::vector<std::vector<std::string>> all_splits(const std::string& input) {
  std::vector<std::vector<std::string>> out;
  const size_t cuts = input.size() - 1;
  for (uint32_t mask = 0; mask < (1u << cuts); ++mask) {
    std::vector<std::string> pieces;
    size_t from = 0;
    for (size_t i = 0; i < cuts; ++i) {
      if (mask & (1u << i)) {
        pieces.push_back(input.substr(from, i + 1 - from));
        from = i + 1;
      }
    }
    pieces.push_back(input.substr(from));
    out.push_back(pieces);
  }
  return out;
}

TEST(ReplayRewrite, EveryChunkSplitGivesTheSameOutput) {
  struct Case {
    std::string input, from, to, want;
  };
  const Case cases[] = {
      {"B old1 B old", "B old", "B new", "B new1 B new"},
      {"aaab aab", "aab", "X", "aX X"},            // the match starts inside a run of 'a'
      {"abababab", "abab", "-", "--"},             // non-overlapping, left to right
      {"GET /a\r\nGET /a\r", "/a\r\n", "/b\r\n", "GET /b\r\nGET /a\r"},  // a tail prefix at the end
      {"no match here", "zz", "y", "no match here"},
  };
  for (const Case& c : cases) {
    for (const auto& pieces : all_splits(c.input)) {
      std::string desc;
      for (const auto& p : pieces) desc += "[" + escape_bytes(p) + "]";
      EXPECT_EQ(replace_in_pieces({{c.from, c.to}}, pieces), c.want) << desc;
    }
  }
}

TEST(ReplayRewrite, LongHeaderCutAtEveryPairOfPoints) {
  const std::string in = "GET / HTTP/1.1\r\nAuthorization: Bearer old-token\r\n\r\n";
  const std::string want = "GET / HTTP/1.1\r\nAuthorization: Bearer new-token\r\n\r\n";
  for (size_t i = 0; i <= in.size(); ++i) {
    for (size_t j = i; j <= in.size(); ++j) {
      EXPECT_EQ(replace_in_pieces({{"Bearer old", "Bearer new"}},
                                  {in.substr(0, i), in.substr(i, j - i), in.substr(j)}),
                want)
          << i << "," << j;
    }
  }
}

TEST(ReplayRewrite, HoldsBackAtMostLenMinusOne) {
  StreamReplacer r({"abcd", "X"});
  std::string out;
  r.feed("xxabc", out);
  EXPECT_EQ(out, "xx");
  EXPECT_EQ(r.held(), 3u);
  r.feed("e", out);  // "abce": not a match, all of it is final
  EXPECT_EQ(out, "xxabce");
  EXPECT_EQ(r.held(), 0u);
  r.feed("ab", out);
  EXPECT_EQ(r.held(), 2u);
  r.flush(out);
  EXPECT_EQ(out, "xxabceab");
  EXPECT_EQ(r.replacements(), 0u);
}

TEST(ReplayRewrite, ChainAppliesRulesInOrderAcrossChunks) {
  // The second rule sees the first one's output: a -> bb, then bbb -> Z.
  const std::vector<ReplaceRule> rules = {{"a", "bb"}, {"bbb", "Z"}};
  for (const auto& pieces : all_splits("abxa")) {
    EXPECT_EQ(replace_in_pieces(rules, pieces), "Zxbb");
  }
}

TEST(ReplayRewrite, ParsesEscapes) {
  std::string out, error;
  ASSERT_TRUE(parse_escapes("a\\r\\n\\t\\\\\\x41\\x7f\\0\\=", out, error)) << error;
  EXPECT_EQ(out, std::string("a\r\n\t\\A\x7f\0=", 9));
  EXPECT_FALSE(parse_escapes("\\q", out, error));
  EXPECT_EQ(error, "unknown escape '\\q' (known: \\r \\n \\t \\0 \\\\ \\= \\xHH)");
  EXPECT_FALSE(parse_escapes("\\x4", out, error));
  EXPECT_EQ(error, "\\x needs two hex digits");
  EXPECT_FALSE(parse_escapes("\\xg1", out, error));
  EXPECT_FALSE(parse_escapes("end\\", out, error));
  EXPECT_EQ(error, "a lone '\\' at the end");
}

TEST(ReplayRewrite, ParsesRules) {
  ReplaceRule r;
  std::string error;
  ASSERT_TRUE(parse_replace_rule("Bearer old=Bearer new", r, error));
  EXPECT_EQ(r.from, "Bearer old");
  EXPECT_EQ(r.to, "Bearer new");
  ASSERT_TRUE(parse_replace_rule("a\\=b=c=d", r, error));  // first unescaped '=' splits
  EXPECT_EQ(r.from, "a=b");
  EXPECT_EQ(r.to, "c=d");
  ASSERT_TRUE(parse_replace_rule("x\\r\\n=", r, error));  // NEW may be empty
  EXPECT_EQ(r.from, "x\r\n");
  EXPECT_EQ(r.to, "");
  ASSERT_TRUE(parse_replace_rule("\\\\=\\x2f", r, error));  // "\\" then '=': a backslash
  EXPECT_EQ(r.from, "\\");
  EXPECT_EQ(r.to, "/");
  EXPECT_FALSE(parse_replace_rule("=new", r, error));
  EXPECT_EQ(error, "OLD is empty");
  EXPECT_FALSE(parse_replace_rule("no-equals\\=", r, error));
  EXPECT_EQ(error, "expected OLD=NEW (write a literal '=' in OLD as \\=)");
}

TEST(ReplayRewrite, EscapesBytesForDisplay) {
  EXPECT_EQ(escape_bytes(std::string("a\r\n\t\\\"\x01\xff", 8)), "a\\r\\n\\t\\\\\\\"\\x01\\xff");
}

}  // namespace
}  // namespace tcpscribe
