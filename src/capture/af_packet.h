// Live capture through AF_PACKET on Linux, for --threads N > 1: a fanout
// group of N TPACKET_V3 sockets on one interface, one memory-mapped ring
// each. The kernel spreads packets over the rings by a symmetric hash of
// the connection (PACKET_FANOUT_HASH; PACKET_FANOUT_FLAG_DEFRAG so that IP
// fragments hash as their datagram), so a connection's packets always land
// in the same ring. libpcap cannot fan out, so the sockets are opened here;
// libpcap only compiles the filter (pcap_compile on pcap_open_dead), which
// is attached to every socket.
//
// The block walker (BlockWalker) reads the bytes the kernel wrote into a
// ring's block and trusts none of its offsets: it is a parser, fuzzed by
// fuzz/fuzz_af_packet_block.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// One packet of a ring: where its bytes are, as the kernel described them.
struct RingPacket {
  Timestamp ts = 0;
  uint32_t caplen = 0;   ///< bytes at `data`
  uint32_t origlen = 0;  ///< bytes on the wire
  const uint8_t* data = nullptr;
  uint32_t ring = 0;     ///< which socket of the group it came from
  /// The kernel took an 802.1Q/802.1ad tag out of the frame (VLAN
  /// acceleration): it belongs after the two MAC addresses, as libpcap
  /// puts it back.
  bool vlan = false;
  uint16_t vlan_tpid = 0;
  uint16_t vlan_tci = 0;
  /// sockaddr_ll's sll_pkttype (PACKET_HOST, PACKET_OUTGOING, ...); 0xff
  /// when the record has no room for it.
  uint8_t pkttype = 0xff;
};

/// The packets of one TPACKET_V3 block (struct tpacket_block_desc, then
/// struct tpacket3_hdr records chained by tp_next_offset). Every offset is
/// checked against the block's size: a packet is returned only when its
/// header and its bytes lie inside the block, and a record chain that
/// points outside the block, backwards or into the previous header ends
/// the walk as damaged (the packets before stay valid).
class BlockWalker {
 public:
  /// Header size the walker needs to find the first packet.
  static constexpr size_t kBlockHeader = 48;  // sizeof(struct tpacket_block_desc)
  static constexpr size_t kPacketHeader = 48;  // sizeof(struct tpacket3_hdr)

  explicit BlockWalker(std::span<const uint8_t> block);
  /// The next packet (ring 0, no VLAN tag unless the record has one);
  /// false at the end of the block or when it is damaged.
  bool next(RingPacket& out);
  bool damaged() const { return !error_.empty(); }
  /// What is wrong with the block (empty when it is fine).
  const std::string& error() const { return error_; }
  /// Packets the block header announces.
  uint32_t declared() const { return declared_; }

 private:
  bool fail(std::string why);

  std::span<const uint8_t> block_;
  uint32_t declared_ = 0;
  uint32_t read_ = 0;
  size_t offset_ = 0;  // of the next tpacket3_hdr
  std::string error_;
};

/// Merges the rings' packets into one stream in timestamp order. A ring
/// hands over a block when it is full or when its timeout (10 ms) passes,
/// so a packet taken from one ring may still have earlier ones waiting in
/// another ring's open block: each packet is held until its block was
/// taken `hold` ago (longer than two block timeouts: by then every earlier
/// packet of every ring has been taken too), then released in (time, ring,
/// position in the ring) order. The blocks stay the kernel's memory: one is
/// given back once all its packets are released.
class RingMerger {
 public:
  using Clock = std::chrono::steady_clock;
  struct BlockRef {
    uint32_t ring;
    size_t index;
  };

  explicit RingMerger(Clock::duration hold) : hold_(hold) {}
  /// A block taken from `ring` at `now`, its packets in ring order.
  void add_block(uint32_t ring, size_t index, std::span<const RingPacket> packets, Clock::time_point now);
  /// Hands on, in order, every packet whose block was taken `hold` before
  /// `now` and that no held packet should precede; with `all`, every
  /// packet held. Returns how many.
  size_t emit(Clock::time_point now, bool all, const std::function<void(const RingPacket&)>& out);
  /// The blocks all of whose packets were handed on since the last call.
  std::vector<BlockRef> done();
  /// When the earliest held packet may go; Clock::time_point::max() when
  /// nothing is held.
  Clock::time_point next_ready() const;
  size_t held_packets() const { return heap_.size(); }
  size_t held_blocks() const { return blocks_.size(); }

 private:
  struct Block {
    BlockRef ref;
    Clock::time_point taken;
    size_t remaining;
  };
  struct Held {
    RingPacket p;
    uint64_t position;  // in its ring
    uint64_t block;     // id
  };
  struct Later {
    bool operator()(const Held& a, const Held& b) const;
  };
  Block& block(uint64_t id) { return blocks_[static_cast<size_t>(id - first_block_)]; }

  Clock::duration hold_;
  std::priority_queue<Held, std::vector<Held>, Later> heap_;
  std::deque<Block> blocks_;  // in the order taken; ids first_block_, first_block_ + 1, ...
  uint64_t first_block_ = 0;
  std::vector<uint64_t> positions_;  // next position per ring
  std::vector<BlockRef> done_;
};

/// Why a fanout group could not be opened.
enum class FanoutFailure {
  kNone,
  kPermission,       ///< no CAP_NET_RAW
  kNoSuchInterface,
  kInterfaceDown,
  kNoTpacketV3,      ///< the kernel has no TPACKET_V3 rings (before Linux 3.2)
  kNoFanout,         ///< the kernel refused PACKET_FANOUT
  kLinkType,         ///< not an Ethernet or loopback interface (libpcap's path handles it)
  kFilter,           ///< the filter does not compile
  kSystem,           ///< anything else (memory for the rings, ...)
};

struct FanoutConfig {
  std::string interface;
  size_t rings = 2;
  /// Bytes of ring memory in all, shared out between the rings (each gets
  /// at least two 128 KiB blocks).
  size_t buffer_bytes = 64u << 20;
  int snaplen = 262144;
  bool promiscuous = true;
  std::string filter;  ///< BPF expression; empty: every packet
  /// A block that is not full is handed over after this long, so a quiet
  /// capture's packets still come promptly.
  int block_timeout_ms = 10;
};

struct FanoutStats {
  uint64_t received = 0;            ///< packets the filters passed (drops included)
  uint64_t dropped = 0;             ///< rings full
  uint64_t interface_dropped = 0;   ///< the interface's own drops (promiscuous mode only)
  std::vector<uint64_t> per_ring;   ///< packets read from each ring
  uint64_t damaged_blocks = 0;      ///< blocks the walker refused (never seen from a sane kernel)
};

/// A fanout group of TPACKET_V3 sockets, read as one stream in timestamp
/// order. Linux only; elsewhere open() fails with kSystem.
class FanoutCapture {
 public:
  FanoutCapture() = default;
  ~FanoutCapture();
  FanoutCapture(const FanoutCapture&) = delete;
  FanoutCapture& operator=(const FanoutCapture&) = delete;

  /// Opens the group: every socket gets the filter before it is bound, so
  /// no packet reaches a ring unfiltered, and joins the group before its
  /// real filter is set (until then it takes nothing), so no packet is seen
  /// twice. False with failure() and error() set.
  bool open(const FanoutConfig& cfg);
  FanoutFailure failure() const { return failure_; }
  const std::string& error() const { return error_; }
  int linktype() const { return linktype_; }
  int snaplen() const { return snaplen_; }
  size_t rings() const { return rings_.size(); }
  size_t ring_bytes() const { return block_size_ * block_nr_; }

  /// Waits up to `timeout_ms` until a ring has a block ready, takes the
  /// ready blocks of all rings, and hands every packet that is due to
  /// `on_packet` in timestamp order (RingMerger); blocks whose packets
  /// are all handed on go back to the kernel. Returns the number of
  /// packets, or -1 when the capture failed (error()).
  int dispatch(const std::function<void(const RingPacket&)>& on_packet, int timeout_ms);
  /// At the end: every packet still held, in order.
  int flush(const std::function<void(const RingPacket&)>& on_packet);
  /// The kernel's counts since open(): every socket's PACKET_STATISTICS,
  /// summed, and what was read from each ring.
  FanoutStats stats();

 private:
  struct Ring {
    int fd = -1;
    uint8_t* map = nullptr;
    size_t next_block = 0;
    size_t held = 0;  // blocks taken and not yet given back: the ring may wrap onto them
  };
  bool fail(FanoutFailure why, std::string text);
  bool open_socket(const FanoutConfig& cfg, int ifindex, Ring& ring);
  bool join_group(Ring& ring, bool first);
  int emit(const std::function<void(const RingPacket&)>& on_packet, bool all);
  uint8_t* block(const Ring& r, size_t i) const { return r.map + i * block_size_; }
  void close_all();

  std::vector<Ring> rings_;
  size_t block_size_ = 0;
  size_t block_nr_ = 0;
  int linktype_ = 0;
  int snaplen_ = 0;
  uint16_t group_id_ = 0;
  std::string interface_;
  bool promiscuous_ = false;
  int64_t if_drops_at_open_ = -1;
  FanoutStats stats_;
  bool loopback_ = false;  // outgoing packets show twice there: libpcap skips them
  RingMerger merger_{std::chrono::milliseconds(40)};
  std::vector<RingPacket> taken_;
  std::vector<uint8_t> program_;                 // the compiled filter (struct sock_filter[])
  FanoutFailure failure_ = FanoutFailure::kNone;
  std::string error_;
};

}  // namespace tcpscribe
