// TLS termination for the proxy (--tls-cert/--tls-key, --tls-upstream,
// --tls-ca, --tls-insecure, --tls-keylog), with OpenSSL 3 on the proxy's
// non-blocking sockets.
//
// ProxyTls holds the two contexts (the proxy as the clients' TLS server,
// the proxy as the upstream's TLS client) and the key log; TlsConn is one
// leg of one session. A TlsConn does no waiting of its own: every call
// returns at once with what it could do, and the event loop calls again
// when the socket is ready (edge-triggered: a TlsConn reads until OpenSSL
// says it wants more bytes from the socket, so no decrypted byte is left
// behind without an event to fetch it).
//
// SNI and ALPN: with TLS on both sides, the client's handshake is held at
// its ClientHello (OpenSSL's client hello callback) until the upstream's
// handshake is done. The upstream gets the client's SNI (else the --forward
// name, when it is not an address) and the client's ALPN list; the client
// then gets the protocol the upstream chose, if it offered it. With a plain
// upstream the client gets no ALPN answer (the proxy cannot know what the
// upstream speaks), and a TLS upstream behind a plain client is offered no
// ALPN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy_options.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace tcpscribe {

/// The outcome of one TlsConn call.
enum class TlsIo {
  kOk,         ///< done (handshake complete, bytes read or written)
  kWantRead,   ///< call again when the socket is readable
  kWantWrite,  ///< call again when the socket is writable
  kPaused,     ///< (server) ClientHello seen, waiting for release_hello()
  kEof,        ///< (read) the peer closed: close_notify or end of stream
  kError,      ///< failed: error() says why; errno_value() if the socket failed
};

class TlsConn {
 public:
  TlsConn(SSL* ssl, bool server);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  TlsIo handshake();
  bool done() const { return done_; }
  /// Reads decrypted bytes into `buf`; `n` is set on kOk.
  TlsIo read(uint8_t* buf, size_t size, size_t& n);
  /// Writes up to `size` bytes (partial writes allowed); `n` is set on kOk.
  /// After kWantRead/kWantWrite, call again with the same bytes.
  TlsIo write(const uint8_t* buf, size_t size, size_t& n);
  /// Sends close_notify; kOk once it is on its way (or cannot be sent).
  TlsIo shutdown();

  /// Why the last call failed: OpenSSL's reason, the certificate check's,
  /// or the socket's error.
  const std::string& error() const { return error_; }
  /// The socket's errno behind a kError (0: a TLS failure).
  int errno_value() const { return errno_; }
  /// A read stopped because OpenSSL must write first: retry on EPOLLOUT.
  bool read_wants_write() const { return read_wants_write_; }

  // Server side: what the client's ClientHello asked for.
  bool hello_seen() const { return hello_seen_; }
  const std::string& client_sni() const { return sni_; }
  const std::vector<std::string>& client_alpn() const { return alpn_; }
  /// Lets the handshake go on past the ClientHello, answering ALPN with
  /// `alpn` if the client offered it (empty: no ALPN answer).
  void release_hello(const std::string& alpn);
  /// Without a TLS upstream: never hold the ClientHello.
  void never_pause() { released_ = true; }

  /// After the handshake: the protocol ALPN chose ("" if none).
  std::string alpn() const;
  /// "TLSv1.3 TLS_AES_256_GCM_SHA384 sni=x alpn=h2".
  std::string summary() const;

  // OpenSSL's callbacks (proxy_tls.cc) reach the connection through these.
  int on_client_hello();
  int on_alpn(const unsigned char** out, unsigned char* outlen, const unsigned char* in,
              unsigned inlen);

 private:
  TlsIo result(int ret, const char* what);

  SSL* ssl_;
  bool server_;
  bool done_ = false;
  bool hello_seen_ = false;
  bool released_ = false;
  bool read_wants_write_ = false;
  std::string sni_;
  std::vector<std::string> alpn_;
  std::string answer_alpn_;  // wire format: length byte + name
  std::string error_;
  int errno_ = 0;
};

class ProxyTls {
 public:
  ProxyTls() = default;
  ~ProxyTls();
  ProxyTls(const ProxyTls&) = delete;
  ProxyTls& operator=(const ProxyTls&) = delete;

  /// Loads what the options name. kExitOk, or the exit code with `error`
  /// set to one line: kExitInput for a certificate, key or CA file that
  /// cannot be loaded (or a key that does not match the certificate),
  /// kExitOutput for a key log that cannot be opened.
  int setup(const ProxyOptions& opt, std::string& error);

  bool client_side() const { return server_ctx_ != nullptr; }
  bool upstream_side() const { return client_ctx_ != nullptr; }

  /// The TLS server for an accepted client socket (null: out of memory).
  std::unique_ptr<TlsConn> accept(int fd, std::string& error);
  /// The TLS client for a connected upstream socket: SNI `sni` (an address
  /// gets none), the certificate checked against `verify_name` (a DNS name
  /// or an address) unless --tls-insecure, ALPN offering `alpn`.
  std::unique_ptr<TlsConn> connect(int fd, const std::string& sni, const std::string& verify_name,
                                   const std::vector<std::string>& alpn, std::string& error);

  /// Key log lines not written (a failing --tls-keylog); the first error.
  uint64_t keylog_failures() const { return keylog_failures_; }
  const std::string& keylog_error() const { return keylog_error_; }
  /// Writes one NSS key log line (the callback's job; public for tests).
  void write_keylog(const char* line);

 private:
  SSL_CTX* server_ctx_ = nullptr;
  SSL_CTX* client_ctx_ = nullptr;
  int keylog_fd_ = -1;
  std::string keylog_path_;
  uint64_t keylog_failures_ = 0;
  std::string keylog_error_;
};

/// An IPv4 or IPv6 address literal (gets no SNI; verified as an address).
bool is_ip_literal(const std::string& host);

}  // namespace tcpscribe
