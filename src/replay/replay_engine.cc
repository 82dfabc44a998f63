#include "replay_engine.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <queue>

#include "net_util.h"
#include "netrecord.h"
#include "replay_answer.h"
#include "replay_answer_count.h"

namespace tcpscribe {

namespace {

constexpr int64_t kNever = INT64_MAX;

enum class Phase { kQueued, kConnecting, kRunning, kDraining, kDone };

struct Conn {
  const ReplayPlan* plan = nullptr;
  Phase phase = Phase::kQueued;
  int fd = -1;
  int64_t scheduled_start_ns = 0;
  int64_t connect_ns = 0;       // when connect() was called
  int64_t base_ns = 0;          // when the connection was established
  size_t step = 0;
  int64_t wait_since_ns = 0;    // the current wait began
  int64_t last_rx_ns = 0;       // the target's last bytes came
  uint64_t rx_at_wait = 0;      // bytes received when the current wait began
  int64_t ready_ns = -1;        // the current step's wait for the target ended (0: no wait)
  bool waited = false;          // the current step had to wait for the target
  std::string out;              // bytes of the current step not yet written
  size_t out_off = 0;
  bool want_out = false;        // EPOLLOUT registered
  bool eof = false;
  bool shut_wr = false;
  int record_fd = -1;
  uint64_t gen = 0;
  /// The target's answer ends, when the plan's protocol shows them.
  std::unique_ptr<AnswerCounter> answers;
};

struct Timer {
  int64_t at;
  size_t conn;
  uint64_t gen;
  bool operator>(const Timer& o) const { return at > o.at; }
};

class Engine {
 public:
  Engine(const std::vector<ReplayJob>& jobs, const EngineOptions& opt)
      : opt_(opt), files_(opt.record_root) {
    conns_.resize(jobs.size());
    result_.jobs.resize(jobs.size());
    order_.resize(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
      conns_[i].plan = jobs[i].plan;
      if (jobs[i].plan->protocol != AnswerProtocol::kNone) {
        conns_[i].answers =
            std::make_unique<AnswerCounter>(jobs[i].plan->protocol, jobs[i].plan->pg_ssl_request);
      }
      conns_[i].scheduled_start_ns = jobs[i].plan->start_us * 1000;
      order_[i] = i;
    }
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
      return conns_[a].scheduled_start_ns < conns_[b].scheduled_start_ns;
    });
  }

  EngineResult run() {
    // Sleeping threads wake up to 50 us late by default (timer slack).
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (opt_.realtime) {
      // Under CPU load the normal scheduler can leave a woken thread waiting
      // for milliseconds; a real-time one runs at once. Spins are short
      // (kSpinNs), and the kernel's RT throttling still bounds it.
      const sched_param sp{50};
      if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        result_.realtime_error = std::string("--realtime: ") + std::strerror(errno) +
                                 " (needs root or CAP_SYS_NICE); running without it";
      }
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    t0_ = monotonic_ns();
    std::vector<epoll_event> events(256);
    while (finished_ < conns_.size()) {
      int64_t now = monotonic_ns();
      start_due(now);
      run_due_timers(now);
      if (finished_ == conns_.size()) break;
      const int64_t next = next_wakeup();
      now = monotonic_ns();
      int64_t wait = next == kNever ? -1 : std::max<int64_t>(0, next - now - kSpinNs);
      timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
      const int n = epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()),
                                 wait < 0 ? nullptr : &ts, nullptr);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) on_event(events[i].data.u64, events[i].events);
      if (opt_.progress) opt_.progress(finished_, conns_.size(), sent_, received_);
      if (n <= 0 && next != kNever && next - monotonic_ns() <= 2 * kSpinNs) {
        // The last stretch before a deadline: spin on the clock.
        while (monotonic_ns() < next) {
        }
      }
    }
    close(epfd_);
    result_.elapsed_ns = monotonic_ns() - t0_;
    return std::move(result_);
  }

 private:
  int64_t rel_us(int64_t t) const { return (t - t0_) / 1000; }

  void schedule(size_t i, int64_t at) {
    Conn& c = conns_[i];
    timers_.push({at, i, ++c.gen});
  }

  int64_t next_wakeup() {
    int64_t next = kNever;
    while (!timers_.empty() && timers_.top().gen != conns_[timers_.top().conn].gen) timers_.pop();
    if (!timers_.empty()) next = timers_.top().at;
    if (next_job_ < order_.size() && has_slot()) {
      next = std::min(next, t0_ + conns_[order_[next_job_]].scheduled_start_ns);
    }
    return next;
  }

  bool has_slot() const { return opt_.concurrency == 0 || open_ < opt_.concurrency; }

  void run_due_timers(int64_t now) {
    while (!timers_.empty() && timers_.top().at <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      if (t.gen != conns_[t.conn].gen) continue;
      ++conns_[t.conn].gen;  // consumed
      on_timer(t.conn, monotonic_ns());
    }
  }

  void start_due(int64_t now) {
    while (next_job_ < order_.size() && has_slot()) {
      const size_t i = order_[next_job_];
      const int64_t due = t0_ + conns_[i].scheduled_start_ns;
      if (due > now) break;
      ++next_job_;
      const int64_t actual = monotonic_ns();
      // A start that waited for a free slot is not the scheduler's lateness.
      if (slot_freed_ns_ <= due) result_.starts.push_back({due - t0_, actual - t0_, i, SIZE_MAX});
      start(i, actual);
    }
  }

  void start(size_t i, int64_t now) {
    Conn& c = conns_[i];
    ++open_;
    c.connect_ns = now;
    c.fd = socket(opt_.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail(i, JobResult::Status::kConnectFailed,
           std::string("cannot create a socket: ") + std::strerror(errno));
      return;
    }
    set_nodelay(c.fd);
    c.phase = Phase::kConnecting;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&opt_.target), opt_.target_len) < 0 &&
        errno != EINPROGRESS) {
      fail(i, JobResult::Status::kConnectFailed,
           "cannot connect to " + opt_.target_text + ": " + std::strerror(errno));
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_out = true;
    schedule(i, now + opt_.connect_timeout_ns);
  }

  void set_want_out(size_t i, bool want) {
    Conn& c = conns_[i];
    if (c.want_out == want || c.fd < 0) return;
    c.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void on_event(size_t i, uint32_t ev) {
    Conn& c = conns_[i];
    if (c.phase == Phase::kConnecting) {
      if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        fail(i, JobResult::Status::kConnectFailed,
             "cannot connect to " + opt_.target_text + ": " + std::strerror(err));
        return;
      }
      established(i);
      return;
    }
    if (c.phase != Phase::kRunning && c.phase != Phase::kDraining) return;
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_ready(i);
    if (c.phase == Phase::kDone) return;
    if ((ev & EPOLLOUT) && !c.out.empty()) {
      flush_out(i);
      if (c.phase == Phase::kDone) return;
    }
    advance(i, monotonic_ns());
  }

  void established(size_t i) {
    Conn& c = conns_[i];
    const int64_t now = monotonic_ns();
    c.phase = Phase::kRunning;
    c.base_ns = now;
    c.wait_since_ns = now;
    set_want_out(i, false);
    open_record(i);
    record(i, 'c', now, "con", {});
    ++c.gen;  // drop the connect timeout
    advance(i, now);
  }

  void open_record(size_t i) {
    if (opt_.record_root.empty() || !result_.record_error.empty()) return;
    uint64_t number = 0;
    std::string error;
    conns_[i].record_fd = files_.create_next(number, result_.jobs[i].record_path, error);
    if (conns_[i].record_fd < 0) result_.record_error = error;
  }

  void record(size_t i, char side, int64_t t, std::string_view what, std::string_view data) {
    Conn& c = conns_[i];
    if (c.record_fd < 0) return;
    std::string error;
    if (!write_netrecord(c.record_fd, side, rel_us(t), what,
                         {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, error)) {
      if (result_.record_error.empty()) result_.record_error = result_.jobs[i].record_path + ": " + error;
      close(c.record_fd);
      c.record_fd = -1;
    }
  }

  void read_ready(size_t i) {
    Conn& c = conns_[i];
    JobResult& r = result_.jobs[i];
    char buf[65536];
    while (c.phase != Phase::kDone) {
      const ssize_t n = read(c.fd, buf, sizeof buf);
      if (n > 0) {
        const int64_t now = monotonic_ns();
        r.received_bytes += static_cast<uint64_t>(n);
        received_ += static_cast<uint64_t>(n);
        c.last_rx_ns = now;
        if (opt_.on_answer) opt_.on_answer(i, std::string_view(buf, static_cast<size_t>(n)));
        if (c.answers) {
          c.answers->feed(std::string_view(buf, static_cast<size_t>(n)));
          r.answers = c.answers->answers();
          r.error_answers = c.answers->errors();
          r.answers_lost = c.answers->lost();
        }
        record(i, 's', now, std::to_string(n), std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n == 0) {
        if (!c.eof) {
          c.eof = true;
          r.target_closed = true;
          record(i, 's', monotonic_ns(), "hup", {});
          // Stop polling for input: an EOF stays readable forever.
          epoll_event ev{};
          ev.events = c.want_out ? EPOLLOUT : 0u;
          ev.data.u64 = i;
          epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
        }
        return;
      }
      if (errno == EAGAIN || errno == EINTR) {
        if (errno == EAGAIN) return;
        continue;
      }
      const int err = errno;
      r.target_reset = true;
      record(i, 's', monotonic_ns(), "err", {});
      if (c.phase == Phase::kRunning && !c.plan->server_reset) {
        fail(i, JobResult::Status::kFailed,
             std::string("the target reset the connection after ") +
                 std::to_string(r.received_bytes) + " bytes: " + std::strerror(err));
      } else {
        finish(i, false);
      }
      return;
    }
  }

  void flush_out(size_t i) {
    Conn& c = conns_[i];
    while (c.out_off < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                             MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        set_want_out(i, true);
        return;
      }
      fail(i, JobResult::Status::kFailed,
           std::string("sending to the target failed: ") + std::strerror(errno));
      return;
    }
    c.out.clear();
    c.out_off = 0;
    set_want_out(i, false);
  }

  void on_timer(size_t i, int64_t now) {
    Conn& c = conns_[i];
    if (c.phase == Phase::kConnecting) {
      fail(i, JobResult::Status::kConnectFailed,
           "cannot connect to " + opt_.target_text + ": timed out");
      return;
    }
    advance(i, now);
  }

  /// --response-timeout counts silence: from the start of the wait or the
  /// target's last bytes, whichever came later. An answer that keeps coming
  /// is waited for however long it takes.
  static int64_t quiet_since(const Conn& c) { return std::max(c.wait_since_ns, c.last_rx_ns); }

  /// The recorded wait ended at an answer's end: the target's answer count
  /// decides, whatever the answers' sizes (a shorter or longer answer than
  /// recorded); otherwise the byte count.
  bool target_ready(const Conn& c, const ReplayStep& s, const JobResult& r) const {
    if (c.eof || r.target_reset) return true;
    if (s.wait_server_close) return false;
    if (s.wait_on_answers && c.answers && !c.answers->lost()) {
      return c.answers->answers() >= s.wait_answers;
    }
    return r.received_bytes >= s.wait_server_bytes;
  }

  void advance(size_t i, int64_t now) {
    Conn& c = conns_[i];
    JobResult& r = result_.jobs[i];
    const auto& steps = c.plan->steps;
    while (c.phase == Phase::kRunning) {
      if (!c.out.empty()) return;  // EPOLLOUT continues
      if (c.step == steps.size()) {
        c.phase = Phase::kDraining;
        c.wait_since_ns = now;
        break;
      }
      const ReplayStep& s = steps[c.step];
      if (c.ready_ns < 0) {
        if (!target_ready(c, s, r)) {
          c.waited = true;
          // Part of an answer came and then nothing for --settle: a shorter
          // answer than recorded (a missing key, another error text) is
          // complete; waiting out --response-timeout would pace the replay
          // by the timeout.
          const bool answered = r.received_bytes > c.rx_at_wait && !s.wait_server_close;
          if (answered && opt_.settle_ns > 0 && now - c.last_rx_ns >= opt_.settle_ns) {
            ++r.waits_settled;
          } else if (now - quiet_since(c) < opt_.response_timeout_ns) {
            int64_t at = quiet_since(c) + opt_.response_timeout_ns;
            if (answered && opt_.settle_ns > 0) at = std::min(at, c.last_rx_ns + opt_.settle_ns);
            schedule(i, at);
            return;
          } else if (r.waits_timed_out++ == 0) {
            r.first_timeout_wanted = s.wait_server_bytes;
            r.first_timeout_had = r.received_bytes;
          }
        }
        // Only a wait that actually happened can make the target, rather
        // than the schedule, decide when this step goes out.
        c.ready_ns = c.waited ? now : 0;
      }
      int64_t deadline = -1;
      if (s.at_us >= 0) {
        deadline = c.base_ns + s.at_us * 1000;
        if (now < deadline) {
          schedule(i, deadline);
          return;
        }
      }
      perform(i, s, deadline);
      if (c.phase == Phase::kDone) return;
      now = monotonic_ns();
      ++c.step;
      ++r.steps_done;
      c.wait_since_ns = now;
      c.rx_at_wait = r.received_bytes;
      c.ready_ns = -1;
      c.waited = false;
    }
    if (c.phase == Phase::kDraining) drain(i, now);
  }

  void perform(size_t i, const ReplayStep& s, int64_t deadline) {
    Conn& c = conns_[i];
    JobResult& r = result_.jobs[i];
    const int64_t actual = monotonic_ns();
    if (deadline >= 0 && (s.kind != ReplayStep::Kind::kSend || s.size() > 0)) {
      if (deadline >= c.ready_ns) {
        result_.sends.push_back({deadline - t0_, actual - t0_, i, c.step});
      } else {
        ++result_.sends_held_by_target;
      }
    }
    switch (s.kind) {
      case ReplayStep::Kind::kSend:
        if (s.size() == 0) return;
        if (s.from_log) {
          // The chunk is read from the log as it is sent: a log of any size
          // is never held whole.
          std::string error;
          if (!read_chunk(*c.plan, s, c.out, error)) {
            fail(i, JobResult::Status::kFailed, error);
            return;
          }
        } else {
          c.out = s.bytes;
        }
        record(i, 'c', actual, std::to_string(c.out.size()), c.out);
        r.sent_bytes += c.out.size();
        sent_ += c.out.size();
        c.out_off = 0;
        flush_out(i);
        return;
      case ReplayStep::Kind::kHangup:
        record(i, 'c', actual, "hup", {});
        shutdown(c.fd, SHUT_WR);
        c.shut_wr = true;
        return;
      case ReplayStep::Kind::kReset: {
        record(i, 'c', actual, "err", {});
        reset_on_close(c.fd);
        ++r.steps_done;
        finish(i, false);
        return;
      }
    }
  }

  void drain(size_t i, int64_t now) {
    Conn& c = conns_[i];
    JobResult& r = result_.jobs[i];
    const ReplayPlan& p = *c.plan;
    const bool all_bytes = r.received_bytes >= p.recorded_answer_bytes;
    if (c.eof || r.target_reset || (all_bytes && !p.server_closed)) {
      finish(i, true);
      return;
    }
    if (now - quiet_since(c) >= opt_.response_timeout_ns) {
      if (r.waits_timed_out++ == 0) {
        r.first_timeout_wanted = p.recorded_answer_bytes;
        r.first_timeout_had = r.received_bytes;
      }
      finish(i, true);
      return;
    }
    schedule(i, quiet_since(c) + opt_.response_timeout_ns);
  }

  void finish(size_t i, bool clean) {
    Conn& c = conns_[i];
    (void)clean;
    if (c.phase == Phase::kDone) return;
    if (result_.jobs[i].status == JobResult::Status::kNotRun) {
      result_.jobs[i].status = JobResult::Status::kDone;
    }
    close_conn(i);
  }

  void fail(size_t i, JobResult::Status st, std::string why) {
    Conn& c = conns_[i];
    if (c.phase == Phase::kDone) return;
    JobResult& r = result_.jobs[i];
    r.status = st;
    r.error = std::move(why);
    if (st == JobResult::Status::kConnectFailed) {
      // As the proxy does when its upstream refuses: `con`, then `s err`.
      open_record(i);
      record(i, 'c', c.connect_ns, "con", {});
      record(i, 's', monotonic_ns(), "err", {});
    }
    close_conn(i);
  }

  void close_conn(size_t i) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
      c.fd = -1;
    }
    if (c.record_fd >= 0) {
      close(c.record_fd);
      c.record_fd = -1;
    }
    c.phase = Phase::kDone;
    ++c.gen;
    std::string().swap(c.out);
    if (opt_.concurrency != 0 && open_ == opt_.concurrency) slot_freed_ns_ = monotonic_ns();
    --open_;
    ++finished_;
  }

  const EngineOptions& opt_;
  NetrecordFiles files_;
  std::vector<Conn> conns_;
  std::vector<size_t> order_;  // jobs by scheduled start
  size_t next_job_ = 0;
  int64_t slot_freed_ns_ = 0;  // when --concurrency last let a waiting start go
  size_t open_ = 0;
  size_t finished_ = 0;
  uint64_t sent_ = 0, received_ = 0;  // all connections, for progress
  int epfd_ = -1;
  int64_t t0_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  EngineResult result_;
};

}  // namespace

EngineResult run_replay_engine(const std::vector<ReplayJob>& jobs, const EngineOptions& opt) {
  return Engine(jobs, opt).run();
}

}  // namespace tcpscribe
