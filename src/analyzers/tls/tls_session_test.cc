// TlsSession on real captures (tests/pcaps/make_tls_captures.sh: openssl
// s_server / s_client and curl on loopback, with their key logs), through
// the real pipeline; the expected plaintext was written from the programs'
// own inputs.
#include "tls_session.h"

#include <gtest/gtest.h>

#include "tls_test_support.h"

namespace tcpscribe {
namespace {

using testing::TlsCaptureSink;
using testing::TlsCollected;
using testing::tls_dir;

std::string expected(const std::string& name, int conn, const char* dir) {
  return testing::slurp(tls_dir() + name + "." + std::to_string(conn) + "." + dir);
}

TlsKeyLog keys_of(const std::string& name) {
  TlsKeyLog k;
  EXPECT_GT(k.add_text(testing::slurp(tls_dir() + name + ".keys")), 0u) << name;
  return k;
}

std::map<uint64_t, TlsCollected> run(const std::string& name, TlsCaptureSink& sink) {
  std::string error;
  PacketCore core({}, {&sink});
  EXPECT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
  core.finish();
  return std::move(sink.results);
}

std::map<uint64_t, TlsCollected> run(const std::string& name, const TlsKeyLog* keys,
                                     size_t piece = 0, TlsResumptionCache* cache = nullptr) {
  TlsSessionOptions o;
  o.keylog = keys;
  o.resumption = cache;
  TlsCaptureSink sink(o);
  sink.piece = piece;
  return run(name, sink);
}

struct SuiteCase {
  const char* capture;
  uint16_t version;
  uint16_t suite;
  const char* suite_name;
  const char* alpn;
  bool etm;
};

class TlsSuites : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(TlsSuites, DecryptsBothDirectionsByteExact) {
  const SuiteCase& c = GetParam();
  const TlsKeyLog keys = keys_of(c.capture);
  auto conns = run(c.capture, &keys);
  ASSERT_EQ(conns.size(), 1u);
  const TlsCollected& r = conns.begin()->second;
  EXPECT_EQ(r.plain[0], expected(c.capture, 0, "c2s"));
  EXPECT_EQ(r.plain[1], expected(c.capture, 0, "s2c"));
  EXPECT_FALSE(r.plain[1].empty());
  EXPECT_EQ(r.info.version, c.version);
  EXPECT_EQ(r.info.cipher_suite, c.suite);
  EXPECT_EQ(r.info.cipher_suite_name, c.suite_name);
  EXPECT_EQ(r.info.sni, "tcpscribe.test");
  EXPECT_EQ(r.info.alpn, c.alpn);
  EXPECT_EQ(r.info.encrypt_then_mac, c.etm);
  EXPECT_EQ(r.info.cert_subject, "O=tcpscribe tests,CN=tcpscribe.test");
  EXPECT_EQ(r.info.cert_issuer, "O=tcpscribe tests,CN=tcpscribe.test");
  EXPECT_FALSE(r.info.resumed);
  EXPECT_TRUE(r.decrypted);
  EXPECT_EQ(r.why_not, "");
  EXPECT_EQ(r.problems, std::vector<std::string>{});
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(r.counts[d].bad_records, 0u);
    EXPECT_EQ(r.counts[d].undecrypted_records, 0u);
    EXPECT_EQ(r.counts[d].lost_records, 0u);
    EXPECT_EQ(r.counts[d].plaintext_bytes, r.plain[d].size());
    EXPECT_GT(r.counts[d].decrypted_records, 0u);
  }
  EXPECT_EQ(r.handshakes, 1);
  // Both sides ended with close_notify... at least the client's.
  ASSERT_FALSE(r.alerts[0].empty());
  EXPECT_EQ(r.alerts[0].back(), std::make_pair(1, 0));

  // Byte by byte: records and handshake messages cut everywhere.
  auto bytewise = run(c.capture, &keys, 1);
  ASSERT_EQ(bytewise.size(), 1u);
  EXPECT_EQ(bytewise.begin()->second.plain[0], r.plain[0]);
  EXPECT_EQ(bytewise.begin()->second.plain[1], r.plain[1]);
  EXPECT_EQ(bytewise.begin()->second.info.cert_subject, r.info.cert_subject);
}

INSTANTIATE_TEST_SUITE_P(
    Captures, TlsSuites,
    ::testing::Values(
        SuiteCase{"tls13_aes128gcm", 0x0304, 0x1301, "TLS_AES_128_GCM_SHA256", "http/1.1", false},
        SuiteCase{"tls13_aes256gcm", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false},
        SuiteCase{"tls13_chacha20", 0x0304, 0x1303, "TLS_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_ecdhe_aes128gcm", 0x0303, 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                  "http/1.1", false},
        SuiteCase{"tls12_ecdhe_aes256gcm", 0x0303, 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                  "", false},
        SuiteCase{"tls12_ecdhe_chacha20", 0x0303, 0xCCA8,
                  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_dhe_aes128gcm", 0x0303, 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "",
                  false},
        SuiteCase{"tls12_dhe_chacha20", 0x0303, 0xCCAA,
                  "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_rsa_aes256gcm", 0x0303, 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "",
                  false},
        SuiteCase{"tls12_ecdhe_aes128cbc_sha", 0x0303, 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                  "", true},
        SuiteCase{"tls12_ecdhe_aes256cbc_sha384", 0x0303, 0xC028,
                  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "", true},
        SuiteCase{"tls12_dhe_aes256cbc_sha256", 0x0303, 0x006B,
                  "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "", true},
        SuiteCase{"tls12_rsa_aes128cbc_sha", 0x0303, 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "",
                  true},
        SuiteCase{"tls12_rsa_aes256cbc_sha_noetm", 0x0303, 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA",
                  "", false},
        SuiteCase{"tls12_rsa_aes128cbc_sha256_noetm", 0x0303, 0x003C,
                  "TLS_RSA_WITH_AES_128_CBC_SHA256", "", false},
        SuiteCase{"tls12_ecdhe_aes256cbc_sha384_noetm", 0x0303, 0xC028,
                  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "", false},
        SuiteCase{"tls13_hrr", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false},
        SuiteCase{"tls13_keyupdate", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false}),
    [](const auto& p) { return std::string(p.param.capture); });

}  // namespace
}  // namespace tcpscribe
