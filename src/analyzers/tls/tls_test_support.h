// For the TLS unit tests: runs a capture through the real pipeline
// (capture file -> decoder -> flow table -> reassembled streams) into one
// TlsSession per connection, and collects what each emitted.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "packet_core.h"
#include "test_files.h"
#include "test_support.h"
#include "tls_session.h"

namespace tcpscribe::testing {

inline std::string tls_dir() { return std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/tls/"; }

/// What one connection's session emitted.
struct TlsCollected : TlsEvents {
  std::string plain[2];                             // plaintext, holes left out
  std::vector<std::string> pieces[2];               // one entry per tls_plaintext
  std::vector<std::pair<uint64_t, uint64_t>> gaps[2];
  uint64_t next_offset[2] = {0, 0};
  int handshakes = 0;
  TlsHandshakeInfo announced;
  std::vector<std::string> problems;                // "c2s no key: ..."
  std::vector<std::pair<int, int>> alerts[2];
  // Filled at close:
  TlsHandshakeInfo info;
  TlsDirectionCounts counts[2];
  bool decrypted = false;
  std::string why_not;

  void tls_handshake(const TlsHandshakeInfo& i) override {
    ++handshakes;
    announced = i;
  }
  void tls_plaintext(Dir d, uint64_t offset, std::span<const uint8_t> b, Timestamp) override {
    const int i = index_of(d);
    EXPECT_EQ(offset, next_offset[i]) << "plaintext offsets must follow each other";
    EXPECT_EQ(handshakes, 1) << "tls_handshake comes first";
    plain[i].append(b.begin(), b.end());
    pieces[i].emplace_back(b.begin(), b.end());
    next_offset[i] = offset + b.size();
  }
  void tls_plaintext_gap(Dir d, uint64_t offset, uint64_t length, Timestamp) override {
    const int i = index_of(d);
    EXPECT_EQ(offset, next_offset[i]);
    gaps[i].emplace_back(offset, length);
    next_offset[i] = offset + length;
  }
  void tls_alert(Dir d, uint8_t level, uint8_t desc, Timestamp) override {
    alerts[index_of(d)].emplace_back(level, desc);
  }
  void tls_problem(Dir d, TlsProblem p, const std::string& detail, Timestamp) override {
    problems.push_back(std::string(d == Dir::kClientToServer ? "c2s " : "s2c ") +
                       to_string(p) + (detail.empty() ? "" : ": " + detail));
  }
};

/// A sink giving each connection its TlsSession.
class TlsCaptureSink : public Sink {
 public:
  explicit TlsCaptureSink(TlsSessionOptions options) : options_(options) {}

  /// Feed each on_data in pieces of this many bytes (0: as it comes).
  size_t piece = 0;
  /// Turn stream bytes [from, to) of this direction of connection `conn`
  /// into a gap (as if the capture missed them).
  struct Drop {
    uint64_t conn = 0;
    Dir dir = Dir::kServerToClient;
    uint64_t from = 0, to = 0;
  };
  std::vector<Drop> drops;

  void on_open(const Connection& c) override {
    auto& s = live_[c.id];
    s.events = std::make_unique<TlsCollected>();
    s.session = std::make_unique<TlsSession>(*s.events, options_);
  }
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    TlsSession& s = *live_.at(c.id).session;
    auto feed = [&](uint64_t at, std::span<const uint8_t> b) {
      if (piece == 0) return s.data(d, at, b, ts);
      for (size_t i = 0; i < b.size(); i += piece) {
        s.data(d, at + i, b.subspan(i, std::min(piece, b.size() - i)), ts);
      }
    };
    uint64_t at = offset;
    std::span<const uint8_t> rest = bytes;
    for (const Drop& x : drops) {  // sorted, not overlapping
      if (x.conn != c.id || x.dir != d) continue;
      const uint64_t a = std::max(x.from, at), z = std::min(x.to, at + rest.size());
      if (a >= z) continue;
      feed(at, rest.first(a - at));
      s.gap(d, a, z - a, ts);
      rest = rest.subspan(z - at);
      at = z;
    }
    feed(at, rest);
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length, Timestamp ts) override {
    live_.at(c.id).session->gap(d, offset, length, ts);
  }
  void on_close(const Connection& c, CloseReason) override {
    auto it = live_.find(c.id);
    Live& s = it->second;
    s.session->finish();
    TlsCollected& out = *s.events;
    out.info = s.session->info();
    out.counts[0] = s.session->counts(Dir::kClientToServer);
    out.counts[1] = s.session->counts(Dir::kServerToClient);
    out.decrypted = s.session->decrypted();
    out.why_not = s.session->why_not();
    results[c.id] = std::move(*s.events);
    live_.erase(it);
  }
  /// The key log grew: every open session looks again.
  void retry_all() {
    for (auto& [id, s] : live_) s.session->retry_keys();
  }
  size_t held_bytes() const {
    size_t n = 0;
    for (const auto& [id, s] : live_) n += s.session->held_bytes();
    return n;
  }

  std::map<uint64_t, TlsCollected> results;  // by connection id

 private:
  struct Live {
    std::unique_ptr<TlsCollected> events;
    std::unique_ptr<TlsSession> session;
  };
  TlsSessionOptions options_;
  std::map<uint64_t, Live> live_;
};

}  // namespace tcpscribe::testing
