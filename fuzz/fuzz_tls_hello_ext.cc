// The ClientHello's server_name and ALPN extension bodies, as the proxy's
// TLS termination reads them from OpenSSL's client hello callback
// (parse_sni_extension, parse_alpn_extension in src/analyzers/tls).
//
// Input: a selector byte (bit 0: ALPN, else server_name), then the
// extension's body. Properties:
//  1. The body wrapped in a ClientHello and read by parse_client_hello (the
//     passive mode's parser) gives the same SNI / ALPN list.
//  2. What comes out is made of the input's bytes: the SNI and each ALPN
//     name occur in the body, and the names together are shorter than it.
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "tls_handshake.h"

using namespace tcpscribe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 60000) return 0;
  const bool alpn = data[0] & 1;
  const std::span<const uint8_t> body(data + 1, size - 1);
  const std::string text(body.begin(), body.end());

  std::string sni;
  std::vector<std::string> protocols;
  if (alpn) parse_alpn_extension(body, protocols);
  else parse_sni_extension(body, sni);

  size_t total = 0;
  for (const std::string& p : protocols) {
    FUZZ_CHECK(text.find(p) != std::string::npos, "an ALPN name that is not in the input");
    total += p.size() + 1;
  }
  FUZZ_CHECK(total <= body.size(), "ALPN names longer than the input (%zu > %zu)", total,
             body.size());
  FUZZ_CHECK(text.find(sni) != std::string::npos, "an SNI that is not in the input");

  // A ClientHello holding just this extension.
  std::vector<uint8_t> hello = {0x03, 0x03};
  hello.insert(hello.end(), 32, 0x5a);          // random
  hello.push_back(0);                           // session id
  hello.insert(hello.end(), {0, 2, 0x13, 0x01});  // one cipher suite
  hello.insert(hello.end(), {1, 0});            // compression: null
  const size_t ext_len = 4 + body.size();
  hello.push_back(static_cast<uint8_t>(ext_len >> 8));
  hello.push_back(static_cast<uint8_t>(ext_len));
  hello.push_back(0);
  hello.push_back(alpn ? 16 : 0);
  hello.push_back(static_cast<uint8_t>(body.size() >> 8));
  hello.push_back(static_cast<uint8_t>(body.size()));
  hello.insert(hello.end(), body.begin(), body.end());
  TlsClientHello h;
  FUZZ_CHECK(parse_client_hello(hello, h), "a well framed ClientHello was refused");
  if (alpn) {
    FUZZ_CHECK(h.alpn == protocols, "ALPN: %zu names alone, %zu in a ClientHello",
               protocols.size(), h.alpn.size());
  } else {
    FUZZ_CHECK(h.sni == sni, "SNI: '%s' alone, '%s' in a ClientHello", sni.c_str(),
               h.sni.c_str());
  }
  return 0;
}
