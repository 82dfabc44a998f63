#include "exchange_text.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

constexpr Timestamp kMs = 1'000'000;

ExchangeRecord record(std::string proto, std::vector<std::pair<std::string, std::string>> fields,
                      std::optional<Timestamp> latency = 2 * kMs, std::string error = "") {
  ExchangeRecord r;
  r.proto = std::move(proto);
  r.ts = 1000 * kMs;
  r.end = r.ts + 5 * kMs;
  r.latency = latency;
  r.error_json = std::move(error);
  r.fields = std::move(fields);
  return r;
}

TEST(JsonStringValue, DecodesEscapesAndSurrogatePairs) {
  EXPECT_EQ(json_string_value(R"("a\"b\\c\n\u00e9\ud83d\ude00")"), "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(json_string_value("null"), "");
  EXPECT_EQ(json_string_value("42"), "");
  EXPECT_EQ(json_string_value(R"("\ud800x")"), "\xef\xbf\xbdx");  // a lone surrogate
}

TEST(ExchangeText, RequestInOneLinePerProtocol) {
  EXPECT_EQ(exchange_request_text(record("http", {{"method", "\"GET\""}, {"target", "\"/a?b\""}})),
            "GET /a?b");
  EXPECT_EQ(exchange_request_text(record(
                "http2", {{"stream", "5"}, {"method", "\"POST\""}, {"path", "\"/rpc\""}})),
            "stream 5 POST /rpc");
  EXPECT_EQ(exchange_request_text(record("http", {{"method", "null"}, {"target", "null"}})),
            "(response without a request)");
  EXPECT_EQ(exchange_request_text(
                record("redis", {{"command", "\"SET\""}, {"args", R"(["user:1","A \"da\""])"}})),
            "SET user:1 A \"da\"");
  // The analyzer already redacted AUTH: its arguments never reach a record.
  EXPECT_EQ(exchange_request_text(record("redis", {{"command", "\"AUTH\""},
                                                   {"args", R"x(["(redacted)"])x"}})),
            "AUTH (redacted)");
  EXPECT_EQ(exchange_request_text(record("postgresql", {{"kind", "\"query\""},
                                                        {"query", "\"SELECT\\n  1\\tFROM t\""}})),
            "query: SELECT 1 FROM t");
  EXPECT_EQ(exchange_request_text(record("mysql", {{"kind", "\"ping\""}, {"query", "null"}})),
            "ping");
  EXPECT_EQ(exchange_request_text(record("tls", {})), "tls");
  const std::string sql = "\"SELECT " + std::string(300, 'x') + "\"";
  const std::string cut = exchange_request_text(record("mysql", {{"kind", "\"query\""}, {"query", sql}}), 40);
  EXPECT_EQ(cut.size(), 40u);
  EXPECT_EQ(cut.substr(0, 14), "query: SELECT ");
  EXPECT_EQ(cut.substr(37), "...");
  // A cut never splits a UTF-8 sequence.
  const ExchangeRecord e3 =
      record("redis", {{"command", "\"GET\""}, {"args", "[\"\xc3\xa9\xc3\xa9\xc3\xa9\"]"}});
  EXPECT_EQ(exchange_request_text(e3, 9), "GET \xc3\xa9...");
  EXPECT_EQ(exchange_request_text(e3, 8), "GET ...");
}

TEST(ExchangeText, AnswersAndErrors) {
  EXPECT_EQ(exchange_answer_text(record("http", {{"status", "404"}})), "404");
  EXPECT_EQ(exchange_answer_text(record("redis", {{"reply", "\"+OK\""}})), "+OK");
  EXPECT_EQ(exchange_answer_text(record("postgresql", {{"tag", "\"SELECT 1\""}})), "SELECT 1");
  EXPECT_EQ(exchange_answer_text(record("mysql", {{"tag", "null"}})), "");
  EXPECT_EQ(exchange_error_text(record("redis", {}, 1, "\"ERR unknown command\"")),
            "ERR unknown command");
  EXPECT_EQ(exchange_error_text(record("postgresql", {}, 1,
                                       R"({"code":"42P01","message":"relation \"t\" does not exist","severity":"ERROR"})")),
            "relation \"t\" does not exist");
  EXPECT_EQ(exchange_error_text(record("mysql", {}, 1, R"({"code":1064,"sqlstate":"42000","message":"bad"})")),
            "bad");
  EXPECT_EQ(exchange_error_text(record("mysql", {})), "");
}

TEST(ExchangeText, ErrorRepliesAreAnsweredErrors) {
  EXPECT_TRUE(is_error_reply(record("redis", {}, kMs, "\"ERR x\"")));
  EXPECT_FALSE(is_error_reply(record("redis", {}, kMs)));
  // Unanswered: an error of the exchange, but no error reply.
  EXPECT_FALSE(is_error_reply(record("redis", {}, std::nullopt, "\"unanswered\"")));
}

TEST(SlowFinding, OnlyAnswersLaterThanTheThreshold) {
  const ExchangeRecord get = record("redis", {{"command", "\"DEBUG\""}, {"args", R"(["SLEEP","0.3"])"}},
                                    300 * kMs);
  EXPECT_FALSE(slow_finding(get, 0));  // off
  EXPECT_FALSE(slow_finding(get, 300 * kMs));  // not longer than
  EXPECT_FALSE(slow_finding(get, 301 * kMs));
  const std::optional<Finding> f = slow_finding(get, 250 * kMs);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, Finding::Kind::kProtocol);
  EXPECT_EQ(f->dir, Dir::kServerToClient);
  EXPECT_EQ(f->ts, get.ts);
  EXPECT_TRUE(f->alarm);
  EXPECT_EQ(f->text, "slow answer: redis DEBUG SLEEP 0.3 answered after 0.300 s (--slow 0.250)");
  // Never answered: no latency, no slow answer (it has its own finding).
  EXPECT_FALSE(slow_finding(record("redis", {}, std::nullopt), kMs));
  const std::optional<Finding> h = slow_finding(
      record("http2", {{"stream", "3"}, {"method", "\"GET\""}, {"path", "\"/\""}}, 2 * kMs), kMs);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->kind, Finding::Kind::kHttp);
  EXPECT_EQ(h->text, "slow answer: http2 stream 3 GET / answered after 0.002 s (--slow 0.001)");
}

}  // namespace
}  // namespace tcpscribe
