// An accepted SSLRequest hands the rest of the connection to a TLS
// analyzer: with the key log, the plaintext comes out as for any TLS
// connection (inner stream, the report's "tls" object).
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>

#include "packet_core.h"
#include "postgresql.h"
#include "test_files.h"
#include "test_support.h"
#include "tls_keylog.h"
#include "tls_test_support.h"

namespace tcpscribe {
namespace {

/// The reassembled bytes of a capture's first connection, per direction.
struct Streams : Sink {
  void on_open(const Connection&) override {}
  void on_data(const Connection& c, Dir d, uint64_t, std::span<const uint8_t> b, Timestamp) override {
    if (first == 0) first = c.id;
    if (c.id == first) s[index_of(d)].append(b.begin(), b.end());
  }
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override { ADD_FAILURE(); }
  void on_close(const Connection&, CloseReason) override {}
  uint64_t first = 0;
  std::string s[2];
};

struct Out : AnalyzerOutput {
  void finding(const Connection&, const Finding& f) override { findings.push_back(f.text); }
  void exchange(const Connection&, const ExchangeRecord& r) override { protos.push_back(r.proto); }
  void message(const Connection&, const DecodedMessage&) override {}
  void http_transaction(const HttpTransaction&) override {}
  void inner_open(const Connection&, const char* layer) override { opened = layer; }
  void inner_data(const Connection&, const char*, Dir d, uint64_t offset,
                  std::span<const uint8_t> b, Timestamp) override {
    EXPECT_EQ(offset, plain[index_of(d)].size());
    plain[index_of(d)].append(b.begin(), b.end());
  }
  void connection_info(const Connection&, const std::string& key, const std::string& json) override {
    info[key] = json;
  }
  std::vector<std::string> findings, protos;
  std::string opened;
  std::array<std::string, 2> plain;
  std::map<std::string, std::string> info;
};

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

TEST(PostgresTls, AnAcceptedSslRequestHandsTheRestToTls) {
  const std::string name = "tls12_ecdhe_aes128gcm";
  Streams st;
  {
    std::string error;
    std::vector<Sink*> sinks{&st};
    PacketCore core(testing::core_config(), sinks);
    ASSERT_TRUE(testing::feed_capture(testing::tls_dir() + name + ".pcap", core, error)) << error;
    core.finish();
  }
  ASSERT_FALSE(st.s[0].empty());
  TlsKeyLog keys;
  ASSERT_GT(keys.add_text(testing::slurp(testing::tls_dir() + name + ".keys")), 0u);
  for (size_t piece : {size_t{100000000}, size_t{7}}) {
    SCOPED_TRACE(piece);
    Out out;
    AnalyzerSettings s;
    s.out = &out;
    s.tls_keylog = &keys;
    s.enabled = {find_analyzer("postgresql"), find_analyzer("tls"), find_analyzer("http")};
    auto an = find_analyzer("postgresql")->create(s);
    Connection c;
    c.id = 7;
    c.handshake_seen = true;
    c.server.port = 5432;
    an->on_open(c);
    uint64_t off[2] = {0, 0};
    Timestamp ts = 1'000'000;
    auto send = [&](Dir d, const std::string& b, size_t n) {
      for (size_t i = 0; i < b.size(); i += n) {
        const std::string_view p = std::string_view(b).substr(i, n);
        an->on_data(c, d, off[index_of(d)], {reinterpret_cast<const uint8_t*>(p.data()), p.size()},
                    ts += 1000);
        off[index_of(d)] += p.size();
      }
    };
    send(Dir::kClientToServer, be32(8) + be32(80877103), piece);
    // The 'S' and the server's first TLS bytes in one piece: the TLS
    // analyzer gets the bytes after the 'S'.
    send(Dir::kServerToClient, "S" + st.s[1].substr(0, 3), piece);
    send(Dir::kClientToServer, st.s[0], piece);
    send(Dir::kServerToClient, st.s[1].substr(3), piece);
    c.last_ts = ts;
    an->on_close(c, CloseReason::kFin);
    an->finish();
    EXPECT_EQ(out.opened, "TLS");
    EXPECT_EQ(out.plain[0], testing::slurp(testing::tls_dir() + name + ".0.c2s"));
    EXPECT_EQ(out.plain[1], testing::slurp(testing::tls_dir() + name + ".0.s2c"));
    ASSERT_EQ(out.info.count("tls"), 1u);
    EXPECT_NE(out.info["tls"].find("\"decrypted\":true"), std::string::npos) << out.info["tls"];
    EXPECT_NE(std::find(out.protos.begin(), out.protos.end(), "postgresql"), out.protos.end());
  }
}

}  // namespace
}  // namespace tcpscribe
