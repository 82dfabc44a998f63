#include "mysql.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto_test_support.h"

namespace tcpscribe {
namespace {

using testing::ProtoHarness;
constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;

const AnalyzerInfo& my() {
  const AnalyzerInfo* a = find_analyzer("mysql");
  EXPECT_NE(a, nullptr);
  return *a;
}

std::string le16(uint16_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }
std::string le32(uint32_t v) { return le16(static_cast<uint16_t>(v)) + le16(static_cast<uint16_t>(v >> 16)); }
std::string pkt(uint8_t seq, const std::string& body) {
  const size_t n = body.size();
  return std::string{static_cast<char>(n), static_cast<char>(n >> 8), static_cast<char>(n >> 16),
                     static_cast<char>(seq)} + body;
}
std::string lstr(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }
std::string z(const std::string& s) { return s + std::string(1, '\0'); }

constexpr uint32_t kCaps = 0x8 | 0x200 | 0x8000 | 0x80000 | 0x200000;  // db, 4.1, secure, plugin

std::string greeting() {
  return pkt(0, std::string(1, '\x0a') + z("10.11.6-MariaDB") + le32(42) + "abcdefgh" + std::string(1, '\0') +
                    le16(kCaps & 0xffff) + "\x21" + le16(2) + le16(kCaps >> 16) + "\x15" + std::string(10, '\0') +
                    "ijklmnopqrst" + std::string(1, '\0') + z("mysql_native_password"));
}
std::string login() {
  return pkt(1, le32(kCaps) + le32(1 << 24) + "\x21" + std::string(23, '\0') + z("alice") +
                    lstr("S3CRET-scramble-bytes") + z("shop") + z("mysql_native_password"));
}
std::string ok(uint8_t seq, uint8_t affected = 0, uint8_t insert_id = 0, uint16_t status = 2) {
  return pkt(seq, std::string(1, '\0') + std::string(1, static_cast<char>(affected)) +
                      std::string(1, static_cast<char>(insert_id)) + le16(status) + le16(0));
}
std::string eof(uint8_t seq, uint16_t status = 2) { return pkt(seq, "\xfe" + le16(0) + le16(status)); }
std::string coldef(uint8_t seq, const std::string& name, uint8_t type) {
  return pkt(seq, lstr("def") + lstr("shop") + lstr("t") + lstr("t") + lstr(name) + lstr(name) + "\x0c" +
                      le16(33) + le32(11) + std::string(1, static_cast<char>(type)) + le16(0) + "\0\0\0");
}
std::string field(const ExchangeRecord& r, const std::string& key) {
  for (const auto& [k, v] : r.fields) {
    if (k == key) return v;
  }
  return "<none>";
}

std::vector<std::pair<Dir, std::string>> session() {
  return {
      {kS2C, greeting()},
      {kC2S, login()},
      {kS2C, ok(2)},
      {kC2S, pkt(0, "\x03INSERT INTO t VALUES (1, 'a')")},
      {kS2C, ok(1, 1, 7)},
      {kC2S, pkt(0, "\x03SELECT id, name FROM t")},
      {kS2C, pkt(1, "\x02") + coldef(2, "id", 3) + coldef(3, "name", 253) + eof(4) +
                 pkt(5, lstr("1") + lstr("a")) + pkt(6, lstr("2") + "\xfb") + eof(7)},
      {kC2S, pkt(0, "\x16SELECT name FROM t WHERE id = ?")},
      {kS2C, pkt(1, std::string(1, '\0') + le32(5) + le16(1) + le16(1) + std::string(1, '\0') + le16(0)) +
                 coldef(2, "?", 253) + eof(3) + coldef(4, "name", 253) + eof(5)},
      {kC2S, pkt(0, "\x17" + le32(5) + std::string(1, '\0') + le32(1) + std::string(1, '\0') + "\x01" + std::string("\x03\x00", 2) +
                        le32(2))},
      {kS2C, pkt(1, "\x01") + coldef(2, "name", 253) + eof(3) + pkt(4, std::string(2, '\0') + lstr("b")) + eof(5)},
      {kC2S, pkt(0, "\x03SELECT * FROM nope")},
      {kS2C, pkt(1, "\xff" + le16(1146) + "#42S02Table 'shop.nope' doesn't exist")},
      {kC2S, pkt(0, "\x19" + le32(5))},
      {kC2S, pkt(0, "\x01")},
  };
}

std::string run(size_t piece) {
  ProtoHarness h(my(), 3306);
  for (const auto& [d, b] : session()) h.send(d, b, piece);
  h.close();
  return h.out.digest();
}

TEST(Mysql, SameEventsWholeInPiecesAndByteByByte) {
  const std::string whole = run(SIZE_MAX);
  for (size_t piece : {1, 2, 3, 7}) EXPECT_EQ(run(piece), whole) << piece;
}

TEST(Mysql, LoginQueriesPreparedStatementsErrors) {
  ProtoHarness h(my(), 3306);
  for (const auto& [d, b] : session()) h.send(d, b);
  h.close();
  const std::string all = h.out.digest();
  EXPECT_EQ(all.find("S3CRET"), std::string::npos) << all;
  const auto& r = h.out.records;
  ASSERT_EQ(r.size(), 6u) << all;
  EXPECT_EQ(field(r[0], "kind"), "\"login\"");
  EXPECT_EQ(field(r[0], "user"), "\"alice\"");
  EXPECT_EQ(field(r[0], "database"), "\"shop\"");
  EXPECT_EQ(field(r[0], "server_version"), "\"10.11.6-MariaDB\"");
  EXPECT_EQ(field(r[1], "tag"), "\"OK, 1 row affected\"");
  EXPECT_EQ(field(r[1], "last_insert_id"), "7");
  EXPECT_EQ(field(r[2], "tag"), "\"2 rows in set\"");
  EXPECT_EQ(field(r[2], "rows"), "2");
  EXPECT_EQ(field(r[3], "kind"), "\"prepare\"");
  EXPECT_EQ(field(r[3], "statement_id"), "5");
  EXPECT_EQ(field(r[4], "kind"), "\"execute\"");
  EXPECT_EQ(field(r[4], "query"), "\"SELECT name FROM t WHERE id = ?\"");
  EXPECT_EQ(field(r[4], "params"), "[\"2\"]");
  EXPECT_EQ(field(r[4], "rows"), "1");
  EXPECT_EQ(r[5].error_json, "{\"code\":1146,\"sqlstate\":\"42S02\",\"message\":\"Table 'shop.nope' doesn't exist\"}");
  bool rows_shown = false;
  for (const DecodedMessage& m : h.out.messages) {
    if (m.summary == "2 rows in set") {
      rows_shown = true;
      EXPECT_EQ(m.lines, (std::vector<std::string>{"id | name", "(1, a)", "(2, NULL)"}));
    }
  }
  EXPECT_TRUE(rows_shown) << all;
  ASSERT_EQ(h.out.findings.size(), 1u) << all;
  EXPECT_EQ(h.out.findings[0].text.substr(0, 39), "mysql: 1 error on this connection (firs");
}

TEST(Mysql, BigPayloadsJoinAndSslStops) {
  // A 16 MiB query: one 0xffffff piece, then the rest.
  const std::string sql = "\x03SELECT '" + std::string(0xffffff + 10, 'x') + "'";
  std::string wire = pkt(0, sql.substr(0, 0xffffff));
  wire += pkt(1, sql.substr(0xffffff));
  ProtoHarness h(my(), 3306);
  h.server(greeting());
  h.client(login());
  h.server(ok(2));
  h.client(wire);
  h.server(ok(1));
  h.close();
  ASSERT_EQ(h.out.records.size(), 2u);
  EXPECT_NE(field(h.out.records[1], "query").find("...(16777234 bytes)"), std::string::npos);

  ProtoHarness s(my(), 3306);
  s.server(greeting());
  s.client(pkt(1, le32(kCaps | 0x800) + le32(1 << 24) + "\x21" + std::string(23, '\0')));
  s.client("\x16\x03\x01 tls bytes");
  s.close();
  ASSERT_EQ(s.out.findings.size(), 1u);
  EXPECT_FALSE(s.out.findings[0].alarm);
  EXPECT_TRUE(s.out.records.empty());
}

TEST(Mysql, Probe) {
  auto p = [](Dir d, const std::string& s) {
    return probe_mysql(d, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(p(kS2C, greeting()), ProbeResult::kYes);
  EXPECT_EQ(p(kS2C, greeting().substr(0, 8)), ProbeResult::kNeedMore);
  EXPECT_EQ(p(kS2C, "HTTP/1.1 200 OK"), ProbeResult::kNo);
  EXPECT_EQ(p(kC2S, "GET /"), ProbeResult::kNo);
}

}  // namespace
}  // namespace tcpscribe
