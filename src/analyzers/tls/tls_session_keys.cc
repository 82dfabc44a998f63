// TlsSession: handshake messages, the key schedule, and opening records
// (with the sequence-number search after a gap and 0-RTT's trial
// decryption).
#include <algorithm>

#include "tls_session.h"

namespace tcpscribe {
namespace {

constexpr uint16_t kTls12 = 0x0303;
constexpr uint16_t kTls13 = 0x0304;

}  // namespace

void TlsSession::on_message(Dir d, uint8_t type, std::span<const uint8_t> body, Timestamp ts) {
  Direction& D = dir(d);
  const bool client = d == Dir::kClientToServer;
  auto malformed = [&](const char* what) {
    problem(d, TlsProblem::kMalformed, std::string(what) + " does not parse", ts);
  };
  switch (type) {
    case kTlsClientHello: {
      TlsClientHello ch;
      if (!client) break;
      if (!parse_client_hello(body, ch)) return malformed("ClientHello");
      // After a HelloRetryRequest the second ClientHello keeps the random
      // (RFC 8446 4.1.2) and offers no 0-RTT.
      const bool first = !have_ch_;
      ch_ = std::move(ch);
      have_ch_ = true;
      if (first) info_.sni = ch_.sni;
      break;
    }
    case kTlsServerHello: {
      TlsServerHello sh;
      if (client) break;
      if (!parse_server_hello(body, sh)) return malformed("ServerHello");
      on_server_hello(sh, ts);
      break;
    }
    case kTlsEncryptedExtensions: {
      TlsEncryptedExtensions ee;
      if (client || !tls13_) break;
      if (!parse_encrypted_extensions(body, ee)) return malformed("EncryptedExtensions");
      if (!ee.alpn.empty()) info_.alpn = ee.alpn;
      if (ch_.early_data && !early_decided_) {
        early_decided_ = true;
        info_.early_data = ee.early_data ? TlsHandshakeInfo::EarlyData::kAccepted
                                         : TlsHandshakeInfo::EarlyData::kRejected;
        if (!ee.early_data) {  // the client's 0-RTT records are passed over
          enter_phase(Dir::kClientToServer, Phase::kHandshake);
          dir(Dir::kClientToServer).skipping_early = true;
        } else if (dir(Dir::kClientToServer).key_missing) {
          // Taken, but the key log has no CLIENT_EARLY_TRAFFIC_SECRET (a
          // client writes it first: it is not coming). Without it the
          // EndOfEarlyData that changes the key cannot be read, so find the
          // change as a server refusing 0-RTT would: the first record that
          // opens with the handshake key. The ones before are undecrypted.
          enter_phase(Dir::kClientToServer, Phase::kHandshake);
          Direction& C = dir(Dir::kClientToServer);
          if (C.key_missing) {
            enter_phase(Dir::kClientToServer, Phase::kEarly);  // no key either way: as before
          } else {
            C.skipping_early = true;
            C.early_unreadable = true;
          }
        }
        want_drain_[index_of(Dir::kClientToServer)] = true;
      }
      break;
    }
    case kTlsCertificate: {
      if (client || !info_.cert_subject.empty()) break;
      TlsCertificateNames names;
      server_cert_seen_ = true;
      if (parse_certificate(body, tls13_, names)) {
        info_.cert_subject = names.subject;
        info_.cert_issuer = names.issuer;
      }
      break;
    }
    case kTlsServerKeyExchange: server_cert_seen_ = true; break;
    case kTlsNewSessionTicket: {
      std::vector<uint8_t> ticket;
      if (client || tls13_ || !parse_new_session_ticket12(body, ticket)) break;
      tickets_.push_back(std::move(ticket));
      remember_resumption();
      break;
    }
    case kTlsEndOfEarlyData:
      if (client && D.phase == Phase::kEarly) D.switch_to = Phase::kHandshake;
      break;
    case kTlsFinished:
      if (tls13_ && D.phase == Phase::kHandshake) D.switch_to = Phase::kApplication;
      break;
    case kTlsKeyUpdate:
      if (tls13_ && D.phase == Phase::kApplication) D.key_update = true;
      break;
    default: break;
  }
}

void TlsSession::on_server_hello(const TlsServerHello& sh, Timestamp ts) {
  sh_ = sh;
  if (sh.hello_retry) {  // the real ServerHello follows the second ClientHello
    info_.hello_retry = true;
    return;
  }
  if (have_sh_) return;  // a second ServerHello: renegotiation, not followed
  have_sh_ = true;
  info_.version = sh.version();
  info_.cipher_suite = sh.cipher_suite;
  info_.cipher_suite_name = tls_suite_name(sh.cipher_suite);
  if (!sh.alpn.empty()) info_.alpn = sh.alpn;
  info_.encrypt_then_mac = sh.encrypt_then_mac;
  info_.extended_master_secret = sh.extended_master_secret;
  tls13_ = info_.version == kTls13;
  for (Direction& D : dir_) D.framer.lock_version(tls13_ ? kTls12 : sh.legacy_version);
  suite_ok_ = false;
  if (info_.version != kTls12 && info_.version != kTls13) {
    problem(Dir::kServerToClient, TlsProblem::kUnsupportedVersion,
            tls_version_name(info_.version), ts);
  } else if (!tls_suite_params(sh.cipher_suite, suite_) || suite_.tls13 != tls13_) {
    problem(Dir::kServerToClient, TlsProblem::kUnsupportedSuite, info_.cipher_suite_name, ts);
  } else {
    suite_ok_ = true;
  }
  if (tls13_) {
    info_.resumed = sh.psk;
    enter_phase(Dir::kServerToClient, Phase::kHandshake);
    if (ch_.early_data && sh.psk) {
      enter_phase(Dir::kClientToServer, Phase::kEarly);  // EncryptedExtensions decides
    } else {
      enter_phase(Dir::kClientToServer, Phase::kHandshake);
      if (ch_.early_data) {
        early_decided_ = true;
        info_.early_data = TlsHandshakeInfo::EarlyData::kRejected;
        dir(Dir::kClientToServer).skipping_early = true;
      }
    }
  } else {
    info_.resumed = !ch_.session_id.empty() && ch_.session_id == sh.session_id;
  }
  want_drain_[index_of(Dir::kClientToServer)] = true;
}

void TlsSession::on_change_cipher_spec(Dir d, Timestamp ts) {
  (void)ts;
  if (tls13_ || !have_sh_) return;  // TLS 1.3: middlebox compatibility only
  Direction& D = dir(d);
  // The server changing ciphers with no certificate or key exchange of its
  // own: the abbreviated handshake (session id or ticket).
  if (d == Dir::kServerToClient && !server_cert_seen_) info_.resumed = true;
  D.protected_ = true;
  D.phase = Phase::kApplication;
  D.seq = 0;
  D.key_missing = false;
  if (!suite_ok_) return;
  if (resolve_master()) {
    set_tls12_keys(d);
  } else {
    D.key_missing = true;
  }
}

bool TlsSession::resolve_master() {
  if (master_.known()) return true;
  if (!have_ch_) return false;
  const TlsKeyLogEntry* e = opt_.keylog ? opt_.keylog->find(ch_.random) : nullptr;
  if (e && e->master.known()) {
    master_ = e->master;
  } else if (opt_.resumption && info_.resumed) {
    const TlsSecret* m = nullptr;
    if (!ch_.session_ticket.empty()) m = opt_.resumption->by_ticket(ch_.session_ticket);
    if (!m && !sh_.session_id.empty() && sh_.session_id == ch_.session_id) {
      m = opt_.resumption->by_session_id(sh_.session_id);
    }
    if (m) {
      master_ = *m;
      master_from_cache_ = true;
    }
  }
  if (master_.known()) remember_resumption();
  return master_.known();
}

void TlsSession::remember_resumption() {
  if (!opt_.resumption || tls13_ || !master_.known()) return;
  if (!sh_.session_id.empty()) opt_.resumption->remember_session_id(sh_.session_id, master_);
  for (const auto& t : tickets_) opt_.resumption->remember_ticket(t, master_);
  tickets_.clear();
}

void TlsSession::set_tls12_keys(Dir d) {
  Direction& D = dir(d);
  // RFC 5246 6.3: client MAC key, server MAC key, client key, server key,
  // client IV, server IV.
  const size_t mac = suite_.cipher == TlsCipher::kAesCbc ? tls_hash_size(suite_.mac) : 0;
  const size_t key = suite_.key_len, iv = suite_.fixed_iv_len;
  std::vector<uint8_t> block(2 * (mac + key + iv));
  if (!tls12_prf(suite_.prf, master_.view(), "key expansion", sh_.random, ch_.random, block)) {
    D.key_missing = true;
    return;
  }
  const std::span<const uint8_t> b(block);
  const size_t side = d == Dir::kClientToServer ? 0 : 1;
  const bool etm = suite_.cipher == TlsCipher::kAesCbc && sh_.encrypt_then_mac;
  D.key_missing = !D.cipher.init(suite_, b.subspan(2 * mac + side * key, key),
                                 b.subspan(2 * mac + 2 * key + side * iv, iv),
                                 b.subspan(side * mac, mac), etm);
}

void TlsSession::enter_phase(Dir d, Phase p) {
  Direction& D = dir(d);
  D.phase = p;
  D.protected_ = true;
  D.seq = 0;
  D.generation = 0;
  load_phase_key(d);
}

void TlsSession::load_phase_key(Dir d) {
  Direction& D = dir(d);
  D.cipher = TlsRecordCipher();
  D.key_missing = false;
  if (!suite_ok_) return;
  const TlsKeyLogEntry* e = opt_.keylog && have_ch_ ? opt_.keylog->find(ch_.random) : nullptr;
  const bool client = d == Dir::kClientToServer;
  const TlsSecret* s = nullptr;
  if (e) {
    switch (D.phase) {
      case Phase::kEarly: s = client ? &e->client_early : nullptr; break;
      case Phase::kHandshake: s = client ? &e->client_handshake : &e->server_handshake; break;
      case Phase::kApplication: s = client ? &e->client_traffic0 : &e->server_traffic0; break;
      case Phase::kClear: break;
    }
  }
  if (!s || !s->known()) {
    D.key_missing = true;
    return;
  }
  TlsSecret secret = *s;
  // A key arriving late: follow the KeyUpdates already seen.
  for (uint32_t g = 0; g < D.generation; ++g) {
    TlsSecret next;
    next.len = secret.len;
    if (!hkdf_expand_label(suite_.prf, secret.view(), "traffic upd", {},
                           std::span<uint8_t>(next.bytes.data(), next.len))) {
      D.key_missing = true;
      return;
    }
    secret = next;
  }
  D.key_missing = !set_tls13_secret(d, secret);
}

bool TlsSession::set_tls13_secret(Dir d, const TlsSecret& secret) {
  Direction& D = dir(d);
  uint8_t key[32], iv[12];
  if (!hkdf_expand_label(suite_.prf, secret.view(), "key", {}, {key, suite_.key_len}) ||
      !hkdf_expand_label(suite_.prf, secret.view(), "iv", {}, {iv, 12})) {
    return false;
  }
  D.traffic_secret = secret;
  return D.cipher.init(suite_, {key, suite_.key_len}, {iv, 12}, {}, false);
}

void TlsSession::apply_switches(Dir d) {
  Direction& D = dir(d);
  if (D.key_update) {  // RFC 8446 7.2: the next generation of this side's secret
    D.key_update = false;
    ++D.generation;
    D.seq = 0;
    if (D.traffic_secret.known() && !D.key_missing) {
      TlsSecret next;
      next.len = D.traffic_secret.len;
      const bool ok = hkdf_expand_label(suite_.prf, D.traffic_secret.view(), "traffic upd", {},
                                        std::span<uint8_t>(next.bytes.data(), next.len)) &&
                      set_tls13_secret(d, next);
      if (!ok) D.key_missing = true;
    } else {
      D.cipher = TlsRecordCipher();
      D.key_missing = true;
    }
  }
  if (D.switch_to != Phase::kClear) {
    const Phase p = D.switch_to;
    D.switch_to = Phase::kClear;
    enter_phase(d, p);
  }
}

bool TlsSession::keys_pending(Dir d) const {
  return dir_[index_of(d)].key_missing && opt_.hold_for_keys && opt_.keylog != nullptr;
}

TlsProblem TlsSession::no_key_reason() const {
  if (!have_ch_ || !have_sh_) return TlsProblem::kNoHandshake;
  if (info_.version != kTls12 && info_.version != kTls13) return TlsProblem::kUnsupportedVersion;
  if (!suite_ok_) return TlsProblem::kUnsupportedSuite;
  return TlsProblem::kNoKey;
}

bool TlsSession::open(Dir d, const TlsRecord& r, uint8_t& type, Timestamp ts) {
  Direction& D = dir(d);
  if (!D.cipher.ready()) {
    ++D.seq;  // its number is used up all the same: a late key stays in step
    ++D.counts.undecrypted_records;
    const TlsProblem why = no_key_reason();
    problem(d, why, why == TlsProblem::kUnsupportedSuite ? info_.cipher_suite_name : "", ts);
    plaintext_gap(d, kTlsHeader + r.fragment.size(), ts);
    return false;
  }
  if (D.skipping_early) return open_skipping_early(d, r, type);
  if (D.after_gap) return open_after_gap(d, r, type);
  const TlsOpen res = D.cipher.open(D.seq, type, r.version, r.fragment, plain_);
  ++D.seq;
  if (res == TlsOpen::kOk) {
    ++D.counts.decrypted_records;
    any_decrypted_ = true;
    return true;
  }
  ++D.counts.bad_records;
  problem(d, TlsProblem::kBadRecord,
          res == TlsOpen::kMalformed ? "record too short for its cipher" : "tag or MAC failed",
          ts);
  plaintext_gap(d, kTlsHeader + r.fragment.size(), ts);
  return false;
}

bool TlsSession::open_skipping_early(Dir d, const TlsRecord& r, uint8_t& type) {
  // The server refused 0-RTT: it skips records that do not open with its
  // handshake key (RFC 8446 4.2.10), and so does tcpscribe. (Or it took
  // them and their key is missing: the same search, see EncryptedExtensions.)
  Direction& D = dir(d);
  if (D.cipher.open(D.seq, type, r.version, r.fragment, plain_) != TlsOpen::kOk) {
    type = r.type;
    if (D.early_unreadable) {  // the server took them: data that cannot be shown
      ++D.counts.undecrypted_records;
      problem(d, TlsProblem::kNoKey, "no CLIENT_EARLY_TRAFFIC_SECRET for the 0-RTT data", r.ts);
      plaintext_gap(d, kTlsHeader + r.fragment.size(), r.ts);
    } else {
      ++D.counts.early_records_skipped;
    }
    return false;
  }
  D.skipping_early = false;
  D.early_unreadable = false;
  ++D.seq;
  ++D.counts.decrypted_records;
  any_decrypted_ = true;
  return true;
}

bool TlsSession::find_seq(Dir d, const TlsRecord& r, uint64_t& seq, uint8_t& type,
                          std::vector<uint8_t>& plain) {
  Direction& D = dir(d);
  // A gap can have taken at most this many records (each has a header and
  // the cipher's overhead), plus the two it cut.
  const uint64_t smallest = kTlsHeader + std::max<size_t>(D.cipher.min_overhead(), 1);
  const uint64_t most = std::min<uint64_t>(opt_.max_seq_search,
                                           D.gap_bytes_since / smallest + 2);
  auto attempt = [&](uint64_t s) {
    uint8_t t = r.type;
    if (D.cipher.open(s, t, r.version, r.fragment, plain) != TlsOpen::kOk) return false;
    seq = s;
    type = t;
    return true;
  };
  // TLS 1.2 GCM: most senders use the sequence number as the explicit
  // nonce; try it first.
  if (!tls13_ && suite_.cipher == TlsCipher::kAesGcm && r.fragment.size() >= 8) {
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | r.fragment[i];
    if (n >= D.seq && n - D.seq <= most && attempt(n)) return true;
  }
  for (uint64_t k = 0; k <= most; ++k) {
    if (attempt(D.seq + k)) return true;
  }
  return false;
}

bool TlsSession::validate(Dir d, const TlsRecord& r) {
  Direction& D = dir(d);
  if (!D.after_gap || !D.cipher.ready() || D.skipping_early || !D.held.empty()) return false;
  uint64_t seq = 0;
  uint8_t type = 0;
  if (!find_seq(d, r, seq, type, trial_)) return false;
  D.validated = true;  // remembered so that opening it does not search again
  D.validated_offset = r.offset;
  D.validated_seq = seq;
  return true;
}

bool TlsSession::open_after_gap(Dir d, const TlsRecord& r, uint8_t& type) {
  Direction& D = dir(d);
  uint64_t seq = 0;
  bool ok;
  if (D.validated && D.validated_offset == r.offset) {
    seq = D.validated_seq;
    ok = D.cipher.open(seq, type, r.version, r.fragment, plain_) == TlsOpen::kOk;
  } else {
    ok = find_seq(d, r, seq, type, plain_);
  }
  D.validated = false;
  if (ok) {
    D.counts.lost_records += seq - D.seq;
    D.seq = seq + 1;
    D.after_gap = false;
    D.gap_bytes_since = 0;
    ++D.counts.decrypted_records;
    any_decrypted_ = true;
    return true;
  }
  // Not this one (or not a record at all): the next one is tried from the
  // same place, with its bytes counted among those that may hide records.
  ++D.counts.undecrypted_records;
  D.gap_bytes_since += kTlsHeader + r.fragment.size();
  problem(d, TlsProblem::kGap, "no sequence number opens the record after the gap", r.ts);
  plaintext_gap(d, kTlsHeader + r.fragment.size(), r.ts);
  return false;
}

}  // namespace tcpscribe
