// Moving a session's bytes: read a chunk, log it, show it, forward it.
// Small chunks go through memory; a direction whose reads fill 64 KiB is
// spliced socket -> pipe -> socket, the log's copy made with tee(), when
// the console does not need the bytes.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy_internal.h"

namespace tcpscribe::proxy_detail {

void Proxy::setup_splice() {
  // When the console shows no bytes, chunks need not pass through memory:
  // splice() moves them socket -> pipe -> socket, and tee() + splice() put
  // the log's copy in the file. The log pipe must be as large as the
  // forwarding pipe, so that one tee() always copies a whole chunk.
  if (console_.needs_bytes()) return;
  // TLS is decrypted and encrypted in user space: no splicing.
  if (tls_.client_side() || tls_.upstream_side()) return;
  // Outputs other than the log (reports, analyzers, files) read the bytes.
  if (!sinks_.empty() && !outputs_->only_netrecord()) return;
  if (!make_pipe(pipe_, opt_.buffer)) return;
  const size_t size = static_cast<size_t>(::fcntl(pipe_[1], F_GETPIPE_SZ));
  if (netrecord_ && !make_pipe(log_pipe_, size)) {
    for (int& fd : pipe_) {
      ::close(fd);
      fd = -1;
    }
    return;
  }
  splice_ = true;
}

// Drops what a pipe holds (a chunk whose session failed mid-way), so the
// next chunk starts from an empty pipe.
void Proxy::empty_pipe(int fd) {
  for (;;) {
    const ssize_t r = ::read(fd, scratch_.get(), opt_.buffer);
    if (r > 0 || (r < 0 && errno == EINTR)) continue;
    return;
  }
}

void Proxy::progress(Session& s) {
  if (!tls_handshake(s)) return;  // in progress, or the session ended
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    if (!pump(s, d)) return;  // the session ended
  }
  const Pipe& a = s.pipe[0];
  const Pipe& b = s.pipe[1];
  if (a.shut && b.shut) end_session(s, "closed", CloseReason::kFin);
}

// Moves bytes from one side to the other until the source has nothing more
// to read or the destination cannot take more. Returns false if the session
// ended.
bool Proxy::pump(Session& s, Dir d) {
  Socket& src = s.sock[src_side(d)];
  Socket& dst = s.sock[dst_side(d)];
  Pipe& p = s.pipe[index_of(d)];
  size_t turn_bytes = 0;
  for (int reads = 0;;) {
    if (p.len > 0) {
      if (!dst.writable) return true;
      const ssize_t w =
          p.in_held ? ::splice(p.held[0], nullptr, dst.fd, nullptr, p.len,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                    : send_side(s, dst_side(d), p.pending.get() + p.off, p.len);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          dst.writable = false;
          return true;
        }
        side_failed(s, dst_side(d), errno);
        return false;
      }
      if (!p.in_held) p.off += static_cast<size_t>(w);
      p.len -= static_cast<size_t>(w);
      if (p.len > 0) {
        // TLS writes a record at a time: only EAGAIN says the socket is full.
        if (s.tls[dst_side(d)]) continue;
        dst.writable = false;  // the socket buffer is full: wait for EPOLLOUT
        return true;
      }
      p.off = 0;
      p.in_held = false;
    }
    if (p.eof) {
      if (!p.shut) {
        // Every byte read has been forwarded: now pass the half-close on.
        if (!shut_side(s, dst_side(d))) return true;
        p.shut = true;
      }
      return true;
    }
    if (!src.readable) return true;
    if (reads == kReadsPerTurn || turn_bytes >= kBytesPerTurn) {
      if (!s.queued) {
        s.queued = true;
        queued_.push_back(s.sid);
      }
      return true;
    }
    const bool spliced = splice_ && p.bulk;
    const ssize_t n = spliced ? ::splice(src.fd, nullptr, pipe_[1], nullptr, opt_.buffer,
                                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                              : recv_side(s, src_side(d), scratch_.get(), opt_.buffer);
    ++reads;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        src.readable = false;
        return true;
      }
      side_failed(s, src_side(d), errno);
      return false;
    }
    const Timestamp now = monotonic_ns();
    s.last_activity = now;
    turn_bytes += static_cast<size_t>(n);
    if (n == 0) {
      p.eof = true;
      emit_shutdown(s, d, false, now);
      console_.shutdown(s.sid, secs(now), d, "");
      continue;
    }
    if (spliced) {
      // A short splice may only mean the pipe ran out of slots: the next
      // one tells whether the socket is drained.
      if (!forward_spliced(s, d, static_cast<size_t>(n), now)) return false;
    } else {
      // A short read drained the socket (edge-triggered: new data is a new
      // event), unless the peer closed, when only EOF tells we are done.
      // (Not through TLS: it reads a record at a time; only EAGAIN tells.)
      if (static_cast<size_t>(n) < opt_.buffer && !src.peer_closed && !s.tls[src_side(d)]) {
        src.readable = false;
      }
      if (static_cast<size_t>(n) >= kSpliceFrom) p.bulk = true;
      if (!forward_copy(s, d, {scratch_.get(), static_cast<size_t>(n)}, now)) return false;
    }
    if (p.len > 0) return true;  // stop reading src until dst takes these
  }
}

// Logs a chunk read into memory and sends what dst takes; the rest waits in
// the direction's pending buffer. Returns false if the session ended.
bool Proxy::forward_copy(Session& s, Dir d, std::span<const uint8_t> chunk, Timestamp now) {
  Socket& dst = s.sock[dst_side(d)];
  Pipe& p = s.pipe[index_of(d)];
  // Log first, then forward: every byte forwarded is in the log.
  emit_data(s, d, chunk, now);
  if (opt_.fail_closed && log_lost(s)) {
    refuse_unlogged(s);
    return false;
  }
  if (!redactor_ && !decoded(s)) console_.data(s.sid, secs(now), d, chunk);
  p.bytes += chunk.size();
  size_t sent = 0;
  while (dst.writable && sent < chunk.size()) {
    const ssize_t w = send_side(s, dst_side(d), chunk.data() + sent, chunk.size() - sent);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        dst.writable = false;
        break;
      }
      side_failed(s, dst_side(d), errno);
      return false;
    }
    sent += static_cast<size_t>(w);
    if (sent < chunk.size() && !s.tls[dst_side(d)]) dst.writable = false;
  }
  if (sent < chunk.size()) {
    if (!p.pending) p.pending.reset(new uint8_t[opt_.buffer]);
    p.off = 0;
    p.len = chunk.size() - sent;
    p.in_held = false;
    std::memcpy(p.pending.get(), chunk.data() + sent, p.len);
  }
  return true;
}

// The zero-copy path: the chunk's `n` bytes are in pipe_. Logs them (tee),
// then splices what dst takes; the rest moves to the direction's own pipe
// (or, failing that, to memory), so pipe_ is empty again on return.
bool Proxy::forward_spliced(Session& s, Dir d, size_t n, Timestamp now) {
  Socket& dst = s.sock[dst_side(d)];
  Pipe& p = s.pipe[index_of(d)];
  if (netrecord_) {
    const ssize_t t = ::tee(pipe_[0], log_pipe_[1], n, SPLICE_F_NONBLOCK);
    if (t != static_cast<ssize_t>(n)) {
      // Not the whole chunk (should not happen with equal pipes): take the
      // chunk through memory instead.
      if (t > 0) empty_pipe(log_pipe_[0]);
      if (!read_from_pipe(pipe_[0], scratch_.get(), n)) {
        empty_pipe(pipe_[0]);
        side_failed(s, src_side(d), EIO);
        return false;
      }
      return forward_copy(s, d, {scratch_.get(), n}, now);
    }
    emit_data_from_pipe(s, d, log_pipe_[0], n, now);
    if (opt_.fail_closed && log_lost(s)) {
      empty_pipe(pipe_[0]);
      refuse_unlogged(s);
      return false;
    }
  }
  console_.data_size(s.sid, secs(now), d, n);
  p.bytes += n;
  size_t left = n;
  while (dst.writable && left > 0) {
    const ssize_t w =
        ::splice(pipe_[0], nullptr, dst.fd, nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        dst.writable = false;
        break;
      }
      const int err = errno;
      empty_pipe(pipe_[0]);
      side_failed(s, dst_side(d), err);
      return false;
    }
    left -= static_cast<size_t>(w);
    if (left > 0) dst.writable = false;
  }
  if (left == 0) return true;
  p.off = 0;
  p.len = left;
  if (p.held[0] < 0) make_pipe(p.held, opt_.buffer);  // may fail: memory then
  size_t moved = 0;
  if (p.held[0] >= 0) {
    const ssize_t w =
        ::splice(pipe_[0], nullptr, p.held[1], nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (w > 0) moved = static_cast<size_t>(w);
  }
  p.in_held = moved == left;
  if (!p.in_held) {
    // In memory, in order: what reached the held pipe, then the rest.
    if (!p.pending) p.pending.reset(new uint8_t[opt_.buffer]);
    if (!read_from_pipe(p.held[0], p.pending.get(), moved) ||
        !read_from_pipe(pipe_[0], p.pending.get() + moved, left - moved)) {
      empty_pipe(pipe_[0]);
      side_failed(s, src_side(d), EIO);
      return false;
    }
  }
  return true;
}

// A socket failed (reset, or an error on write): log `err` for that side,
// pass the reset on to the other side and end the session.
void Proxy::refuse_unlogged(Session& s) {
  const Timestamp now = monotonic_ns();
  console_.note(s.sid, secs(now), "fail_closed",
                "its log cannot be written: both sides reset (--fail-closed)");
  for (Socket& k : s.sock) {
    if (k.fd >= 0) close_with_reset(k.fd);
    k.fd = -1;
  }
  ++refused_unlogged_;
  end_session(s, "log failed (--fail-closed)", CloseReason::kRst);
}

void Proxy::side_failed(Session& s, Side side, int err) {
  const Timestamp now = monotonic_ns();
  const Dir d = side == kClient ? Dir::kClientToServer : Dir::kServerToClient;
  emit_shutdown(s, d, true, now);
  console_.shutdown(s.sid, secs(now), d,
                    err == EPROTO && !s.tls_error.empty() ? s.tls_error : std::strerror(err));
  Socket& other = s.sock[1 - side];
  if (other.fd >= 0) {
    close_with_reset(other.fd);
    other.fd = -1;
  }
  end_session(s, side == kClient ? "client failed" : "server failed", CloseReason::kRst);
}

}  // namespace tcpscribe::proxy_detail
