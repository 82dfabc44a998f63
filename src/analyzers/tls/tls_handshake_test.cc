#include "tls_handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_files.h"

namespace tcpscribe {
namespace {

using Bytes = std::vector<uint8_t>;

void put(Bytes& b, uint32_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
/// `body` with an n-byte length in front.
Bytes vec(int n, const Bytes& body) {
  Bytes b;
  put(b, static_cast<uint32_t>(body.size()), n);
  b.insert(b.end(), body.begin(), body.end());
  return b;
}
Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes ext(uint16_t type, const Bytes& data) {
  Bytes b;
  put(b, type, 2);
  return cat({b, vec(2, data)});
}
Bytes u16(uint16_t v) {
  Bytes b;
  put(b, v, 2);
  return b;
}

Bytes client_hello() {
  const Bytes exts = cat({
      ext(0, vec(2, cat({Bytes{0}, vec(2, str("api.example.com"))}))),
      ext(16, vec(2, cat({vec(1, str("h2")), vec(1, str("http/1.1"))}))),
      ext(43, vec(1, cat({u16(0x0304), u16(0x0303)}))),
      ext(51, vec(2, cat({u16(29), vec(2, Bytes(32, 7)), u16(23), vec(2, Bytes(65, 8))}))),
      ext(42, {}),
      ext(35, Bytes{0xAB, 0xCD}),
      ext(22, {}),
      ext(23, {}),
      ext(0x1A1A, Bytes{1, 2, 3}),  // GREASE: ignored
      ext(41, Bytes(40, 9)),        // pre_shared_key comes last
  });
  return cat({u16(0x0303), Bytes(32, 0x11), vec(1, Bytes(32, 0x22)),
              vec(2, cat({u16(0x1301), u16(0x1302), u16(0xC02F)})), vec(1, Bytes{0}),
              vec(2, exts)});
}

TEST(TlsHandshake, ClientHelloFields) {
  TlsClientHello ch;
  ASSERT_TRUE(parse_client_hello(client_hello(), ch));
  EXPECT_EQ(ch.legacy_version, 0x0303);
  EXPECT_EQ(ch.random[0], 0x11);
  EXPECT_EQ(ch.session_id, Bytes(32, 0x22));
  EXPECT_EQ(ch.cipher_suites, (std::vector<uint16_t>{0x1301, 0x1302, 0xC02F}));
  EXPECT_EQ(ch.sni, "api.example.com");
  EXPECT_EQ(ch.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(ch.supported_versions, (std::vector<uint16_t>{0x0304, 0x0303}));
  EXPECT_EQ(ch.key_share_groups, (std::vector<uint16_t>{29, 23}));
  EXPECT_TRUE(ch.early_data);
  EXPECT_TRUE(ch.psk);
  EXPECT_TRUE(ch.session_ticket_ext);
  EXPECT_EQ(ch.session_ticket, (Bytes{0xAB, 0xCD}));
  EXPECT_TRUE(ch.encrypt_then_mac);
  EXPECT_TRUE(ch.extended_master_secret);
}

TEST(TlsHandshake, EveryTruncationFailsCleanly) {
  const Bytes full = client_hello();
  for (size_t n = 0; n < full.size(); ++n) {
    // Each prefix in a heap block of exactly its size: ASan sees any overread.
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    TlsClientHello ch;
    ch.sni = "untouched";
    // Cut right before the extensions it is a valid hello without any.
    const size_t no_extensions = 2 + 32 + 33 + 8 + 2;
    EXPECT_EQ(parse_client_hello(prefix, ch), n == no_extensions) << n;
    EXPECT_EQ(ch.sni, n == no_extensions ? "" : "untouched");
    TlsServerHello sh;
    parse_server_hello(prefix, sh);
    TlsEncryptedExtensions ee;
    parse_encrypted_extensions(prefix, ee);
  }
  // No extensions at all is a valid TLS 1.2 ClientHello.
  const Bytes bare = cat({u16(0x0303), Bytes(32, 1), vec(1, {}), vec(2, u16(0x002F)),
                          vec(1, Bytes{0})});
  TlsClientHello ch;
  EXPECT_TRUE(parse_client_hello(bare, ch));
  EXPECT_EQ(ch.sni, "");
}

TEST(TlsHandshake, ServerHelloAndHelloRetryRequest) {
  const Bytes exts = cat({ext(43, u16(0x0304)), ext(51, cat({u16(29), vec(2, Bytes(32, 5))})),
                          ext(41, u16(0))});
  const Bytes sh_bytes = cat({u16(0x0303), Bytes(32, 0x33), vec(1, Bytes(32, 0x22)), u16(0x1301),
                              Bytes{0}, vec(2, exts)});
  TlsServerHello sh;
  ASSERT_TRUE(parse_server_hello(sh_bytes, sh));
  EXPECT_EQ(sh.version(), 0x0304);
  EXPECT_EQ(sh.legacy_version, 0x0303);
  EXPECT_EQ(sh.cipher_suite, 0x1301);
  EXPECT_EQ(sh.key_share_group, 29);
  EXPECT_TRUE(sh.psk);
  EXPECT_FALSE(sh.hello_retry);

  const Bytes hrr_random{0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                         0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                         0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
  const Bytes hrr = cat({u16(0x0303), hrr_random, vec(1, {}), u16(0x1302), Bytes{0},
                         vec(2, cat({ext(43, u16(0x0304)), ext(51, u16(24))}))});
  ASSERT_TRUE(parse_server_hello(hrr, sh));
  EXPECT_TRUE(sh.hello_retry);
  EXPECT_EQ(sh.key_share_group, 24);

  // TLS 1.2 with ALPN, EtM, EMS, a ticket to come.
  const Bytes sh12 = cat({u16(0x0303), Bytes(32, 1), vec(1, {}), u16(0xC013), Bytes{0},
                          vec(2, cat({ext(16, vec(2, vec(1, str("http/1.1")))), ext(22, {}),
                                      ext(23, {}), ext(35, {})}))});
  ASSERT_TRUE(parse_server_hello(sh12, sh));
  EXPECT_EQ(sh.version(), 0x0303);
  EXPECT_EQ(sh.alpn, "http/1.1");
  EXPECT_TRUE(sh.encrypt_then_mac && sh.extended_master_secret && sh.session_ticket_ext);
  // An extension block longer than the message: refused.
  Bytes bad = sh12;
  bad[bad.size() - 29] = 1;  // the block's length, high byte
  EXPECT_FALSE(parse_server_hello(bad, sh));
}

TEST(TlsHandshake, EncryptedExtensionsAndTickets) {
  TlsEncryptedExtensions ee;
  ASSERT_TRUE(parse_encrypted_extensions(
      vec(2, cat({ext(16, vec(2, vec(1, str("h2")))), ext(42, {})})), ee));
  EXPECT_EQ(ee.alpn, "h2");
  EXPECT_TRUE(ee.early_data);
  std::vector<uint8_t> ticket;
  ASSERT_TRUE(parse_new_session_ticket12(cat({Bytes{0, 0, 0x1C, 0x20}, vec(2, Bytes(160, 4))}),
                                         ticket));
  EXPECT_EQ(ticket, Bytes(160, 4));
  EXPECT_FALSE(parse_new_session_ticket12(Bytes{0, 0, 0, 1, 0, 5, 1}, ticket));
}

TEST(TlsHandshake, CertificateNamesFromDer) {
  TlsCertificateNames names;
  EXPECT_FALSE(parse_certificate(vec(3, vec(3, Bytes(50, 0x30))), false, names));
  EXPECT_FALSE(parse_certificate(Bytes{0, 0}, false, names));
  // (A real certificate is decoded in the capture tests: tls_session_test.cc.)
}

TEST(TlsHandshake, MessagesAcrossPiecesAndOversizedSkipped) {
  const Bytes m1 = cat({Bytes{1}, vec(3, Bytes(700, 1))});
  const Bytes m2 = cat({Bytes{14}, vec(3, {})});  // ServerHelloDone: empty
  Bytes big{11};
  put(big, TlsHandshakeReassembler::kMaxMessage + 1, 3);
  big.resize(big.size() + TlsHandshakeReassembler::kMaxMessage + 1, 9);
  const Bytes m3 = cat({Bytes{20}, vec(3, Bytes(12, 3))});
  const Bytes stream = cat({m1, m2, big, m3});
  auto run = [&](size_t piece) {
    TlsHandshakeReassembler r;
    std::vector<std::string> seen;
    for (size_t i = 0; i < stream.size(); i += piece) {
      r.feed(std::span(stream).subspan(i, std::min(piece, stream.size() - i)),
             [&](uint8_t t, std::span<const uint8_t> body) {
               seen.push_back(std::to_string(t) + ":" + std::to_string(body.size()));
             });
    }
    EXPECT_TRUE(r.at_boundary());
    EXPECT_EQ(r.oversized(), 1u);
    return seen;
  };
  const std::vector<std::string> want{"1:700", "14:0", "20:12"};
  EXPECT_EQ(run(stream.size()), want);
  EXPECT_EQ(run(1), want);
  EXPECT_EQ(run(3), want);
  EXPECT_EQ(run(16384), want);
}

}  // namespace
}  // namespace tcpscribe
