// Helpers shared by the unit tests: crafted packets and a recording sink.
#pragma once

#include <tins/tins.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "capture_file.h"
#include "decode.h"
#include "flow_table.h"
#include "packet_core.h"
#include "tcpscribe/sink.h"

namespace tcpscribe::testing {

/// Everything a sink was told, per connection and direction.
class RecordingSink : public Sink {
 public:
  struct Stream {
    std::string bytes;  // gaps zero-filled
    std::vector<std::pair<uint64_t, uint64_t>> gaps;  // (offset, length)
    uint64_t data_bytes = 0;
    uint64_t skipped = 0;  // huge gaps are not materialised
  };
  struct Conn {
    Connection info;
    Stream dir[2];
    bool closed = false;
    CloseReason reason = CloseReason::kEndOfInput;
  };

  void on_open(const Connection& c) override {
    conns[c.id].info = c;
    order.push_back(c.id);
  }
  void on_data(const Connection& c, Dir d, uint64_t offset,
               std::span<const uint8_t> bytes, Timestamp) override {
    Stream& s = conns[c.id].dir[index_of(d)];
    EXPECT_EQ(offset, s.bytes.size() + s.skipped) << "data out of order";
    s.bytes.append(bytes.begin(), bytes.end());
    s.data_bytes += bytes.size();
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp) override {
    Stream& s = conns[c.id].dir[index_of(d)];
    EXPECT_EQ(offset, s.bytes.size() + s.skipped) << "gap out of order";
    s.gaps.emplace_back(offset, length);
    if (length < (64u << 20)) s.bytes.append(length, '\0');
    else s.skipped += length;
  }
  void on_finding(const Connection& c, const Finding& f) override {
    findings.emplace_back(c.id, f);
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp) override {
    shutdowns.push_back({c.id, d, reset});
  }
  void on_close(const Connection& c, CloseReason why) override {
    Conn& k = conns[c.id];
    EXPECT_FALSE(k.closed) << "closed twice";
    k.info = c;
    k.closed = true;
    k.reason = why;
  }

  std::map<uint64_t, Conn> conns;
  std::vector<uint64_t> order;
  std::vector<std::pair<uint64_t, Finding>> findings;
  std::vector<std::tuple<uint64_t, Dir, bool>> shutdowns;
};

/// Builds Ethernet/IPv4/TCP frames between a client and a server.
class Crafter {
 public:
  Crafter(std::string client = "10.0.0.1", uint16_t cport = 40000,
          std::string server = "10.0.0.2", uint16_t sport = 80)
      : client_(std::move(client)), server_(std::move(server)), cport_(cport),
        sport_(sport) {}

  std::vector<uint8_t> frame(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags,
                             const std::string& payload = "") const {
    Tins::EthernetII eth;
    Tins::IP ip(from_client ? server_ : client_, from_client ? client_ : server_);
    Tins::TCP tcp(from_client ? sport_ : cport_, from_client ? cport_ : sport_);
    tcp.seq(seq);
    tcp.ack_seq(ack);
    tcp.flags(flags);
    tcp.window(65535);
    Tins::PDU* top = &eth;
    eth /= ip;
    if (payload.empty()) {
      eth /= tcp;
    } else {
      eth /= tcp / Tins::RawPDU(payload);
    }
    (void)top;
    return eth.serialize();
  }

 private:
  std::string client_, server_;
  uint16_t cport_, sport_;
};

/// A crafted frame at a capture time; `cut` of its bytes were not captured.
struct TimedFrame {
  Timestamp ts;
  std::vector<uint8_t> bytes;
  uint32_t cut = 0;
};

/// The unit tests' packet core: frames are fed in the order given (no
/// reorder window), with the limits given.
inline PacketCoreConfig core_config(FlowTableLimits limits = {}) {
  PacketCoreConfig config;
  config.reorder_window = 0;
  config.limits = limits;
  return config;
}

/// Feeds frames (Ethernet unless `linktype` says otherwise) into `core`,
/// without finishing, so a test can look at the sinks and the counts
/// before the end of input.
inline void feed_frames(PacketCore& core, const std::vector<TimedFrame>& frames,
                        int linktype = 1) {
  for (const TimedFrame& f : frames) {
    RawPacket p;
    p.ts = f.ts;
    p.linktype = linktype;
    p.caplen = static_cast<uint32_t>(f.bytes.size());
    p.origlen = p.caplen + f.cut;
    p.data = f.bytes.data();
    core.on_packet(p);
  }
}

/// The same, 1 ms apart from 1 s, each whole.
inline void feed_frames(PacketCore& core, const std::vector<std::vector<uint8_t>>& frames,
                        int linktype = 1, Timestamp first = 1'000'000'000) {
  std::vector<TimedFrame> timed;
  for (const auto& f : frames) {
    timed.push_back({first, f});
    first += 1'000'000;
  }
  feed_frames(core, timed, linktype);
}

/// Runs frames through the packet core (in the order given, 1 ms apart),
/// then finishes.
inline void run_frames(const std::vector<std::vector<uint8_t>>& frames, Sink& sink,
                       FlowTableLimits limits = {}, int linktype = 1) {
  PacketCore core(core_config(limits), {&sink});
  feed_frames(core, frames, linktype);
  core.finish();
}

/// Reads a capture file into `core` as `tcpscribe -r` does and releases
/// the reorder window; the caller finishes (so it can look in between).
inline bool feed_capture(const std::string& file, PacketCore& core, std::string& error) {
  auto cap = CaptureFile::open(file, error);
  if (!cap) return false;
  core.add_source(cap->name(), false);
  RawPacket p;
  while (cap->next(p) == ReadStatus::kPacket) core.on_packet(p);
  core.flush();
  return true;
}

}  // namespace tcpscribe::testing
