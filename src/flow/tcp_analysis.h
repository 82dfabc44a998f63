// Per-connection TCP analysis: Zeek's conn_state and history, Wireshark's
// tcp.analysis.* counts, the handshake RTT and the "data after peer FIN"
// finding. Definitions: docs/ANALYSIS.md.
//
// The tracker sees every segment in capture order, before reassembly, and
// keeps only a few scalars per direction (no per-segment storage), so ten
// thousand open connections cost a few megabytes.
//
// Wireshark part: a port of tcp_analyze_sequence_number() (Wireshark 4.0)
// on "next expected" (highest seq+len), "max seq to be acked", the last
// ACK/window of each side and the duplicate-ACK run, except that when
// several retransmission labels apply the one of ANALYSIS.md wins
// (keep-alive > spurious > fast > out-of-order > retransmission); every
// segment gets at most one of those five, so Wireshark's filter
// tcp.analysis.retransmission (also set on fast and spurious ones) equals
// retransmission + fast_retransmission + spurious_retransmission here.
//
// Zeek part: the endpoint state machine of Zeek's TCP analyzer (INACTIVE,
// SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET per side)
// and conn_state() of base/protocols/conn, so states follow Zeek's code
// where the ANALYSIS.md table is a summary (a connection picked up
// midstream and then closed by both FINs is SF, as in Zeek).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcpscribe/segment.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

/// Per-connection analysis state; one per connection, owned by the flow table.
class ConnectionTracker {
 public:
  /// Every segment of the connection, in capture order, before reassembly.
  /// `d` is the segment's direction. Findings to report now go to `findings`.
  void on_segment(Connection& c, Dir d, const Segment& s, std::vector<Finding>& findings);
  /// Once, when the connection ends: fills c.analysis (conn_state, history,
  /// rtt; counts are kept up to date in on_segment) and adds findings that
  /// need the end to be known.
  void on_close(Connection& c, std::vector<Finding>& findings);
  /// A segment of direction `d` failed its checksum (Zeek's `c`). The
  /// decoder does not verify checksums today; this is the hook if it does.
  void on_bad_checksum(Connection& c, Dir d);
  /// Bytes of direction `d` that the capture never saw became a gap in its
  /// stream (Zeek's content gap, `g`); the flow table's reassembly knows.
  void on_content_gap(Connection& c, Dir d);

  /// Zeek's per-endpoint TCP state.
  enum class EndpointState : uint8_t {
    kInactive, kSynSent, kSynAckSent, kPartial, kEstablished, kClosed, kReset
  };
  EndpointState state(Dir d) const { return dir_[index_of(d)].state; }

 private:
  /// A logarithmic history letter (Zeek's ScaledHistoryEntry): the 1st,
  /// 10th, 100th ... event adds the letter.
  struct Scaled {
    uint32_t count = 0;
    uint32_t threshold = 1;
    bool step();
  };
  struct DirState {
    // Wireshark's sequence analysis.
    bool seen = false;
    bool next_known = false;
    bool tobeacked_known = false;
    bool ack_known = false;
    bool window_known = false;
    uint32_t next_seq = 0;       ///< highest seq + len (+1 for SYN/FIN)
    uint32_t max_seq_to_be_acked = 0;
    uint32_t last_ack = 0;
    uint32_t first_ack = 0;      ///< this side's first ACK (for a peer the capture never shows)
    uint16_t window = 0;
    uint8_t last_marks = 0;      ///< keep-alive / zero-window-probe of the last segment
    uint32_t dupacks = 0;        ///< duplicate ACKs in a row
    Timestamp next_seq_ts = 0;   ///< when next_seq last advanced
    Timestamp last_ack_ts = 0;
    // Stream offsets (for findings): the first byte's sequence number and
    // how often next_seq wrapped past it.
    bool base_known = false;
    uint32_t base_seq = 0;
    uint32_t wraps = 0;
    // Zeek.
    EndpointState state = EndpointState::kInactive;
    EndpointState prev_state = EndpointState::kInactive;
    uint8_t hist_seen = 0;       ///< letters that appear once per direction
    bool payload_seen = false;
    uint32_t hist_last_syn = 0, hist_last_fin = 0, hist_last_rst = 0;
    Scaled checksum, gap, rexmit, zero_win;
    // Handshake and closing.
    uint32_t isn = 0;            ///< SYN's sequence number (syn_seen)
    bool syn_seen = false;
    Timestamp last_syn_ts = 0;   ///< most recent SYN (retransmissions move it)
    bool fin_seen = false;
    bool rst_seen = false;
    Timestamp fin_ts = 0;        ///< first FIN
    // Data sent after the peer's FIN (this direction is the sender).
    uint64_t after_fin_bytes = 0;
    uint64_t after_fin_offset = 0;
    Timestamp after_fin_ts = 0;
    uint64_t answer_bytes = 0;   ///< payload the peer sent after that data
    uint16_t after_fin_tls = 0;  ///< size of the TLS alert record it starts with, 0: none
    bool answer_rst = false;
    bool after_fin_reported = false;
  };

  /// Stream offset of `seq`, a sequence number near next_seq.
  static uint64_t offset_of(const DirState& ds, uint32_t seq);
  void analyze_sequence(Connection& c, Dir d, const Segment& s);
  void update_state(Dir d, const Segment& s, uint32_t len);
  void update_history(Connection& c, Dir d, const Segment& s, uint32_t len);
  void add_history(Connection& c, Dir d, char code);
  /// Adds the letter the first time only; returns true if it was seen before.
  bool check_history(Connection& c, Dir d, uint8_t bit, char code);
  void track_data_after_fin(const Connection& c, Dir d, const Segment& s,
                            uint64_t new_bytes, uint64_t offset, std::vector<Finding>& findings);
  void report_data_after_fin(const Connection& c, Dir d, std::vector<Finding>& findings);
  /// Bytes of direction `d` its peer acknowledged beyond the capture's last
  /// packet of `d` (all of them when the capture holds none of its packets).
  uint64_t unseen_acked(Dir d) const;
  void report_unseen_acked(Connection& c, std::vector<Finding>& findings);
  std::string conn_state(const Connection& c) const;

  DirState dir_[2];
  bool any_packet_ = false;
  bool server_synack_ = false;  ///< the responder's SYN-ACK was seen
  uint32_t server_isn_ = 0;
  Timestamp rtt_ = -1;
};

}  // namespace tcpscribe
