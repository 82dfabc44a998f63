// TLS 1.2 resumption across connections: the master secret of each full
// handshake, kept under its session id (RFC 5246 7.4.1.2) and under every
// ticket the server issued (RFC 5077), so that a later connection resuming
// it decrypts even when the key log has no line for its own client random.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>

#include "tls_keylog.h"

namespace tcpscribe {

class TlsResumptionCache {
 public:
  /// Entries kept (session ids and tickets together); the oldest goes first.
  static constexpr size_t kDefaultMaxEntries = 10'000;
  /// Longer tickets are not kept (a ticket is usually under 1 KB).
  static constexpr size_t kMaxTicket = 4096;

  explicit TlsResumptionCache(size_t max_entries = kDefaultMaxEntries)
      : max_entries_(max_entries) {}

  void remember_session_id(std::span<const uint8_t> id, const TlsSecret& master);
  void remember_ticket(std::span<const uint8_t> ticket, const TlsSecret& master);
  /// The master secret kept for it, or null.
  const TlsSecret* by_session_id(std::span<const uint8_t> id) const;
  const TlsSecret* by_ticket(std::span<const uint8_t> ticket) const;

  size_t size() const { return map_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  void remember(char kind, std::span<const uint8_t> key, const TlsSecret& master);
  const TlsSecret* find(char kind, std::span<const uint8_t> key) const;

  size_t max_entries_;
  std::unordered_map<std::string, TlsSecret> map_;  // kind byte + id or ticket
  std::deque<std::string> order_;
  uint64_t evicted_ = 0;
};

}  // namespace tcpscribe
