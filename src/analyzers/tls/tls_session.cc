// TlsSession: records in (framing, holding), events out. The handshake
// and the keys are in tls_session_keys.cc.
#include "tls_session.h"

#include <cstdio>

namespace tcpscribe {
namespace {

// What a held record costs beyond its bytes (the deque node, the vector).
constexpr size_t kHeldOverhead = 64;

}  // namespace

std::string tls_version_name(uint16_t v) {
  switch (v) {
    case 0x0300: return "SSL 3.0";
    case 0x0301: return "TLS 1.0";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default: break;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v);
  return buf;
}

const char* to_string(TlsProblem p) {
  switch (p) {
    case TlsProblem::kNoHandshake: return "no handshake";
    case TlsProblem::kNoKey: return "no key";
    case TlsProblem::kUnsupportedVersion: return "unsupported version";
    case TlsProblem::kUnsupportedSuite: return "unsupported suite";
    case TlsProblem::kBadRecord: return "bad tag";
    case TlsProblem::kGap: return "gap";
    case TlsProblem::kHeldOverflow: return "held records overflow";
    case TlsProblem::kMalformed: return "malformed";
  }
  return "?";
}

TlsSession::TlsSession(TlsEvents& events, TlsSessionOptions options)
    : events_(events),
      opt_(options),
      dir_{Direction([this](const TlsRecord& r) { on_record(Dir::kClientToServer, r); },
                     [this](const TlsRecord& r) { return validate(Dir::kClientToServer, r); }),
           Direction([this](const TlsRecord& r) { on_record(Dir::kServerToClient, r); },
                     [this](const TlsRecord& r) { return validate(Dir::kServerToClient, r); })} {}

TlsSession::~TlsSession() {
  if (opt_.total_held) *opt_.total_held -= std::min(*opt_.total_held, held_bytes_);
}

void TlsSession::add_held(ptrdiff_t n) {
  held_bytes_ = static_cast<size_t>(static_cast<ptrdiff_t>(held_bytes_) + n);
  if (opt_.total_held) {
    *opt_.total_held = static_cast<size_t>(static_cast<ptrdiff_t>(*opt_.total_held) + n);
  }
}

bool TlsSession::decrypted() const { return any_decrypted_; }

std::string TlsSession::why_not() const {
  return has_problem_ ? to_string(first_problem_) : std::string();
}

void TlsSession::data(Dir d, uint64_t offset, std::span<const uint8_t> bytes, Timestamp ts) {
  Direction& D = dir(d);
  D.framer.feed(bytes, offset, ts);
  D.counts.skipped_bytes = D.framer.counts().skipped_bytes;
}

void TlsSession::gap(Dir d, uint64_t offset, uint64_t length, Timestamp ts) {
  Direction& D = dir(d);
  D.framer.gap(offset, length);
  D.counts.skipped_bytes = D.framer.counts().skipped_bytes;
  D.counts.gap_bytes += length;
  if (!D.held.empty()) {  // keep its place among the held records
    Held h;
    h.gap = length;
    h.ts = ts;
    D.held.push_back(std::move(h));
    add_held(kHeldOverhead);
    return;
  }
  apply_gap(d, length, ts);
}

void TlsSession::apply_gap(Dir d, uint64_t length, Timestamp ts) {
  Direction& D = dir(d);
  D.hs.reset();  // a message cut by the gap can never complete
  problem(d, TlsProblem::kGap, std::to_string(length) + " bytes missing", ts);
  if (!D.protected_) return;
  D.after_gap = true;
  D.gap_bytes_since += length;
  plaintext_gap(d, length, ts);
}

void TlsSession::plaintext_gap(Dir d, uint64_t length, Timestamp ts) {
  Direction& D = dir(d);
  // Only inside a plaintext stream that has begun: a connection never
  // decrypted gets no stream of holes.
  if (D.plain_offset == 0 || length == 0) return;
  events_.tls_plaintext_gap(d, D.plain_offset, length, ts);
  D.plain_offset += length;
}

void TlsSession::on_record(Dir d, const TlsRecord& r) {
  Direction& D = dir(d);
  ++D.counts.records;
  if (!D.held.empty() || must_hold(d, r.type)) {
    hold(d, r);
  } else {
    handle(d, r);
  }
  drain_wanted();
}

bool TlsSession::must_hold(Dir d, uint8_t type) const {
  const Direction& D = dir_[index_of(d)];
  if (!have_sh_) {
    // The server's choices are not known: only the client's records in
    // clear go on (the server's before its ServerHello are all in clear:
    // a HelloRetryRequest and its ChangeCipherSpec).
    return d == Dir::kClientToServer && type != kTlsHandshake && type != kTlsAlert;
  }
  if (tls13_ && d == Dir::kClientToServer && ch_.early_data && !early_decided_ &&
      type == kTlsApplicationData) {
    return true;  // 0-RTT or Finished: EncryptedExtensions will tell
  }
  const bool protected_record = tls13_ ? type == kTlsApplicationData : D.protected_;
  return protected_record && keys_pending(d);
}

void TlsSession::hold(Dir d, const TlsRecord& r) {
  Direction& D = dir(d);
  const size_t cost = r.fragment.size() + kHeldOverhead;
  const bool total_full =
      opt_.total_held && *opt_.total_held + cost > opt_.max_total_held_bytes;
  if (held_bytes_ + cost > opt_.max_held_bytes || total_full) {
    ++D.counts.held_dropped_records;
    problem(d, TlsProblem::kHeldOverflow,
            total_full ? "more than " + std::to_string(opt_.max_total_held_bytes) +
                             " bytes of records waiting in all connections"
                       : "more than " + std::to_string(opt_.max_held_bytes) +
                             " bytes of records waiting", r.ts);
    if (!D.held.empty() && D.held.back().dropped > 0) {
      ++D.held.back().dropped;  // one marker for a run of dropped records
      D.held.back().gap += kTlsHeader + r.fragment.size();
    } else {
      Held h;
      h.dropped = 1;
      h.gap = kTlsHeader + r.fragment.size();
      h.ts = r.ts;
      D.held.push_back(std::move(h));
      add_held(kHeldOverhead);
    }
    return;
  }
  Held h;
  h.type = r.type;
  h.version = r.version;
  h.fragment.assign(r.fragment.begin(), r.fragment.end());
  h.offset = r.offset;
  h.ts = r.ts;
  D.held.push_back(std::move(h));
  add_held(static_cast<ptrdiff_t>(cost));
}

void TlsSession::drain_wanted() {
  if (draining_) return;
  draining_ = true;
  while (want_drain_[0] || want_drain_[1]) {
    for (int i = 0; i < 2; ++i) {
      if (!want_drain_[i]) continue;
      want_drain_[i] = false;
      drain_held(static_cast<Dir>(i));
    }
  }
  draining_ = false;
}

void TlsSession::drain_held(Dir d) {
  Direction& D = dir(d);
  while (!D.held.empty()) {
    Held& front = D.held.front();
    if (front.type == 0) {  // a marker: a gap, or records that did not fit
      Held h = std::move(front);
      D.held.pop_front();
      add_held(-static_cast<ptrdiff_t>(kHeldOverhead));
      if (h.dropped > 0) D.seq += h.dropped;  // their sequence numbers are known
      if (h.dropped > 0) plaintext_gap(d, h.gap, h.ts);
      else apply_gap(d, h.gap, h.ts);
      continue;
    }
    if (must_hold(d, front.type)) return;
    Held h = std::move(front);
    D.held.pop_front();
    add_held(-static_cast<ptrdiff_t>(h.fragment.size() + kHeldOverhead));
    TlsRecord r;
    r.type = h.type;
    r.version = h.version;
    r.fragment = h.fragment;
    r.offset = h.offset;
    r.ts = h.ts;
    handle(d, r);
  }
}

void TlsSession::handle(Dir d, const TlsRecord& r) {
  Direction& D = dir(d);
  const bool prot = tls13_ ? r.type == kTlsApplicationData : D.protected_;
  if (!prot) {
    switch (r.type) {
      case kTlsHandshake:
        D.hs.feed(r.fragment, [&](uint8_t t, std::span<const uint8_t> body) {
          on_message(d, t, body, r.ts);
        });
        break;
      case kTlsChangeCipherSpec: on_change_cipher_spec(d, r.ts); break;
      case kTlsAlert: on_alert(d, r.fragment, r.ts); break;
      case kTlsApplicationData:
        ++D.counts.undecrypted_records;
        problem(d, have_ch_ && have_sh_ ? TlsProblem::kMalformed : TlsProblem::kNoHandshake,
                "application data before the handshake", r.ts);
        break;
      default: break;  // heartbeat
    }
    return;
  }
  uint8_t type = r.type;
  if (open(d, r, type, r.ts)) {
    handle_content(d, type, plain_, r.ts);
    apply_switches(d);
  }
}

void TlsSession::handle_content(Dir d, uint8_t type, std::span<const uint8_t> content,
                                Timestamp ts) {
  Direction& D = dir(d);
  switch (type) {
    case kTlsApplicationData: emit_plaintext(d, content, ts); break;
    case kTlsHandshake:
      D.hs.feed(content, [&](uint8_t t, std::span<const uint8_t> body) {
        on_message(d, t, body, ts);
      });
      break;
    case kTlsAlert: on_alert(d, content, ts); break;
    default: break;  // an encrypted ChangeCipherSpec (renegotiation), heartbeat
  }
}

void TlsSession::on_alert(Dir d, std::span<const uint8_t> content, Timestamp ts) {
  for (size_t i = 0; i + 2 <= content.size(); i += 2) {
    events_.tls_alert(d, content[i], content[i + 1], ts);
  }
}

void TlsSession::emit_plaintext(Dir d, std::span<const uint8_t> bytes, Timestamp ts) {
  announce();
  if (bytes.empty()) return;
  Direction& D = dir(d);
  events_.tls_plaintext(d, D.plain_offset, bytes, ts);
  D.plain_offset += bytes.size();
  D.counts.plaintext_bytes += bytes.size();
}

void TlsSession::problem(Dir d, TlsProblem p, const std::string& detail, Timestamp ts) {
  if (!has_problem_) {
    has_problem_ = true;
    first_problem_ = p;
  }
  Direction& D = dir(d);
  const uint32_t bit = 1u << static_cast<unsigned>(p);
  if (D.problems_told & bit) return;
  D.problems_told |= bit;
  events_.tls_problem(d, p, detail, ts);
}

void TlsSession::announce() {
  if (announced_) return;
  announced_ = true;
  events_.tls_handshake(info_);
}

void TlsSession::retry_keys() {
  if (!have_sh_) return;
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    Direction& D = dir(d);
    if (D.key_missing) {
      if (tls13_) {
        load_phase_key(d);
      } else if (resolve_master()) {
        set_tls12_keys(d);
      }
    }
    want_drain_[index_of(d)] = true;
  }
  drain_wanted();
}

void TlsSession::finish() {
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    Direction& D = dir(d);
    for (const Held& h : D.held) {
      if (h.type == 0) continue;  // markers
      ++D.counts.undecrypted_records;
      problem(d, no_key_reason(), "never got its key", h.ts);
    }
    D.held.clear();
  }
  add_held(-static_cast<ptrdiff_t>(held_bytes_));
  announce();
}

}  // namespace tcpscribe
