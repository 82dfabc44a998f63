// The HTML report's page: the model as JSON, and the single HTML file
// (styles, script and data inline) around it. The model itself is built
// in report_html.cc.
#include "report_html.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "json_text.h"
#include "report_html_assets.h"
#include "report_json.h"

namespace tcpscribe {
namespace {

/// Preview text in the page, all connections together, past which each
/// preview shows only kPreviewSmall characters (the page stays small
/// enough to open fast with thousands of connections).
constexpr size_t kPreviewBudget = 4u << 20;
constexpr size_t kPreviewSmall = 256;

/// A JSON string literal. Invalid UTF-8 becomes U+FFFD; '<' becomes
/// \u003c so that nothing in the data can close the <script> block.
void put_string(std::string& o, std::string_view s) {
  JsonStringStyle style;
  style.html_safe = true;
  style.escape_line_separators = true;
  append_json_string(o, s, style);
}

void put_key(std::string& o, const char* key) {
  o += '"';
  o += key;
  o += "\":";
}

void put_uint(std::string& o, uint64_t v) { o += std::to_string(v); }

/// Microseconds since the report's origin; fractions only when the capture
/// has them (nanosecond pcapng).
void put_time(std::string& o, Timestamp ts, Timestamp origin) {
  const Timestamp d = ts - origin;
  const Timestamp us = d / 1000;
  const Timestamp ns = d % 1000;
  o += std::to_string(us);
  if (ns != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ns < 0 ? -ns : ns));
    o += buf;
  }
}

const char* phase_name(HtmlReport::Phase p) {
  switch (p) {
    case HtmlReport::kHandshake: return "handshake";
    case HtmlReport::kEstablished: return "established";
    case HtmlReport::kHalfClosed: return "half-closed";
    case HtmlReport::kClosed: return "closed";
    case HtmlReport::kReset: return "reset";
  }
  return "?";
}

/// Bytes as readable text: printable ASCII and newlines as they are, a
/// backslash doubled, anything else as \r, \t or \xHH; at most about
/// `max_chars` characters (`cut` tells whether bytes were left out).
std::string escape_bytes(std::string_view raw, size_t max_chars, bool& cut) {
  std::string out;
  out.reserve(std::min(raw.size(), max_chars) + 8);
  cut = false;
  for (const char ch : raw) {
    if (out.size() >= max_chars) {
      cut = true;
      break;
    }
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n' || (c >= 0x20 && c < 0x7F)) {
      out += static_cast<char>(c);
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

void put_stats(std::string& o, const DirectionStats& st) {
  const std::pair<const char*, uint64_t> fields[] = {
      {"packets", st.packets},
      {"payload_bytes", st.payload_bytes},
      {"unique_bytes", st.delivered_bytes},
      {"retransmitted_bytes", st.retransmitted_bytes},
      {"gap_bytes", st.gap_bytes},
      {"dropped_bytes", st.dropped_bytes},
      {"conflicting_overlaps", st.conflicting_overlaps},
  };
  o += '{';
  for (const auto& [key, v] : fields) {
    put_key(o, key);
    put_uint(o, v);
    o += ',';
  }
  o += "\"syn\":";
  o += st.syn ? "true" : "false";
  o += ",\"fin\":";
  o += st.fin ? "true" : "false";
  o += ",\"rst\":";
  o += st.rst ? "true" : "false";
  o += '}';
}

void put_counts(std::string& o, const TcpAnalysisCounts& n) {
  const auto fields = named_counts(n);
  o += '{';
  bool first = true;
  for (const auto& [key, v] : fields) {
    if (!first) o += ',';
    first = false;
    put_key(o, key);
    put_uint(o, v);
  }
  o += '}';
}

/// [[kind, dir, time, offset, length, text], ...]
void put_findings(std::string& o, const std::vector<Finding>& findings, Timestamp origin) {
  o += '[';
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    if (i) o += ',';
    o += '[';
    put_string(o, finding_kind_name(f.kind));
    o += ',';
    o += std::to_string(index_of(f.dir));
    o += ',';
    put_time(o, f.ts, origin);
    o += ',';
    put_uint(o, f.offset);
    o += ',';
    put_uint(o, f.length);
    o += ',';
    put_string(o, f.text);
    o += ']';
  }
  o += ']';
}

/// [[dir, time, offset, length], ...]
void put_gaps(std::string& o, const std::vector<HtmlReport::GapEvent>& gaps, Timestamp origin) {
  o += '[';
  for (size_t i = 0; i < gaps.size(); ++i) {
    const HtmlReport::GapEvent& g = gaps[i];
    if (i) o += ',';
    o += '[';
    o += std::to_string(g.dir);
    o += ',';
    put_time(o, g.ts, origin);
    o += ',';
    put_uint(o, g.offset);
    o += ',';
    put_uint(o, g.length);
    o += ']';
  }
  o += ']';
}

/// Packets, 7 numbers each: time, dir + 2 * kind, payload length, relative
/// seq, relative ack (-1: no ACK), window, marks.
void put_packets(std::string& o, const std::vector<HtmlReport::Packet>& packets,
                 Timestamp origin) {
  o += '[';
  for (size_t i = 0; i < packets.size(); ++i) {
    const HtmlReport::Packet& p = packets[i];
    if (i) o += ',';
    put_time(o, p.ts, origin);
    o += ',';
    put_uint(o, p.dir + 2u * p.kind);
    o += ',';
    put_uint(o, p.len);
    o += ',';
    put_uint(o, p.seq);
    o += ',';
    if (p.has_ack) put_uint(o, p.ack);
    else o += "-1";
    o += ',';
    put_uint(o, p.window);
    o += ',';
    put_uint(o, p.marks);
  }
  o += ']';
}

void put_http(std::string& o, const std::vector<HtmlHttpTransaction>& http, Timestamp origin) {
  o += '[';
  bool first_h = true;
  for (const HtmlHttpTransaction& t : http) {
    if (!first_h) o += ',';
    first_h = false;
    o += "{\"i\":";
    put_uint(o, t.index);
    if (t.stream != 0) {
      o += ",\"sid\":";
      put_uint(o, t.stream);
    }
    o += ",\"m\":";
    put_string(o, t.method);
    o += ",\"u\":";
    put_string(o, t.target);
    o += ",\"h\":";
    put_string(o, t.host);
    o += ",\"st\":";
    o += std::to_string(t.status);
    const std::pair<const char*, Timestamp> times[] = {
        {"rq0", t.request_start},
        {"rq1", t.request_end},
        {"rs0", t.response_start},
        {"rs1", t.response_end},
    };
    for (const auto& [key, ts] : times) {
      o += ',';
      put_key(o, key);
      if (ts == 0) o += "null";
      else put_time(o, ts, origin);
    }
    o += ",\"rqb\":";
    put_uint(o, t.request_bytes);
    o += ",\"rsb\":";
    put_uint(o, t.response_bytes);
    o += '}';
  }
  o += ']';
}

/// Redis, PostgreSQL, MySQL exchanges: [{"p":proto,"q":request,"a":answer,
/// "e":error or null,"t0":start,"t1":end,"lat":latency or null}, ...].
void put_exchanges(std::string& o, const std::vector<HtmlExchange>& xs, Timestamp origin) {
  o += '[';
  for (size_t i = 0; i < xs.size(); ++i) {
    const HtmlExchange& x = xs[i];
    if (i) o += ',';
    o += "{\"p\":";
    put_string(o, x.proto);
    o += ",\"q\":";
    put_string(o, x.request);
    o += ",\"a\":";
    put_string(o, x.answer);
    o += ",\"e\":";
    if (x.error.empty()) o += "null";
    else put_string(o, x.error);
    o += ",\"t0\":";
    put_time(o, x.start, origin);
    o += ",\"t1\":";
    put_time(o, std::max(x.end, x.start), origin);
    o += ",\"lat\":";
    if (x.latency < 0) o += "null";
    else put_time(o, x.latency, 0);
    o += '}';
  }
  o += ']';
}

/// One connection's object, without its HTTP transactions (the caller
/// adds `,"http":[...]}`).
void put_conn(std::string& o, const HtmlReport::Conn& k, Timestamp origin) {
  const Connection& c = k.info;
  o += "{\"id\":";
  put_uint(o, c.id);
  o += ",\"c\":";
  put_string(o, format_addr(c.client.addr));
  o += ",\"cp\":";
  put_uint(o, c.client.port);
  o += ",\"s\":";
  put_string(o, format_addr(c.server.addr));
  o += ",\"sp\":";
  put_uint(o, c.server.port);
  o += ",\"vlan\":[";
  o += std::to_string(c.vlan[0]);
  o += ',';
  o += std::to_string(c.vlan[1]);
  o += "],\"reuse\":";
  put_uint(o, c.reuse_index);
  o += ",\"prev\":";
  o += c.previous_id == UINT64_MAX ? "null" : std::to_string(c.previous_id);
  o += ",\"start\":";
  put_time(o, c.first_ts, origin);
  o += ",\"end\":";
  put_time(o, c.last_ts, origin);
  o += ",\"state\":";
  put_string(o, c.analysis.conn_state);
  o += ",\"hist\":";
  put_string(o, c.analysis.history);
  o += ",\"close\":";
  put_string(o, k.close_reason.empty() ? "open" : k.close_reason);
  o += ",\"rtt\":";
  if (c.analysis.rtt < 0) o += "null";
  else put_time(o, c.analysis.rtt, 0);
  o += ",\"syn\":";
  if (c.syn_ts == 0) o += "null";
  else put_time(o, c.syn_ts, origin);
  o += ",\"synack\":";
  if (c.synack_ts == 0) o += "null";
  else put_time(o, c.synack_ts, origin);
  o += ",\"ph\":[";
  for (size_t i = 0; i < k.phases.size(); ++i) {
    if (i) o += ',';
    o += '[';
    put_string(o, phase_name(k.phases[i].phase));
    o += ',';
    put_time(o, k.phases[i].start, origin);
    o += ']';
  }
  o += "],\"st\":[";
  put_stats(o, c.dir[0]);
  o += ',';
  put_stats(o, c.dir[1]);
  o += "],\"an\":[";
  put_counts(o, c.analysis.dir[0]);
  o += ',';
  put_counts(o, c.analysis.dir[1]);
  o += "],\"f\":";
  put_findings(o, k.findings, origin);
  o += ",\"g\":";
  put_gaps(o, k.gaps, origin);
  o += ",\"pseen\":";
  put_uint(o, k.packets_seen);
  o += ",\"stride\":";
  put_uint(o, k.stride);
  o += ",\"pk\":";
  put_packets(o, k.packets, origin);
}

}  // namespace

std::string HtmlReport::json() const {
  Timestamp origin = 0;
  Timestamp last = 0;
  bool any = false;
  uint64_t bytes[2] = {0, 0};
  for (const Conn& k : conns_) {
    if (!any || k.info.first_ts < origin) origin = k.info.first_ts;
    if (!any || k.info.last_ts > last) last = k.info.last_ts;
    any = true;
    bytes[0] += k.info.dir[0].payload_bytes;
    bytes[1] += k.info.dir[1].payload_bytes;
  }
  std::string o;
  o.reserve(256 + packets_kept_ * 28 + conns_.size() * 1200);
  put_summary(o, origin, last, bytes);
  o += ",\"conns\":[";
  bool first_conn = true;
  static const std::vector<HtmlHttpTransaction> kNoHttp;
  static const std::vector<HtmlExchange> kNoExchanges;
  for (const Conn& k : conns_) {
    if (!first_conn) o += ',';
    first_conn = false;
    put_conn(o, k, origin);
    o += ",\"http\":";
    const auto h = http_.find(k.info.id);
    put_http(o, h != http_.end() ? h->second : kNoHttp, origin);
    o += ",\"ex\":";
    const auto x = exchanges_.find(k.info.id);
    put_exchanges(o, x != exchanges_.end() ? x->second : kNoExchanges, origin);
    o += ",\"ml\":";  // marks left out by max_marks_per_connection
    const auto m = marks_.find(k.info.id);
    put_uint(o, m != marks_.end() ? m->second.left_out : 0);
    o += '}';
  }
  o += "]}";
  return o;
}

/// The report's opening fields, up to "summarised" (json() goes on with
/// the connections).
void HtmlReport::put_summary(std::string& o, Timestamp origin, Timestamp last,
                             const uint64_t bytes[2]) const {
  o += "{\"version\":1,\"title\":";
  put_string(o, title_);
  o += ",\"inputs\":[";
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (i) o += ',';
    put_string(o, inputs_[i]);
  }
  o += "],";
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"origin\":\"%" PRId64 ".%06" PRId64 "\",",
                origin / kNanosPerSecond, (origin % kNanosPerSecond) / 1000);
  o += buf;
  o += "\"span\":[0,";
  put_time(o, last, origin);
  o += "],\"totals\":{";
  const std::pair<const char*, uint64_t> totals[] = {
      {"packets_seen", packets_seen_},
      {"packets_kept", packets_kept_},
      {"marked_dropped", important_dropped_},
      {"connections_seen", connections_seen_},
      {"connections_listed", conns_.size()},
      {"http_seen", http_seen_},
      {"http_kept", http_kept_},
      {"exchanges_seen", exchanges_seen_},
      {"exchanges_kept", exchanges_kept_},
      {"marks_left_out", marks_left_out_},
      {"bytes_c2s", bytes[0]},
      {"bytes_s2c", bytes[1]},
  };
  for (const auto& [key, v] : totals) {
    put_key(o, key);
    put_uint(o, v);
    o += ',';
  }
  o.back() = '}';
  o += ",\"capture\":{";
  const std::pair<const char*, int64_t> capture[] = {
      {"packets_read", capture_.packets_read},
      {"kernel_drops", capture_.kernel_drops},
      {"interface_drops", capture_.interface_drops},
  };
  for (const auto& [key, v] : capture) {
    put_key(o, key);
    o += v < 0 ? "null" : std::to_string(v);
    o += ',';
  }
  o.back() = '}';
  o += ",\"limits\":{\"max_packets\":";
  put_uint(o, limits_.max_packets);
  o += ",\"per_connection\":";
  put_uint(o, per_conn_budget_);
  o += ",\"max_connections\":";
  put_uint(o, limits_.max_connections);
  o += ",\"first_bytes\":";
  put_uint(o, limits_.first_bytes);
  o += "},\"summarised\":";
  o += summarised() ? "true" : "false";
}

std::string HtmlReport::previews_json() const {
  std::string o = "[";
  size_t used = 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    const Conn& k = conns_[i];
    if (i) o += ',';
    o += '[';
    for (int d = 0; d < 2; ++d) {
      bool cut = false;
      const size_t cap = used < kPreviewBudget ? limits_.first_bytes : kPreviewSmall;
      const std::string text = escape_bytes(k.first[d], cap, cut);
      used += text.size();
      put_string(o, text);
      o += ',';
      o += cut || k.first_cut[d] ? "true" : "false";
      o += d == 0 ? "," : "";
    }
    o += ']';
  }
  o += ']';
  return o;
}

std::string HtmlReport::html() const {
  std::string title = title_;
  if (title.empty()) {
    title = "tcpscribe";
    for (const std::string& in : inputs_) title += " " + in;
  }
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  page += html_escape(title);
  page += "</title>\n<style>\n";
  page += html_assets::kStyle;
  page += "</style>\n</head>\n<body>\n";
  page += html_assets::kBody;
  page += "<script type=\"application/json\" id=\"report-data\">";
  page += json();
  page += "</script>\n<script type=\"application/json\" id=\"report-previews\">";
  page += previews_json();
  page += "</script>\n<script>\n";
  page += html_assets::kScript;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace tcpscribe
