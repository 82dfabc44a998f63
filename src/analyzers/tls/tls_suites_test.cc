#include "tls_suites.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(TlsSuites, NamesFromTheRegistryAndHexOtherwise) {
  EXPECT_EQ(tls_suite_name(0x1301), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(tls_suite_name(0xC02F), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(tls_suite_name(0x000A), "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
  EXPECT_EQ(tls_suite_name(0x00FF), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
  EXPECT_EQ(tls_suite_name(0xD002), "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(tls_suite_name(0x0000), "TLS_NULL_WITH_NULL_NULL");
  EXPECT_EQ(tls_suite_name(0x1A1A), "0x1A1A");  // GREASE
  EXPECT_EQ(tls_suite_name(0xFFFF), "0xFFFF");
}

TEST(TlsSuites, ParamsOfTheSuitesDecrypted) {
  TlsSuiteParams p;
  ASSERT_TRUE(tls_suite_params(0x1302, p));
  EXPECT_TRUE(p.tls13);
  EXPECT_EQ(p.cipher, TlsCipher::kAesGcm);
  EXPECT_EQ(p.key_len, 32);
  EXPECT_EQ(p.fixed_iv_len, 12);
  EXPECT_EQ(p.prf, TlsHash::kSha384);

  ASSERT_TRUE(tls_suite_params(0x1303, p));
  EXPECT_EQ(p.cipher, TlsCipher::kChaCha20Poly1305);
  EXPECT_EQ(p.prf, TlsHash::kSha256);

  ASSERT_TRUE(tls_suite_params(0xC02F, p));  // ECDHE-RSA-AES128-GCM-SHA256
  EXPECT_FALSE(p.tls13);
  EXPECT_EQ(p.key_len, 16);
  EXPECT_EQ(p.fixed_iv_len, 4);
  EXPECT_EQ(p.prf, TlsHash::kSha256);

  ASSERT_TRUE(tls_suite_params(0xCCAA, p));  // DHE-RSA-CHACHA20-POLY1305
  EXPECT_EQ(p.cipher, TlsCipher::kChaCha20Poly1305);
  EXPECT_EQ(p.fixed_iv_len, 12);

  ASSERT_TRUE(tls_suite_params(0x002F, p));  // RSA AES128-SHA
  EXPECT_EQ(p.cipher, TlsCipher::kAesCbc);
  EXPECT_EQ(p.mac, TlsHash::kSha1);
  EXPECT_EQ(p.prf, TlsHash::kSha256);
  EXPECT_EQ(p.fixed_iv_len, 0);

  ASSERT_TRUE(tls_suite_params(0xC028, p));  // ECDHE-RSA-AES256-SHA384
  EXPECT_EQ(p.mac, TlsHash::kSha384);
  EXPECT_EQ(p.prf, TlsHash::kSha384);
  EXPECT_EQ(p.key_len, 32);

  ASSERT_TRUE(tls_suite_params(0x003C, p));  // AES128-SHA256
  EXPECT_EQ(p.mac, TlsHash::kSha256);

  // Not decrypted: 3DES, RC4, NULL, CCM, CAMELLIA, SCSVs, unknown ids.
  for (uint16_t id : {0x000A, 0x0005, 0x0002, 0x1304, 0xC09C, 0x0041, 0x00FF, 0x5600, 0x1A1A}) {
    EXPECT_FALSE(tls_suite_params(id, p)) << std::hex << id;
  }
}

TEST(TlsSuites, EveryAeadAndAesCbcSuiteOfTheTableIsDecrypted) {
  int decrypted = 0;
  for (uint32_t id = 0; id <= 0xFFFF; ++id) {
    TlsSuiteParams p;
    const std::string n = tls_suite_name(static_cast<uint16_t>(id));
    const bool want = n.find("_GCM_") != n.npos || n.find("CHACHA20_POLY1305") != n.npos ||
                      n.find("_WITH_AES_128_CBC_") != n.npos ||
                      n.find("_WITH_AES_256_CBC_") != n.npos;
    EXPECT_EQ(tls_suite_params(static_cast<uint16_t>(id), p), want) << n;
    decrypted += want;
  }
  EXPECT_GE(decrypted, 70);
}

}  // namespace
}  // namespace tcpscribe
