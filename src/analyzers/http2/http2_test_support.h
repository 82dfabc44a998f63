// Helpers for the HTTP/2 unit tests (and the fuzz harness's seeds): frames
// built by hand, header blocks by libnghttp2's HPACK deflater, and a
// connection driven through the Sink interface.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <utility>
#include <vector>

#include "analyzer.h"
#include "h2_frame.h"
#include "http2.h"

namespace tcpscribe::h2test {

inline std::string frame(H2Type type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string f;
  const size_t n = payload.size();
  f += static_cast<char>(n >> 16 & 0xff);
  f += static_cast<char>(n >> 8 & 0xff);
  f += static_cast<char>(n & 0xff);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  f += static_cast<char>(stream >> 24 & 0x7f);
  f += static_cast<char>(stream >> 16 & 0xff);
  f += static_cast<char>(stream >> 8 & 0xff);
  f += static_cast<char>(stream & 0xff);
  return f + payload;
}

inline std::string be32(uint32_t v) {
  std::string s;
  for (int i = 3; i >= 0; --i) s += static_cast<char>(v >> (8 * i) & 0xff);
  return s;
}

inline std::string settings(std::vector<std::pair<uint16_t, uint32_t>> params = {}) {
  std::string p;
  for (auto [id, v] : params) {
    p += static_cast<char>(id >> 8);
    p += static_cast<char>(id & 0xff);
    p += be32(v);
  }
  return frame(H2Type::kSettings, 0, 0, p);
}

/// An HPACK encoder for one direction (its dynamic table persists).
class Encoder {
 public:
  Encoder() { nghttp2_hd_deflate_new(&d_, 4096); }
  ~Encoder() { nghttp2_hd_deflate_del(d_); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  std::string block(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : fields) {
      nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                    NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(d_, nv.data(), nv.size()), '\0');
    const ssize_t n = nghttp2_hd_deflate_hd(d_, reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                            nv.data(), nv.size());
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

inline Fields get(const std::string& path, const std::string& authority = "example.test") {
  return {{":method", "GET"}, {":scheme", "http"}, {":authority", authority}, {":path", path}};
}

/// Records what the analyzer emits.
struct Recorder : AnalyzerOutput {
  void finding(const Connection&, const Finding& f) override { findings.push_back(f.text); }
  void exchange(const Connection&, const ExchangeRecord& r) override { records.push_back(r); }
  void message(const Connection&, const DecodedMessage& m) override { messages.push_back(m); }
  void http_transaction(const HttpTransaction& t) override { txns.push_back(t); }
  std::vector<std::string> findings;
  std::vector<ExchangeRecord> records;
  std::vector<DecodedMessage> messages;
  std::vector<HttpTransaction> txns;

  /// A record's field value (JSON text), "" if absent.
  static std::string field(const ExchangeRecord& r, const std::string& key) {
    for (const auto& [k, v] : r.fields) {
      if (k == key) return v;
    }
    return "";
  }
};

/// One connection fed by hand through a sink (an analyzer or dispatcher).
class Wire {
 public:
  explicit Wire(Sink& sink, bool handshake = true) : sink_(sink) {
    c_.id = 5;
    c_.client.addr.bytes = {127, 0, 0, 1};
    c_.client.port = 40000;
    c_.server.addr.bytes = {127, 0, 0, 1};
    c_.server.port = 8080;
    c_.handshake_seen = handshake;
    c_.syn_ts = ts_;
    sink_.on_open(c_);
  }
  /// Sends `bytes` from `d` at the next packet time, in pieces of `piece`
  /// bytes (0: whole).
  void send(Dir d, const std::string& bytes, size_t piece = 0) {
    ts_ += 1'000'000;
    size_t at = 0;
    while (at < bytes.size()) {
      const size_t n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
      sink_.on_data(c_, d, off_[static_cast<int>(d)],
                    {reinterpret_cast<const uint8_t*>(bytes.data()) + at, n}, ts_);
      off_[static_cast<int>(d)] += n;
      at += n;
    }
    c_.last_ts = ts_;
  }
  void gap(Dir d, uint64_t n) {
    ts_ += 1'000'000;
    sink_.on_gap(c_, d, off_[static_cast<int>(d)], n, ts_);
    off_[static_cast<int>(d)] += n;
  }
  void close() {
    sink_.on_close(c_, CloseReason::kFin);
  }
  const Connection& conn() const { return c_; }

 private:
  Sink& sink_;
  Connection c_;
  uint64_t off_[2] = {0, 0};
  Timestamp ts_ = 1'700'000'000'000'000'000;
};

}  // namespace tcpscribe::h2test
