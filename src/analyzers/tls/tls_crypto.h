// The cryptography of TLS record protection, all of it through OpenSSL 3's
// libcrypto (EVP_KDF, EVP_CIPHER, EVP_MAC): the TLS 1.2 PRF, TLS 1.3's
// HKDF-Expand-Label, and opening one protected record.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tls_suites.h"

namespace tcpscribe {

/// PRF(secret, label, seed1 + seed2) of RFC 5246 section 5 into `out`
/// (EVP_KDF "TLS1-PRF" with `h`). False if libcrypto failed.
bool tls12_prf(TlsHash h, std::span<const uint8_t> secret, std::string_view label,
               std::span<const uint8_t> seed1, std::span<const uint8_t> seed2,
               std::span<uint8_t> out);

/// HKDF-Expand-Label(secret, label, context, out.size()) of RFC 8446
/// section 7.1 (EVP_KDF "HKDF" in expand-only mode over the HkdfLabel
/// structure, "tls13 " prefixed to `label`). False if libcrypto failed.
bool hkdf_expand_label(TlsHash h, std::span<const uint8_t> secret, std::string_view label,
                       std::span<const uint8_t> context, std::span<uint8_t> out);

enum class TlsOpen : uint8_t {
  kOk,
  kBadTag,     ///< the AEAD tag, the CBC MAC or its padding did not verify
  kMalformed,  ///< too short for the cipher, not whole blocks, no inner type
};

/// The protection of one direction under one key: TLS 1.3 AEAD (RFC 8446
/// 5.2-5.3), TLS 1.2 AES-GCM (RFC 5288), ChaCha20-Poly1305 (RFC 7905) and
/// AES-CBC with HMAC, MAC-then-encrypt (RFC 5246 6.2.3.2) or
/// encrypt-then-MAC (RFC 7366). Plaintext is only handed out after its tag
/// or MAC verified.
class TlsRecordCipher {
 public:
  TlsRecordCipher();
  ~TlsRecordCipher();
  TlsRecordCipher(TlsRecordCipher&&) noexcept;
  TlsRecordCipher& operator=(TlsRecordCipher&&) noexcept;

  /// `iv`: suite.fixed_iv_len bytes; `mac_key`: CBC only. False (and not
  /// ready) when the lengths do not fit the suite or libcrypto failed.
  bool init(const TlsSuiteParams& suite, std::span<const uint8_t> key,
            std::span<const uint8_t> iv, std::span<const uint8_t> mac_key, bool etm);
  bool ready() const;

  /// Opens the fragment of a record with header type `type` and
  /// `version`, protected with sequence number `seq`. On kOk, `plain` holds
  /// the content; in TLS 1.3 `type` becomes the inner content type (padding
  /// removed). On anything else `plain` is empty.
  TlsOpen open(uint64_t seq, uint8_t& type, uint16_t version,
               std::span<const uint8_t> fragment, std::vector<uint8_t>& plain);

  /// Bytes a record of this cipher adds around its content at least
  /// (explicit nonce, tag, MAC, padding, TLS 1.3's type byte).
  size_t min_overhead() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcpscribe
