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
#include <string>
#include <thread>

#include "packet_queue.h"
#include "pipeline.h"
#include "privileges.h"

namespace tcpscribe {
namespace {

std::atomic<int> g_signals{0};
pcap_t* g_pcap = nullptr;

void on_signal(int) {
  // The first Ctrl-C stops the capture and lets every flow finish; a
  // second one exits at once.
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  if (g_pcap) pcap_breakloop(g_pcap);
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

pcap_t* open_device(const Options& opt, int& code) {
  char errbuf[PCAP_ERRBUF_SIZE];
  const char* name = opt.interface.c_str();
  pcap_t* p = pcap_create(name, errbuf);
  if (!p) {
    std::fprintf(stderr, "tcpscribe: %s: %s\n", name, errbuf);
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
        std::fprintf(stderr,
                     "tcpscribe: %s: no permission to capture (%s); run as root, or grant "
                     "the capability: sudo setcap cap_net_raw,cap_net_admin=eip "
                     "$(command -v tcpscribe)\n",
                     name, pcap_geterr(p));
        break;
      case PCAP_ERROR_NO_SUCH_DEVICE:
        std::fprintf(stderr, "tcpscribe: no such interface '%s' (interfaces here: %s)\n", name,
                     interface_list().c_str());
        break;
      case PCAP_ERROR_IFACE_NOT_UP:
        std::fprintf(stderr, "tcpscribe: interface %s is down (ip link set %s up)\n", name,
                     name);
        break;
      default:
        std::fprintf(stderr, "tcpscribe: %s: cannot capture: %s\n", name, pcap_geterr(p));
    }
    pcap_close(p);
    code = kExitCapture;
    return nullptr;
  }
  if (rc > 0 && !opt.quiet) {
    std::fprintf(stderr, "tcpscribe: warning: %s: %s\n", name, pcap_statustostr(rc));
  }
  if (!opt.filter.empty()) {
    // The kernel applies the filter, so unwanted packets never reach us.
    struct bpf_program prog;
    if (pcap_compile(p, &prog, opt.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::fprintf(stderr, "tcpscribe: filter '%s' does not compile: %s\n", opt.filter.c_str(),
                   pcap_geterr(p));
      pcap_close(p);
      code = kExitUsage;
      return nullptr;
    }
    const int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      std::fprintf(stderr, "tcpscribe: %s: cannot set the filter: %s\n", name, pcap_geterr(p));
      pcap_close(p);
      code = kExitCapture;
      return nullptr;
    }
  }
  return p;
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

void add_packet(u_char* user, const struct pcap_pkthdr* h, const u_char* data) {
  auto* st = reinterpret_cast<CaptureState*>(user);
  // Nanosecond precision was requested: tv_usec holds nanoseconds.
  const Timestamp ts = static_cast<Timestamp>(h->ts.tv_sec) * kNanosPerSecond + h->ts.tv_usec;
  if (st->batch.packets.empty()) st->batch_started = std::chrono::steady_clock::now();
  if (!st->batch.add(ts, h->caplen, h->len, data)) {
    st->hand_on();  // full: a packet (at most the snaplen) fits in an empty one
    st->batch_started = std::chrono::steady_clock::now();
    st->batch.add(ts, h->caplen, h->len, data);
  }
}

Timestamp wall_clock_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Puts the calling thread in SCHED_FIFO at the lowest real-time priority,
// or back in SCHED_OTHER; false if not allowed (no root, CAP_SYS_NICE or
// RLIMIT_RTPRIO).
bool set_realtime(bool on) {
  sched_param sp{};
  sp.sched_priority = on ? sched_get_priority_min(SCHED_FIFO) : 0;
  return pthread_setschedparam(pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &sp) == 0;
}

}  // namespace

int run_live(const Options& opt) {
  int code = kExitOk;
  pcap_t* p = open_device(opt, code);
  if (!p) return code;

  Options popt = opt;  // the kernel filters already
  popt.filter.clear();
  // Each batch is put in timestamp order in place (below), which restores
  // what -i any mixes up without copying packets into a window.
  popt.reorder_window = 0;
  // The capture thread must win the CPU on a busy machine: what waits in
  // the queue can wait, what waits in the kernel's ring is lost when it
  // overflows. It runs at real-time priority where allowed: it only copies
  // packets out of the ring and sleeps in poll() when the ring is empty, so
  // it takes little CPU but gets it at once. Otherwise reassembly and the
  // file writers yield to it (nice 5), which also yields to the programs
  // making the traffic.
  const bool realtime = set_realtime(true) && set_realtime(false);
  popt.writer_nice = realtime ? 0 : 5;
  Pipeline pipeline(popt);
  if (const int rc = pipeline.open(); rc != kExitOk) {
    pcap_close(p);
    return rc;
  }
  // Threads inherit the policy of the thread that creates them; dropping
  // root (-U) below would take away the right to ask for it later.
  if (realtime) set_realtime(true);
  if (!opt.user.empty()) {
    std::string error;
    if (!pipeline.drop_privileges(opt.user, opt.chroot_dir, error)) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      pcap_close(p);
      return kExitUsage;
    }
  }

  // Signals go to this thread only: the capture thread blocks them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  PacketQueue queue(opt.queue_mib << 20);
  queue.reserve();  // the queue's memory, mapped before capturing starts
  std::string capture_error;
  const int linktype = pcap_datalink(p);
  // Owned by the capture thread until it is joined; its counters are read
  // after that.
  CaptureState cap{&queue, linktype, queue.take_free()};
  cap.batch.linktype = linktype;
  std::thread capture([&] {
    pthread_setname_np(pthread_self(), "ts-capture");
    for (;;) {
      const int n = pcap_dispatch(p, -1, add_packet, reinterpret_cast<u_char*>(&cap));
      // While the reassembly thread is busy, fill whole batches; when it
      // waits, or a batch is 10 ms old, hand on what there is (console
      // output stays prompt).
      if (!cap.batch.packets.empty() &&
          (queue.empty() ||
           std::chrono::steady_clock::now() - cap.batch_started >= std::chrono::milliseconds(10))) {
        cap.hand_on();
      }
      if (n == PCAP_ERROR) capture_error = pcap_geterr(p);
      if (n == PCAP_ERROR || n == PCAP_ERROR_BREAK || g_signals.load() > 0) break;
    }
    cap.hand_on();
    queue.close();
  });

  if (realtime) {
    set_realtime(false);
  } else {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  }
  if (opt.verbose > 0) {
    std::fprintf(stderr, "tcpscribe: capture thread at %s\n",
                 realtime ? "real-time priority (SCHED_FIFO)"
                          : "normal priority (no right to SCHED_FIFO); reassembly at nice 5");
  }

  g_pcap = p;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);

  pipeline.begin_source(opt.interface, false);
  auto last_tick = std::chrono::steady_clock::now();
  for (;;) {
    PacketBatch batch;
    if (queue.pop(batch, std::chrono::milliseconds(20))) {
      batch.sort_by_time();
      for (size_t i = 0; i < batch.packets.size(); ++i) pipeline.on_packet(batch.at(i));
      queue.recycle(std::move(batch));
      // Reorder only within what has arrived: nothing waits for traffic
      // that may never come.
      if (queue.empty()) pipeline.flush_window();
    } else if (queue.closed() && queue.empty()) {
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_tick >= std::chrono::seconds(1)) {
      pipeline.tick(wall_clock_now());
      last_tick = now;
    }
    if (pipeline.output_failed() && g_signals.load() == 0) {
      g_signals = 1;
      pcap_breakloop(p);
    }
  }
  capture.join();

  struct pcap_stat st {};
  const bool have_stats = pcap_stats(p, &st) == 0;
  if (have_stats) pipeline.set_capture_drops(st.ps_drop, st.ps_ifdrop);
  const int rc = pipeline.finish();
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
  g_pcap = nullptr;
  pcap_close(p);
  if (!capture_error.empty()) {
    std::fprintf(stderr, "tcpscribe: capture on %s failed: %s; everything before it is written\n",
                 opt.interface.c_str(), capture_error.c_str());
    return rc != kExitOk ? rc : kExitCapture;
  }
  return rc;
}

}  // namespace tcpscribe
