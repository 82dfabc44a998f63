#include "live.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "af_packet.h"
#include "diag.h"
#include "live_memory.h"
#include "packet_queue.h"
#include "pipeline.h"
#include "privileges.h"
#include "stats_output.h"

namespace tcpscribe {
namespace {

constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as a shell reports it

std::atomic<int> g_signals{0};
std::atomic<pcap_t*> g_pcap{nullptr};

void on_alarm(int) {
  stats_terminal_emergency_restore();  // --stats: the whole screen scrolls again
  _exit(kExitInterrupted);
}

void on_signal(int) {
  // The first Ctrl-C stops the capture; what it captured is still written.
  // A second one throws away what is still queued and gives finishing the
  // connections a second (the alarm); a third exits at once.
  const int n = g_signals.fetch_add(1) + 1;
  if (n == 1) {
    if (pcap_t* p = g_pcap.load()) pcap_breakloop(p);
  } else if (n == 2) {
    alarm(1);
  } else {
    stats_terminal_emergency_restore();
    _exit(kExitInterrupted);
  }
}

// Installed before any thread starts, so whichever thread the kernel picks
// for a signal runs the handler: a thread that still had the default
// action, or the SIG_IGN a shell gives its background jobs, lost it (a
// Ctrl-C during start-up did nothing). SA_RESTART: a writer thread's
// write() is not cut short.
void install_signal_handlers() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
}

// The capture and faulting threads leave the signals to the others: their
// poll() and page faults are not interrupted.
void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// Where the capture thread takes packets from: libpcap's handle (one
// ring), or with --threads N > 1 on Linux an AF_PACKET fanout group of N
// rings (src/capture/af_packet.h), read as one stream in time order.
struct LiveDevice {
  pcap_t* pcap = nullptr;
  std::unique_ptr<FanoutCapture> fanout;

  explicit operator bool() const { return pcap || fanout; }
  int linktype() const { return fanout ? fanout->linktype() : pcap_datalink(pcap); }
  int snaplen() const { return fanout ? fanout->snaplen() : pcap_snapshot(pcap); }
  void close() {
    if (pcap) pcap_close(pcap);
    pcap = nullptr;
    fanout.reset();
  }
};

// tcpdump's line, on standard error.
void print_listening(const std::string& name, const LiveDevice& dev) {
  const int dlt = dev.linktype();
  const char* dlt_name = pcap_datalink_val_to_name(dlt);
  const char* description = pcap_datalink_val_to_description(dlt);
  diag::notef("listening on %s, link-type %s (%s), snapshot length %d bytes",
               name.c_str(), dlt_name ? dlt_name : std::to_string(dlt).c_str(),
               description ? description : "unknown", dev.snaplen());
}

std::string interface_list() {
  pcap_if_t* all = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE];
  std::string names;
  if (pcap_findalldevs(&all, errbuf) == 0) {
    for (pcap_if_t* d = all; d; d = d->next) {
      if (!names.empty()) names += ", ";
      names += d->name;
    }
    pcap_freealldevs(all);
  }
  return names.empty() ? "none found" : names;
}

// The errors both ways of capturing share, in the same words.
void no_permission(const char* name, const std::string& why) {
  diag::errorf("%s: no permission to capture (%s); run as root, or grant "
               "the capability: sudo setcap cap_net_raw,cap_net_admin=eip "
               "$(command -v tcpscribe)",
               name, why.c_str());
}
void no_such_interface(const char* name) {
  diag::errorf("no such interface '%s' (interfaces here: %s)", name, interface_list().c_str());
}
void interface_down(const char* name) {
  diag::errorf("interface %s is down (ip link set %s up)", name, name);
}

pcap_t* open_device(const Options& opt, int& code) {
  char errbuf[PCAP_ERRBUF_SIZE];
  const char* name = opt.interface.c_str();
  pcap_t* p = pcap_create(name, errbuf);
  if (!p) {
    diag::errorf("%s: %s", name, errbuf);
    code = kExitCapture;
    return nullptr;
  }
  pcap_set_snaplen(p, opt.snaplen);
  pcap_set_promisc(p, opt.promiscuous ? 1 : 0);
  pcap_set_timeout(p, 10);  // ms: console output stays prompt
  pcap_set_buffer_size(p, static_cast<int>(opt.buffer_mib << 20));
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(p);
  if (rc < 0) {
    switch (rc) {
      case PCAP_ERROR_PERM_DENIED:
        no_permission(name, pcap_geterr(p));
        break;
      case PCAP_ERROR_NO_SUCH_DEVICE:
        no_such_interface(name);
        break;
      case PCAP_ERROR_IFACE_NOT_UP:
        interface_down(name);
        break;
      default:
        diag::errorf("%s: cannot capture: %s", name, pcap_geterr(p));
    }
    pcap_close(p);
    code = kExitCapture;
    return nullptr;
  }
  if (rc > 0 && !opt.quiet) {
    diag::warningf("%s: %s", name, pcap_statustostr(rc));
  }
  if (!opt.filter.empty()) {
    // The kernel applies the filter, so unwanted packets never reach us.
    struct bpf_program prog;
    if (pcap_compile(p, &prog, opt.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      diag::errorf("filter '%s' does not compile: %s", opt.filter.c_str(),
                   pcap_geterr(p));
      pcap_close(p);
      code = kExitUsage;
      return nullptr;
    }
    const int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      diag::errorf("%s: cannot set the filter: %s", name, pcap_geterr(p));
      pcap_close(p);
      code = kExitCapture;
      return nullptr;
    }
  }
  return p;
}

/// --threads N > 1 on Linux: the fanout group, or null with `code` set
/// (an error was printed) or with `code` kExitOk when this interface has
/// no fanout (-i any, not Ethernet): then libpcap captures, as for N = 1.
std::unique_ptr<FanoutCapture> open_fanout(const Options& opt, int& code) {
  FanoutConfig cfg;
  cfg.interface = opt.interface;
  cfg.rings = opt.threads;
  cfg.buffer_bytes = opt.buffer_mib << 20;
  cfg.snaplen = opt.snaplen;
  cfg.promiscuous = opt.promiscuous;
  cfg.filter = opt.filter;
  auto f = std::make_unique<FanoutCapture>();
  if (f->open(cfg)) return f;
  const char* name = opt.interface.c_str();
  const char* why = f->error().c_str();
  code = kExitCapture;
  switch (f->failure()) {
    case FanoutFailure::kPermission:
      no_permission(name, f->error());
      break;
    case FanoutFailure::kNoSuchInterface:
      no_such_interface(name);
      break;
    case FanoutFailure::kInterfaceDown:
      interface_down(name);
      break;
    case FanoutFailure::kNoTpacketV3:
      diag::errorf("%s: this kernel has no TPACKET_V3 rings (%s), which --threads %zu needs "
                   "for live capture (Linux 3.2 or later); capture with --threads 1 (libpcap)",
                   name, why, opt.threads);
      break;
    case FanoutFailure::kNoFanout:
      diag::errorf("%s: the kernel refused an AF_PACKET fanout group (%s), which --threads %zu "
                   "needs for live capture; capture with --threads 1 (libpcap)",
                   name, why, opt.threads);
      break;
    case FanoutFailure::kFilter:
      diag::errorf("filter '%s' does not compile: %s", opt.filter.c_str(), why);
      code = kExitUsage;
      break;
    case FanoutFailure::kLinkType:
      if (!opt.quiet) {
        diag::warningf("--threads %zu: %s has no AF_PACKET fanout (%s); capturing through "
                       "libpcap on one ring",
                       opt.threads, name, why);
      }
      code = kExitOk;
      break;
    case FanoutFailure::kSystem:
    case FanoutFailure::kNone:
      diag::errorf("%s: cannot capture: %s", name, why);
      break;
  }
  return nullptr;
}

/// The capture: a fanout group for --threads N > 1 where it can be, libpcap
/// otherwise. Empty with `code` set (an error was printed) when it cannot
/// start.
LiveDevice open_live(const Options& opt, int& code) {
  LiveDevice dev;
#ifdef __linux__
  if (opt.threads > 1) {
    dev.fanout = open_fanout(opt, code);
    if (dev.fanout || code != kExitOk) return dev;
  }
#endif
  dev.pcap = open_device(opt, code);
  return dev;
}

// The capture thread's state while libpcap calls add_packet().
struct CaptureState {
  PacketQueue* queue;
  int linktype;
  PacketBatch batch;
  std::chrono::steady_clock::time_point batch_started{};
  uint64_t captured = 0;
  uint64_t queue_drops = 0;

  /// Hands the batch to the reassembly thread (or counts its packets as
  /// dropped when the queue is full) and starts another.
  void hand_on() {
    const size_t n = batch.packets.size();
    if (n == 0) return;
    captured += n;
    if (queue->push(std::move(batch))) {
      batch = queue->take_free();
    } else {
      queue_drops += n;
      batch.clear();
    }
    batch.linktype = linktype;
  }
};

void add_to_batch(CaptureState* st, Timestamp ts, uint32_t caplen, uint32_t len,
                  const uint8_t* data) {
  if (st->batch.packets.empty()) st->batch_started = std::chrono::steady_clock::now();
  if (!st->batch.add(ts, caplen, len, data)) {
    st->hand_on();  // full: a packet (at most the snaplen) fits in an empty one
    st->batch_started = std::chrono::steady_clock::now();
    st->batch.add(ts, caplen, len, data);
  }
}

void add_packet(u_char* user, const struct pcap_pkthdr* h, const u_char* data) {
  auto* st = reinterpret_cast<CaptureState*>(user);
  // Nanosecond precision was requested: tv_usec holds nanoseconds.
  const Timestamp ts = static_cast<Timestamp>(h->ts.tv_sec) * kNanosPerSecond + h->ts.tv_usec;
  add_to_batch(st, ts, h->caplen, h->len, data);
}

// A packet of a fanout ring. A VLAN tag the kernel took out of the frame
// goes back after the MAC addresses, as libpcap puts it back.
void add_ring_packet(CaptureState* st, const RingPacket& p, std::vector<uint8_t>& scratch) {
  if (!p.vlan || p.caplen < 12) {
    add_to_batch(st, p.ts, p.caplen, p.origlen, p.data);
    return;
  }
  scratch.assign(p.data, p.data + 12);
  const uint8_t tag[4] = {static_cast<uint8_t>(p.vlan_tpid >> 8), static_cast<uint8_t>(p.vlan_tpid),
                          static_cast<uint8_t>(p.vlan_tci >> 8), static_cast<uint8_t>(p.vlan_tci)};
  scratch.insert(scratch.end(), tag, tag + 4);
  scratch.insert(scratch.end(), p.data + 12, p.data + p.caplen);
  add_to_batch(st, p.ts, p.caplen + 4, p.origlen + 4, scratch.data());
}

Timestamp wall_clock_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// While the reassembly thread is busy, fill whole batches; when it waits,
// or a batch is 10 ms old, hand on what there is (console output stays
// prompt).
void maybe_hand_on(CaptureState& cap) {
  if (!cap.batch.packets.empty() &&
      (cap.queue->empty() ||
       std::chrono::steady_clock::now() - cap.batch_started >= std::chrono::milliseconds(10))) {
    cap.hand_on();
  }
}

// The capture thread: packets from libpcap into batches, batches into the
// queue, until a signal (or an error) breaks the loop.
void capture_loop(pcap_t* p, CaptureState& cap, std::string& error) {
  block_stop_signals();
  pthread_setname_np(pthread_self(), "ts-capture");
  while (g_signals.load() == 0) {
    const int n = pcap_dispatch(p, -1, add_packet, reinterpret_cast<u_char*>(&cap));
    maybe_hand_on(cap);
    if (n == PCAP_ERROR) error = pcap_geterr(p);
    if (n == PCAP_ERROR || n == PCAP_ERROR_BREAK) break;
  }
  cap.hand_on();
  cap.queue->close();
}

// The same over a fanout group: all rings, merged in time order. A signal
// is seen within the 10 ms poll (the handler has no loop to break).
void fanout_loop(FanoutCapture& f, CaptureState& cap, std::string& error) {
  block_stop_signals();
  pthread_setname_np(pthread_self(), "ts-capture");
  std::vector<uint8_t> scratch;
  const auto add = [&](const RingPacket& p) { add_ring_packet(&cap, p, scratch); };
  while (g_signals.load() == 0) {
    const int n = f.dispatch(add, 10);
    maybe_hand_on(cap);
    if (n < 0) {
      error = f.error();
      break;
    }
  }
  f.flush(add);  // what the merge still held for time order
  cap.hand_on();
  cap.queue->close();
}

// Keeps spare batches faulted in ahead of the capture thread as the queue
// grows, so that it copies packets instead of waiting on page faults. At
// real-time priority where allowed, like the capture thread: the faults it
// takes are ones the capture thread would otherwise take while the
// kernel's ring fills, and it sleeps once the spares are there.
void prefault_loop(PacketQueue& queue) {
  block_stop_signals();
  pthread_setname_np(pthread_self(), "ts-prefault");
  while (queue.wait_for_demand()) queue.top_up();
}

// Puts the calling thread in SCHED_FIFO at the lowest real-time priority,
// or back in SCHED_OTHER; false if not allowed (no root, CAP_SYS_NICE or
// RLIMIT_RTPRIO).
bool set_realtime(bool on) {
  sched_param sp{};
  sp.sched_priority = on ? sched_get_priority_min(SCHED_FIFO) : 0;
  return pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &sp) == 0;
}

using Clock = std::chrono::steady_clock;

// The reassembling thread's side: batches from the queue into the pipeline
// until the capture thread is done and the queue is empty.
class Consumer {
 public:
  /// `p`: libpcap's handle, whose loop an output failure breaks; null for
  /// a fanout group (its loop sees the flag within 10 ms).
  Consumer(PacketQueue& queue, Pipeline& pipeline, pcap_t* p)
      : queue_(queue), pipeline_(pipeline), p_(p) {}

  /// Returns the packets a second interrupt discarded.
  size_t run() {
    auto last_tick = Clock::now();
    auto last_keys = last_tick;
    for (;;) {
      if (g_signals.load() >= 2) return discarded_ + discard_rest();
      PacketBatch batch;
      if (queue_.pop(batch, std::chrono::milliseconds(20))) {
        feed(batch);
        queue_.recycle(std::move(batch));
        // Reorder only within what has arrived: nothing waits for traffic
        // that may never come.
        if (queue_.empty()) pipeline_.flush_window();
      } else if (queue_.closed() && queue_.empty()) {
        return discarded_;
      }
      const auto now = Clock::now();
      // The key log every 20 ms: a client writes a connection's keys before
      // its first protected record, and the records that wait for them are
      // bounded (1 MiB a connection): read once a second, a fast transfer
      // overflowed that before its keys were read.
      if (now - last_keys >= std::chrono::milliseconds(20)) {
        pipeline_.poll_keylog();
        last_keys = now;
      }
      if (now - last_tick >= std::chrono::seconds(1)) {
        // Idle connections close on the clock only once the queue is
        // caught up: packets still queued are not idleness.
        pipeline_.tick(queue_.empty() || last_ts_ == 0 ? wall_clock_now() : last_ts_);
        last_tick = now;
      }
      int none = 0;
      if (pipeline_.output_failed() && g_signals.compare_exchange_strong(none, 1) && p_) {
        pcap_breakloop(p_);
      }
      if (g_signals.load() > 0) report(now, 0, 0);
      pipeline_.poll_stats();
    }
  }

 private:
  // One batch into the pipeline. A slow output can take seconds over one,
  // so interrupts are looked at every 64 packets.
  void feed(PacketBatch& batch) {
    batch.sort_by_time();
    const size_t n = batch.packets.size();
    for (size_t i = 0; i < n; ++i) {
      if (i % 64 == 0 && g_signals.load(std::memory_order_relaxed) > 0) {
        if (g_signals.load() >= 2) {
          discarded_ += n - i;
          return;
        }
        report(Clock::now(), n - i, batch.used() - batch.packets[i].offset);
      }
      pipeline_.on_packet(batch.at(i));
    }
    if (n > 0) last_ts_ = batch.packets.back().ts;
  }

  // After a second interrupt: throws away what is queued, and what the
  // capture thread still hands on before it ends.
  size_t discard_rest() {
    size_t n = 0;
    for (;;) {
      const bool done = queue_.closed();
      n += queue_.discard();
      if (done) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // Once the capture has stopped the queue can still hold up to
  // --queue-size of packets. They are written (they were captured before
  // the Ctrl-C), but when that takes longer than half a second the user is
  // told, once a second, how much is left and how to skip it. `packets`
  // and `bytes`: what is left of the batch being written.
  void report(Clock::time_point now, size_t packets, size_t bytes) {
    if (stopped_ == Clock::time_point{}) stopped_ = now;
    if (now - stopped_ < std::chrono::milliseconds(500) ||
        now - last_report_ < std::chrono::seconds(1)) {
      return;
    }
    packets += queue_.queued_packets();
    bytes += queue_.queued_bytes();
    if (packets == 0) return;
    last_report_ = now;
    diag::notef("capture stopped; writing the %zu packets (%zu MiB) still queued; "
                 "Ctrl-C again to discard them",
                 packets, (bytes + (1u << 20) - 1) >> 20);
  }

  PacketQueue& queue_;
  Pipeline& pipeline_;
  pcap_t* p_;
  size_t discarded_ = 0;
  Timestamp last_ts_ = 0;
  Clock::time_point stopped_{}, last_report_{};
};

void print_statistics(Pipeline& pipeline, const CaptureState& cap, bool have_stats,
                      const struct pcap_stat& st) {
  std::fprintf(stderr, "%llu packets captured\n",
               static_cast<unsigned long long>(cap.captured));
  if (have_stats) {
    std::fprintf(stderr, "%u packets received by filter\n", st.ps_recv);
    std::fprintf(stderr, "%u packets dropped by kernel\n", st.ps_drop);
    std::fprintf(stderr, "%u packets dropped by interface\n", st.ps_ifdrop);
  }
  if (cap.queue_drops > 0) {
    std::fprintf(stderr, "%llu packets dropped by tcpscribe (queue full; raise --queue-size)\n",
                 static_cast<unsigned long long>(cap.queue_drops));
  }
  std::fprintf(stderr, "%llu connections seen\n",
               static_cast<unsigned long long>(pipeline.flow_stats().connections));
}

void print_queue_memory(const PacketQueue& queue, size_t queue_mib) {
  diag::notef("queue memory: %zu MiB mapped of %zu (%zu batches made on the "
               "capture thread)",
               queue.batches_made() * (PacketBatch::kCapacity >> 20), queue_mib,
               queue.made_on_demand());
}


/// --queue-size and --buffer-size against the machine's memory: refused,
/// lowered with a warning, or as asked.
bool fit_queue(const Options& opt, QueueFit& fit, int& code) {
  fit = fit_to_memory(opt.queue_mib, opt.buffer_mib, read_memory_info());
  if (fit.code != kExitOk) {
    std::fprintf(stderr, "%s\n", fit.message.c_str());
    code = fit.code;
    return false;
  }
  if (!fit.message.empty() && !opt.quiet) std::fprintf(stderr, "%s\n", fit.message.c_str());
  return true;
}

/// The pipeline's settings for a live capture.
Options live_pipeline_options(const Options& opt, bool realtime) {
  Options popt = opt;  // the kernel filters already
  popt.filter.clear();
  // Each batch is put in timestamp order in place (Consumer), which
  // restores what -i any mixes up without copying packets into a window.
  popt.reorder_window = 0;
  popt.writer_nice = realtime ? 0 : 5;
  return popt;
}

/// -v: how the fanout group shared out the packets.
void print_rings(const FanoutStats& fs) {
  std::string rings;
  for (size_t i = 0; i < fs.per_ring.size(); ++i) {
    rings += (i ? ", ring " : "ring ") + std::to_string(i) + " " +
             std::to_string(fs.per_ring[i]) + " packets";
  }
  diag::notef("AF_PACKET fanout: %s", rings.c_str());
  if (fs.damaged_blocks > 0) {
    diag::warningf("%llu ring blocks were damaged and skipped",
                   static_cast<unsigned long long>(fs.damaged_blocks));
  }
}

/// The kernel's counts in libpcap's terms: a fanout group's are every
/// socket's PACKET_STATISTICS, summed.
bool capture_stats(LiveDevice& dev, struct pcap_stat& st, FanoutStats& fs) {
  if (!dev.fanout) return pcap_stats(dev.pcap, &st) == 0;
  fs = dev.fanout->stats();
  st.ps_recv = static_cast<u_int>(fs.received);
  st.ps_drop = static_cast<u_int>(fs.dropped);
  st.ps_ifdrop = static_cast<u_int>(fs.interface_dropped);
  return true;
}

/// After the capture: the kernel's counts into the reports, every flow
/// finished, tcpdump's statistics; the exit code.
int finish_live(const Options& opt, Pipeline& pipeline, LiveDevice& dev, const CaptureState& cap,
                PacketQueue& queue, size_t queue_mib, const std::string& capture_error) {
  struct pcap_stat st {};
  FanoutStats fs;
  const bool have_stats = capture_stats(dev, st, fs);
  if (have_stats) pipeline.set_capture_drops(st.ps_drop, st.ps_ifdrop);
  int rc = pipeline.finish();
  print_statistics(pipeline, cap, have_stats, st);
  if (opt.verbose > 0) {
    print_queue_memory(queue, queue_mib);
    if (dev.fanout) print_rings(fs);
  }
  g_pcap = nullptr;
  dev.close();
  if (!capture_error.empty()) {
    diag::errorf("capture on %s failed: %s; everything before it is written",
                 opt.interface.c_str(), capture_error.c_str());
    return rc != kExitOk ? rc : kExitCapture;
  }
  if (g_signals.load() >= 2 && rc == kExitOk) rc = kExitInterrupted;
  return rc;
}

}  // namespace

int run_live(const Options& opt) {
  install_signal_handlers();
  QueueFit fit;
  int code = kExitOk;
  if (!fit_queue(opt, fit, code)) return code;
  // Opened before anything else, and before -U drops root.
  LiveDevice dev = open_live(opt, code);
  if (!dev) return code;

  // The capture thread must win the CPU on a busy machine: what waits in
  // the queue can wait, what waits in the kernel's ring is lost when it
  // overflows. It runs at real-time priority where allowed: it only copies
  // packets out of the ring and sleeps in poll() when the ring is empty, so
  // it takes little CPU but gets it at once. Otherwise reassembly and the
  // file writers yield to it (nice 5), which also yields to the programs
  // making the traffic.
  const bool realtime = set_realtime(true) && set_realtime(false);
  const Options popt = live_pipeline_options(opt, realtime);
  Pipeline pipeline(popt);
  if (const int rc = pipeline.open(); rc != kExitOk) {
    dev.close();
    return rc;
  }
  // Threads inherit the policy of the thread that creates them; dropping
  // root (-U) below would take away the right to ask for it later.
  if (realtime) set_realtime(true);
  if (!opt.user.empty()) {
    std::string error;
    if (!pipeline.drop_privileges(opt.user, opt.chroot_dir, error)) {
      diag::error(error);
      dev.close();
      return kExitUsage;
    }
  }

  PacketQueue queue(fit.queue_mib << 20);
  // Only a few batches now (the queue grows as it is used), faulted in
  // here so the first packets land in memory that is there.
  queue.top_up();
  const int linktype = dev.linktype();
  // Owned by the capture thread until it is joined; its counters are read
  // after that.
  CaptureState cap{&queue, linktype, queue.take_free()};
  cap.batch.linktype = linktype;
  std::string capture_error;
  g_pcap = dev.pcap;  // from here a signal breaks the capture loop
  if (!opt.quiet) print_listening(opt.interface, dev);
  // Both are created while this thread is real-time, so they are too.
  std::thread faulter(prefault_loop, std::ref(queue));
  std::thread capture = dev.fanout ? std::thread(fanout_loop, std::ref(*dev.fanout), std::ref(cap),
                                                 std::ref(capture_error))
                                   : std::thread(capture_loop, dev.pcap, std::ref(cap),
                                                 std::ref(capture_error));

  if (realtime) {
    set_realtime(false);
  } else {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  }
  if (opt.verbose > 0 && dev.fanout) {
    diag::notef("capturing through AF_PACKET: %zu TPACKET_V3 rings of %zu KiB in a fanout group "
                "(PACKET_FANOUT_HASH, defragmenting), merged in time order",
                dev.fanout->rings(), dev.fanout->ring_bytes() >> 10);
  }
  if (opt.verbose > 0) {
    diag::notef("capture thread at %s",
                 realtime ? "real-time priority (SCHED_FIFO)"
                          : "normal priority (no right to SCHED_FIFO); reassembly at nice 5");
  }

  pipeline.begin_source(opt.interface, false);
  const size_t discarded = Consumer(queue, pipeline, dev.pcap).run();
  capture.join();
  queue.stop_faulting();
  faulter.join();
  if (g_signals.load() >= 2) {
    diag::notef("interrupted again: %zu captured packets were discarded unwritten; "
                 "finishing the connections",
                 discarded);
  }
  return finish_live(opt, pipeline, dev, cap, queue, fit.queue_mib, capture_error);
}

}  // namespace tcpscribe
