// The events every output consumes: files, console, reports, netrecord logs.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "tcpscribe/flow_key.h"
#include "tcpscribe/packet.h"
#include "tcpscribe/segment.h"

namespace tcpscribe {

enum class Dir : uint8_t { kClientToServer = 0, kServerToClient = 1 };

inline Dir reverse(Dir d) {
  return d == Dir::kClientToServer ? Dir::kServerToClient : Dir::kClientToServer;
}
inline int index_of(Dir d) { return static_cast<int>(d); }

/// Why a connection ended, as far as tcpscribe is concerned.
enum class CloseReason {
  kFin,           ///< both sides closed (FIN), everything delivered
  kRst,           ///< a reset ended it
  kIdle,          ///< no packet for the idle timeout (capture time)
  kEndOfInput,    ///< the capture ended with the connection open
  kReused,        ///< a new SYN on the same 4-tuple replaced it
  kEvicted,       ///< the flow-table cap forced it out
};

const char* to_string(CloseReason r);

struct DirectionStats {
  uint64_t packets = 0;
  uint64_t payload_bytes = 0;     ///< payload bytes in captured packets, copies included
  uint64_t delivered_bytes = 0;   ///< unique bytes handed to sinks
  uint64_t gap_bytes = 0;         ///< bytes of holes handed to sinks as gaps
  uint64_t retransmitted_bytes = 0;
  uint64_t conflicting_overlaps = 0;  ///< overlaps whose bytes differed
  uint64_t dropped_bytes = 0;     ///< bytes refused by a cap (-b, buffers)
  Timestamp first_ts = 0;
  Timestamp last_ts = 0;
  bool syn = false;
  bool fin = false;
  bool rst = false;
};

/// Counts and labels from the per-connection TCP analysis (Zeek's
/// conn_state and history, Wireshark's tcp.analysis.* counts), filled in by
/// the analysis tracker (tcp_analysis.h) and complete at on_close.
/// Definitions: docs/ANALYSIS.md.
struct TcpAnalysisCounts {
  uint64_t retransmission = 0;
  uint64_t fast_retransmission = 0;
  uint64_t spurious_retransmission = 0;
  uint64_t out_of_order = 0;
  uint64_t lost_segment = 0;
  uint64_t ack_lost_segment = 0;
  uint64_t duplicate_ack = 0;
  uint64_t zero_window = 0;
  uint64_t keep_alive = 0;
};

/// The counts with the names the reports give them, in report order.
inline std::array<std::pair<const char*, uint64_t>, 9> named_counts(const TcpAnalysisCounts& n) {
  return {{{"retransmission", n.retransmission},
           {"fast_retransmission", n.fast_retransmission},
           {"spurious_retransmission", n.spurious_retransmission},
           {"out_of_order", n.out_of_order},
           {"lost_segment", n.lost_segment},
           {"ack_lost_segment", n.ack_lost_segment},
           {"duplicate_ack", n.duplicate_ack},
           {"zero_window", n.zero_window},
           {"keep_alive", n.keep_alive}}};
}

struct TcpAnalysis {
  std::string conn_state;   ///< S0, S1, SF, REJ, ... OTH
  std::string history;      ///< Zeek history letters
  TcpAnalysisCounts dir[2];
  Timestamp rtt = -1;       ///< SYN -> SYN-ACK -> ACK handshake RTT, -1 unknown
  /// Bytes of each direction the peer acknowledged past the capture's last
  /// packet of that direction (all of it when none was captured).
  uint64_t unseen_acked[2] = {0, 0};
};

/// Something tcpscribe noticed that the bytes alone do not say.
struct Finding {
  enum class Kind {
    kDataAfterPeerFin,    ///< a side sent payload after the peer's FIN was seen
    kTupleReuse,          ///< a new SYN on a 4-tuple that had a connection
    kCaptureGap,          ///< bytes the capture never saw
    kConflictingOverlap,  ///< two copies of the same bytes differ
    kOutOfWindow,         ///< a segment far outside any window, left out
    kHttp,                ///< an HTTP-level finding (text says which)
    kProtocol,            ///< another analyzer's (Redis, PostgreSQL, MySQL): the text names it
  };
  Kind kind = Kind::kCaptureGap;
  Dir dir = Dir::kClientToServer;  ///< the side it concerns
  Timestamp ts = 0;
  uint64_t offset = 0;             ///< stream offset, where it applies
  uint64_t length = 0;             ///< bytes, where it applies
  std::string text;                ///< one line, without the flow name
  /// Worth a "!!" line. False: a fact kept in the reports only (a normal
  /// half-close, a line another finding tells better).
  bool alarm = true;
  /// Routine (a client port reused after a clean close): kept in the
  /// reports and shown with -v, but not a console line of its own.
  bool routine = false;
};

/// What sinks know about a connection. Owned by the flow table; valid from
/// on_open until on_close returns.
struct Connection {
  uint64_t id = 0;           ///< serial, in order of first packet (from 0)
  Endpoint client;           ///< sender of the SYN; without it, see server_ports.h
  Endpoint server;
  int vlan[2] = {-1, -1};    ///< outermost VLAN tag of each direction, -1: none
  uint32_t reuse_index = 0;  ///< 0 for the first connection on a 4-tuple, 1 for c1 ...
  bool handshake_seen = false;  ///< the client's SYN was captured
  Timestamp first_ts = 0;
  Timestamp last_ts = 0;
  Timestamp syn_ts = 0;      ///< client's first SYN (0: not seen)
  Timestamp synack_ts = 0;   ///< server's first SYN-ACK (0: not seen)
  uint64_t previous_id = UINT64_MAX;  ///< the connection this one reused the tuple of
  /// Its files continue (are appended to) earlier ones of the same name:
  /// the rest of a connection --max-flows evicted (previous_id is that
  /// part), or a tuple whose record was dropped (retired_tuples.h).
  bool continues = false;
  DirectionStats dir[2];
  TcpAnalysis analysis;

  const Endpoint& src(Dir d) const { return d == Dir::kClientToServer ? client : server; }
  const Endpoint& dst(Dir d) const { return d == Dir::kClientToServer ? server : client; }
};

/// A consumer of reassembled streams. Offsets count bytes from the start of
/// a direction's stream (the byte after the SYN, or the first byte seen).
/// Within a direction, data and gap events arrive in offset order with no
/// overlap: every offset is covered by exactly one event.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void on_open(const Connection& c) = 0;
  virtual void on_data(const Connection& c, Dir d, uint64_t offset,
                       std::span<const uint8_t> bytes, Timestamp ts) = 0;
  virtual void on_gap(const Connection& c, Dir d, uint64_t offset,
                      uint64_t length, Timestamp ts) = 0;
  /// A direction ended: its FIN was reached in sequence order (after all
  /// its data), or it sent a RST (`reset`). At most once per direction.
  virtual void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
    (void)c, (void)d, (void)reset, (void)ts;
  }
  virtual void on_finding(const Connection& c, const Finding& f) { (void)c, (void)f; }
  virtual void on_close(const Connection& c, CloseReason why) = 0;
  /// Called once the input is exhausted, after every on_close. A sink that
  /// buffers output makes it durable here and reports errors.
  virtual void finish() {}
  /// Why this output failed: one line naming what could not be written and
  /// why, empty while all is well. Asked during the run (a failed output
  /// stops the reading early) and after finish(); every output answers the
  /// same way, so the run checks them all in one loop.
  virtual std::string failure() const { return {}; }
};

/// Sees every TCP segment of a connection, after the flow table and the
/// analysis have handled it (so c.analysis and c.dir[] already count it).
/// For outputs that draw packets rather than bytes (the HTML timeline).
class SegmentObserver {
 public:
  virtual ~SegmentObserver() = default;
  virtual void on_segment(const Connection& c, Dir d, const Segment& s) = 0;
  /// A segment of connection `id` after it closed (after on_close): its
  /// last ACK, a retransmitted FIN. Nothing counts it but the observer.
  virtual void on_segment_after_close(uint64_t id, Dir d, const Segment& s) {
    (void)id, (void)d, (void)s;
  }
};

}  // namespace tcpscribe
