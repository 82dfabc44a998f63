// Helpers for the HTTP and HAR unit tests: a connection driven by hand
// through the Sink interface, with findings and transactions recorded.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "http.h"
#include "name_template.h"

namespace tcpscribe::testing {

/// A temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tcpscribe-http-test.XXXXXX";
    const char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// zlib's compress with a given window: 15+16 gzip, 15 zlib, -15 raw deflate.
inline std::string compress(const std::string& data, int window_bits) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8,
                         Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, data.size()) + 64, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

/// One connection fed by hand. Each send() is one packet time (1 ms
/// apart); `piece` splits it into deliveries of that many bytes, all with
/// the packet's time, so results must not depend on it.
class HttpHarness {
 public:
  explicit HttpHarness(HttpOptions o = {}, bool handshake = true)
      : an_(with_dir(std::move(o)),
            [this](const Connection&, const Finding& f) { findings.push_back(f); },
            [this](const HttpTransaction& t) { txns.push_back(t); }) {
    c_.id = 7;
    c_.client.addr.bytes = {10, 0, 0, 1};
    c_.client.port = 40000;
    c_.server.addr.bytes = {10, 0, 0, 2};
    c_.server.port = 80;
    c_.handshake_seen = handshake;
    if (handshake) {
      c_.syn_ts = ts_;
      c_.synack_ts = ts_ + 250'000;  // 0.25 ms
    }
    ts_ += 1'000'000;
    an_.on_open(c_);
  }

  void send(Dir d, const std::string& bytes, size_t piece = SIZE_MAX) {
    ts_ += 1'000'000;
    for (size_t i = 0; i < bytes.size();) {
      const size_t n = std::min(piece, bytes.size() - i);
      an_.on_data(c_, d, off_[index_of(d)] + i,
                  std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + i, n),
                  ts_);
      i += n;
    }
    off_[index_of(d)] += bytes.size();
  }
  /// One packet delivered in pieces cut at `cuts` (offsets into `bytes`).
  void send_cuts(Dir d, const std::string& bytes, std::vector<size_t> cuts) {
    ts_ += 1'000'000;
    cuts.push_back(bytes.size());
    size_t at = 0;
    for (size_t cut : cuts) {
      if (cut <= at || cut > bytes.size()) continue;
      an_.on_data(c_, d, off_[index_of(d)] + at,
                  std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + at,
                                           cut - at),
                  ts_);
      at = cut;
    }
    off_[index_of(d)] += bytes.size();
  }
  /// A RST after the direction already shut down (no second on_shutdown).
  void mark_rst(Dir d) { c_.dir[index_of(d)].rst = true; }
  void client(const std::string& b, size_t piece = SIZE_MAX) { send(Dir::kClientToServer, b, piece); }
  void server(const std::string& b, size_t piece = SIZE_MAX) { send(Dir::kServerToClient, b, piece); }
  void gap(Dir d, uint64_t n) {
    ts_ += 1'000'000;
    an_.on_gap(c_, d, off_[index_of(d)], n, ts_);
    off_[index_of(d)] += n;
  }
  void shutdown(Dir d, bool reset = false) {
    ts_ += 1'000'000;
    if (reset) c_.dir[index_of(d)].rst = true;
    an_.on_shutdown(c_, d, reset, ts_);
  }
  void close(CloseReason why = CloseReason::kFin) {
    c_.last_ts = ts_;
    an_.on_close(c_, why);
    an_.finish();
  }

  std::string flow(Dir d) const { return dir_ + "/" + expand_name(kDefaultTemplate, c_, d); }
  std::string body(Dir d, int n) const {
    char num[8];
    std::snprintf(num, sizeof num, "%03d", n);
    return read_file(flow(d) + "-HTTPBODY-" + num);
  }
  bool body_exists(Dir d, int n) const {
    char num[8];
    std::snprintf(num, sizeof num, "%03d", n);
    return std::filesystem::exists(flow(d) + "-HTTPBODY-" + num);
  }
  std::vector<std::string> finding_texts() const {
    std::vector<std::string> out;
    for (const Finding& f : findings) out.push_back(f.text);
    return out;
  }
  /// Every observable result as text: transactions, findings, body files.
  std::string digest() const;

  const std::string& dir() const { return dir_; }
  HttpAnalyzer& analyzer() { return an_; }
  Connection& conn() { return c_; }
  Timestamp now() const { return ts_; }

  std::vector<Finding> findings;
  std::vector<HttpTransaction> txns;

 private:
  HttpOptions with_dir(HttpOptions o) {
    o.outdir = tmp_.path();
    dir_ = tmp_.path();
    return o;
  }

  TempDir tmp_;
  std::string dir_;
  HttpAnalyzer an_;
  Connection c_;
  uint64_t off_[2] = {0, 0};
  Timestamp ts_ = 1'700'000'000'000'000'000;
};

inline std::string describe_message(const HttpMessage& m) {
  std::ostringstream s;
  if (!m.present) return "-";
  const std::string file = m.body_path.empty() ? std::string() : read_file(m.body_path);
  s << m.number << " " << m.head.method << m.head.status << " " << m.head.target << m.head.reason
    << " " << m.head.version << " h=" << m.head.headers.size() << " hs=" << m.head.size
    << " trunc=" << m.head.truncated << " tr=" << m.trailers.size() << " off=" << m.offset
    << " t=" << m.start_ts << "/" << m.head_ts << "/" << m.end_ts << " end=" << m.ended
    << " ok=" << m.complete << " [" << m.problem << "] wire=" << m.body_wire
    << " body=" << m.body_bytes << " dec=" << m.decoded_bytes << " miss=" << m.missing
    << " ce=" << m.content_encoding << " decoded=" << m.decoded << " [" << m.decode_error
    << "] file=" << m.body_path.substr(m.body_path.rfind('/') + 1) << ":" << file.size() << ":"
    << file << " text=" << m.has_text
    << ":" << m.body_text;
  for (const HttpHeader& h : m.head.headers) s << " {" << h.name << ":" << h.value << "}";
  for (const HttpHeader& h : m.trailers) s << " {T " << h.name << ":" << h.value << "}";
  return s.str();
}

inline std::string HttpHarness::digest() const {
  std::ostringstream s;
  for (const HttpTransaction& t : txns) {
    s << "txn " << t.index << " ac=" << t.after_close_header << " as=" << t.after_server_close
      << " [" << t.close_note << "]\n  > " << describe_message(t.request) << "\n  < "
      << describe_message(t.response) << "\n";
  }
  for (const Finding& f : findings) {
    s << "finding " << index_of(f.dir) << " " << f.ts << " " << f.offset << " " << f.length
      << " " << f.text << "\n";
  }
  return s.str();
}

}  // namespace tcpscribe::testing
