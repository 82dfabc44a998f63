#include "proxy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "net_util.h"
#include "proxy_console.h"
#include "proxy_inspect.h"
#include "proxy_options.h"
#include "sink_netrecord.h"

namespace tcpscribe {
namespace {

constexpr int kExitUsage = 1;
constexpr int kExitLogs = 3;
constexpr int kExitSetup = 4;

// Reads (or bytes) per direction before other sessions get a turn.
constexpr int kReadsPerTurn = 16;
constexpr size_t kBytesPerTurn = 2u << 20;
// A direction moves to the zero-copy path once one read brings this much:
// for small request/response chunks a copy costs less than the extra
// system calls of splice() and tee().
constexpr size_t kSpliceFrom = 64u << 10;

// Epoll tags: sessions use (sid << 1 | side) with sid >= 1.
constexpr uint64_t kTagListener = 0;
constexpr uint64_t kTagSignal = 1;

enum Side { kClient = 0, kUpstream = 1 };

/// The sockets a direction reads from and writes to.
Side src_side(Dir d) { return d == Dir::kClientToServer ? kClient : kUpstream; }
Side dst_side(Dir d) { return d == Dir::kClientToServer ? kUpstream : kClient; }

/// close() that sends a RST instead of a FIN: a reset passed on, or a
/// connection cut at the drain deadline (a FIN would look like a complete
/// response to a close-delimited protocol).
void close_with_reset(int fd) {
  reset_on_close(fd);
  ::close(fd);
}

struct Socket {
  int fd = -1;
  bool readable = false;  // edge-triggered: set by an event, cleared at EAGAIN
  bool writable = false;
  bool peer_closed = false;  // EPOLLRDHUP seen: read until EOF, not just a short read
};

/// One direction of a session: src socket -> dst socket.
struct Pipe {
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    for (int fd : held) {
      if (fd >= 0) ::close(fd);
    }
  }
  // Bytes read but not yet accepted by dst: `len` bytes in `pending` from
  // `off`, or (zero-copy path) `len` bytes in the kernel pipe `held`.
  std::unique_ptr<uint8_t[]> pending;
  size_t off = 0;
  size_t len = 0;
  int held[2] = {-1, -1};  // created the first time dst pushes back
  bool in_held = false;
  bool bulk = false;  // a read filled kSpliceFrom: splice from now on
  bool eof = false;   // src sent its FIN (read returned 0)
  bool shut = false;  // the FIN was passed on (shutdown(dst, SHUT_WR))
  uint64_t bytes = 0;
};

/// A non-blocking pipe of `size` bytes (rounded up by the kernel); false if
/// it cannot be made or is smaller than `size`.
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

/// Reads exactly `n` bytes that a pipe is known to hold.
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

struct Session {
  uint64_t sid = 0;
  Connection conn;
  Socket sock[2];
  Pipe pipe[2];  // index by Dir: 0 client->server, 1 server->client
  bool connected = false;
  bool queued = false;  // has more to read after its turn
  size_t addr_index = 0;
  Timestamp opened = 0;
  Timestamp connect_deadline = 0;
  Timestamp last_activity = 0;
  std::string client_name;
  std::string upstream_name;
};

class Proxy {
 public:
  explicit Proxy(const ProxyOptions& opt)
      : opt_(opt),
        console_(ProxyConsoleOptions{opt.hex, opt.dump, opt.max_dump, opt.json, use_color(opt)},
                 opt.quiet ? -1 : STDOUT_FILENO) {}
  ~Proxy();

  int setup();
  int run();

 private:
  static bool use_color(const ProxyOptions& o);
  double secs(Timestamp t) const { return static_cast<double>(t - start_) / 1e9; }
  void report(const std::string& line) { std::cerr << "tcpscribe proxy: " << line << std::endl; }
  void report_log_errors();

  void accept_clients();
  void pause_listener(Timestamp until);
  void resume_listener();
  void start_connect(Session& s);
  void finish_connect(Session& s);
  void connect_failed(Session& s, const std::string& why);
  void on_socket_event(uint64_t tag, uint32_t events);
  void progress(Session& s);
  bool pump(Session& s, Dir d);
  bool forward_copy(Session& s, Dir d, std::span<const uint8_t> chunk, Timestamp now);
  bool forward_spliced(Session& s, Dir d, size_t n, Timestamp now);
  void setup_splice();
  void empty_pipe(int fd);
  void side_failed(Session& s, Side side, int err);
  void end_session(Session& s, const char* reason, CloseReason why);
  void sweep(Timestamp now);
  void on_signal();
  void force_close_all();

  const ProxyOptions& opt_;
  ProxyConsole console_;
  std::unique_ptr<NetrecordSink> sink_;
  std::vector<SocketAddress> upstream_;
  int epfd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  bool listener_registered_ = false;
  Timestamp listener_resume_at_ = 0;
  Timestamp start_ = 0;
  Timestamp next_sweep_ = 0;
  Timestamp drain_deadline_ = 0;
  bool draining_ = false;
  bool stop_ = false;
  uint64_t next_sid_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
  std::vector<uint64_t> queued_;
  std::unique_ptr<uint8_t[]> scratch_;
  std::string listen_name_;
  // Zero-copy path (no console dump): src -> pipe_ -> dst with splice(),
  // the log's copy made with tee() into log_pipe_. Both are empty between
  // chunks, so one pair serves every session.
  bool splice_ = false;
  int pipe_[2] = {-1, -1};
  int log_pipe_[2] = {-1, -1};
};

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

int Proxy::setup() {
  start_ = monotonic_ns();
  // Every session holds a client socket, an upstream socket and its log:
  // use all the descriptors the hard limit allows.
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::string error;
  if (!opt_.log_root.empty()) {
    NetrecordSinkOptions so;
    so.root = opt_.log_root;
    so.start = start_;
    so.max_open_files = SIZE_MAX;  // bounded by the sessions themselves
    sink_ = std::make_unique<NetrecordSink>(so);
    if (const std::string why = sink_->check_writable(); !why.empty()) {
      report("cannot write logs under " + opt_.log_root + ": " + why);
      return kExitLogs;
    }
  }
  if (!resolve_tcp(opt_.forward.host, opt_.forward.port, false, upstream_, error)) {
    report("--forward " + error);
    return kExitSetup;
  }
  std::vector<SocketAddress> listen_addrs;
  if (!resolve_tcp(opt_.listen.host, opt_.listen.port, true, listen_addrs, error)) {
    report("--listen " + error);
    return kExitSetup;
  }
  const SocketAddress& la = listen_addrs.front();
  listen_fd_ = ::socket(la.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (listen_fd_ < 0 ||
      ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listen_fd_, la.get(), la.len) != 0 || ::listen(listen_fd_, 4096) != 0) {
    report("cannot listen on " + describe_address(la.get()) + ": " + std::strerror(errno));
    return kExitSetup;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  listen_name_ = describe_address(reinterpret_cast<sockaddr*>(&bound));

  // SIGINT/SIGTERM arrive as events of the loop: no handler runs in the
  // middle of a write, and the loop decides what shutting down means.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (signal_fd_ < 0 || epfd_ < 0) {
    report(std::string("cannot set up the event loop: ") + std::strerror(errno));
    return kExitSetup;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagSignal;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, signal_fd_, &ev);
  resume_listener();
  scratch_.reset(new uint8_t[opt_.buffer]);
  setup_splice();

  std::string what = "listening on " + listen_name_ + ", forwarding to " +
                     opt_.forward.host + ":" + std::to_string(opt_.forward.port);
  if (sink_) what += ", logs " + opt_.log_root + "_N";
  report(what);  // also with -q: scripts wait for this line (port 0)
  console_.notice(0, "listen", what);
  return 0;
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
    if (sessions_.size() >= opt_.max_connections) {
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
    auto owned = std::make_unique<Session>();
    Session& s = *owned;
    s.sid = next_sid_++;
    s.opened = s.last_activity = monotonic_ns();
    s.sock[kClient].fd = fd;
    s.client_name = describe_address(reinterpret_cast<sockaddr*>(&peer));
    s.conn.id = s.sid;
    s.conn.client = endpoint_of(reinterpret_cast<sockaddr*>(&peer));
    s.conn.server = endpoint_of(upstream_.front().get());
    s.conn.first_ts = s.opened;
    s.conn.handshake_seen = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = s.sid << 1 | kClient;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    sessions_.emplace(s.sid, std::move(owned));
    if (sink_) sink_->on_open(s.conn);
    console_.open(s.sid, secs(s.opened), s.client_name,
                  opt_.forward.host + ":" + std::to_string(opt_.forward.port),
                  sink_ ? sink_->path_of(s.sid) : nullptr);
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
    if (::connect(fd, a.get(), a.len) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      ++s.addr_index;
      continue;
    }
    s.sock[kUpstream] = Socket{};
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
  report("[sid=" + std::to_string(s.sid) + "] cannot connect to " + opt_.forward.host + ":" +
         std::to_string(opt_.forward.port) +
         (s.upstream_name.empty() ? "" : " (" + s.upstream_name + ")") + ": " + why +
         "; closing the client " + s.client_name);
  if (sink_) sink_->on_shutdown(s.conn, Dir::kServerToClient, true, now);
  console_.shutdown(s.sid, secs(now), Dir::kServerToClient, "cannot connect: " + why);
  end_session(s, "upstream unreachable", CloseReason::kRst);
}

void Proxy::setup_splice() {
  // When the console shows no bytes, chunks need not pass through memory:
  // splice() moves them socket -> pipe -> socket, and tee() + splice() put
  // the log's copy in the file. The log pipe must be as large as the
  // forwarding pipe, so that one tee() always copies a whole chunk.
  if (console_.needs_bytes()) return;
  if (!make_pipe(pipe_, opt_.buffer)) return;
  const size_t size = static_cast<size_t>(::fcntl(pipe_[1], F_GETPIPE_SZ));
  if (sink_ && !make_pipe(log_pipe_, size)) {
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

void Proxy::on_socket_event(uint64_t tag, uint32_t events) {
  auto it = sessions_.find(tag >> 1);
  if (it == sessions_.end()) return;  // ended earlier in this batch
  Session& s = *it->second;
  Socket& k = s.sock[tag & 1];
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) k.readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) k.peer_closed = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) k.writable = true;
  if (!s.connected) {
    // The client's bytes wait in its socket until the upstream answers.
    if ((tag & 1) == kUpstream && k.writable) finish_connect(s);
    return;
  }
  progress(s);
}

void Proxy::progress(Session& s) {
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
                    : ::send(dst.fd, p.pending.get() + p.off, p.len, MSG_NOSIGNAL);
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
        dst.writable = false;  // the socket buffer is full: wait for EPOLLOUT
        return true;
      }
      p.off = 0;
      p.in_held = false;
    }
    if (p.eof) {
      if (!p.shut) {
        // Every byte read has been forwarded: now pass the half-close on.
        ::shutdown(dst.fd, SHUT_WR);
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
                              : ::recv(src.fd, scratch_.get(), opt_.buffer, 0);
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
      if (sink_) sink_->on_shutdown(s.conn, d, false, now);
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
      if (static_cast<size_t>(n) < opt_.buffer && !src.peer_closed) src.readable = false;
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
  if (sink_) sink_->on_data(s.conn, d, p.bytes, chunk, now);
  console_.data(s.sid, secs(now), d, chunk);
  p.bytes += chunk.size();
  size_t sent = 0;
  while (dst.writable && sent < chunk.size()) {
    const ssize_t w = ::send(dst.fd, chunk.data() + sent, chunk.size() - sent, MSG_NOSIGNAL);
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
    if (sent < chunk.size()) dst.writable = false;
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
  if (sink_) {
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
    sink_->on_data_from_pipe(s.conn, d, log_pipe_[0], n, now);
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
void Proxy::side_failed(Session& s, Side side, int err) {
  const Timestamp now = monotonic_ns();
  const Dir d = side == kClient ? Dir::kClientToServer : Dir::kServerToClient;
  if (sink_) sink_->on_shutdown(s.conn, d, true, now);
  console_.shutdown(s.sid, secs(now), d, std::strerror(err));
  Socket& other = s.sock[1 - side];
  if (other.fd >= 0) {
    close_with_reset(other.fd);
    other.fd = -1;
  }
  end_session(s, side == kClient ? "client failed" : "server failed", CloseReason::kRst);
}

void Proxy::end_session(Session& s, const char* reason, CloseReason why) {
  const Timestamp now = monotonic_ns();
  for (Socket& k : s.sock) {
    if (k.fd >= 0) ::close(k.fd);
    k.fd = -1;
  }
  if (sink_) sink_->on_close(s.conn, why);
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
  if (!sink_) return;
  for (const std::string& e : sink_->take_errors()) report(e + " (that log is abandoned)");
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
  if (sink_) {
    sink_->finish();
    if (sink_->failed()) {
      report(std::to_string(sink_->error_count()) + " log(s) could not be written; first: " +
             sink_->error());
      return kExitLogs;
    }
  }
  return 0;
}

}  // namespace

int run_proxy(int argc, char** argv) {
  ProxyOptions opt;
  if (parse_proxy_options(argc, argv, opt, std::cerr) != 0) return kExitUsage;
  if (opt.show_help) {
    print_proxy_help(std::cout);
    return 0;
  }
  if (!opt.inspect.empty()) return run_inspect(opt.inspect, opt.extract_dir, std::cout, std::cerr);
  Proxy proxy(opt);
  if (const int rc = proxy.setup(); rc != 0) return rc;
  return proxy.run();
}

}  // namespace tcpscribe
