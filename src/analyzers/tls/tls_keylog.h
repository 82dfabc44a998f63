// The NSS key log (RFC 9850): the secrets a TLS client or server wrote
// (SSLKEYLOGFILE, openssl -keylogfile, pcapng Decryption Secrets Blocks),
// indexed by the ClientHello's random.
//
// Lines are "LABEL <client random, 64 hex> <secret, hex>"; '#' comments and
// blank lines are skipped; a line over kMaxLine bytes (a comment too) is
// bad. Used labels: CLIENT_RANDOM (the TLS 1.2 master secret, 48 bytes),
// CLIENT_EARLY_TRAFFIC_SECRET,
// CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_/SERVER_TRAFFIC_SECRET_0.
// Known but unused (counted): EXPORTER_SECRET, EARLY_EXPORTER_SECRET,
// OpenSSL's CLIENT_/SERVER_TRAFFIC_SECRET_N (tcpscribe derives KeyUpdate
// secrets itself), RSA (keyed by encrypted premaster), ECH_SECRET,
// ECH_CONFIG. Any other line is bad: counted, the first bad line's number
// kept, never fatal.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tcpscribe {

/// One secret: up to 64 bytes (SHA-384's 48 is the longest TLS uses).
struct TlsSecret {
  uint8_t len = 0;  ///< 0: not logged
  std::array<uint8_t, 64> bytes{};
  std::span<const uint8_t> view() const { return {bytes.data(), len}; }
  bool known() const { return len != 0; }
  bool operator==(const TlsSecret& o) const { return view().size() == o.view().size() &&
      std::equal(bytes.begin(), bytes.begin() + len, o.bytes.begin()); }
};

/// The secrets logged for one client random.
struct TlsKeyLogEntry {
  TlsSecret master;             ///< CLIENT_RANDOM (TLS 1.2)
  TlsSecret client_early;       ///< CLIENT_EARLY_TRAFFIC_SECRET
  TlsSecret client_handshake;   ///< CLIENT_HANDSHAKE_TRAFFIC_SECRET
  TlsSecret server_handshake;   ///< SERVER_HANDSHAKE_TRAFFIC_SECRET
  TlsSecret client_traffic0;    ///< CLIENT_TRAFFIC_SECRET_0
  TlsSecret server_traffic0;    ///< SERVER_TRAFFIC_SECRET_0
  bool operator==(const TlsKeyLogEntry&) const = default;
};

using TlsRandom = std::array<uint8_t, 32>;

struct TlsKeyLogCounts {
  uint64_t lines = 0;          ///< lines read (comments and blanks included)
  uint64_t secrets = 0;        ///< secret lines used (a repeated line counts again)
  uint64_t unused = 0;         ///< lines with a known label tcpscribe does not use
  uint64_t bad = 0;            ///< lines that did not parse
  uint64_t first_bad_line = 0; ///< 1-based within the file or bytes; 0: none
  uint64_t dropped = 0;        ///< secret lines refused: the table was full
  uint64_t rereads = 0;        ///< times the file shrank or was replaced and was read anew
};

class TlsKeyLog {
 public:
  /// At most this many client randoms are kept (about 440 bytes each: 44 MB);
  /// secrets for further randoms are counted in `dropped`.
  static constexpr size_t kDefaultMaxEntries = 100'000;
  /// A longer line is bad (the longest valid one is about 200 bytes).
  static constexpr size_t kMaxLine = 1024;

  explicit TlsKeyLog(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}

  /// Reads text (a Decryption Secrets Block's payload, a test's key log):
  /// every line, the last one even without its newline. Returns how many
  /// secrets were new or changed.
  size_t add_text(std::span<const uint8_t> text);
  size_t add_text(const std::string& text) {
    return add_text({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }

  /// Follows a file: the first call reads it, each later call reads what
  /// was appended since (complete lines only: a line still being written
  /// waits for its newline). A file that shrank or was replaced (another
  /// inode) is read again from its start. Returns how many secrets were
  /// new or changed, or -1 (and `error`) when it cannot be opened or read.
  long follow_file(const std::string& path, std::string& error);

  /// The secrets for a client random, or null.
  const TlsKeyLogEntry* find(std::span<const uint8_t> client_random) const;

  size_t size() const { return entries_.size(); }
  /// Calls f(random, entry) for every client random (in no order).
  template <typename F>
  void for_each(F f) const {
    for (const auto& [r, e] : entries_) f(r, e);
  }
  const TlsKeyLogCounts& counts() const { return counts_; }

 private:
  struct RandomHash {
    size_t operator()(const TlsRandom& r) const;
  };
  /// One line without its newline; returns true when a secret changed.
  bool add_line(std::string_view line, uint64_t number);
  /// Reads the complete lines of `fd` from offset_ on.
  long read_from(int fd, std::string& error);

  size_t max_entries_;
  std::unordered_map<TlsRandom, TlsKeyLogEntry, RandomHash> entries_;
  TlsKeyLogCounts counts_;
  // follow_file's position.
  std::string path_;
  uint64_t offset_ = 0;
  uint64_t line_no_ = 0;
  uint64_t inode_ = 0, device_ = 0;
  bool opened_ = false;
  bool skipping_ = false;  // inside a line longer than kMaxLine
};

}  // namespace tcpscribe
