// Starting the proxy: descriptors, the upstream's addresses, the listening
// socket, the outputs, signals and the event loop.
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "netrecord.h"
#include "proxy_internal.h"
#include "proxy_outputs.h"

namespace tcpscribe::proxy_detail {

int Proxy::setup() {
  start_ = monotonic_ns();
  wall_offset_ = realtime_ns() - start_;
  console_.set_start(wall_offset_ + start_);
  // Blocked before any output starts a thread (the flow files' writers):
  // threads inherit the mask, so the signals wait for the loop's signalfd
  // instead of reaching a thread that does not read it.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  // Every session holds a client socket, an upstream socket and its log:
  // use all the descriptors the hard limit allows.
  max_connections_ = opt_.max_connections;
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rl.rlim_cur = rl.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &rl);
      ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    fit_connections_to(rl.rlim_cur);
  }
  // The log root first, as always: nothing is resolved or bound for a run
  // that cannot record.
  if (!opt_.log_root.empty()) {
    if (const std::string why = NetrecordFiles(opt_.log_root).check_writable(); !why.empty()) {
      report("cannot write logs under " + opt_.log_root + ": " + why);
      return kExitOutput;
    }
  }
  std::string error;
  // The TLS files next: a certificate or key that cannot be loaded stops
  // the proxy before it listens.
  if (const int rc = tls_.setup(opt_, error); rc != kExitOk) {
    report(error);
    return rc;
  }
  if (!resolve_tcp(opt_.forward.host, opt_.forward.port, false, upstream_, error)) {
    report("--forward " + error);
    return kExitStart;
  }
  if (const int rc = bind_listener(); rc != kExitOk) return rc;
  if (const int rc = open_outputs(); rc != kExitOk) return rc;
  if (::listen(listen_fd_, 4096) != 0) {
    report("cannot listen on " + listen_name_ + ": " + std::strerror(errno));
    return kExitStart;
  }
  if (const int rc = setup_loop(); rc != kExitOk) return rc;
  // The panel takes the terminal before the first line below it.
  if (const int rc = open_stats(); rc != kExitOk) return rc;

  std::string what = "listening on " + listen_name_ + ", forwarding to " +
                     opt_.forward.host + ":" + std::to_string(opt_.forward.port);
  if (netrecord_) what += ", logs " + opt_.log_root + "_N";
  if (tls_.client_side() || tls_.upstream_side()) {
    what += std::string(", TLS ") +
            (tls_.client_side() && tls_.upstream_side() ? "on both sides"
             : tls_.client_side()                       ? "to the clients"
                                                        : "to the upstream");
  }
  report(what);  // also with -q: scripts wait for this line (port 0)
  console_.notice(0, "listen", what);
  return kExitOk;
}

// --max-connections from the descriptors there are: each session holds
// two sockets and, with logs, a file; kReservedFds cover the listener,
// epoll, signalfd, pipes and the outputs' files. A session the limit cannot
// hold would be accepted and then reset (connect() fails with EMFILE); past
// the cap clients wait in the listen queue instead.
void Proxy::fit_connections_to(uint64_t fd_limit) {
  constexpr uint64_t kReservedFds = 32;
  const uint64_t per = opt_.log_root.empty() ? 2 : 3;
  const uint64_t fit = fd_limit > kReservedFds + per ? (fd_limit - kReservedFds) / per : 1;
  if (!opt_.max_connections_given) {
    max_connections_ = std::min<uint64_t>(opt_.max_connections, fit);
  } else if (opt_.max_connections > fit) {
    max_connections_ = fit;
    report("--max-connections " + std::to_string(opt_.max_connections) + " needs " +
           std::to_string(opt_.max_connections * per + kReservedFds) +
           " descriptors but the limit is " + std::to_string(fd_limit) +
           " (ulimit -n): at most " + std::to_string(fit) +
           " connections at once, the others wait in the listen queue");
  }
}

// The listening socket, bound (its name, with the port 0 chose, is known
// to the outputs) but not yet listening.
int Proxy::bind_listener() {
  std::string error;
  std::vector<SocketAddress> listen_addrs;
  if (opt_.listen.host.empty()) {
    // ":PORT" means every interface, IPv6 and IPv4 alike: one dual-stack
    // socket on [::] (IPV6_V6ONLY off). Without IPv6 (disabled in the
    // kernel), 0.0.0.0 as before.
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_any;
    any6.sin6_port = htons(opt_.listen.port);
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) == 0 &&
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0) {
      if (::bind(fd, reinterpret_cast<sockaddr*>(&any6), sizeof any6) == 0) {
        listen_fd_ = fd;
        listen_name_ = bound_name(fd);
        return kExitOk;
      }
      if (errno != EADDRNOTAVAIL && errno != EAFNOSUPPORT) {
        const int err = errno;
        ::close(fd);
        report("cannot listen on " + describe_address(reinterpret_cast<sockaddr*>(&any6)) +
               ": " + std::strerror(err));
        return kExitStart;
      }
    }
    if (fd >= 0) ::close(fd);
  }
  if (!resolve_tcp(opt_.listen.host, opt_.listen.port, true, listen_addrs, error)) {
    report("--listen " + error);
    return kExitStart;
  }
  const SocketAddress& la = listen_addrs.front();
  listen_fd_ = ::socket(la.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (listen_fd_ < 0 ||
      ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listen_fd_, la.get(), la.len) != 0) {
    report("cannot listen on " + describe_address(la.get()) + ": " + std::strerror(errno));
    return kExitStart;
  }
  listen_name_ = bound_name(listen_fd_);
  return kExitOk;
}

std::string Proxy::bound_name(int fd) {
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  return describe_address(reinterpret_cast<sockaddr*>(&bound));
}

// Every output the options ask for, as the passive modes build them. With
// --decode the analyzers' messages come to the proxy's console.
int Proxy::open_outputs() {
  std::string source = "proxy " + listen_name_ + " -> " + opt_.forward.host + ":" +
                       std::to_string(opt_.forward.port);
  // The reports say that what they show was decrypted by the proxy.
  if (tls_.client_side() || tls_.upstream_side()) {
    source += std::string(" (TLS terminated: ") +
              (tls_.client_side() && tls_.upstream_side() ? "both sides"
               : tls_.client_side()                       ? "client side"
                                                          : "upstream side") +
              ", plaintext shown)";
  }
  OutputConfig cfg = proxy_output_config(opt_, wall(start_), source);
  for (const std::string& r : opt_.redact) {
    std::string error;
    if (!redact_.add(r, error)) {
      report(error);
      return kExitUsage;
    }
  }
  cfg.redact = &redact_;
  outputs_ = std::make_unique<OutputSet>(std::move(cfg));
  if (const int rc = outputs_->open(); rc != kExitOk) return rc;
  // --redact: the console shows the bytes the outputs get, not those
  // forwarded (forward_copy leaves the console to this view).
  redactor_ = outputs_->redactor();
  if (redactor_) {
    redactor_->set_view([this](const Connection& c, Dir d, std::span<const uint8_t> bytes,
                               Timestamp ts) {
      if (opt_.decode && outputs_->analyzer_of(c.id) != nullptr) return;
      console_.data(c.id, secs(ts - wall_offset_), d, bytes);
    });
  }
  netrecord_ = outputs_->netrecord();
  sinks_ = outputs_->sinks();
  files_ = !opt_.outdir.empty();
  if (opt_.decode) {
    outputs_->set_message_view([this](const Connection& c, const DecodedMessage& m) {
      console_.message(c.id, m);
    });
  }
  return kExitOk;
}

// SIGINT/SIGTERM arrive as events of the loop (setup() blocked them): no
// handler runs in the middle of a write, and the loop decides what
// shutting down means.
int Proxy::setup_loop() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd_ < 0 || epfd_ < 0) {
    report(std::string("cannot set up the event loop: ") + std::strerror(errno));
    return kExitStart;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagSignal;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, signal_fd_, &ev);
  resume_listener();
  scratch_.reset(new uint8_t[opt_.buffer]);
  setup_splice();
  return kExitOk;
}

}  // namespace tcpscribe::proxy_detail
