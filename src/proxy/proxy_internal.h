// The proxy's internals, shared by proxy.cc (set-up, accepting, connecting,
// timers, signals, the event loop) and proxy_forward.cc (moving bytes
// between the two sockets of a session, by copy or by splice). Not a public
// interface: only the proxy's own files include it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "diag.h"
#include "exit_codes.h"
#include "net_util.h"
#include "output_set.h"
#include "proxy_console.h"
#include "proxy_options.h"
#include "proxy_tls.h"
#include "redact_rules.h"
#include "redact_sink.h"
#include "sink_netrecord.h"
#include "stats_output.h"

namespace tcpscribe {

/// Zeek's conn_state (docs/ANALYSIS.md) of the proxy -> upstream leg, from
/// what the proxy saw: `connected` (the upstream accepted), `refused` (it
/// answered the SYN with a reset), and each direction's fin/rst, where c2s
/// is the proxy's side of that leg.
const char* proxy_conn_state(const Connection& c, bool connected, bool refused);

}  // namespace tcpscribe

namespace tcpscribe::proxy_detail {

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
inline Side src_side(Dir d) { return d == Dir::kClientToServer ? kClient : kUpstream; }
inline Side dst_side(Dir d) { return d == Dir::kClientToServer ? kUpstream : kClient; }

/// close() that sends a RST instead of a FIN: a reset passed on, or a
/// connection cut at the drain deadline (a FIN would look like a complete
/// response to a close-delimited protocol).
void close_with_reset(int fd);

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
bool make_pipe(int fds[2], size_t size);
/// Reads exactly `n` bytes that a pipe is known to hold.
bool read_from_pipe(int fd, uint8_t* out, size_t n);

struct Session {
  uint64_t sid = 0;
  Connection conn;
  Socket sock[2];
  Pipe pipe[2];  // index by Dir: 0 client->server, 1 server->client
  bool connected = false;
  bool refused = false;  // the last upstream address answered the SYN with a reset
  bool queued = false;  // has more to read after its turn
  size_t addr_index = 0;
  Timestamp opened = 0;
  Timestamp syn_sent = 0;  // the last connect() to the upstream
  Timestamp connect_deadline = 0;
  Timestamp last_activity = 0;
  std::string client_name;
  std::string upstream_name;
  // TLS on a side (by Side), null for plain TCP; why the last TLS call
  // failed (side_failed() with EPROTO shows it).
  std::unique_ptr<TlsConn> tls[2];
  std::string tls_error;
  bool tls_ready = true;  // every TLS side finished its handshake
};

class Proxy {
 public:
  explicit Proxy(const ProxyOptions& opt)
      : opt_(opt),
        console_(ProxyConsoleOptions{opt.hex, opt.dump, max_dump_for(opt), opt.json, use_color(opt),
                                     static_cast<int>(opt.timestamps)},
                 opt.quiet ? -1 : STDOUT_FILENO) {}
  ~Proxy();

  int setup();
  int run();

 private:
  int bind_listener();
  static std::string bound_name(int fd);  ///< getsockname() as text
  void fit_connections_to(uint64_t fd_limit);
  /// The session's log was not created or was abandoned after a failed write.
  bool log_lost(const Session& s) const {
    return netrecord_ != nullptr && netrecord_->path_of(s.sid) == nullptr;
  }
  /// --fail-closed: resets both sides and ends the session.
  void refuse_unlogged(Session& s);
  /// --max-dump, or by default a screenful per chunk when stdout is a
  /// terminal (all bytes otherwise).
  static uint64_t max_dump_for(const ProxyOptions& o);
  int open_outputs();
  int setup_loop();
  /// --decode: the connection's chunks are shown as messages instead.
  bool decoded(const Session& s) const;
  /// -o: hands buffered flow file data to the writers now and then.
  void flush_files(Timestamp now, Timestamp& wake);
  static bool use_color(const ProxyOptions& o);
  double secs(Timestamp t) const { return static_cast<double>(t - start_) / 1e9; }
  /// The wall-clock time (epoch nanoseconds) of a monotonic time: the
  /// outputs get real times, the timers a clock that never jumps.
  Timestamp wall(Timestamp mono) const { return mono + wall_offset_; }
  void report(const std::string& line) { diag::error(line); }
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
  // TLS (proxy_tls_session.cc). recv_side()/send_side() are recv()/send()
  // on a side, through its TLS layer if it has one: -1 with errno EAGAIN
  // when it must wait, EPROTO for a TLS failure (s.tls_error says why).
  ssize_t recv_side(Session& s, Side side, uint8_t* buf, size_t n);
  ssize_t send_side(Session& s, Side side, const uint8_t* buf, size_t n);
  /// Passes a half-close on to `side` (close_notify first on TLS, then the
  /// FIN); false if it must wait for the socket to be writable.
  bool shut_side(Session& s, Side side);
  /// Starts TLS on the accepted client socket; false if the session ended.
  bool tls_accept(Session& s);
  /// Drives the handshakes; true once every TLS side is done, false while
  /// one is in progress or when the session ended.
  bool tls_handshake(Session& s);
  void tls_failed(Session& s, Side side, const std::string& why);
  // The events every output gets (proxy_events.cc), with the Connection's
  // statistics kept up to date first.
  void emit_open(Session& s);
  void mark_connected(Session& s, Timestamp now);
  void count(Session& s, Dir d, size_t n, Timestamp now);
  void emit_data(Session& s, Dir d, std::span<const uint8_t> chunk, Timestamp now);
  void emit_data_from_pipe(Session& s, Dir d, int pipe_rd, size_t n, Timestamp now);
  void emit_shutdown(Session& s, Dir d, bool reset, Timestamp now);
  void emit_close(Session& s, CloseReason why, Timestamp now);
  void end_session(Session& s, const char* reason, CloseReason why);
  void sweep(Timestamp now);
  // --stats, --stats-json (proxy_stats.cc).
  int open_stats();
  std::vector<StatsOpen> stats_sessions() const;
  /// Samples when due; returns when the next sample is due (0: never).
  Timestamp tick_stats(Timestamp now);
  void stats_closed(const Session& s, const char* reason, Timestamp now);
  /// The last sample, the terminal given back; kExitOutput if the JSON failed.
  int finish_stats();
  void on_signal();
  void force_close_all();

  const ProxyOptions& opt_;
  ProxyConsole console_;
  ProxyTls tls_;
  uint64_t tls_failures_ = 0;  // handshakes that failed
  std::unique_ptr<OutputSet> outputs_;
  NetrecordSink* netrecord_ = nullptr;  // in outputs_, or null
  RedactRules redact_;                  // --redact
  RedactSink* redactor_ = nullptr;      // in outputs_ with --redact: the console's bytes too
  std::vector<Sink*> sinks_;  // outputs_->sinks(): every output, in event order
  bool files_ = false;        // -o: flow files wait in memory until flushed
  bool files_dirty_ = false;  // data went to them since the last flush
  Timestamp next_flush_ = 0;
  std::vector<SocketAddress> upstream_;
  int epfd_ = -1;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  bool listener_registered_ = false;
  Timestamp listener_resume_at_ = 0;
  Timestamp start_ = 0;
  Timestamp wall_offset_ = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC at the start
  Timestamp next_sweep_ = 0;
  Timestamp drain_deadline_ = 0;
  bool draining_ = false;
  bool stop_ = false;
  uint64_t next_sid_ = 1;
  size_t max_connections_ = 0;     // the cap in force (setup: opt_.max_connections fitted)
  bool cap_noticed_ = false;
  uint64_t refused_unlogged_ = 0;  // --fail-closed resets       // the cap was reached once and said so
  std::unique_ptr<StatsOutput> stats_;
  std::unique_ptr<ConsoleWriter> stats_writer_;  // the panel's frames (after stats_: goes first)
  Timestamp next_stats_ = 0;
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

}  // namespace tcpscribe::proxy_detail
