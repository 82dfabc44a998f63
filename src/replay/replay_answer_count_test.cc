#include "replay_answer_count.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

struct Count {
  uint64_t answers, errors;
  bool at_end, lost;
  bool operator==(const Count&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Count& c) {
  return os << c.answers << " answers, " << c.errors << " errors, at end " << c.at_end << ", lost "
            << c.lost;
}

/// Fed whole, byte by byte and in pieces of 3: the same counts.
Count count(AnswerProtocol p, const std::string& s, bool ssl = false) {
  std::vector<Count> got;
  for (size_t piece : {s.size() + 1, size_t{1}, size_t{3}}) {
    AnswerCounter c(p, ssl);
    for (size_t i = 0; i < s.size(); i += piece) c.feed(std::string_view(s).substr(i, piece));
    got.push_back({c.answers(), c.errors(), c.at_answer_end(), c.lost()});
  }
  EXPECT_EQ(got[0], got[1]) << s;
  EXPECT_EQ(got[0], got[2]) << s;
  return got[0];
}

TEST(AnswerCounter, RespRepliesOfEveryType) {
  const auto r = AnswerProtocol::kResp;
  EXPECT_EQ(count(r, "+OK\r\n$5\r\nhello\r\n:1\r\n$-1\r\n*-1\r\n*0\r\n"), (Count{6, 0, true, false}));
  EXPECT_EQ(count(r, "*2\r\n$1\r\na\r\n*2\r\n:1\r\n$0\r\n\r\n"), (Count{1, 0, true, false}));
  EXPECT_EQ(count(r, "-ERR unknown command 'x'\r\n+OK\r\n"), (Count{2, 1, true, false}));
  // An error inside an EXEC's array makes that reply an error answer.
  EXPECT_EQ(count(r, "*2\r\n+OK\r\n-WRONGTYPE x\r\n"), (Count{1, 1, true, false}));
  // RESP3: maps count keys and values, an attribute is part of the reply
  // after it, pushes, blob errors, verbatim strings, doubles, nulls.
  EXPECT_EQ(count(r, "%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n|1\r\n+ttl\r\n:3\r\n+v\r\n"
                     ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n!5\r\nERR x\r\n"
                     "=8\r\ntxt:abcd\r\n,1.5\r\n_\r\n~1\r\n#t\r\n"),
            (Count{8, 1, true, false}));
  // A reply cut short is not an answer yet.
  EXPECT_EQ(count(r, "+OK\r\n*2\r\n$3\r\nab"), (Count{1, 0, false, false}));
  // Bytes that are not RESP stop the counting.
  EXPECT_EQ(count(r, "+OK\r\nhello\r\n+OK\r\n"), (Count{1, 0, false, true}));
}

TEST(AnswerCounter, HttpResponses) {
  const auto h = AnswerProtocol::kHttp;
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\na;x=1\r\n0123456789\r\n"
      "0\r\nTrailer: 1\r\n\r\n";
  const std::string cont = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length:0\r\n\r\n";
  const std::string errors = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n"
                             "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n";
  EXPECT_EQ(count(h, ok + chunked + cont + errors), (Count{6, 2, true, false}));
  EXPECT_EQ(count(h, ok + "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"), (Count{1, 0, false, false}));
  // A body to the close, or a switch to another protocol: counting stops.
  EXPECT_EQ(count(h, ok + "HTTP/1.0 200 OK\r\n\r\nbody"), (Count{1, 0, false, true}));
  EXPECT_EQ(count(h, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00"),
            (Count{1, 0, false, true}));
}

std::string pg(char type, const std::string& body) {
  const uint32_t len = static_cast<uint32_t>(body.size() + 4);
  std::string m(1, type);
  for (int s = 24; s >= 0; s -= 8) m += static_cast<char>((len >> s) & 0xff);
  return m + body;
}

TEST(AnswerCounter, PostgresAnswersEndWithReadyForQuery) {
  const auto p = AnswerProtocol::kPostgres;
  const std::string startup = pg('R', std::string(4, '\0')) + pg('S', std::string("a\0b", 3)) +
                              pg('K', std::string(8, '\1')) + pg('Z', "I");
  const std::string query = pg('T', std::string(10, 'x')) + pg('D', std::string(7, 'y')) +
                            pg('C', std::string("SELECT 1\0", 9)) + pg('Z', "I");
  const std::string error = pg('E', std::string("SERROR\0C42601\0\0", 15)) + pg('Z', "I");
  EXPECT_EQ(count(p, "N" + startup + query + error, true), (Count{4, 1, true, false}));
  EXPECT_EQ(count(p, startup + query.substr(0, 20)), (Count{1, 0, false, false}));
  // 'S': TLS follows, nothing more to count.
  EXPECT_EQ(count(p, "S\x16\x03\x01", true), (Count{1, 0, false, true}));
}

TEST(AnswerCounter, ProtocolFromTheClientsFirstBytes) {
  EXPECT_EQ(detect_answer_protocol("*1\r\n$4\r\nPING\r\n"), AnswerProtocol::kResp);
  EXPECT_EQ(detect_answer_protocol("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), AnswerProtocol::kHttp);
  EXPECT_EQ(detect_answer_protocol(std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8)),
            AnswerProtocol::kPostgres);
  EXPECT_EQ(detect_answer_protocol(std::string("\0\0\0\x29\0\x03\0\0user\0", 13)),
            AnswerProtocol::kPostgres);
  EXPECT_EQ(detect_answer_protocol("hello\n"), AnswerProtocol::kNone);
  EXPECT_EQ(detect_answer_protocol(""), AnswerProtocol::kNone);
}

ConvEvent ev(char side, std::string bytes) {
  ConvEvent e;
  e.side = side;
  e.data = std::move(bytes);
  return e;
}

// The recorded waits that ended at an answer's end wait for the target's
// answer count: steps after "+OK" and after the whole 2-element array, not
// the one that the recording sent in the middle of a reply.
TEST(AnswerCounter, RecordedWaitsInAnswers) {
  Conversation c;
  c.events = {ev('c', "*1\r\n$4\r\nPING\r\n"), ev('s', "+PONG\r\n"),
              ev('c', "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), ev('s', "$3\r\nv"),
              ev('c', "*1\r\n$4\r\nPING\r\n"), ev('s', "al\r\n-ERR x\r\n"),
              ev('c', "*1\r\n$4\r\nQUIT\r\n")};
  ReplayPlan p = make_plan(c, 0, Timing::kConversational, 1.0, {});
  count_recorded_answers(p);
  EXPECT_EQ(p.protocol, AnswerProtocol::kResp);
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_TRUE(p.steps[0].wait_on_answers);
  EXPECT_EQ(p.steps[0].wait_answers, 0u);
  EXPECT_TRUE(p.steps[1].wait_on_answers);
  EXPECT_EQ(p.steps[1].wait_answers, 1u);
  EXPECT_FALSE(p.steps[2].wait_on_answers);  // sent mid-reply: bytes decide
  EXPECT_TRUE(p.steps[3].wait_on_answers);
  EXPECT_EQ(p.steps[3].wait_answers, 3u);
  EXPECT_EQ(p.recorded_answers, 3u);
  EXPECT_EQ(p.recorded_errors, 1u);
  EXPECT_FALSE(p.answers_lost);

  Conversation plain;
  plain.events = {ev('c', "hello\n"), ev('s', "world\n"), ev('c', "bye\n")};
  ReplayPlan q = make_plan(plain, 0, Timing::kConversational, 1.0, {});
  count_recorded_answers(q);
  EXPECT_EQ(q.protocol, AnswerProtocol::kNone);
  EXPECT_FALSE(q.steps[1].wait_on_answers);
}

}  // namespace
}  // namespace tcpscribe
