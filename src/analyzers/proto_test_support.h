// Test support for the request/response analyzers (Redis, PostgreSQL,
// MySQL): an AnalyzerOutput that keeps everything as text, and a harness
// that feeds one connection by hand, whole, in pieces or byte by byte.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "analyzer.h"

namespace tcpscribe::testing {

class RecordingOutput : public AnalyzerOutput {
 public:
  void finding(const Connection&, const Finding& f) override { findings.push_back(f); }
  void exchange(const Connection&, const ExchangeRecord& r) override { records.push_back(r); }
  void message(const Connection&, const DecodedMessage& m) override { messages.push_back(m); }
  void http_transaction(const HttpTransaction&) override {}
  /// As the output set without --messages when false.
  bool wants_exchanges() const override { return want_records; }
  bool wants_exchange_fields() const override { return want_records && want_fields; }
  bool want_records = true;
  bool want_fields = true;  ///< false: as the output set with --report alone

  /// One record as the --messages line's analyzer part: error, latency, fields.
  static std::string line(const ExchangeRecord& r) {
    std::string s = "error=" + (r.error_json.empty() ? std::string("null") : r.error_json);
    s += " latency=" + (r.latency ? std::to_string(*r.latency) : std::string("null"));
    for (const auto& [k, v] : r.fields) s += " " + k + "=" + v;
    return s;
  }
  std::string digest() const {
    std::ostringstream s;
    for (const ExchangeRecord& r : records) s << "rec " << r.ts << " " << r.end << " " << line(r) << "\n";
    for (const DecodedMessage& m : messages) {
      s << "msg " << index_of(m.dir) << " " << m.ts << " " << m.latency << " " << m.summary << "\n";
      for (const std::string& l : m.lines) s << "    " << l << "\n";
    }
    for (const Finding& f : findings) {
      s << "finding " << index_of(f.dir) << " " << f.alarm << " " << f.offset << " " << f.text << "\n";
    }
    return s.str();
  }
  std::vector<Finding> findings;
  std::vector<ExchangeRecord> records;
  std::vector<DecodedMessage> messages;
};

/// One connection; each send() is one packet (1 ms later than the one
/// before), delivered in pieces of `piece` bytes that share its time.
class ProtoHarness {
 public:
  /// `records` false: the output wants no records (no --messages);
  /// `decode` false: no console messages (no --decode).
  ProtoHarness(const AnalyzerInfo& info, uint16_t port, bool handshake = true, bool decode = true,
               bool records = true) {
    AnalyzerSettings s;
    s.out = &out;
    s.decode_view = decode;
    out.want_records = records;
    an_ = info.create(s);
    c_.id = 3;
    c_.client.addr.bytes = {10, 0, 0, 1};
    c_.client.port = 40000;
    c_.server.addr.bytes = {10, 0, 0, 2};
    c_.server.port = port;
    c_.handshake_seen = handshake;
    an_->on_open(c_);
  }
  void send(Dir d, const std::string& bytes, size_t piece = SIZE_MAX) {
    ts_ += 1'000'000;
    for (size_t i = 0; i < bytes.size();) {
      const size_t n = std::min(piece, bytes.size() - i);
      an_->on_data(c_, d, off_[index_of(d)] + i,
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + i, n),
                   ts_);
      i += n;
    }
    off_[index_of(d)] += bytes.size();
  }
  void client(const std::string& b, size_t piece = SIZE_MAX) { send(Dir::kClientToServer, b, piece); }
  void server(const std::string& b, size_t piece = SIZE_MAX) { send(Dir::kServerToClient, b, piece); }
  void gap(Dir d, uint64_t n) {
    ts_ += 1'000'000;
    c_.dir[index_of(d)].gap_bytes += n;
    an_->on_gap(c_, d, off_[index_of(d)], n, ts_);
    off_[index_of(d)] += n;
  }
  void shutdown(Dir d, bool reset = false) {
    ts_ += 1'000'000;
    an_->on_shutdown(c_, d, reset, ts_);
  }
  void close(CloseReason why = CloseReason::kFin) {
    c_.last_ts = ts_;
    an_->on_close(c_, why);
    an_->finish();
  }
  ProtocolAnalyzer& analyzer() { return *an_; }
  Connection& conn() { return c_; }

  RecordingOutput out;

 private:
  std::unique_ptr<ProtocolAnalyzer> an_;
  Connection c_;
  uint64_t off_[2] = {0, 0};
  Timestamp ts_ = 1'000'000'000;
};

}  // namespace tcpscribe::testing
