#include "tls_crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstring>

namespace tcpscribe {
namespace {

// Fetched once (thread-safe static initialisation) and kept for the run:
// fetching per use is what makes OpenSSL 3 slow.
EVP_KDF* kdf(const char* name) {
  if (std::strcmp(name, "TLS1-PRF") == 0) {
    static EVP_KDF* prf = EVP_KDF_fetch(nullptr, "TLS1-PRF", nullptr);
    return prf;
  }
  static EVP_KDF* hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return hkdf;
}

const EVP_CIPHER* cipher_for(const TlsSuiteParams& p) {
  static EVP_CIPHER* gcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* gcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  static EVP_CIPHER* cbc128 = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  static EVP_CIPHER* cbc256 = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  switch (p.cipher) {
    case TlsCipher::kAesGcm: return p.key_len == 16 ? gcm128 : gcm256;
    case TlsCipher::kChaCha20Poly1305: return chacha;
    case TlsCipher::kAesCbc: return p.key_len == 16 ? cbc128 : cbc256;
  }
  return nullptr;
}

EVP_MAC* hmac() {
  static EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return m;
}

bool derive(const char* name, OSSL_PARAM* params, std::span<uint8_t> out) {
  EVP_KDF* k = kdf(name);
  if (!k) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(k);
  if (!ctx) return false;
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) > 0;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

char* digest_name(TlsHash h) { return const_cast<char*>(tls_hash_name(h)); }
void* bytes(const uint8_t* p) { return const_cast<uint8_t*>(p); }

constexpr size_t kTag = 16;
constexpr size_t kBlock = 16;

void put_be(uint8_t* at, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i, v >>= 8) at[i] = static_cast<uint8_t>(v);
}

}  // namespace

bool tls12_prf(TlsHash h, std::span<const uint8_t> secret, std::string_view label,
               std::span<const uint8_t> seed1, std::span<const uint8_t> seed2,
               std::span<uint8_t> out) {
  // Repeated seed parameters are concatenated: label + seed1 + seed2.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name(h), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, bytes(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, const_cast<char*>(label.data()),
                                        label.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, bytes(seed1.data()), seed1.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, bytes(seed2.data()), seed2.size()),
      OSSL_PARAM_construct_end()};
  return derive("TLS1-PRF", params, out);
}

bool hkdf_expand_label(TlsHash h, std::span<const uint8_t> secret, std::string_view label,
                       std::span<const uint8_t> context, std::span<uint8_t> out) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
  //          opaque context<0..255>; } HkdfLabel;
  static constexpr std::string_view kPrefix = "tls13 ";
  if (out.size() > 0xffff || kPrefix.size() + label.size() > 255 || context.size() > 255) {
    return false;
  }
  std::vector<uint8_t> info;
  info.reserve(4 + kPrefix.size() + label.size() + context.size());
  info.push_back(static_cast<uint8_t>(out.size() >> 8));
  info.push_back(static_cast<uint8_t>(out.size()));
  info.push_back(static_cast<uint8_t>(kPrefix.size() + label.size()));
  info.insert(info.end(), kPrefix.begin(), kPrefix.end());
  info.insert(info.end(), label.begin(), label.end());
  info.push_back(static_cast<uint8_t>(context.size()));
  info.insert(info.end(), context.begin(), context.end());
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name(h), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, bytes(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  return derive("HKDF", params, out);
}

struct TlsRecordCipher::Impl {
  TlsSuiteParams suite;
  EVP_CIPHER_CTX* ctx = nullptr;
  EVP_MAC_CTX* mac = nullptr;
  uint8_t iv[12] = {};
  bool etm = false;
  bool ready = false;
  std::vector<uint8_t> scratch;

  ~Impl() {
    EVP_CIPHER_CTX_free(ctx);
    EVP_MAC_CTX_free(mac);
  }
  TlsOpen open_aead(uint64_t seq, uint8_t& type, uint16_t version,
                    std::span<const uint8_t> frag, std::vector<uint8_t>& plain);
  TlsOpen open_cbc(uint64_t seq, uint8_t type, uint16_t version,
                   std::span<const uint8_t> frag, std::vector<uint8_t>& plain);
  bool mac_of(uint64_t seq, uint8_t type, uint16_t version, std::span<const uint8_t> content,
              uint8_t* out);
  bool cbc_decrypt(const uint8_t* iv_in, std::span<const uint8_t> ct, std::vector<uint8_t>& out);
};

TlsRecordCipher::TlsRecordCipher() : impl_(std::make_unique<Impl>()) {}
TlsRecordCipher::~TlsRecordCipher() = default;
TlsRecordCipher::TlsRecordCipher(TlsRecordCipher&&) noexcept = default;
TlsRecordCipher& TlsRecordCipher::operator=(TlsRecordCipher&&) noexcept = default;

bool TlsRecordCipher::ready() const { return impl_ && impl_->ready; }

bool TlsRecordCipher::init(const TlsSuiteParams& suite, std::span<const uint8_t> key,
                           std::span<const uint8_t> iv, std::span<const uint8_t> mac_key,
                           bool etm) {
  if (!impl_) impl_ = std::make_unique<Impl>();
  Impl& m = *impl_;
  m.ready = false;
  const EVP_CIPHER* c = cipher_for(suite);
  const bool cbc = suite.cipher == TlsCipher::kAesCbc;
  if (!c || key.size() != suite.key_len || iv.size() != suite.fixed_iv_len ||
      (cbc && mac_key.size() != tls_hash_size(suite.mac))) {
    return false;
  }
  m.suite = suite;
  m.etm = etm;
  std::copy(iv.begin(), iv.end(), m.iv);
  if (!m.ctx && !(m.ctx = EVP_CIPHER_CTX_new())) return false;
  if (EVP_DecryptInit_ex(m.ctx, c, nullptr, key.data(), nullptr) <= 0) return false;
  if (cbc) {
    EVP_MAC_CTX_free(m.mac);
    m.mac = hmac() ? EVP_MAC_CTX_new(hmac()) : nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name(suite.mac), 0),
        OSSL_PARAM_construct_end()};
    if (!m.mac || EVP_MAC_init(m.mac, mac_key.data(), mac_key.size(), params) <= 0) {
      return false;
    }
  }
  m.ready = true;
  return true;
}

size_t TlsRecordCipher::min_overhead() const {
  if (!ready()) return 0;
  const TlsSuiteParams& s = impl_->suite;
  if (s.tls13) return kTag + 1;
  if (s.cipher == TlsCipher::kAesGcm) return 8 + kTag;
  if (s.cipher == TlsCipher::kChaCha20Poly1305) return kTag;
  return kBlock + tls_hash_size(s.mac) + 1;  // IV, MAC, at least the padding length
}

TlsOpen TlsRecordCipher::open(uint64_t seq, uint8_t& type, uint16_t version,
                              std::span<const uint8_t> fragment, std::vector<uint8_t>& plain) {
  plain.clear();
  if (!ready()) return TlsOpen::kMalformed;
  if (impl_->suite.cipher == TlsCipher::kAesCbc) {
    return impl_->open_cbc(seq, type, version, fragment, plain);
  }
  return impl_->open_aead(seq, type, version, fragment, plain);
}

TlsOpen TlsRecordCipher::Impl::open_aead(uint64_t seq, uint8_t& type, uint16_t version,
                                         std::span<const uint8_t> frag,
                                         std::vector<uint8_t>& plain) {
  const bool explicit_nonce = !suite.tls13 && suite.cipher == TlsCipher::kAesGcm;
  const size_t head = explicit_nonce ? 8 : 0;
  if (frag.size() < head + kTag + (suite.tls13 ? 1 : 0)) return TlsOpen::kMalformed;
  const std::span<const uint8_t> ct = frag.subspan(head, frag.size() - head - kTag);
  uint8_t nonce[12];
  if (explicit_nonce) {  // RFC 5288 3: salt from the key block, then the record's 8 bytes
    std::memcpy(nonce, iv, 4);
    std::memcpy(nonce + 4, frag.data(), 8);
  } else {  // RFC 8446 5.3, RFC 7905 2: the IV XOR the padded sequence number
    std::memcpy(nonce, iv, 12);
    for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
  }
  uint8_t aad[13];
  size_t aad_len;
  if (suite.tls13) {  // the record header as sent
    aad[0] = type;
    put_be(aad + 1, version, 2);
    put_be(aad + 3, frag.size(), 2);
    aad_len = 5;
  } else {  // seq_num + type + version + length of the plaintext
    put_be(aad, seq, 8);
    aad[8] = type;
    put_be(aad + 9, version, 2);
    put_be(aad + 11, ct.size(), 2);
    aad_len = 13;
  }
  // Straight into `plain` (no copy on the hot path); cleared unless the
  // tag verifies.
  int n = 0;
  plain.resize(ct.size() + kBlock);
  auto fail = [&](TlsOpen r) {
    plain.clear();
    return r;
  };
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) <= 0 ||
      EVP_DecryptUpdate(ctx, nullptr, &n, aad, static_cast<int>(aad_len)) <= 0 ||
      EVP_DecryptUpdate(ctx, plain.data(), &n, ct.data(), static_cast<int>(ct.size())) <= 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag,
                          const_cast<uint8_t*>(frag.data() + frag.size() - kTag)) <= 0) {
    return fail(TlsOpen::kBadTag);
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx, plain.data() + n, &fin) <= 0) return fail(TlsOpen::kBadTag);
  size_t len = static_cast<size_t>(n + fin);
  if (suite.tls13) {  // TLSInnerPlaintext: content, type, zeros
    while (len > 0 && plain[len - 1] == 0) --len;
    if (len == 0) return fail(TlsOpen::kMalformed);
    type = plain[--len];
  }
  plain.resize(len);
  return TlsOpen::kOk;
}

bool TlsRecordCipher::Impl::mac_of(uint64_t seq, uint8_t type, uint16_t version,
                                   std::span<const uint8_t> content, uint8_t* out) {
  uint8_t head[13];
  put_be(head, seq, 8);
  head[8] = type;
  put_be(head + 9, version, 2);
  put_be(head + 11, content.size(), 2);
  size_t n = 0;
  // A null key restarts HMAC with the key given at init.
  return EVP_MAC_init(mac, nullptr, 0, nullptr) > 0 && EVP_MAC_update(mac, head, 13) > 0 &&
         EVP_MAC_update(mac, content.data(), content.size()) > 0 &&
         EVP_MAC_final(mac, out, &n, 64) > 0 && n == tls_hash_size(suite.mac);
}

bool TlsRecordCipher::Impl::cbc_decrypt(const uint8_t* iv_in, std::span<const uint8_t> ct,
                                        std::vector<uint8_t>& out) {
  out.resize(ct.size() + kBlock);
  int n = 0, fin = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv_in) <= 0 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) <= 0 ||
      EVP_DecryptUpdate(ctx, out.data(), &n, ct.data(), static_cast<int>(ct.size())) <= 0 ||
      EVP_DecryptFinal_ex(ctx, out.data() + n, &fin) <= 0) {
    return false;
  }
  out.resize(static_cast<size_t>(n + fin));
  return true;
}

TlsOpen TlsRecordCipher::Impl::open_cbc(uint64_t seq, uint8_t type, uint16_t version,
                                        std::span<const uint8_t> frag,
                                        std::vector<uint8_t>& plain) {
  const size_t mac_len = tls_hash_size(suite.mac);
  uint8_t want[64];
  if (etm) {  // RFC 7366: IV + ciphertext, then the MAC over them
    if (frag.size() < kBlock * 2 + mac_len) return TlsOpen::kMalformed;
    const auto sealed = frag.first(frag.size() - mac_len);
    if ((sealed.size() % kBlock) != 0) return TlsOpen::kMalformed;
    if (!mac_of(seq, type, version, sealed, want) ||
        std::memcmp(want, frag.data() + sealed.size(), mac_len) != 0) {
      return TlsOpen::kBadTag;
    }
    if (!cbc_decrypt(frag.data(), sealed.subspan(kBlock), scratch)) return TlsOpen::kBadTag;
    const size_t pad = scratch.empty() ? 0 : scratch.back();
    if (scratch.empty() || pad + 1 > scratch.size()) return TlsOpen::kBadTag;
    for (size_t i = scratch.size() - pad - 1; i < scratch.size(); ++i) {
      if (scratch[i] != pad) return TlsOpen::kBadTag;
    }
    plain.assign(scratch.begin(), scratch.end() - static_cast<std::ptrdiff_t>(pad + 1));
    return TlsOpen::kOk;
  }
  // MAC-then-encrypt (RFC 5246 6.2.3.2): IV, then E(content + MAC + padding).
  if (frag.size() < kBlock * 2 || (frag.size() % kBlock) != 0) return TlsOpen::kMalformed;
  if (!cbc_decrypt(frag.data(), frag.subspan(kBlock), scratch)) return TlsOpen::kBadTag;
  const size_t pad = scratch.back();
  if (pad + 1 + mac_len > scratch.size()) return TlsOpen::kBadTag;
  for (size_t i = scratch.size() - pad - 1; i < scratch.size(); ++i) {
    if (scratch[i] != pad) return TlsOpen::kBadTag;
  }
  const size_t content = scratch.size() - pad - 1 - mac_len;
  if (!mac_of(seq, type, version, std::span<const uint8_t>(scratch.data(), content), want) ||
      std::memcmp(want, scratch.data() + content, mac_len) != 0) {
    return TlsOpen::kBadTag;
  }
  plain.assign(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(content));
  return TlsOpen::kOk;
}

}  // namespace tcpscribe
