// After an SSL request the rest of a MySQL connection is TLS: the analyzer
// hands it to a TLS analyzer of its own, which decrypts it with the key
// log, and the plaintext comes back to be decoded as MySQL (the login
// inside TLS, the commands). The capture: tests/integration/mysql_tls.sh
// against mariadb-server 10.11 (MYSQL_TLS_SAVE=tests/pcaps/mysql/mysql_tls),
// a python3 client with its key log, then the mariadb client without keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "mysql.h"
#include "packet_core.h"
#include "test_files.h"
#include "test_support.h"
#include "tls_keylog.h"

namespace tcpscribe {
namespace {

std::string dir() { return std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/mysql/"; }

struct Out : AnalyzerOutput {
  void finding(const Connection&, const Finding& f) override { findings.push_back(f.text); }
  void exchange(const Connection&, const ExchangeRecord& r) override {
    std::map<std::string, std::string> m(r.fields.begin(), r.fields.end());
    m["proto"] = r.proto;
    m["error"] = r.error_json;
    records.push_back(m);
  }
  void message(const Connection&, const DecodedMessage& m) override { views.push_back(m.summary); }
  void http_transaction(const HttpTransaction&) override {}
  void inner_open(const Connection&, const char* layer) override { opened = layer; }
  void inner_data(const Connection&, const char*, Dir d, uint64_t offset, std::span<const uint8_t> b,
                  Timestamp) override {
    EXPECT_EQ(offset, plain[index_of(d)].size());
    plain[index_of(d)].append(b.begin(), b.end());
  }
  void connection_info(const Connection&, const std::string& key, const std::string& json) override {
    info[key] = json;
  }
  std::vector<std::string> findings, views;
  std::vector<std::map<std::string, std::string>> records;
  std::string opened;
  std::array<std::string, 2> plain;
  std::map<std::string, std::string> info;
};

/// The python client's connection decoded: its records, in order.
void expect_python_client(Out& out) {
  std::vector<std::string> got;
  for (auto& r : out.records) {
    EXPECT_EQ(r["proto"], "mysql");
    got.push_back(r["kind"] + " " + r["query"]);
  }
  const std::vector<std::string> want = {
      "\"login\" null",
      "\"query\" \"SELECT id, note FROM acc ORDER BY id\"",
      "\"query\" \"SELECT * FROM no_such_table_tls\"",
      "\"query\" \"SELECT REPEAT('t', 5000) AS long_value\"",
      "\"prepare\" \"SELECT note FROM acc WHERE id = ?\"",
      "\"execute\" \"SELECT note FROM acc WHERE id = ?\""};
  ASSERT_GE(got.size(), want.size());
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + want.size()), want);
  EXPECT_EQ(out.records[0]["user"], "\"app\"");
  EXPECT_EQ(out.records[0]["database"], "\"shop\"");
  EXPECT_EQ(out.records[1]["rows"], "2");
  EXPECT_NE(out.records[2]["error"].find("1146"), std::string::npos);
  EXPECT_EQ(out.records[5]["params"], "[\"2\"]");
  // The plaintext went on to the outputs too (the console, FLOW-TLS).
  EXPECT_EQ(out.opened, "TLS");
  EXPECT_NE(out.plain[0].find("no_such_table_tls"), std::string::npos);
  EXPECT_NE(std::find(out.views.begin(), out.views.end(), "SSL request"), out.views.end());
  for (const std::string& f : out.findings) EXPECT_EQ(f.find("not decoded"), std::string::npos) << f;
}

/// The capture's first connection (the python client's) through the real
/// pipeline to a mysql analyzer, in the capture's order; as the dispatcher
/// does, the analyzer gets the connection at its first bytes. `piece` > 0:
/// every chunk is cut into pieces of that many bytes, and the client's SSL
/// request goes in one chunk with the ClientHello after it (a client may
/// write both before the server answers), so the switch to TLS falls
/// inside a piece.
struct FirstConnection : Sink {
  FirstConnection(Sink& n, size_t p) : next(n), piece(p) {}
  void on_open(const Connection& c) override {
    if (!chosen) id = c.id;
    chosen = true;
  }
  void on_data(const Connection& c, Dir d, uint64_t o, std::span<const uint8_t> b, Timestamp t) override {
    if (c.id != id) return;
    if (!opened) next.on_open(c);
    opened = true;
    if (piece == 0) {
      next.on_data(c, d, o, b, t);
      return;
    }
    std::string bytes(b.begin(), b.end());
    if (d == Dir::kClientToServer && o == 0) {
      held = bytes;  // the SSL request: with the next chunk
      return;
    }
    if (d == Dir::kClientToServer && !held.empty()) {
      bytes = held + bytes;
      o -= held.size();
      held.clear();
    }
    for (size_t i = 0; i < bytes.size(); i += piece) {
      const size_t n = std::min(piece, bytes.size() - i);
      next.on_data(c, d, o + i, {reinterpret_cast<const uint8_t*>(bytes.data() + i), n}, t);
    }
  }
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override { ADD_FAILURE(); }
  void on_shutdown(const Connection& c, Dir d, bool r, Timestamp t) override {
    if (c.id == id) next.on_shutdown(c, d, r, t);
  }
  void on_close(const Connection& c, CloseReason w) override {
    if (c.id == id) next.on_close(c, w);
  }
  Sink& next;
  size_t piece;
  uint64_t id = 0;
  bool chosen = false;
  bool opened = false;
  std::string held;
};

TEST(MysqlTls, AnSslRequestHandsTheRestToTlsAndThePlaintextIsDecoded) {
  TlsKeyLog keys;
  ASSERT_GT(keys.add_text(testing::slurp(dir() + "mysql_tls.keys")), 0u);
  for (size_t piece : {size_t{0}, size_t{7}}) {
    SCOPED_TRACE(piece);
    Out out;
    AnalyzerSettings s;
    s.out = &out;
    s.tls_keylog = &keys;
    s.decode_view = true;
    s.enabled = {find_analyzer("mysql"), find_analyzer("tls")};
    auto an = find_analyzer("mysql")->create(s);
    FirstConnection first(*an, piece);
    std::string error;
    std::vector<Sink*> sinks{&first};
    PacketCore core(testing::core_config(), sinks);
    ASSERT_TRUE(testing::feed_capture(dir() + "mysql_tls.pcap", core, error)) << error;
    core.finish();
    an->finish();
    ASSERT_EQ(out.info.count("tls"), 1u);
    EXPECT_NE(out.info["tls"].find("\"decrypted\":true"), std::string::npos) << out.info["tls"];
    expect_python_client(out);
  }
}

TEST(MysqlTls, WithoutAKeyTheConnectionSaysSoAndNothingIsDecoded) {
  TlsKeyLog keys;
  ASSERT_GT(keys.add_text(testing::slurp(dir() + "mysql_tls.keys")), 0u);
  for (const TlsKeyLog* k : std::vector<const TlsKeyLog*>{nullptr, &keys}) {
    // The mariadb client's connection (the second) has no key in the log.
    Out out;
    AnalyzerSettings s;
    s.out = &out;
    s.tls_keylog = k;
    s.enabled = {find_analyzer("mysql"), find_analyzer("tls")};
    auto an = find_analyzer("mysql")->create(s);
    struct Second : Sink {
      explicit Second(Sink& n) : next(n) {}
      void on_open(const Connection& c) override { seen.push_back(c.id); }
      void on_data(const Connection& c, Dir d, uint64_t o, std::span<const uint8_t> b, Timestamp t) override {
        if (seen.size() != 2 || c.id != seen[1]) return;
        if (!opened) next.on_open(c);
        opened = true;
        next.on_data(c, d, o, b, t);
      }
      void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override { ADD_FAILURE(); }
      void on_close(const Connection& c, CloseReason w) override {
        if (opened && c.id == seen[1]) next.on_close(c, w);
      }
      Sink& next;
      std::vector<uint64_t> seen;
      bool opened = false;
    } second(*an);
    std::string error;
    std::vector<Sink*> sinks{&second};
    PacketCore core(testing::core_config(), sinks);
    ASSERT_TRUE(testing::feed_capture(dir() + "mysql_tls.pcap", core, error)) << error;
    core.finish();
    an->finish();
    ASSERT_TRUE(second.opened);
    EXPECT_TRUE(out.plain[0].empty());
    ASSERT_EQ(out.info.count("tls"), 1u);
    EXPECT_NE(out.info["tls"].find("\"decrypted\":false"), std::string::npos) << out.info["tls"];
    for (auto& r : out.records) EXPECT_NE(r["kind"], "\"query\"");
    bool said = false;
    for (const std::string& f : out.findings) said |= f.find("SSL request") != std::string::npos;
    EXPECT_TRUE(said);
  }
}

}  // namespace
}  // namespace tcpscribe
