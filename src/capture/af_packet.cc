#include "af_packet.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#ifdef __linux__
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#endif

namespace tcpscribe {
namespace {

// Field offsets of struct tpacket_block_desc (its tpacket_hdr_v1) and of
// struct tpacket3_hdr; checked against <linux/if_packet.h> below where it
// exists. The walker itself needs no kernel header, so it is fuzzed
// anywhere.
constexpr size_t kNumPkts = 12;
constexpr size_t kOffsetToFirst = 16;
constexpr size_t kBlkLen = 20;
constexpr size_t kNextOffset = 0;
constexpr size_t kSec = 4;
constexpr size_t kNsec = 8;
constexpr size_t kSnaplen = 12;
constexpr size_t kLen = 16;
constexpr size_t kStatus = 20;
constexpr size_t kMac = 24;
constexpr size_t kVlanTci = 32;
constexpr size_t kVlanTpid = 36;
constexpr size_t kPkttype = 48 + 10;  // sockaddr_ll after the header: sll_pkttype
constexpr size_t kSllEnd = 48 + 20;
constexpr uint32_t kStatusVlanValid = 0x10;      // TP_STATUS_VLAN_VALID
constexpr uint32_t kStatusVlanTpidValid = 0x40;  // TP_STATUS_VLAN_TPID_VALID

#ifdef __linux__
static_assert(sizeof(tpacket_block_desc) == BlockWalker::kBlockHeader);
static_assert(offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, num_pkts) == kNumPkts);
static_assert(offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, offset_to_first_pkt) ==
              kOffsetToFirst);
static_assert(offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, blk_len) == kBlkLen);
static_assert(sizeof(tpacket3_hdr) == BlockWalker::kPacketHeader);
static_assert(offsetof(tpacket3_hdr, tp_next_offset) == kNextOffset);
static_assert(offsetof(tpacket3_hdr, tp_sec) == kSec);
static_assert(offsetof(tpacket3_hdr, tp_nsec) == kNsec);
static_assert(offsetof(tpacket3_hdr, tp_snaplen) == kSnaplen);
static_assert(offsetof(tpacket3_hdr, tp_len) == kLen);
static_assert(offsetof(tpacket3_hdr, tp_status) == kStatus);
static_assert(offsetof(tpacket3_hdr, tp_mac) == kMac);
static_assert(offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tci) ==
              kVlanTci);
static_assert(offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tpid) ==
              kVlanTpid);
static_assert(TPACKET_ALIGN(sizeof(tpacket3_hdr)) + offsetof(sockaddr_ll, sll_pkttype) == kPkttype);
static_assert(TPACKET_ALIGN(sizeof(tpacket3_hdr)) + sizeof(sockaddr_ll) == kSllEnd);
static_assert(TP_STATUS_VLAN_VALID == kStatusVlanValid);
static_assert(TP_STATUS_VLAN_TPID_VALID == kStatusVlanTpidValid);
#endif

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

BlockWalker::BlockWalker(std::span<const uint8_t> block) : block_(block) {
  if (block_.size() < kBlockHeader) {
    fail("block of " + std::to_string(block_.size()) + " bytes, shorter than its header");
    return;
  }
  declared_ = load32(block_.data() + kNumPkts);
  const uint32_t blk_len = load32(block_.data() + kBlkLen);
  if (blk_len > block_.size()) {
    fail("block length " + std::to_string(blk_len) + " past the block's " +
         std::to_string(block_.size()) + " bytes");
    return;
  }
  offset_ = load32(block_.data() + kOffsetToFirst);
  if (declared_ > 0 && offset_ < kBlockHeader) {
    fail("first packet at " + std::to_string(offset_) + ", inside the block header");
  }
}

bool BlockWalker::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool BlockWalker::next(RingPacket& out) {
  if (damaged() || read_ >= declared_) return false;
  const size_t size = block_.size();
  // Only built when something is wrong: this runs once per packet.
  const auto at = [&] { return "packet " + std::to_string(read_) + " at " + std::to_string(offset_); };
  if (offset_ > size || size - offset_ < kPacketHeader) {
    return fail(at() + ": header past the block's end");
  }
  const uint8_t* h = block_.data() + offset_;
  const uint32_t caplen = load32(h + kSnaplen);
  const uint32_t origlen = load32(h + kLen);
  const uint32_t nsec = load32(h + kNsec);
  const uint16_t mac = load16(h + kMac);
  if (mac < kPacketHeader) return fail(at() + ": data inside its own header");
  if (size - offset_ < static_cast<size_t>(mac) + caplen) {
    return fail(at() + ": " + std::to_string(caplen) + " bytes past the block's end");
  }
  if (caplen > origlen) return fail(at() + ": more bytes captured than on the wire");
  if (nsec >= kNanosPerSecond) return fail(at() + ": nanoseconds " + std::to_string(nsec));
  out = RingPacket{};
  out.ts = static_cast<Timestamp>(load32(h + kSec)) * kNanosPerSecond + nsec;
  out.caplen = caplen;
  out.origlen = origlen;
  out.data = h + mac;
  if (mac >= kSllEnd) out.pkttype = h[kPkttype];
  const uint32_t status = load32(h + kStatus);
  if (status & kStatusVlanValid) {
    out.vlan = true;
    out.vlan_tci = static_cast<uint16_t>(load32(h + kVlanTci));
    out.vlan_tpid = (status & kStatusVlanTpidValid) ? load16(h + kVlanTpid) : 0x8100;
  }
  if (read_ + 1 < declared_) {
    // The next record must start after this one's bytes: never backwards,
    // never on itself, so the walk ends within the block.
    const uint32_t step = load32(h + kNextOffset);
    if (step < static_cast<size_t>(mac) + caplen) {
      fail(at() + ": next record at +" + std::to_string(step) + ", inside this one");
    } else {
      offset_ += step;
    }
  }
  ++read_;
  return true;
}

bool RingMerger::Later::operator()(const Held& a, const Held& b) const {
  if (a.p.ts != b.p.ts) return a.p.ts > b.p.ts;
  if (a.p.ring != b.p.ring) return a.p.ring > b.p.ring;
  return a.position > b.position;
}

void RingMerger::add_block(uint32_t ring, size_t index, std::span<const RingPacket> packets,
                           Clock::time_point now) {
  const uint64_t id = first_block_ + blocks_.size();
  blocks_.push_back({{ring, index}, now, packets.size()});
  if (positions_.size() <= ring) positions_.resize(ring + 1, 0);
  for (const RingPacket& p : packets) {
    Held h{p, positions_[ring]++, id};
    h.p.ring = ring;
    heap_.push(h);
  }
  if (packets.empty()) {
    blocks_.back().remaining = 0;
    done_.push_back({ring, index});
  }
}

size_t RingMerger::emit(Clock::time_point now, bool all,
                        const std::function<void(const RingPacket&)>& out) {
  size_t n = 0;
  while (!heap_.empty()) {
    const Held& top = heap_.top();
    Block& b = block(top.block);
    if (!all && now - b.taken < hold_) break;
    out(top.p);
    ++n;
    if (--b.remaining == 0) done_.push_back(b.ref);
    heap_.pop();
  }
  while (!blocks_.empty() && blocks_.front().remaining == 0) {
    blocks_.pop_front();
    ++first_block_;
  }
  return n;
}

std::vector<RingMerger::BlockRef> RingMerger::done() {
  std::vector<BlockRef> d;
  d.swap(done_);
  return d;
}

RingMerger::Clock::time_point RingMerger::next_ready() const {
  if (heap_.empty()) return Clock::time_point::max();
  const Held& top = heap_.top();
  return blocks_[static_cast<size_t>(top.block - first_block_)].taken + hold_;
}

FanoutCapture::~FanoutCapture() { close_all(); }

bool FanoutCapture::fail(FanoutFailure why, std::string text) {
  failure_ = why;
  error_ = std::move(text);
  close_all();
  return false;
}

#ifdef __linux__

namespace {

// The interface's own drops as libpcap counts them (its ps_ifdrop, only in
// promiscuous mode): missed and FIFO errors from sysfs; -1 when unknown.
int64_t interface_drops(const std::string& name) {
  int64_t sum = 0;
  for (const char* stat : {"rx_missed_errors", "rx_fifo_errors"}) {
    std::ifstream in("/sys/class/net/" + name + "/statistics/" + stat);
    int64_t v = 0;
    if (!(in >> v)) return -1;
    sum += v;
  }
  return sum;
}

void release(uint8_t* block) {
  auto* status = reinterpret_cast<uint32_t*>(block + offsetof(tpacket_block_desc, hdr) +
                                             offsetof(tpacket_hdr_v1, block_status));
  __atomic_store_n(status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
}

bool user_owns(const uint8_t* block) {
  const auto* status = reinterpret_cast<const uint32_t*>(
      block + offsetof(tpacket_block_desc, hdr) + offsetof(tpacket_hdr_v1, block_status));
  return (__atomic_load_n(status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

bool attach(int fd, const sock_filter* insns, size_t n) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(n);
  prog.filter = const_cast<sock_filter*>(insns);
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

constexpr sock_filter kDropAll[] = {{BPF_RET | BPF_K, 0, 0, 0}};

}  // namespace

void FanoutCapture::close_all() {
  for (Ring& r : rings_) {
    if (r.map) munmap(r.map, block_size_ * block_nr_);
    if (r.fd >= 0) ::close(r.fd);
  }
  rings_.clear();
}

bool FanoutCapture::open_socket(const FanoutConfig& cfg, int ifindex, Ring& ring) {
  // Protocol 0: the socket takes nothing until it is bound, and then only
  // what the filter attached before passes.
  ring.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (ring.fd < 0) {
    if (errno == EPERM || errno == EACCES) {
      return fail(FanoutFailure::kPermission, "socket(AF_PACKET): " + std::string(strerror(errno)));
    }
    return fail(FanoutFailure::kSystem, "socket(AF_PACKET): " + std::string(strerror(errno)));
  }
  const int version = TPACKET_V3;
  if (setsockopt(ring.fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) {
    return fail(FanoutFailure::kNoTpacketV3, strerror(errno));
  }
  if (!attach(ring.fd, kDropAll, 1)) {
    return fail(FanoutFailure::kSystem, "SO_ATTACH_FILTER: " + std::string(strerror(errno)));
  }
  tpacket_req3 req{};
  req.tp_block_size = static_cast<unsigned>(block_size_);
  req.tp_block_nr = static_cast<unsigned>(block_nr_);
  req.tp_frame_size = 2048;
  req.tp_frame_nr = static_cast<unsigned>(block_size_ / 2048 * block_nr_);
  req.tp_retire_blk_tov = static_cast<unsigned>(std::max(1, cfg.block_timeout_ms));
  if (setsockopt(ring.fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
    return fail(FanoutFailure::kSystem, "cannot set up a " + std::to_string(ring_bytes() >> 10) +
                                            " KiB ring (PACKET_RX_RING): " + strerror(errno) +
                                            "; lower --buffer-size");
  }
  void* m = mmap(nullptr, ring_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd, 0);
  if (m == MAP_FAILED) {
    return fail(FanoutFailure::kSystem, "cannot map the ring: " + std::string(strerror(errno)) +
                                            "; lower --buffer-size");
  }
  ring.map = static_cast<uint8_t*>(m);
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(ring.fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
    if (errno == ENODEV || errno == ENXIO) return fail(FanoutFailure::kNoSuchInterface, strerror(errno));
    if (errno == ENETDOWN) return fail(FanoutFailure::kInterfaceDown, strerror(errno));
    return fail(FanoutFailure::kSystem, "bind: " + std::string(strerror(errno)));
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(ring.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
    if (err == ENETDOWN) return fail(FanoutFailure::kInterfaceDown, strerror(err));
    return fail(FanoutFailure::kSystem, "bind: " + std::string(strerror(err)));
  }
  return true;
}

bool FanoutCapture::join_group(Ring& ring, bool first) {
  const uint32_t mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG;
  if (first) {
    // The kernel picks an id no other group uses, so this group never
    // shares packets with another program's.
    uint32_t val = (mode | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
    if (setsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof val) == 0) {
      socklen_t len = sizeof val;
      if (getsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT, &val, &len) != 0) {
        return fail(FanoutFailure::kNoFanout, "reading the fanout group: " +
                                                  std::string(strerror(errno)));
      }
      group_id_ = static_cast<uint16_t>(val & 0xffff);
      return true;
    }
    // Before Linux 4.4 there is no UNIQUEID: the process id, as most
    // fanout users do.
    group_id_ = static_cast<uint16_t>(getpid() & 0xffff);
  }
  const uint32_t val = group_id_ | (mode << 16);
  if (setsockopt(ring.fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof val) != 0) {
    return fail(FanoutFailure::kNoFanout, strerror(errno));
  }
  return true;
}

bool FanoutCapture::open(const FanoutConfig& cfg) {
  close_all();
  merger_ = RingMerger(std::chrono::milliseconds(4 * std::max(1, cfg.block_timeout_ms)));
  failure_ = FanoutFailure::kNone;
  error_.clear();
  stats_ = FanoutStats{};
  interface_ = cfg.interface;
  promiscuous_ = cfg.promiscuous;
  snaplen_ = cfg.snaplen;
  if (cfg.rings == 0) return fail(FanoutFailure::kSystem, "no rings asked for");
  if (cfg.interface.empty() || cfg.interface == "any") {
    return fail(FanoutFailure::kLinkType, "'any' has no single link type to fan out");
  }
  if (cfg.interface.size() >= IFNAMSIZ) {
    return fail(FanoutFailure::kNoSuchInterface, "name longer than the kernel allows");
  }
  const unsigned ifindex = if_nametoindex(cfg.interface.c_str());
  if (ifindex == 0) return fail(FanoutFailure::kNoSuchInterface, strerror(errno));

  // The link type and state, asked on a socket of the kind we need (so a
  // missing CAP_NET_RAW shows here first).
  {
    Ring probe;
    probe.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (probe.fd < 0) {
      const int e = errno;
      return fail(e == EPERM || e == EACCES ? FanoutFailure::kPermission : FanoutFailure::kSystem,
                  "socket(AF_PACKET): " + std::string(strerror(e)));
    }
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, cfg.interface.c_str(), cfg.interface.size());
    const bool hw = ioctl(probe.fd, SIOCGIFHWADDR, &ifr) == 0;
    const int family = ifr.ifr_hwaddr.sa_family;
    const bool flags = ioctl(probe.fd, SIOCGIFFLAGS, &ifr) == 0;
    const bool up = flags && (ifr.ifr_flags & IFF_UP);
    ::close(probe.fd);
    if (!hw) return fail(FanoutFailure::kSystem, "SIOCGIFHWADDR: " + std::string(strerror(errno)));
    loopback_ = family == ARPHRD_LOOPBACK;
    // libpcap's mapping: loopback frames carry an Ethernet header of zeros.
    if (family != ARPHRD_ETHER && family != ARPHRD_LOOPBACK) {
      return fail(FanoutFailure::kLinkType, "hardware type " + std::to_string(family) +
                                                " is not Ethernet");
    }
    if (flags && !up) return fail(FanoutFailure::kInterfaceDown, "interface is down");
  }
  linktype_ = DLT_EN10MB;

  // The filter, compiled for the link type; it also cuts packets to the
  // snapshot length (its accepting return value).
  {
    pcap_t* dead = pcap_open_dead(linktype_, cfg.snaplen);
    if (!dead) return fail(FanoutFailure::kSystem, "pcap_open_dead failed");
    bpf_program prog{};
    if (pcap_compile(dead, &prog, cfg.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string why = pcap_geterr(dead);
      pcap_close(dead);
      return fail(FanoutFailure::kFilter, why);
    }
    static_assert(sizeof(bpf_insn) == sizeof(sock_filter));
    program_.assign(reinterpret_cast<const uint8_t*>(prog.bf_insns),
                    reinterpret_cast<const uint8_t*>(prog.bf_insns + prog.bf_len));
    pcap_freecode(&prog);
    pcap_close(dead);
  }

  // Ring geometry: the buffer shared out; 1 MiB blocks (a block must hold
  // the largest packet: 64 KiB and more with offloads), smaller when a
  // ring would have fewer than 8, never under two blocks of 128 KiB.
  const size_t per_ring = cfg.buffer_bytes / cfg.rings;
  block_size_ = 1u << 20;
  while (block_size_ > (128u << 10) && per_ring / block_size_ < 8) block_size_ >>= 1;
  block_nr_ = std::max<size_t>(2, per_ring / block_size_);

  rings_.resize(cfg.rings);
  for (size_t i = 0; i < rings_.size(); ++i) {
    if (!open_socket(cfg, static_cast<int>(ifindex), rings_[i])) return false;
    if (!join_group(rings_[i], i == 0)) return false;
  }
  if (cfg.promiscuous) {
    packet_mreq mr{};
    mr.mr_ifindex = static_cast<int>(ifindex);
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(rings_[0].fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) != 0) {
      return fail(FanoutFailure::kSystem, "promiscuous mode: " + std::string(strerror(errno)));
    }
    if_drops_at_open_ = interface_drops(interface_);
  }
  // Every socket is in the group: now the real filter. Whatever a ring
  // holds from before (nothing passes the drop-all filter; a block the
  // kernel retired anyway) is given back first.
  const auto* insns = reinterpret_cast<const sock_filter*>(program_.data());
  const size_t n_insns = program_.size() / sizeof(sock_filter);
  for (Ring& r : rings_) {
    for (size_t b = 0; b < block_nr_; ++b) {
      if (user_owns(block(r, b))) release(block(r, b));
    }
    if (!attach(r.fd, insns, n_insns)) {
      return fail(FanoutFailure::kSystem, "SO_ATTACH_FILTER: " + std::string(strerror(errno)));
    }
  }
  stats_.per_ring.assign(rings_.size(), 0);
  return true;
}

int FanoutCapture::dispatch(const std::function<void(const RingPacket&)>& on_packet,
                            int timeout_ms) {
  if (rings_.empty()) {
    error_ = "the capture is not open";
    return -1;
  }
  bool any = false;
  for (const Ring& r : rings_) {
    any = any || (r.held < block_nr_ && user_owns(block(r, r.next_block)));
  }
  if (!any) {
    // Wake up when the earliest held packet is due, if that comes first.
    const auto now = RingMerger::Clock::now();
    const auto due = merger_.next_ready();
    if (due != RingMerger::Clock::time_point::max()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(std::max(due - now, RingMerger::Clock::duration{0}));
      timeout_ms = std::min<int>(timeout_ms, static_cast<int>(wait.count()));
    }
    std::vector<pollfd> fds(rings_.size());
    for (size_t i = 0; i < rings_.size(); ++i) fds[i] = {rings_[i].fd, POLLIN, 0};
    const int rc = poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) {
      error_ = "poll: " + std::string(strerror(errno));
      return -1;
    }
    for (const pollfd& f : fds) {
      if (!(f.revents & (POLLERR | POLLHUP | POLLNVAL))) continue;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == ENETDOWN) {
        error_ = "the interface went down";
      } else if (err == ENODEV || err == ENXIO) {
        error_ = "the interface disappeared";
      } else {
        error_ = err ? strerror(err) : "the socket failed";
      }
      return -1;
    }
  }
  const auto now = RingMerger::Clock::now();
  for (size_t ri = 0; ri < rings_.size(); ++ri) {
    Ring& r = rings_[ri];
    // A block still held for the merge is the user's too: never taken twice.
    while (r.held < block_nr_ && user_owns(block(r, r.next_block))) {
      BlockWalker walk({block(r, r.next_block), block_size_});
      taken_.clear();
      RingPacket p;
      while (walk.next(p)) {
        // On loopback every packet passes twice, going out and coming in.
        if (loopback_ && p.pkttype == PACKET_OUTGOING) continue;
        taken_.push_back(p);
      }
      if (walk.damaged()) ++stats_.damaged_blocks;
      merger_.add_block(static_cast<uint32_t>(ri), r.next_block, taken_, now);
      ++r.held;
      r.next_block = (r.next_block + 1) % block_nr_;
    }
  }
  return emit(on_packet, false);
}

int FanoutCapture::flush(const std::function<void(const RingPacket&)>& on_packet) {
  return emit(on_packet, true);
}

int FanoutCapture::emit(const std::function<void(const RingPacket&)>& on_packet, bool all) {
  const size_t n = merger_.emit(RingMerger::Clock::now(), all, [&](const RingPacket& p) {
    ++stats_.per_ring[p.ring];
    on_packet(p);
  });
  for (const RingMerger::BlockRef& b : merger_.done()) {
    release(block(rings_[b.ring], b.index));
    --rings_[b.ring].held;
  }
  return static_cast<int>(n);
}

FanoutStats FanoutCapture::stats() {
  for (const Ring& r : rings_) {
    // Reading resets the socket's counters, so they are summed here.
    tpacket_stats_v3 st{};
    socklen_t len = sizeof st;
    if (getsockopt(r.fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
      stats_.received += st.tp_packets;  // the kernel counts drops in it
      stats_.dropped += st.tp_drops;
    }
  }
  if (promiscuous_ && if_drops_at_open_ >= 0) {
    const int64_t now = interface_drops(interface_);
    if (now >= if_drops_at_open_) {
      stats_.interface_dropped = static_cast<uint64_t>(now - if_drops_at_open_);
    }
  }
  return stats_;
}

#else  // not Linux: no AF_PACKET

void FanoutCapture::close_all() { rings_.clear(); }

bool FanoutCapture::open(const FanoutConfig&) {
  return fail(FanoutFailure::kSystem, "AF_PACKET fanout is Linux only");
}

int FanoutCapture::dispatch(const std::function<void(const RingPacket&)>&, int) {
  error_ = "AF_PACKET fanout is Linux only";
  return -1;
}

int FanoutCapture::flush(const std::function<void(const RingPacket&)>&) { return 0; }

FanoutStats FanoutCapture::stats() { return stats_; }

#endif

}  // namespace tcpscribe
