#include "proxy_tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "exit_codes.h"
#include "tls_handshake.h"

namespace tcpscribe {
namespace {

/// The newest error OpenSSL queued, as its reason ("certificate verify
/// failed", "tlsv1 alert unknown ca"); empties the queue.
std::string openssl_reason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return {};
  if (const char* r = ERR_reason_error_string(last)) return r;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

/// Empty if `path` can be opened for reading, else why not.
std::string unreadable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::strerror(errno);
  ::close(fd);
  return {};
}

/// A name to pass on as SNI: a host name's characters only (what a client
/// sent is passed on unless it is something no server name can be).
bool usable_host_name(const std::string& s) {
  if (s.empty() || s.size() > 253 || is_ip_literal(s)) return false;
  for (const char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
    if (!ok) return false;
  }
  return true;
}

int client_hello_cb(SSL* ssl, int* /*alert*/, void* /*arg*/) {
  return static_cast<TlsConn*>(SSL_get_app_data(ssl))->on_client_hello();
}

int alpn_cb(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned inlen, void* /*arg*/) {
  return static_cast<TlsConn*>(SSL_get_app_data(ssl))->on_alpn(out, outlen, in, inlen);
}

void keylog_cb(const SSL* ssl, const char* line) {
  auto* tls = static_cast<ProxyTls*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (tls) tls->write_keylog(line);
}

/// Settings both contexts share: partial writes whose buffer may move
/// between retries (the event loop keeps unsent bytes in its own buffer),
/// and a peer that closes the TCP connection without close_notify ends its
/// stream as a FIN does (many servers do; the proxy passes the close on).
void common_settings(SSL_CTX* ctx) {
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// ---- TlsConn ----

TlsConn::TlsConn(SSL* ssl, bool server) : ssl_(ssl), server_(server) {
  SSL_set_app_data(ssl_, this);
}

TlsConn::~TlsConn() { SSL_free(ssl_); }

TlsIo TlsConn::result(int ret, const char* what) {
  const int saved_errno = errno;
  const int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ: return TlsIo::kWantRead;
    case SSL_ERROR_WANT_WRITE: return TlsIo::kWantWrite;
    case SSL_ERROR_WANT_CLIENT_HELLO_CB: return TlsIo::kPaused;
    case SSL_ERROR_ZERO_RETURN: return TlsIo::kEof;
    case SSL_ERROR_SYSCALL: {
      const std::string reason = openssl_reason();
      if (!reason.empty()) {
        error_ = reason;
      } else if (saved_errno != 0 && ret < 0) {
        errno_ = saved_errno;
        error_ = std::strerror(saved_errno);
      } else {
        // The peer closed the TCP connection without a word.
        if (done_) return TlsIo::kEof;
        error_ = std::string("the peer closed the connection during the ") + what;
      }
      return TlsIo::kError;
    }
    default: {
      error_ = openssl_reason();
      if (error_.empty()) error_ = "TLS error " + std::to_string(e);
      const long v = SSL_get_verify_result(ssl_);
      if (!server_ && v != X509_V_OK) {
        error_ += std::string(" (") + X509_verify_cert_error_string(v) + ")";
      }
      return TlsIo::kError;
    }
  }
}

TlsIo TlsConn::handshake() {
  if (done_) return TlsIo::kOk;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    return TlsIo::kOk;
  }
  const TlsIo io = result(r, "handshake");
  if (io == TlsIo::kEof) {  // close_notify before the handshake ended
    error_ = "the peer closed the connection during the handshake";
    return TlsIo::kError;
  }
  return io;
}

TlsIo TlsConn::read(uint8_t* buf, size_t size, size_t& n) {
  read_wants_write_ = false;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (r > 0) {
    n = static_cast<size_t>(r);
    return TlsIo::kOk;
  }
  const TlsIo io = result(r, "read");
  if (io == TlsIo::kWantWrite) read_wants_write_ = true;
  return io;
}

TlsIo TlsConn::write(const uint8_t* buf, size_t size, size_t& n) {
  ERR_clear_error();
  errno = 0;
  const int r = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (r > 0) {
    n = static_cast<size_t>(r);
    return TlsIo::kOk;
  }
  const TlsIo io = result(r, "write");
  if (io == TlsIo::kEof) {
    error_ = "the peer closed the connection";
    return TlsIo::kError;
  }
  return io;
}

TlsIo TlsConn::shutdown() {
  if (!done_) return TlsIo::kOk;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_shutdown(ssl_);
  if (r >= 0) return TlsIo::kOk;
  const TlsIo io = result(r, "shutdown");
  ERR_clear_error();
  return io == TlsIo::kWantWrite ? io : TlsIo::kOk;
}

void TlsConn::release_hello(const std::string& alpn) {
  released_ = true;
  answer_alpn_.clear();
  if (!alpn.empty() && alpn.size() <= 255) {
    answer_alpn_.push_back(static_cast<char>(alpn.size()));
    answer_alpn_ += alpn;
  }
}

int TlsConn::on_client_hello() {
  if (!hello_seen_) {
    hello_seen_ = true;
    const unsigned char* p = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl_, TLSEXT_TYPE_server_name, &p, &len) == 1) {
      parse_sni_extension({p, len}, sni_);
    }
    if (SSL_client_hello_get0_ext(ssl_, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                  &len) == 1) {
      parse_alpn_extension({p, len}, alpn_);
    }
  }
  return released_ ? SSL_CLIENT_HELLO_SUCCESS : SSL_CLIENT_HELLO_RETRY;
}

int TlsConn::on_alpn(const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                     unsigned inlen) {
  if (answer_alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* chosen = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(answer_alpn_.data());
  if (SSL_select_next_proto(&chosen, outlen, ours, static_cast<unsigned>(answer_alpn_.size()), in,
                            inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

std::string TlsConn::alpn() const {
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string TlsConn::summary() const {
  std::string s = SSL_get_version(ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_)) s += std::string(" ") + SSL_CIPHER_get_name(c);
  const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  if (sni && usable_host_name(sni)) s += std::string(" sni=") + sni;
  const std::string a = alpn();
  // What a peer chose, shown only when it is printable.
  const bool printable =
      std::all_of(a.begin(), a.end(), [](char ch) { return ch > ' ' && ch < 0x7f; });
  if (!a.empty()) s += printable ? " alpn=" + a : " alpn=(" + std::to_string(a.size()) + " bytes)";
  return s;
}

// ---- ProxyTls ----

ProxyTls::~ProxyTls() {
  SSL_CTX_free(server_ctx_);
  SSL_CTX_free(client_ctx_);
  if (keylog_fd_ >= 0) ::close(keylog_fd_);
}

int ProxyTls::setup(const ProxyOptions& opt, std::string& error) {
  if (!opt.tls_keylog.empty()) {
    keylog_path_ = opt.tls_keylog;
    keylog_fd_ = ::open(keylog_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (keylog_fd_ < 0) {
      error = "cannot open the key log --tls-keylog " + keylog_path_ + ": " + std::strerror(errno);
      return kExitOutput;
    }
  }
  if (!opt.tls_cert.empty()) {
    for (const auto& [flag, path] : {std::pair{"--tls-cert", opt.tls_cert},
                                     std::pair{"--tls-key", opt.tls_key}}) {
      if (const std::string why = unreadable(path); !why.empty()) {
        error = std::string("cannot read ") + flag + " " + path + ": " + why;
        return kExitInput;
      }
    }
    server_ctx_ = SSL_CTX_new(TLS_server_method());
    if (!server_ctx_) {
      error = "cannot set up TLS: " + openssl_reason();
      return kExitStart;
    }
    common_settings(server_ctx_);
    if (SSL_CTX_use_certificate_chain_file(server_ctx_, opt.tls_cert.c_str()) != 1) {
      error = "--tls-cert " + opt.tls_cert + " holds no usable PEM certificate (" +
              openssl_reason() + ")";
      return kExitInput;
    }
    if (SSL_CTX_use_PrivateKey_file(server_ctx_, opt.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      const std::string why = openssl_reason();
      error = why == "key values mismatch"
                  ? "--tls-key " + opt.tls_key + " is not the key of --tls-cert " + opt.tls_cert
                  : "--tls-key " + opt.tls_key + " holds no usable PEM private key (" + why + ")";
      return kExitInput;
    }
    if (SSL_CTX_check_private_key(server_ctx_) != 1) {
      error = "--tls-key " + opt.tls_key + " is not the key of --tls-cert " + opt.tls_cert + " (" +
              openssl_reason() + ")";
      return kExitInput;
    }
    SSL_CTX_set_client_hello_cb(server_ctx_, client_hello_cb, nullptr);
    SSL_CTX_set_alpn_select_cb(server_ctx_, alpn_cb, nullptr);
    SSL_CTX_set_app_data(server_ctx_, this);
    if (keylog_fd_ >= 0) SSL_CTX_set_keylog_callback(server_ctx_, keylog_cb);
  }
  if (opt.tls_upstream) {
    if (!opt.tls_ca.empty()) {
      if (const std::string why = unreadable(opt.tls_ca); !why.empty()) {
        error = "cannot read --tls-ca " + opt.tls_ca + ": " + why;
        return kExitInput;
      }
    }
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    if (!client_ctx_) {
      error = "cannot set up TLS: " + openssl_reason();
      return kExitStart;
    }
    common_settings(client_ctx_);
    if (opt.tls_insecure) {
      SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
      if (!opt.tls_ca.empty()) {
        if (SSL_CTX_load_verify_locations(client_ctx_, opt.tls_ca.c_str(), nullptr) != 1) {
          error = "--tls-ca " + opt.tls_ca + " holds no usable PEM certificate (" +
                  openssl_reason() + ")";
          return kExitInput;
        }
      } else if (SSL_CTX_set_default_verify_paths(client_ctx_) != 1) {
        error = "cannot load the system's CA certificates (" + openssl_reason() +
                "); give --tls-ca FILE or --tls-insecure";
        return kExitInput;
      }
    }
    SSL_CTX_set_app_data(client_ctx_, this);
    if (keylog_fd_ >= 0) SSL_CTX_set_keylog_callback(client_ctx_, keylog_cb);
  }
  return kExitOk;
}

std::unique_ptr<TlsConn> ProxyTls::accept(int fd, std::string& error) {
  SSL* ssl = SSL_new(server_ctx_);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    error = "cannot start TLS: " + openssl_reason();
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  auto conn = std::make_unique<TlsConn>(ssl, true);
  if (!upstream_side()) conn->never_pause();
  return conn;
}

std::unique_ptr<TlsConn> ProxyTls::connect(int fd, const std::string& sni,
                                           const std::string& verify_name,
                                           const std::vector<std::string>& alpn,
                                           std::string& error) {
  SSL* ssl = SSL_new(client_ctx_);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    error = "cannot start TLS: " + openssl_reason();
    SSL_free(ssl);
    return nullptr;
  }
  auto conn = std::make_unique<TlsConn>(ssl, false);
  SSL_set_connect_state(ssl);
  if (usable_host_name(sni)) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
    const bool ok = is_ip_literal(verify_name)
                        ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), verify_name.c_str()) == 1
                        : SSL_set1_host(ssl, verify_name.c_str()) == 1;
    if (!ok) {
      error = "cannot check the upstream's certificate for '" + verify_name + "'";
      return nullptr;
    }
  }
  std::string wire;
  for (const std::string& p : alpn) {
    if (p.empty() || p.size() > 255) continue;
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  if (!wire.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  return conn;
}

void ProxyTls::write_keylog(const char* line) {
  if (keylog_fd_ < 0) return;
  std::string text = line;
  text += '\n';
  // One write() per line on an O_APPEND descriptor: each line lands whole
  // and is in the file (for a reader beside the proxy) as soon as it exists.
  const ssize_t w = ::write(keylog_fd_, text.data(), text.size());
  if (w != static_cast<ssize_t>(text.size())) {
    if (keylog_failures_++ == 0) {
      keylog_error_ = "cannot write the key log " + keylog_path_ + ": " +
                      (w < 0 ? std::strerror(errno) : "short write");
    }
  }
}

}  // namespace tcpscribe
