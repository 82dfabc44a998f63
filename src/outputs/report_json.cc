#include "report_json.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "json_flat.h"
#include "json_text.h"
#include "whole_lines.h"

namespace tcpscribe {
namespace {


const char* dir_name(Dir d) { return d == Dir::kClientToServer ? "c2s" : "s2c"; }

void add_direction(std::string& o, const Connection& c, Dir d) {
  const int i = index_of(d);
  const DirectionStats& st = c.dir[i];
  const TcpAnalysisCounts& n = c.analysis.dir[i];
  o += '"';
  o += dir_name(d);
  o += "\":{\"vlan\":";
  o += c.vlan[i] < 0 ? "null" : std::to_string(c.vlan[i]);
  o += ',';
  append_json_uint(o, "packets", st.packets);
  o += ',';
  append_json_uint(o, "payload_bytes", st.payload_bytes);
  o += ',';
  append_json_uint(o, "unique_bytes", st.delivered_bytes);
  o += ',';
  append_json_uint(o, "retransmitted_bytes", st.retransmitted_bytes);
  o += ',';
  append_json_uint(o, "gap_bytes", st.gap_bytes);
  o += ',';
  append_json_uint(o, "dropped_bytes", st.dropped_bytes);
  o += ',';
  append_json_uint(o, "conflicting_overlaps", st.conflicting_overlaps);
  o += ",\"fin\":";
  o += st.fin ? "true" : "false";
  o += ",\"rst\":";
  o += st.rst ? "true" : "false";
  const auto counts = named_counts(n);
  for (const auto& [key, v] : counts) {
    o += ',';
    append_json_uint(o, key, v);
  }
  o += '}';
}

void add_int(std::string& o, const char* key, int64_t v) {
  o += '"';
  o += key;
  o += "\":";
  o += v < 0 ? "null" : std::to_string(v);
}

// {"key":n,...} of `fields`.
void add_object(std::string& o, const char* key,
                std::initializer_list<std::pair<const char*, uint64_t>> fields) {
  o += '"';
  o += key;
  o += "\":{";
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) o += ',';
    first = false;
    append_json_uint(o, k, v);
  }
  o += '}';
}

}  // namespace

std::string JsonReportSink::format_run(const RunTotals& t) {
  std::string o = "{\"run\":{";
  append_json_uint(o, "packets", t.packets);
  o += ',';
  append_json_uint(o, "tcp_segments", t.tcp_segments);
  o += ',';
  append_json_uint(o, "connections", t.connections);
  o += ',';
  append_json_uint(o, "late_packets", t.late_packets);
  o += ',';
  add_object(o, "skipped", {{"not_ip", t.not_ip},
                            {"not_tcp", t.not_tcp},
                            {"truncated", t.truncated},
                            {"malformed", t.malformed},
                            {"unknown_link_type", t.unknown_link_type}});
  o += ',';
  add_object(o, "ip_fragments", {{"seen", t.fragments},
                                 {"cut", t.fragments_cut},
                                 {"malformed", t.fragments_malformed},
                                 {"conflicting_overlaps", t.fragment_conflicts},
                                 {"datagrams_rebuilt", t.datagrams_rebuilt},
                                 {"datagrams_timed_out", t.datagrams_timed_out},
                                 {"datagrams_evicted", t.datagrams_evicted},
                                 {"datagrams_incomplete", t.datagrams_incomplete}});
  o += ',';
  add_object(o, "caps", {{"connections_evicted", t.connections_evicted},
                         {"evicted_continued", t.evicted_continued},
                         {"tuple_records_dropped", t.tuple_records_dropped},
                         {"holes_flushed", t.holes_flushed},
                         {"out_of_window", t.out_of_window},
                         {"late_segments", t.late_segments}});
  o += ',';
  add_int(o, "kernel_drops", t.kernel_drops);
  o += ',';
  add_int(o, "interface_drops", t.interface_drops);
  o += "}}";
  return o;
}

const char* finding_kind_name(Finding::Kind k) {
  switch (k) {
    case Finding::Kind::kDataAfterPeerFin: return "data_after_peer_fin";
    case Finding::Kind::kTupleReuse: return "tuple_reuse";
    case Finding::Kind::kCaptureGap: return "capture_gap";
    case Finding::Kind::kConflictingOverlap: return "conflicting_overlap";
    case Finding::Kind::kOutOfWindow: return "out_of_window";
    case Finding::Kind::kHttp: return "http";
    case Finding::Kind::kProtocol: return "protocol";
  }
  return "?";
}

std::string json_quote(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 2);
  append_json_string(o, s);
  return o;
}

void append_json_seconds(std::string& out, Timestamp t) {
  // Rounded to the microsecond; the sign is kept apart so that times before
  // 1970 (or negative durations from reordered captures) print correctly.
  const bool neg = t < 0;
  const uint64_t us = (static_cast<uint64_t>(neg ? -(t + 1) : t) + (neg ? 1 : 0) + 500) / 1000;
  // "%llu.%06llu" without printf: it was a tenth of --messages' time.
  char buf[32];
  char* p = buf + sizeof buf;
  uint64_t frac = us % 1'000'000;
  for (int k = 0; k < 6; ++k) {
    *--p = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  *--p = '.';
  uint64_t whole = us / 1'000'000;
  do {
    *--p = static_cast<char>('0' + whole % 10);
    whole /= 10;
  } while (whole > 0);
  if (neg) *--p = '-';
  out.append(p, static_cast<size_t>(buf + sizeof buf - p));
}

std::string json_seconds(Timestamp t) {
  std::string out;
  append_json_seconds(out, t);
  return out;
}

JsonReportSink::JsonReportSink(const std::string& path) : path_(path) {
  if (path == "-") {
    out_ = stdout;
    return;
  }
  out_ = open_lines_file(path);
  owned_ = out_ != nullptr;
  if (!out_) fail("cannot open");
}

JsonReportSink::~JsonReportSink() {
  if (owned_) std::fclose(out_);
}

void JsonReportSink::fail(const char* what) {
  if (error_.empty()) error_ = std::string(what) + " " + path_ + ": " + std::strerror(errno);
  // The objects written before the failure stay a valid JSON Lines file.
  if (out_ && owned_) cut_to_whole_lines(out_);
}

void JsonReportSink::on_finding(const Connection& c, const Finding& f) {
  Held& h = findings_[c.id];
  if (h.list.size() < kMaxFindings) {
    h.list.push_back(f);
    return;
  }
  for (auto& [first, n] : h.more) {
    if (first.kind != f.kind) continue;
    ++n;
    first.length += f.length;
    return;
  }
  h.more.emplace_back(f, 1);
}

void JsonReportSink::add_exchange(uint64_t id, const std::string& proto, bool error, bool slow) {
  if (!out_) return;
  std::vector<ExchangeCounts>& list = exchanges_[id];
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const ExchangeCounts& e) { return e.proto == proto; });
  if (it == list.end()) it = list.insert(list.end(), ExchangeCounts{proto});
  ++it->count;
  it->errors += error ? 1 : 0;
  it->slow += slow ? 1 : 0;
}

std::string JsonReportSink::format(const Connection& c, CloseReason why,
                                   const std::vector<Finding>& findings) {
  std::string o = "{";
  append_json_uint(o, "id", c.id);
  o += ",\"client_ip\":" + json_quote(format_addr(c.client.addr));
  o += ",\"client_port\":" + std::to_string(c.client.port);
  o += ",\"server_ip\":" + json_quote(format_addr(c.server.addr));
  o += ",\"server_port\":" + std::to_string(c.server.port);
  o += ",\"ip_version\":";
  o += c.client.addr.v6 ? "6" : "4";
  o += ',';
  append_json_uint(o, "reuse_index", c.reuse_index);
  o += ",\"previous_id\":";
  o += c.previous_id == UINT64_MAX ? "null" : std::to_string(c.previous_id);
  o += ",\"start\":" + json_seconds(c.first_ts);
  o += ",\"end\":" + json_seconds(c.last_ts);
  o += ",\"duration\":" + json_seconds(c.last_ts - c.first_ts);
  o += ",\"handshake_seen\":";
  o += c.handshake_seen ? "true" : "false";
  o += ",\"rtt\":";
  o += c.analysis.rtt < 0 ? "null" : json_seconds(c.analysis.rtt);
  o += ",\"conn_state\":";
  o += c.analysis.conn_state.empty() ? "null" : json_quote(c.analysis.conn_state);
  o += ",\"history\":" + json_quote(c.analysis.history);
  o += ",\"close_reason\":" + json_quote(to_string(why));
  o += ',';
  add_direction(o, c, Dir::kClientToServer);
  o += ',';
  add_direction(o, c, Dir::kServerToClient);
  o += ",\"findings\":[";
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    if (i > 0) o += ',';
    o += "{\"kind\":" + json_quote(finding_kind_name(f.kind));
    o += ",\"dir\":\"";
    o += dir_name(f.dir);
    o += "\",\"ts\":" + json_seconds(f.ts);
    o += ',';
    append_json_uint(o, "offset", f.offset);
    o += ',';
    append_json_uint(o, "length", f.length);
    o += ",\"text\":" + json_quote(f.text) + "}";
  }
  o += "]}";
  return o;
}

void JsonReportSink::on_close(const Connection& c, CloseReason why) {
  std::vector<Finding> found;
  if (auto it = findings_.find(c.id); it != findings_.end()) {
    found = std::move(it->second.list);
    // Where the first not listed was, their total length, and how many.
    for (auto& [first, n] : it->second.more) {
      first.text = std::to_string(n) + " more " + finding_kind_name(first.kind) +
                   " findings not listed (the report lists " + std::to_string(kMaxFindings) +
                   " per connection)";
      found.push_back(std::move(first));
    }
    findings_.erase(it);
  }
  std::vector<std::pair<std::string, std::string>> infos;
  if (auto it = infos_.find(c.id); it != infos_.end()) {
    infos = std::move(it->second);
    infos_.erase(it);
  }
  if (auto it = exchanges_.find(c.id); it != exchanges_.end()) {
    std::string o = "{";
    for (const ExchangeCounts& e : it->second) {
      if (o.size() > 1) o += ',';
      o += json_quote(e.proto) + ":{\"count\":" + std::to_string(e.count) +
           ",\"errors\":" + std::to_string(e.errors) + ",\"slow\":" + std::to_string(e.slow) +
           "}";
    }
    infos.emplace_back("exchanges", o + "}");
    exchanges_.erase(it);
  }
  if (!out_ || failed()) return;
  std::string line = format(c, why, found);
  if (!infos.empty()) {  // the analyzers' objects, before the closing brace
    line.pop_back();
    for (const auto& [key, json] : infos) line += "," + json_quote(key) + ":" + json;
    line += '}';
  }
  if (flat_) line = flatten_json_object(line);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    fail("cannot write");
  }
}

void JsonReportSink::finish() {
  if (!out_ || failed()) return;
  if (run_totals_) {
    std::string line = format_run(run_totals_());
    run_totals_ = nullptr;  // once, even if finish() is called again
    if (flat_) line = flatten_json_object(line);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) fail("cannot write");
    if (failed()) return;
  }
  if (std::fflush(out_) != 0) fail("cannot write");
  if (owned_) {
    if (std::fclose(out_) != 0) fail("cannot write");
    owned_ = false;
    out_ = nullptr;
  }
}

}  // namespace tcpscribe
