// TLS cipher suites: the IANA name of a suite id, and for the suites whose
// records tcpscribe decrypts, what protects them (RFC 8446 B.4, RFC 5246,
// RFC 5288, RFC 7905). The parameters are read from the IANA name itself
// (bulk cipher and MAC are spelled in it), so every registry entry with
// AES-GCM, ChaCha20-Poly1305 or AES-CBC is covered whatever its key
// exchange: tcpscribe never needs the key exchange, the key log gives the
// secrets.
#pragma once

#include <cstdint>
#include <string>

namespace tcpscribe {

enum class TlsCipher : uint8_t { kAesGcm, kChaCha20Poly1305, kAesCbc };
enum class TlsHash : uint8_t { kSha1, kSha256, kSha384 };

/// Output length of `h` in bytes.
size_t tls_hash_size(TlsHash h);
/// OpenSSL's digest name ("SHA256").
const char* tls_hash_name(TlsHash h);

struct TlsSuiteParams {
  uint16_t id = 0;
  bool tls13 = false;       ///< a TLS 1.3 suite (0x13xx)
  TlsCipher cipher = TlsCipher::kAesGcm;
  uint8_t key_len = 0;      ///< 16 or 32
  /// The IV the key block (TLS 1.2) or HKDF (TLS 1.3) gives: 12 for TLS 1.3
  /// and ChaCha20 in 1.2, 4 (the salt) for GCM in 1.2, 0 for CBC (its IV
  /// is explicit in each record).
  uint8_t fixed_iv_len = 0;
  TlsHash mac = TlsHash::kSha256;  ///< CBC: the HMAC hash; unused for AEAD
  TlsHash prf = TlsHash::kSha256;  ///< the PRF (1.2) or HKDF (1.3) hash
};

/// The IANA name ("TLS_AES_128_GCM_SHA256"), or "0xHHHH" for an id not in
/// tcpscribe's copy of the registry.
std::string tls_suite_name(uint16_t id);

/// The parameters of a suite whose records tcpscribe decrypts; false for
/// any other (unknown, NULL, RC4, 3DES, CCM, CAMELLIA, ARIA, ...).
bool tls_suite_params(uint16_t id, TlsSuiteParams& out);

}  // namespace tcpscribe
