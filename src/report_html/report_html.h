// --html FILE: one self-contained HTML page that draws every connection on
// a timeline (phases, packets coloured by kind, retransmissions, gaps, zero
// windows, data after the peer's FIN, 4-tuple reuse, HTTP transactions),
// with a sortable connection table and a detail pane (statistics, a
// time/sequence graph, the HTTP waterfall, the first bytes of each side).
//
// The page needs no network: the script and the style are inline (hand-
// written canvas drawing, report_html_assets.cc) and the data is one JSON
// block (<script type="application/json">, every '<' escaped so no byte of
// the capture can end the block). report_html.cc builds the model from the
// events; report_html_page.cc writes it as JSON and wraps the page.
//
// Memory stays bounded whatever the capture: each connection keeps every
// SYN, FIN, RST and marked packet and at most `max_packets_per_connection`
// of the others, halving its sample (keep every 2nd, 4th ...) when full;
// when all connections together hold more than `max_packets` the
// per-connection budget halves for everyone. Marked packets beyond twice
// `max_packets`, connections beyond `max_connections`, HTTP
// transactions beyond `max_http`, other exchanges (Redis, PostgreSQL,
// MySQL) beyond `max_exchanges`, and either beyond
// `max_marks_per_connection` on one connection are counted but not kept.
// The report says whenever it shows a summary.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzer.h"
#include "atomic_file.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct HttpTransaction;

struct HtmlReportLimits {
  size_t max_packets = 200'000;             ///< packets kept in all (sampled above)
  size_t max_packets_per_connection = 4'000;  ///< unmarked packets kept per connection
  size_t max_connections = 50'000;          ///< connections listed (the rest are counted)
  size_t max_http = 100'000;                ///< HTTP transactions kept
  size_t max_exchanges = 100'000;           ///< other exchanges kept (Redis, SQL)
  size_t max_marks_per_connection = 1'000;  ///< HTTP + other exchanges kept per connection
  size_t first_bytes = 2048;                ///< bytes shown from the start of each direction
};

/// What the capture layer knows and the sinks do not (all optional).
struct HtmlCaptureInfo {
  int64_t packets_read = -1;    ///< frames read from the capture(s), -1 unknown
  int64_t kernel_drops = -1;    ///< live: dropped by the kernel, -1 unknown
  int64_t interface_drops = -1; ///< live: dropped by the interface, -1 unknown
};

/// One HTTP request/response pair, as drawn. Times are capture times (ns),
/// 0 where the part is missing.
struct HtmlHttpTransaction {
  uint64_t conn_id = 0;
  uint32_t index = 0;            ///< 1-based on its connection
  uint32_t stream = 0;           ///< HTTP/2: the stream id; 0: HTTP/1
  std::string method;            ///< empty: a response without request
  std::string target;
  std::string host;
  int status = 0;                ///< 0: never answered
  Timestamp request_start = 0;
  Timestamp request_end = 0;
  Timestamp response_start = 0;
  Timestamp response_end = 0;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
};

/// One exchange of another request/response protocol (Redis, PostgreSQL,
/// MySQL), as drawn: from its ExchangeRecord (analyzer.h), texts already
/// redacted and cut to one line.
struct HtmlExchange {
  std::string proto;             ///< "redis"
  std::string request;           ///< "SET user:1 Ada", "query: SELECT 1"
  std::string answer;            ///< "+OK", "SELECT 1"; empty: none
  std::string error;             ///< the error's text; empty: none
  Timestamp start = 0;           ///< the request's first byte
  Timestamp end = 0;             ///< the answer's last byte (the request's if unanswered)
  Timestamp latency = -1;        ///< -1: unanswered
};

/// The exchange as drawn.
HtmlExchange to_html_exchange(const ExchangeRecord& r);

/// The transaction as drawn, from the HTTP analyzer's (http.h).
HtmlHttpTransaction to_html_http(const HttpTransaction& t);

class HtmlReport : public Sink, public SegmentObserver {
 public:
  /// Marks on a packet (bit values, also in the JSON and the page's legend).
  enum Mark : uint16_t {
    kRetransmission = 1,   ///< retransmission, fast or spurious
    kOutOfOrder = 2,
    kGap = 4,              ///< previous segment not captured (lost segment)
    kZeroWindow = 8,
    kDataAfterPeerFin = 16,
    kReuse = 32,           ///< the SYN that reused a 4-tuple
    kDuplicateAck = 64,
    kKeepAlive = 128,
    kAckUnseen = 256,      ///< ACK of a segment the capture lacks
  };
  /// A packet's kind, by the flag that matters most.
  enum Kind : uint8_t { kSyn, kSynAck, kData, kPsh, kFin, kRst, kAck };
  /// Phases of a connection's bar.
  enum Phase : uint8_t { kHandshake, kEstablished, kHalfClosed, kClosed, kReset };

  struct Packet {
    Timestamp ts = 0;
    uint32_t seq = 0;       ///< relative to the direction's first sequence number
    uint32_t ack = 0;       ///< relative to the peer's (0 without ACK)
    uint32_t len = 0;       ///< payload length (missing bytes included)
    uint16_t window = 0;    ///< as sent (unscaled)
    uint16_t marks = 0;
    uint8_t dir = 0;
    uint8_t kind = kAck;
    bool has_ack = false;
  };
  struct PhaseSpan {
    Phase phase;
    Timestamp start;
  };
  struct GapEvent {
    uint8_t dir;
    Timestamp ts;
    uint64_t offset;
    uint64_t length;
  };

  /// Everything kept about one connection.
  struct Conn {
    Connection info;               ///< as at on_close (or at finish), with later segments counted
    std::string close_reason;      ///< empty while open
    std::vector<Packet> packets;   ///< kept packets, in capture order
    uint64_t packets_seen = 0;
    uint32_t stride = 1;           ///< unmarked packets: every stride-th is kept
    uint64_t unmarked_seen = 0;
    size_t unmarked_kept = 0;
    std::vector<PhaseSpan> phases;
    std::vector<Finding> findings;
    std::vector<GapEvent> gaps;
    std::string first[2];          ///< first bytes of each direction, raw
    bool first_cut[2] = {false, false};  ///< a gap or the cap ended first[]
    // Segment-derived state while open.
    bool base_known[2] = {false, false};
    uint32_t base[2] = {0, 0};
    TcpAnalysisCounts last_counts[2];
    uint64_t last_retx_bytes[2] = {0, 0};
    Timestamp fin_ts[2] = {0, 0};  ///< first FIN segment of each direction
    Timestamp shut_ts[2] = {0, 0}; ///< on_shutdown (FIN reached in order)
    Timestamp rst_ts = 0;
    Timestamp syn_ts = 0;          ///< first SYN segment seen
    Timestamp established_ts = 0;
    bool synack_seen = false;
    bool reuse_marked = false;
    bool closed = false;
  };

  /// `path` is written in finish(); `inputs` are the capture files (or the
  /// interface) named in the header.
  HtmlReport(std::string path, std::vector<std::string> inputs, HtmlReportLimits limits = {});
  ~HtmlReport() override;
  HtmlReport(const HtmlReport&) = delete;
  HtmlReport& operator=(const HtmlReport&) = delete;

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason why) override;
  /// Creates `path`.tmp and holds its directory now, so the page can be
  /// put in place at the end even after -U/-z. Optional: finish() opens
  /// it when this was not called. False and error() on failure.
  bool open();
  /// Writes the page to `path`.tmp and renames it to `path`.
  void finish() override;
  /// The file the page goes to (for -U: its directory, its owner).
  AtomicFile& file() { return file_; }

  void on_segment(const Connection& c, Dir d, const Segment& s) override;
  void on_segment_after_close(uint64_t id, Dir d, const Segment& s) override;

  /// An HTTP transaction of connection `t.conn_id` (before or after its
  /// on_close; before finish()).
  void add_http(const HtmlHttpTransaction& t);
  void add_http(const HttpTransaction& t) { add_http(to_html_http(t)); }
  /// Another protocol's exchange on connection `conn_id` (same rules).
  void add_exchange(uint64_t conn_id, const HtmlExchange& x);
  void add_exchange(uint64_t conn_id, const ExchangeRecord& r) {
    add_exchange(conn_id, to_html_exchange(r));
  }
  void set_capture_info(const HtmlCaptureInfo& info) { capture_ = info; }
  void set_title(std::string title) { title_ = std::move(title); }

  /// The JSON embedded in the page ('<' escaped as \u003c).
  std::string json() const;
  /// The first bytes of each direction, escaped and capped, in the order
  /// of the connections in json(): [[text, cut, text, cut], ...]. A block
  /// of its own so the page parses it only when a detail pane needs it.
  std::string previews_json() const;
  /// The whole page.
  std::string html() const;

  /// The first write error, empty while all is well.
  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::string failure() const override { return error_; }

  // For tests and the page's header.
  const std::deque<Conn>& connections() const { return conns_; }
  uint64_t packets_seen() const { return packets_seen_; }
  size_t packets_kept() const { return packets_kept_; }
  uint64_t connections_seen() const { return connections_seen_; }
  bool summarised() const;

 private:
  void put_summary(std::string& o, Timestamp origin, Timestamp last,
                   const uint64_t bytes[2]) const;
  Conn* find(uint64_t id);
  /// The packet as drawn: sequence numbers relative to each direction's first.
  Packet make_packet(Conn& k, int di, const Segment& s);
  void keep(Conn& k, const Packet& p, bool important);
  void thin(Conn& k);
  void shrink_all();
  void compute_phases(Conn& k) const;

  std::string path_;
  std::vector<std::string> inputs_;
  std::string title_;
  HtmlReportLimits limits_;
  HtmlCaptureInfo capture_;
  std::deque<Conn> conns_;                          // in order of on_open
  std::unordered_map<uint64_t, size_t> index_;      // id -> position in conns_
  std::unordered_map<uint64_t, std::vector<HtmlHttpTransaction>> http_;
  std::unordered_map<uint64_t, std::vector<HtmlExchange>> exchanges_;
  /// Per connection: marks kept (HTTP + exchanges) and those left out by
  /// max_marks_per_connection.
  struct MarkCount {
    size_t kept = 0;
    uint64_t left_out = 0;
  };
  std::unordered_map<uint64_t, MarkCount> marks_;
  /// Room for one more mark on `conn_id`; counts it either way.
  bool room_for_mark(uint64_t conn_id);
  size_t per_conn_budget_;
  uint64_t packets_seen_ = 0;
  size_t packets_kept_ = 0;
  uint64_t important_dropped_ = 0;
  size_t first_bytes_total_ = 0;
  uint64_t connections_seen_ = 0;
  uint64_t http_seen_ = 0;
  size_t http_kept_ = 0;
  uint64_t exchanges_seen_ = 0;
  size_t exchanges_kept_ = 0;
  uint64_t marks_left_out_ = 0;  ///< by max_marks_per_connection
  AtomicFile file_;
  std::string error_;
};

}  // namespace tcpscribe
