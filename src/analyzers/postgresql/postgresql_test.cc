#include "postgresql.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto_test_support.h"

namespace tcpscribe {
namespace {

using testing::ProtoHarness;
using testing::RecordingOutput;
constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;

const AnalyzerInfo& pg() {
  const AnalyzerInfo* a = find_analyzer("postgresql");
  EXPECT_NE(a, nullptr);
  return *a;
}

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string z(const std::string& s) { return s + std::string(1, '\0'); }
std::string msg(char type, const std::string& body) {
  return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
}
std::string startup(const std::string& user, const std::string& db, const std::string& app) {
  const std::string body = be32(196608) + z("user") + z(user) + z("database") + z(db) +
                           z("application_name") + z(app) + std::string(1, '\0');
  return be32(static_cast<uint32_t>(body.size() + 4)) + body;
}
std::string ready() { return msg('Z', "I"); }
std::string auth(uint32_t code, const std::string& rest = "") { return msg('R', be32(code) + rest); }
std::string complete(const std::string& tag) { return msg('C', z(tag)); }
std::string error(const std::string& code, const std::string& text) {
  return msg('E', "SERROR" + std::string(1, '\0') + "VERROR" + std::string(1, '\0') + "C" + z(code) +
                      "M" + z(text) + "P" + z("8") + std::string(1, '\0'));
}
std::string row_desc(const std::vector<std::string>& cols) {
  std::string b = be16(static_cast<uint16_t>(cols.size()));
  for (const std::string& c : cols) b += z(c) + be32(0) + be16(0) + be32(23) + be16(4) + be32(0) + be16(0);
  return msg('T', b);
}
std::string data_row(const std::vector<std::string>& vals) {
  std::string b = be16(static_cast<uint16_t>(vals.size()));
  for (const std::string& v : vals) b += v == "NULL" ? be32(0xffffffff) : be32(static_cast<uint32_t>(v.size())) + v;
  return msg('D', b);
}
std::string parse(const std::string& name, const std::string& sql) { return msg('P', z(name) + z(sql) + be16(0)); }
std::string bind(const std::string& portal, const std::string& stmt, const std::vector<std::string>& params,
                 bool binary = false) {
  std::string b = z(portal) + z(stmt) + be16(1) + be16(binary ? 1 : 0) + be16(static_cast<uint16_t>(params.size()));
  for (const std::string& p : params) b += p == "NULL" ? be32(0xffffffff) : be32(static_cast<uint32_t>(p.size())) + p;
  return msg('B', b + be16(0));
}
std::string execute(const std::string& portal) { return msg('E', z(portal) + be32(0)); }
std::string describe(char what, const std::string& name) { return msg('D', std::string(1, what) + z(name)); }

std::string field(const ExchangeRecord& r, const std::string& key) {
  for (const auto& [k, v] : r.fields) {
    if (k == key) return v;
  }
  return "<none>";
}

std::vector<std::pair<Dir, std::string>> session() {
  return {
      {kC2S, startup("alice", "shop", "psql")},
      {kS2C, auth(10, z("SCRAM-SHA-256") + std::string(1, '\0'))},
      {kC2S, msg('p', z("SCRAM-SHA-256") + be32(30) + "n,,n=,r=secretnonce-xyz123456")},
      {kS2C, auth(11, "r=secretnonce-xyz123456srv,s=c2FsdA==,i=4096")},
      {kC2S, msg('p', "c=biws,r=secretnonce-xyz123456srv,p=proofproofproof")},
      {kS2C, auth(12, "v=c2lnbmF0dXJl") + auth(0) + msg('K', be32(4242) + be32(777)) + ready()},
      {kC2S, msg('Q', z("SELECT 1 AS a; UPDATE t SET x = 1"))},
      {kS2C, row_desc({"a"}) + data_row({"1"}) + complete("SELECT 1") + complete("UPDATE 3") + ready()},
      {kC2S, parse("S_1", "UPDATE acc SET bal = bal + $1 WHERE aid = $2") + bind("", "S_1", {"-5", "42"}) +
                 describe('P', "") + execute("") + msg('S', "")},
      {kS2C, msg('1', "") + msg('2', "") + msg('n', "") + complete("UPDATE 1") + ready()},
      {kC2S, parse("", "SELECT $1::bytea") + bind("", "", {std::string("\x01\xff", 2)}, true) + execute("") +
                 msg('S', "")},
      {kS2C, msg('1', "") + msg('2', "") + data_row({std::string("\x01\xff", 2)}) + complete("SELECT 1") + ready()},
      {kC2S, parse("", "SELEC oops") + bind("", "", {}) + execute("") + msg('S', "")},
      {kS2C, error("42601", "syntax error at or near \"SELEC\"") + ready()},
      {kC2S, msg('X', "")},
  };
}

std::string run(const std::vector<std::pair<Dir, std::string>>& conv, size_t piece) {
  ProtoHarness h(pg(), 5432);
  for (const auto& [d, b] : conv) h.send(d, b, piece);
  h.close();
  return h.out.digest();
}

TEST(Postgres, SameEventsWholeInPiecesAndByteByByte) {
  const std::string whole = run(session(), SIZE_MAX);
  for (size_t piece : {1, 2, 3, 7}) EXPECT_EQ(run(session(), piece), whole) << piece;
}

TEST(Postgres, StartupQueriesAndExecutes) {
  ProtoHarness h(pg(), 5432);
  for (const auto& [d, b] : session()) h.send(d, b);
  h.close();
  const std::string all = h.out.digest();
  EXPECT_EQ(all.find("secretnonce"), std::string::npos) << all;
  EXPECT_EQ(all.find("proof"), std::string::npos) << all;
  const auto& r = h.out.records;
  ASSERT_EQ(r.size(), 6u) << all;
  EXPECT_EQ(field(r[0], "kind"), "\"startup\"");
  EXPECT_EQ(field(r[0], "user"), "\"alice\"");
  EXPECT_EQ(field(r[0], "database"), "\"shop\"");
  EXPECT_EQ(field(r[0], "application_name"), "\"psql\"");
  EXPECT_EQ(r[0].error_json, "");

  EXPECT_EQ(field(r[1], "kind"), "\"query\"");
  EXPECT_EQ(field(r[1], "query"), "\"SELECT 1 AS a; UPDATE t SET x = 1\"");
  EXPECT_EQ(field(r[1], "tag"), "\"SELECT 1; UPDATE 3\"");
  EXPECT_EQ(field(r[1], "rows"), "4");

  EXPECT_EQ(field(r[2], "kind"), "\"execute\"");
  EXPECT_EQ(field(r[2], "query"), "\"UPDATE acc SET bal = bal + $1 WHERE aid = $2\"");
  EXPECT_EQ(field(r[2], "params"), "[\"-5\",\"42\"]");
  EXPECT_EQ(field(r[2], "tag"), "\"UPDATE 1\"");
  EXPECT_EQ(field(r[2], "rows"), "1");
  ASSERT_TRUE(r[2].latency.has_value());
  EXPECT_EQ(*r[2].latency, 1000000);

  EXPECT_EQ(field(r[3], "params"), "[\"\\\\x01ff\"]");  // binary: hex

  EXPECT_EQ(field(r[4], "kind"), "\"parse\"");
  EXPECT_EQ(field(r[4], "query"), "\"SELEC oops\"");
  EXPECT_EQ(r[4].error_json.substr(0, 53), "{\"code\":\"42601\",\"message\":\"syntax error at or near \\\"");
  // The Execute after the failed Parse was sent but never ran.
  EXPECT_EQ(field(r[5], "kind"), "\"execute\"");
  EXPECT_EQ(r[5].error_json, "{\"code\":null,\"message\":\"not executed: an earlier message of its batch failed\"}");
  // Console: the Execute with its SQL and parameters, then its tag.
  bool seen = false;
  for (size_t i = 0; i + 1 < h.out.messages.size(); ++i) {
    if (h.out.messages[i].summary ==
        "Execute: UPDATE acc SET bal = bal + $1 WHERE aid = $2  [$1='-5', $2='42']") {
      seen = true;
      EXPECT_EQ(h.out.messages[i + 1].summary, "UPDATE 1");
      EXPECT_EQ(h.out.messages[i + 1].latency, 1000000);
    }
  }
  EXPECT_TRUE(seen) << all;
  // The syntax error is counted for the connection (one finding).
  ASSERT_EQ(h.out.findings.size(), 1u) << all;
  EXPECT_EQ(h.out.findings[0].text.substr(0, 47), "postgresql: 1 error on this connection (first: ");
}

TEST(Postgres, SelectRowsShownInTheView) {
  ProtoHarness h(pg(), 5432);
  h.client(startup("u", "d", "a"));
  h.server(auth(0) + ready());
  h.client(msg('Q', z("SELECT id, name FROM t")));
  std::string rows;
  for (int i = 0; i < 8; ++i) rows += data_row({std::to_string(i), i == 2 ? "NULL" : "n" + std::to_string(i)});
  h.server(row_desc({"id", "name"}) + rows + complete("SELECT 8") + ready());
  h.close();
  const DecodedMessage* answer = nullptr;
  for (const DecodedMessage& m : h.out.messages) {
    if (m.summary == "SELECT 8") answer = &m;
  }
  ASSERT_NE(answer, nullptr) << h.out.digest();
  EXPECT_EQ(answer->lines, (std::vector<std::string>{"id | name", "(0, n0)", "(1, n1)", "(2, NULL)",
                                                     "(3, n3)", "(4, n4)", "(8 rows)"}));
  EXPECT_EQ(field(h.out.records[1], "rows"), "8");
}

TEST(Postgres, ExtendedErrorSkipsToSync) {
  ProtoHarness h(pg(), 5432);
  h.client(startup("u", "d", "a"));
  h.server(auth(0) + ready());
  h.client(parse("s1", "SELECT 1/$1") + bind("p1", "s1", {"0"}) + execute("p1") + bind("", "s1", {"1"}) +
           execute("") + msg('S', ""));
  h.server(msg('1', "") + msg('2', "") + error("22012", "division by zero") + ready());
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u) << h.out.digest();
  EXPECT_EQ(field(h.out.records[1], "portal"), "\"p1\"");
  EXPECT_EQ(h.out.records[1].error_json.substr(0, 17), "{\"code\":\"22012\",\"");
  EXPECT_EQ(field(h.out.records[2], "params"), "[\"1\"]");
  EXPECT_EQ(h.out.records[2].error_json,
            "{\"code\":null,\"message\":\"not executed: an earlier message of its batch failed\"}");
}

TEST(Postgres, AfterAFlushedErrorTheServerSkipsToTheClientsSync) {
  ProtoHarness h(pg(), 5432);
  h.client(startup("u", "d", "a"));
  h.server(auth(0) + ready());
  h.client(parse("", "SELEC 1") + msg('H', ""));  // Flush: the error comes before any Sync
  h.server(error("42601", "syntax error"));
  h.client(bind("", "", {}) + execute("") + msg('S', ""));
  h.server(ready());
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u) << h.out.digest();
  EXPECT_EQ(field(h.out.records[1], "kind"), "\"parse\"");
  EXPECT_EQ(field(h.out.records[2], "kind"), "\"execute\"");
  EXPECT_EQ(h.out.records[2].error_json,
            "{\"code\":null,\"message\":\"not executed: an earlier message of its batch failed\"}");
}

TEST(Postgres, CopyNotificationsAndNotices) {
  ProtoHarness h(pg(), 5432);
  h.client(startup("u", "d", "a"));
  h.server(auth(0) + ready());
  h.client(msg('Q', z("COPY t FROM STDIN")));
  h.server(msg('G', std::string(1, '\0') + be16(1) + be16(0)));
  h.client(msg('d', "1\tx\n") + msg('d', "2\ty\n") + msg('c', ""));
  h.server(complete("COPY 2") + ready());
  h.client(msg('Q', z("LISTEN ch")));
  h.server(msg('N', "SNOTICE" + std::string(1, '\0') + "Mhello" + std::string(2, '\0')) + complete("LISTEN") +
           ready() + msg('A', be32(99) + z("ch") + z("payload!")));
  h.close();
  ASSERT_EQ(h.out.records.size(), 4u) << h.out.digest();
  EXPECT_EQ(field(h.out.records[1], "tag"), "\"COPY 2\"");
  EXPECT_EQ(field(h.out.records[1], "rows"), "2");
  EXPECT_EQ(field(h.out.records[1], "copy_bytes"), "8");
  EXPECT_EQ(field(h.out.records[3], "kind"), "\"notification\"");
  EXPECT_EQ(field(h.out.records[3], "payload"), "\"payload!\"");
}

TEST(Postgres, SslAcceptedStopsAndCancelIsLinked) {
  ProtoHarness h(pg(), 5432);
  h.client(be32(8) + be32(80877103));
  h.server("S");
  h.client("\x16\x03\x01\x02\x00garbage");
  h.close();
  ASSERT_EQ(h.out.records.size(), 1u);
  EXPECT_EQ(field(h.out.records[0], "encrypted"), "true");
  // The bytes after the 'S' went to the TLS analyzer (postgresql_tls_test.cc),
  // not to the PostgreSQL framer: no finding about PostgreSQL messages.
  for (const Finding& f : h.out.findings) EXPECT_EQ(f.text.find("message"), std::string::npos) << f.text;

  ProtoHarness n(pg(), 5432);
  n.client(be32(8) + be32(80877103));
  n.server("N");
  n.client(startup("u", "d", "a"));
  n.server(auth(0) + ready());
  n.close();
  ASSERT_EQ(n.out.records.size(), 2u) << n.out.digest();
  EXPECT_EQ(field(n.out.records[1], "user"), "\"u\"");
}

TEST(Postgres, CancelRequestNamesItsConnection) {
  // One analyzer, two connections: the cancel names the first.
  RecordingOutput out;
  AnalyzerSettings s;
  s.out = &out;
  auto an = pg().create(s);
  Connection a;
  a.id = 10;
  a.handshake_seen = true;
  Connection b = a;
  b.id = 11;
  auto feed = [&](Connection& c, Dir d, uint64_t off, const std::string& bytes) {
    an->on_data(c, d, off, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 5);
  };
  an->on_open(a);
  const std::string st = startup("u", "d", "a");
  feed(a, kC2S, 0, st);
  feed(a, kS2C, 0, auth(0) + msg('K', be32(4242) + be32(777)) + ready());
  an->on_open(b);
  feed(b, kC2S, 0, be32(16) + be32(80877102) + be32(4242) + be32(777));
  an->on_close(b, CloseReason::kFin);
  an->finish();
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(field(out.records[0], "kind"), "\"startup\"");
  EXPECT_EQ(field(out.records[1], "kind"), "\"cancel\"");
  EXPECT_EQ(field(out.records[1], "cancels"), "10");
}

TEST(Postgres, GapAndGarbage) {
  ProtoHarness h(pg(), 5432);
  h.client(startup("u", "d", "a"));
  h.server(auth(0) + ready());
  h.client(msg('Q', z("SELECT 1")));
  h.gap(kS2C, 40);
  h.client(msg('Q', z("SELECT 2")));
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u);
  EXPECT_EQ(h.out.records[2].error_json,
            "{\"code\":null,\"message\":\"unanswered (the capture lacks 40 bytes the server sent)\"}");
  ASSERT_EQ(h.out.findings.size(), 1u);
  EXPECT_FALSE(h.out.findings[0].alarm);

  ProtoHarness g(pg(), 5432);
  g.client(startup("u", "d", "a"));
  g.server("HTTP/1.1 200 OK\r\n");
  g.close();
  ASSERT_GE(g.out.findings.size(), 1u);
  EXPECT_NE(g.out.findings[0].text.find("are not PostgreSQL messages"), std::string::npos);
}

TEST(Postgres, Probe) {
  auto p = [](Dir d, const std::string& s) {
    return probe_postgresql(d, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(p(kC2S, startup("u", "d", "a")), ProbeResult::kYes);
  EXPECT_EQ(p(kC2S, be32(8) + be32(80877103)), ProbeResult::kYes);
  EXPECT_EQ(p(kC2S, std::string("\0\0", 2)), ProbeResult::kNeedMore);
  EXPECT_EQ(p(kC2S, "GET / HTTP/1.1"), ProbeResult::kNo);
  EXPECT_EQ(p(kC2S, be32(8) + be32(12345)), ProbeResult::kNo);
  EXPECT_EQ(p(kS2C, "HTTP/1.1 200"), ProbeResult::kNo);
}

}  // namespace
}  // namespace tcpscribe
