#include "redact_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string text(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

RedactRules rules_of(const std::vector<std::string>& specs) {
  RedactRules r;
  std::string error;
  for (const std::string& s : specs) EXPECT_TRUE(r.add(s, error)) << error;
  return r;
}

// Feeds `in` in the chunks `cuts` gives (cut positions), then finishes.
std::string stream(const RedactRules& rules, const std::string& in, std::vector<size_t> cuts,
                   bool client = true, size_t max_hold = RedactRules::kMaxHold) {
  StreamRedactor r(rules, client, max_hold);
  std::vector<uint8_t> out;
  size_t from = 0;
  cuts.push_back(in.size());
  for (size_t c : cuts) {
    r.feed(bytes_of(in).subspan(from, c - from), out);
    EXPECT_EQ(r.released(), out.size());
    from = c;
  }
  r.finish(out);
  EXPECT_EQ(r.held(), 0u);
  return text(out);
}

const std::vector<std::string> kInputs = {
    "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cr3t-t0ken\r\nCookie: a=1; b=2\r\n\r\n",
    "card 4111-1111-1111-1111 and 5500 0000 0000 0004; pin=1234 pin=99",
    "*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$9\r\nhunter2xy\r\n*2\r\n$4\r\nAUTH\r\n$3\r\nabc\r\n",
    "auth hunter2\r\nSET k v\r\nAUTH   other pass\r\n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab secret=xyz; secret=",
    "",
};
const std::vector<std::vector<std::string>> kRuleSets = {
    {"auth"},
    {R"(\d{4}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4})", "pin=\\d+"},
    {"(?<=secret=)[a-z]+", "a+b"},
    {"x*", R"(\bpass\b)", "AUTH"},
    {"(?m)^Host: .*$"},
};

// Every cut position (one cut, then two cuts around it) gives the
// whole-buffer replace.
TEST(StreamRedactor, EveryChunkSplitMatchesTheWholeBufferReplace) {
  for (const auto& specs : kRuleSets) {
    const RedactRules rules = rules_of(specs);
    for (const std::string& in : kInputs) {
      const std::string want = text(redact_whole(rules, bytes_of(in)));
      ASSERT_EQ(want.size(), in.size());
      EXPECT_EQ(stream(rules, in, {}, false), want);
      for (size_t a = 0; a <= in.size(); ++a) {
        ASSERT_EQ(stream(rules, in, {a}, false), want) << specs[0] << " cut " << a << " of " << in;
        if (a + 3 <= in.size()) {
          ASSERT_EQ(stream(rules, in, {a, a + 1, a + 3}, false), want);
        }
      }
      std::vector<size_t> each;
      for (size_t a = 1; a < in.size(); ++a) each.push_back(a);
      EXPECT_EQ(stream(rules, in, each, false), want) << "byte by byte";
    }
  }
}

TEST(StreamRedactor, BlanksOnlyTheMatchAndKeepsTheLength) {
  const RedactRules rules = rules_of({"s3cr3t[0-9]*"});
  EXPECT_EQ(stream(rules, "value=s3cr3t42;", {8}), "value=********;");
}

TEST(StreamRedactor, HoldsOnlyAPossibleMatchPrefix) {
  const RedactRules rules = rules_of({"topsecret"});
  StreamRedactor r(rules, false);
  std::vector<uint8_t> out;
  r.feed(bytes_of("hello tops"), out);
  EXPECT_EQ(text(out), "hello ");  // "tops" may begin a match
  EXPECT_EQ(r.held(), 4u);
  r.feed(bytes_of("ecret!"), out);
  EXPECT_EQ(text(out), "hello *********!");
  r.feed(bytes_of("top"), out);
  r.finish(out);  // the end: "top" did not become a match
  EXPECT_EQ(text(out), "hello *********!top");
}

TEST(StreamRedactor, AMatchLongerThanTheHoldIsBlankedUpToThere) {
  const RedactRules rules = rules_of({"BEGIN[a-z]*END"});
  const std::string body = "x BEGIN" + std::string(100, 'q');
  StreamRedactor r(rules, false, 32);
  std::vector<uint8_t> out;
  r.feed(bytes_of(body), out);
  EXPECT_EQ(r.forced(), 1u);
  EXPECT_EQ(text(out), "x " + std::string(105, '*'));  // fail-closed
  r.feed(bytes_of("qqEND tail"), out);
  r.finish(out);
  EXPECT_EQ(text(out), "x " + std::string(105, '*') + "qqEND tail");
}

TEST(StreamRedactor, APcre2LimitBlanksWhatWasNotLookedAt) {
  const RedactRules rules = rules_of({"(a+)+$"});  // catastrophic backtracking
  StreamRedactor r(rules, false);
  std::vector<uint8_t> out;
  const std::string in = "ok " + std::string(40, 'a') + "b";
  r.feed(bytes_of(in), out);
  r.finish(out);
  EXPECT_GE(r.failed(), 1u);
  // The limit counts over the whole search, from where the rule stood.
  EXPECT_EQ(text(out), std::string(in.size(), '*'));
}

TEST(StreamRedactor, AuthPresetHttpAndRedis) {
  const RedactRules rules = rules_of({"auth"});
  EXPECT_EQ(stream(rules, "GET / HTTP/1.1\r\nauthorization: Basic dXNlcjpwdw==\r\nX: 1\r\n\r\n", {30}),
            "GET / HTTP/1.1\r\nauthorization: ******************\r\nX: 1\r\n\r\n");
  EXPECT_EQ(stream(rules, "HTTP/1.1 200 OK\r\nSet-Cookie: sid=abc; Path=/\r\n\r\n", {}, false),
            "HTTP/1.1 200 OK\r\nSet-Cookie: ***************\r\n\r\n");
  EXPECT_EQ(stream(rules, "*2\r\n$4\r\nauth\r\n$6\r\nhunter\r\n*1\r\n$4\r\nPING\r\n", {20}),
            "*2\r\n$4\r\nauth\r\n$6\r\n******\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(stream(rules, "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$2\r\npw\r\n", {}),
            "*3\r\n$4\r\nAUTH\r\n$4\r\n****\r\n$2\r\n**\r\n");
  EXPECT_EQ(stream(rules, "AUTH swordfish\r\nGET k\r\n", {7}), "AUTH *********\r\nGET k\r\n");
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(StreamRedactor, AuthPresetPostgresqlPasswordMessages) {
  const RedactRules rules = rules_of({"auth"});
  const std::string params = std::string("user\0alice\0database\0db\0\0", 24);
  const std::string startup = be32(8 + params.size()) + be32(196608) + params;
  const std::string pw = "p" + be32(4 + 9) + std::string("md5abcde\0", 9);
  const std::string query = "Q" + be32(4 + 9) + std::string("SELECT 1\0", 9);
  const std::string in = be32(8) + be32(80877103) + startup + pw + query;
  const std::string want = be32(8) + be32(80877103) + startup + "p" + be32(13) +
                           std::string(9, '*') + query;
  for (size_t a = 0; a <= in.size(); ++a) ASSERT_EQ(stream(rules, in, {a}), want) << a;
  // The server's direction is left alone; so is TLS after an SSLRequest.
  EXPECT_EQ(stream(rules, in, {}, false), in);
  const std::string tls = be32(8) + be32(80877103) + "\x16\x03\x01\x02\x00p" + be32(13);
  EXPECT_EQ(stream(rules, tls, {}), tls);
}

std::string le24(uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16)};
}

TEST(StreamRedactor, AuthPresetMysqlHandshakeResponseAndAuthSwitch) {
  const RedactRules rules = rules_of({"auth"});
  // CLIENT_PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH_LENENC_CLIENT_DATA | PLUGIN_AUTH
  const uint32_t caps = 0x200 | 0x8000 | 0x200000 | 0x80000;
  std::string p;
  for (int k = 0; k < 4; ++k) p += static_cast<char>(caps >> (8 * k));
  p += std::string(4, '\0') + "\x21" + std::string(23, '\0');
  p += std::string("root\0", 5);
  const std::string auth(20, 'S');
  p += static_cast<char>(auth.size()) + auth + std::string("mysql_native_password\0", 22);
  const std::string hello = le24(p.size()) + "\x01" + p;
  const std::string switched = le24(6) + "\x03" + "SECRET";
  const std::string in = hello + switched + le24(9) + std::string("\0", 1) + "\x03SELECT 1";
  std::string want = in;
  const size_t auth_at = 4 + 32 + 5 + 1;
  for (size_t k = 0; k < auth.size(); ++k) want[auth_at + k] = '*';
  for (size_t k = 0; k < 6; ++k) want[hello.size() + 4 + k] = '*';
  for (size_t a = 0; a <= in.size(); ++a) ASSERT_EQ(stream(rules, in, {a}), want) << a;
  // After the first command (sequence 0) nothing more is blanked.
  const std::string later = in + le24(6) + "\x01" + "SECRET";
  EXPECT_EQ(stream(rules, later, {}), want + le24(6) + "\x01" + "SECRET");
}

TEST(RedactRules, AnInvalidPatternIsOneLineNamingIt) {
  RedactRules r;
  std::string error;
  EXPECT_FALSE(r.add("pass(word", error));
  EXPECT_EQ(error, "--redact 'pass(word': missing closing parenthesis at offset 9; give a "
                   "PCRE2 regular expression (pcre2syntax(3)) or `auth`");
  EXPECT_FALSE(r.add("", error));
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(r.add("auth", error));
  EXPECT_TRUE(r.auth());
}

}  // namespace
}  // namespace tcpscribe
