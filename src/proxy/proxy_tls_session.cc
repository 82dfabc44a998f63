// A session's TLS sides in the event loop: the handshakes (the client's held
// at its ClientHello until the upstream's is done, so SNI and ALPN can be
// passed on), and reads, writes and half-closes through OpenSSL. The bytes
// the outputs get are the decrypted ones: pump() hands them on as it does
// a plain socket's.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proxy_internal.h"

namespace tcpscribe::proxy_detail {

ssize_t Proxy::recv_side(Session& s, Side side, uint8_t* buf, size_t n) {
  TlsConn* t = s.tls[side].get();
  if (!t) return ::recv(s.sock[side].fd, buf, n, 0);
  size_t got = 0;
  switch (t->read(buf, n, got)) {
    case TlsIo::kOk: return static_cast<ssize_t>(got);
    case TlsIo::kEof: return 0;
    case TlsIo::kWantRead:
    case TlsIo::kWantWrite:  // on_socket_event() retries on EPOLLOUT
    case TlsIo::kPaused: errno = EAGAIN; return -1;
    case TlsIo::kError: break;
  }
  s.tls_error = t->error();
  errno = t->errno_value() != 0 ? t->errno_value() : EPROTO;
  return -1;
}

ssize_t Proxy::send_side(Session& s, Side side, const uint8_t* buf, size_t n) {
  TlsConn* t = s.tls[side].get();
  if (!t) return ::send(s.sock[side].fd, buf, n, MSG_NOSIGNAL);
  size_t put = 0;
  switch (t->write(buf, n, put)) {
    case TlsIo::kOk: return static_cast<ssize_t>(put);
    case TlsIo::kWantRead:
    case TlsIo::kWantWrite:
    case TlsIo::kPaused: errno = EAGAIN; return -1;
    case TlsIo::kEof:
    case TlsIo::kError: break;
  }
  s.tls_error = t->error();
  errno = t->errno_value() != 0 ? t->errno_value() : EPROTO;
  return -1;
}

bool Proxy::shut_side(Session& s, Side side) {
  if (TlsConn* t = s.tls[side].get(); t && t->shutdown() == TlsIo::kWantWrite) {
    s.sock[side].writable = false;
    return false;
  }
  ::shutdown(s.sock[side].fd, SHUT_WR);
  return true;
}

bool Proxy::tls_accept(Session& s) {
  s.tls_ready = !tls_.client_side() && !tls_.upstream_side();
  if (!tls_.client_side()) return true;
  std::string error;
  s.tls[kClient] = tls_.accept(s.sock[kClient].fd, error);
  if (!s.tls[kClient]) {
    tls_failed(s, kClient, error);
    return false;
  }
  return true;
}

bool Proxy::tls_handshake(Session& s) {
  if (s.tls_ready) return true;
  const auto note = [&](Side side) {
    console_.note(s.sid, secs(monotonic_ns()), "tls",
                  std::string(side == kClient ? "client: " : "upstream: ") + s.tls[side]->summary());
  };
  for (bool moved = true; moved;) {
    moved = false;
    TlsConn* c = s.tls[kClient].get();
    if (c && !c->done()) {
      const TlsIo r = c->handshake();
      if (r == TlsIo::kError) {
        tls_failed(s, kClient, c->error());
        return false;
      }
      if (r == TlsIo::kOk) {
        moved = true;
        note(kClient);
      }
    }
    // The upstream's handshake starts once the client's ClientHello is in:
    // the upstream gets its SNI and ALPN offer.
    if (tls_.upstream_side() && !s.tls[kUpstream] && (!c || c->hello_seen())) {
      const bool client_sni = c && !c->client_sni().empty();
      const std::string& name = client_sni ? c->client_sni() : opt_.forward.host;
      std::string error;
      s.tls[kUpstream] = tls_.connect(s.sock[kUpstream].fd, name, name,
                                      c ? c->client_alpn() : std::vector<std::string>{}, error);
      if (!s.tls[kUpstream]) {
        tls_failed(s, kUpstream, error);
        return false;
      }
      moved = true;
    }
    TlsConn* u = s.tls[kUpstream].get();
    if (u && !u->done()) {
      const TlsIo r = u->handshake();
      if (r == TlsIo::kError) {
        tls_failed(s, kUpstream, u->error());
        return false;
      }
      if (r == TlsIo::kOk) {
        moved = true;
        note(kUpstream);
        // The client's handshake goes on, answering ALPN as the upstream did.
        if (c) c->release_hello(u->alpn());
      }
    }
  }
  for (Side side : {kClient, kUpstream}) {
    if (s.tls[side] && !s.tls[side]->done()) return false;
  }
  if (tls_.upstream_side() && !s.tls[kUpstream]) return false;
  s.tls_ready = true;
  // Bytes may have come behind the handshake's last record: the edges that
  // announced them were spent on the handshake.
  s.sock[kClient].readable = s.sock[kUpstream].readable = true;
  return true;
}

void Proxy::tls_failed(Session& s, Side side, const std::string& why) {
  ++tls_failures_;
  const std::string peer =
      side == kClient ? "client " + s.client_name
                      : "upstream " + opt_.forward.host + ":" + std::to_string(opt_.forward.port) +
                            (s.upstream_name.empty() ? "" : " (" + s.upstream_name + ")");
  report(sid_tag(s.sid) + " TLS handshake with the " + peer + " failed: " + why +
         "; connection closed");
  s.tls_error = "TLS handshake failed: " + why;
  side_failed(s, side, EPROTO);
}

}  // namespace tcpscribe::proxy_detail
