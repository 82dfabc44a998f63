#include "proxy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <vector>

#include "proxy_inspect.h"
#include "proxy_internal.h"

namespace tcpscribe {
namespace proxy_detail {

// close() that sends a RST instead of a FIN: a reset passed on, or a
// connection cut at the drain deadline (a FIN would look like a complete
// response to a close-delimited protocol).
void close_with_reset(int fd) {
  reset_on_close(fd);
  ::close(fd);
}

// A non-blocking pipe of `size` bytes (rounded up by the kernel); false if
// it cannot be made or is smaller than `size`.
bool make_pipe(int fds[2], size_t size) {
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
  const int got = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(size));
  if (got < 0 || static_cast<size_t>(got) < size) {
    ::close(fds[0]);
    ::close(fds[1]);
    fds[0] = fds[1] = -1;
    return false;
  }
  return true;
}

// Reads exactly `n` bytes that a pipe is known to hold.
bool read_from_pipe(int fd, uint8_t* out, size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, out, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

uint64_t Proxy::max_dump_for(const ProxyOptions& o) {
  if (o.max_dump_given || o.json || o.quiet || !::isatty(STDOUT_FILENO)) return o.max_dump;
  winsize ws{};
  const bool known = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0;
  const uint64_t rows = known ? ws.ws_row : 24, cols = known ? ws.ws_col : 80;
  // A screenful: text fills about rows x cols bytes, a hex line shows 16.
  return std::max<uint64_t>(256, o.hex ? rows * 16 : rows * cols);
}

bool Proxy::use_color(const ProxyOptions& o) {
  return !o.json && color_enabled(o.color, STDOUT_FILENO);
}

Proxy::~Proxy() {
  for (auto& [sid, s] : sessions_) {
    for (Socket& k : s->sock) {
      if (k.fd >= 0) ::close(k.fd);
    }
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : {pipe_[0], pipe_[1], log_pipe_[0], log_pipe_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (epfd_ >= 0) ::close(epfd_);
}

void Proxy::resume_listener() {
  if (listener_registered_ || listen_fd_ < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a paused backlog is seen on resume
  ev.data.u64 = kTagListener;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  listener_registered_ = true;
  listener_resume_at_ = 0;
}

void Proxy::pause_listener(Timestamp until) {
  if (listener_registered_) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    listener_registered_ = false;
  }
  listener_resume_at_ = until;
}

void Proxy::accept_clients() {
  for (int i = 0; i < 64; ++i) {
    if (sessions_.size() >= max_connections_) {
      if (!cap_noticed_) {
        cap_noticed_ = true;
        const std::string text = std::to_string(max_connections_) +
                                 " connections open (--max-connections): further clients wait "
                                 "in the listen queue until one closes";
        console_.notice(secs(monotonic_ns()), "max_connections", text);
        report(text);
      }
      pause_listener(0);  // resumed when a session ends
      return;
    }
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &plen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: leave clients in the backlog for a moment
        // rather than spinning on an accept that keeps failing.
        report(std::string("accept: ") + std::strerror(errno) + "; pausing 100 ms (" +
               std::to_string(sessions_.size()) + " connections open)");
        pause_listener(monotonic_ns() + kNanosPerSecond / 10);
        return;
      }
      report(std::string("accept: ") + std::strerror(errno));
      return;
    }
    set_nodelay(fd);
    unmap_ipv4(peer);  // a dual-stack listener gives IPv4 clients as ::ffff:a.b.c.d
    auto owned = std::make_unique<Session>();
    Session& s = *owned;
    s.sid = next_sid_++;
    s.opened = s.last_activity = monotonic_ns();
    s.sock[kClient].fd = fd;
    s.client_name = describe_address(reinterpret_cast<sockaddr*>(&peer));
    s.conn.id = s.sid;
    s.conn.client = endpoint_of(reinterpret_cast<sockaddr*>(&peer));
    s.conn.server = endpoint_of(upstream_.front().get());
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = s.sid << 1 | kClient;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    sessions_.emplace(s.sid, std::move(owned));
    emit_open(s);
    console_.open(s.sid, secs(s.opened), s.client_name,
                  opt_.forward.host + ":" + std::to_string(opt_.forward.port),
                  netrecord_ ? netrecord_->path_of(s.sid) : nullptr);
    if (opt_.fail_closed && log_lost(s)) {
      report_log_errors();
      refuse_unlogged(s);
      continue;
    }
    if (!tls_accept(s)) continue;
    start_connect(s);
  }
}

void Proxy::start_connect(Session& s) {
  std::string last_error = "no address";
  while (s.addr_index < upstream_.size()) {
    const SocketAddress& a = upstream_[s.addr_index];
    s.upstream_name = describe_address(a.get());
    const int fd = ::socket(a.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      ++s.addr_index;
      continue;
    }
    set_nodelay(fd);
    s.refused = false;
    if (::connect(fd, a.get(), a.len) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      s.refused = errno == ECONNREFUSED;
      ::close(fd);
      ++s.addr_index;
      continue;
    }
    s.sock[kUpstream] = Socket{};
    s.syn_sent = monotonic_ns();
    s.sock[kUpstream].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = s.sid << 1 | kUpstream;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    if (opt_.connect_timeout > 0) {
      s.connect_deadline = monotonic_ns() + static_cast<Timestamp>(opt_.connect_timeout * 1e9);
      if (next_sweep_ == 0 || s.connect_deadline < next_sweep_) next_sweep_ = s.connect_deadline;
    }
    return;
  }
  connect_failed(s, last_error);
}

void Proxy::finish_connect(Session& s) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.sock[kUpstream].fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    s.refused = err == ECONNREFUSED;
    ::close(s.sock[kUpstream].fd);
    s.sock[kUpstream].fd = -1;
    ++s.addr_index;
    if (s.addr_index < upstream_.size()) {
      start_connect(s);
      return;
    }
    connect_failed(s, std::strerror(err));
    return;
  }
  s.connected = true;
  s.last_activity = monotonic_ns();
  mark_connected(s, s.last_activity);
  if (opt_.idle_timeout > 0) {
    const Timestamp due = s.last_activity + static_cast<Timestamp>(opt_.idle_timeout * 1e9);
    if (next_sweep_ == 0 || due < next_sweep_) next_sweep_ = due;
  }
  if (console_.enabled()) {
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    ::getsockname(s.sock[kUpstream].fd, reinterpret_cast<sockaddr*>(&local), &llen);
    console_.connected(s.sid, secs(s.last_activity), s.upstream_name,
                       describe_address(reinterpret_cast<sockaddr*>(&local)));
  }
  progress(s);
}

void Proxy::connect_failed(Session& s, const std::string& why) {
  const Timestamp now = monotonic_ns();
  report(sid_tag(s.sid) + " cannot connect to " + opt_.forward.host + ":" +
         std::to_string(opt_.forward.port) +
         (s.upstream_name.empty() ? "" : " (" + s.upstream_name + ")") + ": " + why +
         "; closing the client " + s.client_name);
  emit_shutdown(s, Dir::kServerToClient, true, now);
  console_.shutdown(s.sid, secs(now), Dir::kServerToClient, "cannot connect: " + why);
  end_session(s, "upstream unreachable", CloseReason::kRst);
}

void Proxy::on_socket_event(uint64_t tag, uint32_t events) {
  auto it = sessions_.find(tag >> 1);
  if (it == sessions_.end()) return;  // ended earlier in this batch
  Session& s = *it->second;
  Socket& k = s.sock[tag & 1];
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) k.readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) k.peer_closed = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) k.writable = true;
  // A TLS read that had to write first goes on once the socket takes bytes.
  if ((events & EPOLLOUT) && s.tls[tag & 1] && s.tls[tag & 1]->read_wants_write()) k.readable = true;
  if (!s.connected) {
    // The client's bytes wait in its socket until the upstream answers.
    if ((tag & 1) == kUpstream && k.writable) finish_connect(s);
    return;
  }
  progress(s);
}


void Proxy::end_session(Session& s, const char* reason, CloseReason why) {
  const Timestamp now = monotonic_ns();
  for (Socket& k : s.sock) {
    if (k.fd >= 0) ::close(k.fd);
    k.fd = -1;
  }
  emit_close(s, why, now);
  stats_closed(s, reason, now);
  console_.closed(s.sid, secs(now), reason, s.pipe[0].bytes, s.pipe[1].bytes,
                  static_cast<double>(now - s.opened) / 1e9);
  const uint64_t sid = s.sid;  // erase(s.sid) would read the key while destroying it
  sessions_.erase(sid);       // destroys s
  if (!draining_ && !listener_registered_ && listener_resume_at_ == 0) resume_listener();
}

void Proxy::sweep(Timestamp now) {
  Timestamp next = 0;
  auto consider = [&](Timestamp t) {
    if (next == 0 || t < next) next = t;
  };
  const Timestamp idle = static_cast<Timestamp>(opt_.idle_timeout * 1e9);
  std::vector<uint64_t> timed_out, idled;
  for (auto& [sid, s] : sessions_) {
    if (!s->connected) {
      if (s->connect_deadline == 0) continue;
      if (now >= s->connect_deadline) timed_out.push_back(sid);
      else consider(s->connect_deadline);
    } else if (idle > 0) {
      if (now - s->last_activity >= idle) idled.push_back(sid);
      else consider(s->last_activity + idle);
    }
  }
  for (uint64_t sid : timed_out) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "timed out after %g s", opt_.connect_timeout);
    connect_failed(*it->second, buf);
  }
  for (uint64_t sid : idled) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) continue;
    char buf[96];
    std::snprintf(buf, sizeof buf, "idle for %g s: closing both sides", opt_.idle_timeout);
    console_.note(sid, secs(now), "idle_timeout", buf);
    end_session(*it->second, "idle timeout", CloseReason::kIdle);
  }
  // Coarse enough that thousands of idle sessions cost little.
  next_sweep_ = next == 0 ? 0 : std::max(next, now + kNanosPerSecond / 100);
}

void Proxy::on_signal() {
  signalfd_siginfo si;
  int signo = 0;
  while (::read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    signo = static_cast<int>(si.ssi_signo);
  }
  if (signo == 0) return;
  const Timestamp now = monotonic_ns();
  const char* name = signo == SIGINT ? "SIGINT" : "SIGTERM";
  if (draining_) {
    console_.notice(secs(now), "shutdown", std::string(name) + " again: closing every connection now");
    force_close_all();
    stop_ = true;
    return;
  }
  draining_ = true;
  // Stop accepting at once: new clients are refused from here on.
  if (listener_registered_) ::epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  listener_registered_ = false;
  ::close(listen_fd_);
  listen_fd_ = -1;
  drain_deadline_ = now + static_cast<Timestamp>(opt_.drain * 1e9);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s: stopped accepting; %zu connection(s) open, waiting up to %g s",
                name, sessions_.size(), opt_.drain);
  console_.notice(secs(now), "shutdown", buf);
  report(buf);
}

void Proxy::force_close_all() {
  std::vector<uint64_t> sids;
  for (auto& [sid, s] : sessions_) sids.push_back(sid);
  for (uint64_t sid : sids) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) continue;
    Session& s = *it->second;
    for (Socket& k : s.sock) {
      if (k.fd >= 0) close_with_reset(k.fd);
      k.fd = -1;
    }
    end_session(s, "drain deadline", CloseReason::kEndOfInput);
  }
}

void Proxy::report_log_errors() {
  if (!netrecord_) return;
  for (const std::string& e : netrecord_->take_errors()) {
    report(e + (opt_.fail_closed
                    ? " (that log is abandoned and its connection reset: --fail-closed)"
                    : " (that log is abandoned: the connection goes on UNLOGGED; --fail-closed "
                      "refuses such traffic)"));
  }
}

bool Proxy::decoded(const Session& s) const {
  return opt_.decode && outputs_->analyzer_of(s.sid) != nullptr;
}

void Proxy::flush_files(Timestamp now, Timestamp& wake) {
  if (!files_dirty_) return;
  // Not at every wake-up: a flush visits every open connection.
  if (now < next_flush_) {
    if (wake == 0 || next_flush_ < wake) wake = next_flush_;
    return;
  }
  outputs_->flush_pending();
  files_dirty_ = false;
  next_flush_ = now + kNanosPerSecond / 20;
}

int Proxy::run() {
  std::vector<epoll_event> events(256);
  while (!stop_) {
    if (draining_ && sessions_.empty()) break;
    Timestamp now = monotonic_ns();
    if (draining_ && now >= drain_deadline_) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "drain deadline: resetting %zu connection(s)", sessions_.size());
      console_.notice(secs(now), "shutdown", buf);
      report(buf);
      force_close_all();
      break;
    }
    if (next_sweep_ != 0 && now >= next_sweep_) sweep(now);
    if (listener_resume_at_ != 0 && now >= listener_resume_at_ && !draining_) resume_listener();
    // Wait for the earliest of: a timer, the drain deadline, a paused
    // listener's retry; not at all if sessions still have work queued.
    Timestamp wake = 0;
    auto consider = [&](Timestamp t) {
      if (t != 0 && (wake == 0 || t < wake)) wake = t;
    };
    consider(next_sweep_);
    if (draining_) consider(drain_deadline_);
    consider(listener_resume_at_);
    consider(tick_stats(now));
    if (queued_.empty()) flush_files(now, wake);
    int timeout = -1;
    if (!queued_.empty()) timeout = 0;
    else if (wake != 0) timeout = static_cast<int>(std::max<Timestamp>(0, (wake - now) / 1'000'000 + 1));
    const int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) {
      report(std::string("epoll_wait: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kTagListener) {
        if (listen_fd_ >= 0 && listener_registered_) accept_clients();
      } else if (tag == kTagSignal) {
        on_signal();
        if (stop_) break;
      } else {
        on_socket_event(tag, events[i].events);
      }
    }
    if (stop_) break;
    // Sessions that used their turn continue after everyone else had one.
    std::vector<uint64_t> again;
    again.swap(queued_);
    for (uint64_t sid : again) {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) continue;
      it->second->queued = false;
      progress(*it->second);
    }
    report_log_errors();
  }
  report_log_errors();
  // The last stats sample, and the whole terminal back for what follows.
  const int stats_rc = finish_stats();
  if (tls_failures_ > 0) {
    report(std::to_string(tls_failures_) + " TLS handshake(s) failed (each named above)");
  }
  if (tls_.keylog_failures() > 0) {
    report(tls_.keylog_error() + " (" + std::to_string(tls_.keylog_failures()) +
           " key log line(s) lost)");
  }
  // The reports that are written at the end (--html, --har) now; every
  // output that failed is named, and the exit status says so.
  outputs_->finish_sinks();
  report_log_errors();
  if (netrecord_ && netrecord_->error_count() > 0) {
    report(opt_.fail_closed
               ? std::to_string(refused_unlogged_) +
                     " connection(s) reset because their logs could not be written (--fail-closed)"
               : std::to_string(netrecord_->error_count()) +
                     " log(s) could not be written in full: their connections went on UNLOGGED "
                     "(first: " + netrecord_->error() + "); --fail-closed refuses such traffic");
  }
  // The console last: what it still holds gets a moment to be read.
  if (const uint64_t lost = console_.finish(2.0); lost > 0) {
    report("console fell behind: " + std::to_string(lost) + " records (" +
           std::to_string(console_.bytes_lost()) +
           " bytes) were not shown; the logs and other outputs are complete");
  }
  return outputs_->finish(stats_rc);
}

}  // namespace proxy_detail

int run_proxy(int argc, char** argv) {
  diag::set_program("tcpscribe proxy");
  ProxyOptions opt;
  if (parse_proxy_options(argc, argv, opt, std::cerr) != 0) return kExitUsage;
  if (opt.show_help) {
    print_proxy_help(std::cout);
    return 0;
  }
  if (!opt.inspect.empty()) return run_inspect(opt.inspect, opt.extract_dir, std::cout, std::cerr);
  proxy_detail::Proxy proxy(opt);
  if (const int rc = proxy.setup(); rc != 0) return rc;
  return proxy.run();
}

}  // namespace tcpscribe
