#include "tls_handshake.h"

#include <openssl/bio.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace tcpscribe {
namespace {

/// A bounded reader: any read past the end fails and stays failed.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == b_.size(); }
  size_t left() const { return ok_ ? b_.size() - pos_ : 0; }
  uint32_t uint(int n) {
    if (!need(static_cast<size_t>(n))) return 0;
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | b_[pos_++];
    return v;
  }
  std::span<const uint8_t> bytes(size_t n) {
    if (!need(n)) return {};
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  /// A vector with an n-byte length prefix.
  Reader vec(int n) { return Reader(bytes(uint(n)), ok_); }

 private:
  Reader(std::span<const uint8_t> b, bool ok) : b_(b), ok_(ok) {}
  bool need(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

enum : uint16_t {
  kExtServerName = 0,
  kExtAlpn = 16,
  kExtEncryptThenMac = 22,
  kExtExtendedMasterSecret = 23,
  kExtSessionTicket = 35,
  kExtPreSharedKey = 41,
  kExtEarlyData = 42,
  kExtSupportedVersions = 43,
  kExtKeyShare = 51,
};

// SHA-256("HelloRetryRequest"), RFC 8446 4.1.3.
constexpr uint8_t kHrrRandom[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

std::string text(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

/// Calls f(type, data) for each extension; false when the block is malformed.
template <typename F>
bool each_extension(Reader& r, F f) {
  if (r.done()) return true;  // no extensions at all (allowed before TLS 1.3)
  Reader exts = r.vec(2);
  while (exts.ok() && exts.left() > 0) {
    const uint16_t type = static_cast<uint16_t>(exts.uint(2));
    Reader data = exts.vec(2);
    if (!exts.ok()) return false;
    if (!f(type, data)) return false;
  }
  return exts.ok() && r.done();
}

std::vector<std::string> alpn_list(Reader& d) {
  std::vector<std::string> out;
  Reader list = d.vec(2);
  while (list.ok() && list.left() > 0) {
    Reader name = list.vec(1);
    if (list.ok()) out.push_back(text(name.bytes(name.left())));
  }
  return out;
}

std::string sni_of(Reader& d) {
  Reader list = d.vec(2);
  while (list.ok() && list.left() > 0) {
    const uint32_t type = list.uint(1);
    Reader name = list.vec(2);
    if (list.ok() && type == 0) return text(name.bytes(name.left()));
  }
  return {};
}

bool client_extension(TlsClientHello& h, uint16_t type, Reader& d) {
  switch (type) {
    case kExtServerName: h.sni = sni_of(d); break;
    case kExtAlpn: h.alpn = alpn_list(d); break;
    case kExtSupportedVersions: {
      Reader v = d.vec(1);
      while (v.ok() && v.left() >= 2) h.supported_versions.push_back(static_cast<uint16_t>(v.uint(2)));
      break;
    }
    case kExtKeyShare: {
      Reader shares = d.vec(2);
      while (shares.ok() && shares.left() > 0) {
        const uint16_t g = static_cast<uint16_t>(shares.uint(2));
        shares.vec(2);
        if (shares.ok()) h.key_share_groups.push_back(g);
      }
      break;
    }
    case kExtPreSharedKey: h.psk = true; break;
    case kExtEarlyData: h.early_data = true; break;
    case kExtSessionTicket: {
      h.session_ticket_ext = true;
      auto t = d.bytes(d.left());
      h.session_ticket.assign(t.begin(), t.end());
      break;
    }
    case kExtEncryptThenMac: h.encrypt_then_mac = true; break;
    case kExtExtendedMasterSecret: h.extended_master_secret = true; break;
    default: break;
  }
  return true;
}

bool server_extension(TlsServerHello& h, uint16_t type, Reader& d) {
  switch (type) {
    case kExtSupportedVersions: h.selected_version = static_cast<uint16_t>(d.uint(2)); break;
    case kExtAlpn: {
      auto list = alpn_list(d);
      if (!list.empty()) h.alpn = list.front();
      break;
    }
    case kExtKeyShare: h.key_share_group = static_cast<uint16_t>(d.uint(2)); break;
    case kExtPreSharedKey: h.psk = true; break;
    case kExtEncryptThenMac: h.encrypt_then_mac = true; break;
    case kExtExtendedMasterSecret: h.extended_master_secret = true; break;
    case kExtSessionTicket: h.session_ticket_ext = true; break;
    default: break;
  }
  return d.ok();
}

std::string rfc2253(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0 && data) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

}  // namespace

bool parse_client_hello(std::span<const uint8_t> body, TlsClientHello& out) {
  TlsClientHello h;
  Reader r(body);
  h.legacy_version = static_cast<uint16_t>(r.uint(2));
  auto random = r.bytes(32);
  Reader sid = r.vec(1);
  Reader suites = r.vec(2);
  r.vec(1);  // compression methods
  if (!r.ok() || sid.left() > 32 || suites.left() % 2 != 0) return false;
  std::copy(random.begin(), random.end(), h.random.begin());
  auto s = sid.bytes(sid.left());
  h.session_id.assign(s.begin(), s.end());
  while (suites.left() > 0) h.cipher_suites.push_back(static_cast<uint16_t>(suites.uint(2)));
  if (!each_extension(r, [&](uint16_t t, Reader& d) { return client_extension(h, t, d); })) {
    return false;
  }
  out = std::move(h);
  return true;
}

bool parse_sni_extension(std::span<const uint8_t> data, std::string& out) {
  Reader d(data);
  out = sni_of(d);
  return d.ok();
}

bool parse_alpn_extension(std::span<const uint8_t> data, std::vector<std::string>& out) {
  Reader d(data);
  out = alpn_list(d);
  return d.ok();
}

bool parse_server_hello(std::span<const uint8_t> body, TlsServerHello& out) {
  TlsServerHello h;
  Reader r(body);
  h.legacy_version = static_cast<uint16_t>(r.uint(2));
  auto random = r.bytes(32);
  Reader sid = r.vec(1);
  h.cipher_suite = static_cast<uint16_t>(r.uint(2));
  r.uint(1);  // compression method
  if (!r.ok() || sid.left() > 32) return false;
  std::copy(random.begin(), random.end(), h.random.begin());
  h.hello_retry = std::memcmp(h.random.data(), kHrrRandom, 32) == 0;
  auto s = sid.bytes(sid.left());
  h.session_id.assign(s.begin(), s.end());
  if (!each_extension(r, [&](uint16_t t, Reader& d) { return server_extension(h, t, d); })) {
    return false;
  }
  out = std::move(h);
  return true;
}

bool parse_encrypted_extensions(std::span<const uint8_t> body, TlsEncryptedExtensions& out) {
  TlsEncryptedExtensions e;
  Reader r(body);
  const bool ok = each_extension(r, [&](uint16_t type, Reader& d) {
    if (type == kExtAlpn) {
      auto list = alpn_list(d);
      if (!list.empty()) e.alpn = list.front();
    } else if (type == kExtEarlyData) {
      e.early_data = true;
    }
    return true;
  });
  if (!ok || body.size() < 2) return false;
  out = std::move(e);
  return true;
}

bool parse_certificate(std::span<const uint8_t> body, bool tls13, TlsCertificateNames& out) {
  Reader r(body);
  if (tls13) r.vec(1);  // certificate_request_context
  Reader list = r.vec(3);
  Reader der = list.vec(3);
  if (!r.done() || !der.ok() || der.left() == 0) return false;
  auto cert = der.bytes(der.left());
  const unsigned char* p = cert.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(cert.size()));
  if (!x) return false;
  out.subject = rfc2253(X509_get_subject_name(x));
  out.issuer = rfc2253(X509_get_issuer_name(x));
  X509_free(x);
  return true;
}

bool parse_new_session_ticket12(std::span<const uint8_t> body, std::vector<uint8_t>& ticket) {
  Reader r(body);
  r.uint(4);  // lifetime hint
  Reader t = r.vec(2);
  if (!r.done() || t.left() == 0) return false;
  auto b = t.bytes(t.left());
  ticket.assign(b.begin(), b.end());
  return true;
}

void TlsHandshakeReassembler::reset() {
  head_.clear();
  body_.clear();
  need_ = 0;
  skip_ = 0;
}

void TlsHandshakeReassembler::feed(std::span<const uint8_t> c, const OnMessage& on_message) {
  while (!c.empty()) {
    if (skip_ > 0) {
      const size_t n = std::min(skip_, c.size());
      skip_ -= n;
      c = c.subspan(n);
      continue;
    }
    if (head_.empty() && c.size() >= 4) {  // a whole message in this piece: no copy
      const size_t len = (size_t{c[1]} << 16) | (size_t{c[2]} << 8) | c[3];
      if (c.size() - 4 >= len && len <= kMaxMessage) {
        ++messages_;
        on_message(c[0], c.subspan(4, len));
        c = c.subspan(4 + len);
        continue;
      }
    }
    if (head_.size() < 4) {
      const size_t n = std::min(4 - head_.size(), c.size());
      head_.insert(head_.end(), c.begin(), c.begin() + static_cast<std::ptrdiff_t>(n));
      c = c.subspan(n);
      if (head_.size() < 4) return;
      need_ = (size_t{head_[1]} << 16) | (size_t{head_[2]} << 8) | head_[3];
      if (need_ > kMaxMessage) {
        ++oversized_;
        skip_ = need_;
        head_.clear();
        need_ = 0;
        continue;
      }
    }
    const size_t n = std::min(need_, c.size());
    body_.insert(body_.end(), c.begin(), c.begin() + static_cast<std::ptrdiff_t>(n));
    c = c.subspan(n);
    need_ -= n;
    if (need_ == 0) {
      ++messages_;
      on_message(head_[0], body_);
      head_.clear();
      body_.clear();
    }
  }
}

}  // namespace tcpscribe
