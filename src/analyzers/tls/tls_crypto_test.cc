#include "tls_crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(TlsCrypto, Tls12PrfSha256TestVector) {
  // The TLS 1.2 PRF (P_SHA256) test vector published on the IETF TLS list.
  const auto secret = hex("9bbe436ba940f017b17652849a71db35");
  const auto seed = hex("a0ba9f936cda311827a6f796ffd5198c");
  std::vector<uint8_t> out(100);
  ASSERT_TRUE(tls12_prf(TlsHash::kSha256, secret, "test label", seed, {}, out));
  EXPECT_EQ(out, hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b30179"
                     "1e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9de"
                     "f9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"));
}

TEST(TlsCrypto, HkdfExpandLabelRfc8448) {
  // RFC 8448 3: the server handshake traffic secret's write key and IV.
  const auto secret =
      hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
  std::vector<uint8_t> key(16), iv(12);
  ASSERT_TRUE(hkdf_expand_label(TlsHash::kSha256, secret, "key", {}, key));
  ASSERT_TRUE(hkdf_expand_label(TlsHash::kSha256, secret, "iv", {}, iv));
  EXPECT_EQ(key, hex("3fce516009c21727d0f2e4e86ee403bc"));
  EXPECT_EQ(iv, hex("5d313eb2671276ee13000b30"));
}

TEST(TlsCrypto, RecordCipherRefusesWrongLengthsAndShortRecords) {
  TlsSuiteParams p;
  ASSERT_TRUE(tls_suite_params(0x1301, p));
  TlsRecordCipher c;
  const std::vector<uint8_t> key(16, 1), iv(12, 2), short_iv(4, 2);
  EXPECT_FALSE(c.init(p, key, short_iv, {}, false));
  EXPECT_FALSE(c.ready());
  ASSERT_TRUE(c.init(p, key, iv, {}, false));
  std::vector<uint8_t> plain{1, 2, 3};
  uint8_t type = 23;
  const std::vector<uint8_t> tiny(16, 0);  // a tag and nothing else
  EXPECT_EQ(c.open(0, type, 0x0303, tiny, plain), TlsOpen::kMalformed);
  EXPECT_TRUE(plain.empty());
  const std::vector<uint8_t> forged(40, 0x55);
  EXPECT_EQ(c.open(0, type, 0x0303, forged, plain), TlsOpen::kBadTag);
  EXPECT_TRUE(plain.empty());
  EXPECT_EQ(type, 23);

  TlsSuiteParams cbc;
  ASSERT_TRUE(tls_suite_params(0x002F, cbc));
  TlsRecordCipher k;
  const std::vector<uint8_t> mac_key(20, 3);
  ASSERT_TRUE(k.init(cbc, key, {}, mac_key, true));
  EXPECT_EQ(k.open(0, type, 0x0303, std::vector<uint8_t>(47, 0), plain), TlsOpen::kMalformed);
  EXPECT_EQ(k.open(0, type, 0x0303, std::vector<uint8_t>(52, 0), plain), TlsOpen::kBadTag);
  ASSERT_TRUE(k.init(cbc, key, {}, mac_key, false));
  EXPECT_EQ(k.open(0, type, 0x0303, std::vector<uint8_t>(40, 0), plain), TlsOpen::kMalformed);
  EXPECT_EQ(k.open(0, type, 0x0303, std::vector<uint8_t>(48, 0), plain), TlsOpen::kBadTag);
  EXPECT_TRUE(plain.empty());
}

}  // namespace
}  // namespace tcpscribe
