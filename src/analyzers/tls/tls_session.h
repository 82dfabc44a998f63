// One TLS connection seen from the wire: both directions' reassembled
// bytes in, the handshake's facts and the decrypted application data out.
//
//   TlsSession s(events, {.keylog = &keys, .resumption = &cache});
//   s.data(Dir::kClientToServer, offset, bytes, ts);   // from a Sink's on_data
//   s.gap(d, offset, length, ts);                        // from on_gap
//   s.retry_keys();                                      // the key log grew
//   s.finish();                                          // on_close
//   s.info(), s.counts(d), s.decrypted(), s.why_not()    // for --report
//
// What it does: frames records (tls_record.h), reassembles and parses the
// handshake (tls_handshake.h), finds the secrets by the ClientHello's
// random in the key log (tls_keylog.h; TLS 1.2 also by session id or
// ticket in the resumption cache, tls_resume.h), derives the keys (TLS 1.2
// key block from the master secret; TLS 1.3 handshake, application, 0-RTT
// and KeyUpdate traffic keys) and opens each record (tls_crypto.h). A
// record whose tag or MAC fails is counted and never emitted.
//
// Records that need a key not known yet are held (at most
// max_held_bytes per connection) when hold_for_keys is set, and opened
// when retry_keys() finds the key; client records that need the server's
// choices (its ServerHello, whether it took 0-RTT data) are always held
// until those are seen. After a gap the framer finds the next record and
// the sequence number is found again by trying a bounded range: only the
// right one verifies.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tls_crypto.h"
#include "tls_handshake.h"
#include "tls_keylog.h"
#include "tls_record.h"
#include "tls_resume.h"

namespace tcpscribe {

/// What the handshake showed (also without any key).
struct TlsHandshakeInfo {
  uint16_t version = 0;        ///< 0x0303 TLS 1.2, 0x0304 TLS 1.3; 0: no ServerHello seen
  uint16_t cipher_suite = 0;   ///< 0: no ServerHello seen
  std::string cipher_suite_name;
  std::string sni;             ///< ClientHello's server_name, raw bytes
  std::string alpn;            ///< the protocol the server chose
  std::string cert_subject;    ///< leaf certificate, RFC 2253; TLS 1.2, or 1.3 once decrypted
  std::string cert_issuer;
  bool resumed = false;        ///< 1.2: abbreviated handshake; 1.3: PSK accepted
  bool hello_retry = false;    ///< 1.3: the server sent a HelloRetryRequest
  enum class EarlyData : uint8_t { kNone, kAccepted, kRejected };
  EarlyData early_data = EarlyData::kNone;  ///< 1.3 0-RTT: offered and what the server did
  bool encrypt_then_mac = false;
  bool extended_master_secret = false;
};

/// "TLS 1.2", "TLS 1.3", "0xHHHH".
std::string tls_version_name(uint16_t v);

/// Why some or all of a connection could not be decrypted.
enum class TlsProblem : uint8_t {
  kNoHandshake,         ///< no ClientHello/ServerHello captured: no client random
  kNoKey,               ///< the key log has no secret for this connection
  kUnsupportedVersion,  ///< SSL 3.0, TLS 1.0 or 1.1
  kUnsupportedSuite,    ///< a cipher suite tcpscribe does not decrypt
  kBadRecord,           ///< a tag or MAC that did not verify (wrong key or damaged)
  kGap,                 ///< bytes the capture missed (records lost)
  kHeldOverflow,        ///< records waiting for a key did not fit
  kMalformed,           ///< a record or handshake message that does not parse
};
/// "no key", "unsupported suite", "bad tag", ... (the report's why_not).
const char* to_string(TlsProblem p);

struct TlsDirectionCounts {
  uint64_t records = 0;               ///< records framed
  uint64_t decrypted_records = 0;     ///< protected records opened
  uint64_t plaintext_bytes = 0;       ///< application data emitted
  uint64_t bad_records = 0;           ///< tag/MAC failures (nothing emitted)
  uint64_t undecrypted_records = 0;   ///< protected records with no key (or never got one)
  uint64_t lost_records = 0;          ///< records a gap took (by the sequence numbers skipped)
  uint64_t gap_bytes = 0;             ///< bytes the capture missed
  uint64_t skipped_bytes = 0;         ///< bytes passed over to find a record boundary
  uint64_t early_records_skipped = 0; ///< 0-RTT records the server refused
  uint64_t held_dropped_records = 0;  ///< records that did not fit while waiting for a key
};

/// Where a session's results go. Every method has an empty default.
class TlsEvents {
 public:
  virtual ~TlsEvents() = default;
  /// Once per connection: before its first tls_plaintext, at the latest
  /// from finish(). TlsSession::info() may know more later (a 1.3
  /// certificate decrypted after the first byte of early data).
  virtual void tls_handshake(const TlsHandshakeInfo& info) { (void)info; }
  /// Decrypted application data of direction `d` (0-RTT data included),
  /// `offset` counting the plaintext bytes of that direction (holes
  /// included), `ts` the record's first byte's capture time.
  virtual void tls_plaintext(Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                             Timestamp ts) {
    (void)d, (void)offset, (void)bytes, (void)ts;
  }
  /// Plaintext that is missing at `offset`: a capture gap in an encrypted
  /// direction, or records that could not be opened. `length` is the wire
  /// bytes concerned (an upper bound on the plaintext lost).
  virtual void tls_plaintext_gap(Dir d, uint64_t offset, uint64_t length, Timestamp ts) {
    (void)d, (void)offset, (void)length, (void)ts;
  }
  /// An alert (in clear or decrypted). level 1 warning, 2 fatal;
  /// description 0 is close_notify.
  virtual void tls_alert(Dir d, uint8_t level, uint8_t description, Timestamp ts) {
    (void)d, (void)level, (void)description, (void)ts;
  }
  /// The first time each kind of problem happens in each direction.
  virtual void tls_problem(Dir d, TlsProblem p, const std::string& detail, Timestamp ts) {
    (void)d, (void)p, (void)detail, (void)ts;
  }
};

struct TlsSessionOptions {
  const TlsKeyLog* keylog = nullptr;          ///< null: no key log, handshake facts only
  TlsResumptionCache* resumption = nullptr;   ///< shared by the connections; may be null
  /// Keep records whose key is not in the key log yet (live capture with
  /// a key log that is still being written); otherwise they are counted
  /// as undecrypted at once.
  bool hold_for_keys = false;
  /// Bytes of records kept per connection while waiting (for a key, or
  /// for the server's choices); records beyond are dropped and counted.
  size_t max_held_bytes = 8u << 20;
  /// Shared by every session of an analyzer: the bytes they all hold,
  /// at most max_total_held_bytes (null: no shared bound).
  size_t* total_held = nullptr;
  size_t max_total_held_bytes = 64u << 20;
  /// After a gap, how many sequence numbers past the expected one are
  /// tried (further bounded by how many records the lost bytes could hold).
  uint32_t max_seq_search = 1u << 16;
};

class TlsSession {
 public:
  TlsSession(TlsEvents& events, TlsSessionOptions options);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  /// The next bytes of direction `d` (stream offsets, in order).
  void data(Dir d, uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts);
  /// Bytes of direction `d` the capture missed.
  void gap(Dir d, uint64_t offset, uint64_t length, Timestamp ts);
  /// The key log gained secrets: records held for a key are opened if
  /// theirs is there now.
  void retry_keys();
  /// The connection ended: what is still held never got its key (counted);
  /// tls_handshake is sent if it was not yet.
  void finish();

  const TlsHandshakeInfo& info() const { return info_; }
  const TlsDirectionCounts& counts(Dir d) const { return dir_[index_of(d)].counts; }
  /// Did any record get decrypted?
  bool decrypted() const;
  /// Empty when every protected record was opened; else the first problem
  /// that kept some from it ("no key", "gap", ...).
  std::string why_not() const;
  /// A ClientHello or ServerHello was parsed.
  bool saw_handshake() const { return have_ch_ || have_sh_; }
  /// The ClientHello, once parsed; null before.
  const TlsClientHello* client_hello() const { return have_ch_ ? &ch_ : nullptr; }
  size_t held_bytes() const { return held_bytes_; }

 private:
  enum class Phase : uint8_t { kClear, kEarly, kHandshake, kApplication };
  struct Held {
    uint8_t type = 0;
    uint16_t version = 0;
    std::vector<uint8_t> fragment;
    uint64_t offset = 0;
    Timestamp ts = 0;
    uint64_t gap = 0;        ///< a gap marker of this many bytes, not a record
    uint64_t dropped = 0;    ///< records dropped here (did not fit)
  };
  struct Direction {
    Direction(TlsRecordFramer::OnRecord f, TlsRecordFramer::Validate v)
        : framer(std::move(f), std::move(v)) {}
    TlsRecordFramer framer;
    TlsHandshakeReassembler hs;
    Phase phase = Phase::kClear;
    bool protected_ = false;       ///< records are encrypted from here on
    TlsRecordCipher cipher;        ///< the current key (not ready: unknown)
    bool key_missing = false;      ///< the phase's key is not in the key log (yet)
    /// Records of the current key so far, opened or not: the next
    /// record's sequence number (also right once a late key arrives).
    uint64_t seq = 0;
    uint32_t generation = 0;       ///< 1.3: KeyUpdates since the first application key
    TlsSecret traffic_secret;      ///< 1.3: the current application secret
    Phase switch_to = Phase::kClear;  ///< 1.3: key change after this record
    bool key_update = false;       ///< 1.3: KeyUpdate seen in this record
    bool after_gap = false;        ///< the next record's sequence number is unknown
    uint64_t gap_bytes_since = 0;  ///< wire bytes lost since the last record opened
    bool validated = false;        ///< the framer's validator opened the record at
    uint64_t validated_offset = 0; ///< this offset with this sequence number
    uint64_t validated_seq = 0;
    bool skipping_early = false;   ///< 1.3: refused 0-RTT records still to pass over
    bool early_unreadable = false; ///< 1.3: ...or taken ones whose key is not in the key log
    std::deque<Held> held;
    uint64_t plain_offset = 0;
    uint32_t problems_told = 0;    ///< bit per TlsProblem
    TlsDirectionCounts counts;
  };

  // tls_session.cc: records in, holding, events out.
  Direction& dir(Dir d) { return dir_[index_of(d)]; }
  void on_record(Dir d, const TlsRecord& r);
  bool must_hold(Dir d, uint8_t type) const;
  void hold(Dir d, const TlsRecord& r);
  void drain_held(Dir d);
  void handle(Dir d, const TlsRecord& r);
  void handle_content(Dir d, uint8_t type, std::span<const uint8_t> content, Timestamp ts);
  void on_alert(Dir d, std::span<const uint8_t> content, Timestamp ts);
  void apply_gap(Dir d, uint64_t length, Timestamp ts);
  void plaintext_gap(Dir d, uint64_t length, Timestamp ts);
  void drain_wanted();
  void emit_plaintext(Dir d, std::span<const uint8_t> bytes, Timestamp ts);
  void problem(Dir d, TlsProblem p, const std::string& detail, Timestamp ts);
  void announce();

  // tls_session_keys.cc: handshake messages, the key schedule, opening records.
  void on_message(Dir d, uint8_t type, std::span<const uint8_t> body, Timestamp ts);
  void on_server_hello(const TlsServerHello& sh, Timestamp ts);
  void on_change_cipher_spec(Dir d, Timestamp ts);
  bool resolve_master();
  void set_tls12_keys(Dir d);
  void enter_phase(Dir d, Phase p);
  void load_phase_key(Dir d);
  bool set_tls13_secret(Dir d, const TlsSecret& secret);
  void apply_switches(Dir d);
  bool keys_pending(Dir d) const;
  bool open(Dir d, const TlsRecord& r, uint8_t& type, Timestamp ts);
  bool open_after_gap(Dir d, const TlsRecord& r, uint8_t& type);
  bool find_seq(Dir d, const TlsRecord& r, uint64_t& seq, uint8_t& type,
                std::vector<uint8_t>& plain);
  bool validate(Dir d, const TlsRecord& r);
  bool open_skipping_early(Dir d, const TlsRecord& r, uint8_t& type);
  TlsProblem no_key_reason() const;
  void remember_resumption();

  TlsEvents& events_;
  TlsSessionOptions opt_;
  Direction dir_[2];
  TlsHandshakeInfo info_;
  bool announced_ = false;
  bool have_ch_ = false, have_sh_ = false;
  TlsClientHello ch_;
  TlsServerHello sh_;
  bool tls13_ = false;
  bool suite_ok_ = false;
  TlsSuiteParams suite_;
  bool early_decided_ = false;     ///< 1.3: EncryptedExtensions said whether 0-RTT was taken
  bool server_cert_seen_ = false;  ///< 1.2: a full handshake
  TlsSecret master_;               ///< 1.2
  bool master_from_cache_ = false;
  std::vector<std::vector<uint8_t>> tickets_;  ///< 1.2 tickets issued here
  std::vector<uint8_t> plain_;     ///< scratch: one record's plaintext
  std::vector<uint8_t> trial_;     ///< scratch: the validator's
  size_t held_bytes_ = 0;
  /// held_bytes_ += n (n may be negative), and the shared total with it.
  void add_held(ptrdiff_t n);
  bool want_drain_[2] = {false, false};
  bool draining_ = false;
  bool any_decrypted_ = false;
  bool has_problem_ = false;
  TlsProblem first_problem_ = TlsProblem::kNoKey;
};

}  // namespace tcpscribe
