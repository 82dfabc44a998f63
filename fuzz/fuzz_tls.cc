// The TLS engine: record framer, handshake parser and TlsSession
// (src/analyzers/tls), with a key log so that decryption is reached.
//
// Input: a flags byte, a seed byte, a key log (2-byte length, then its
// text), then chunks: a control byte (bit 0: server to client; bit 1: a
// gap of LEN bytes instead of data; bit 2: the key log "grows" after this
// chunk, retry_keys()), a 2-byte length LEN and the data. The seeds are the
// TLS captures of tests/pcaps/tls with their key logs (fuzz/make_seeds.py).
// Properties:
//  1. Fed whole chunks, in pieces cut where the seed says, and (small
//     inputs) byte by byte: the same events (handshake facts, plaintext
//     and its offsets, plaintext gaps, alerts, problems) and the same
//     counts at the end.
//  2. Plaintext offsets follow each other (with the gaps) and the count of
//     plaintext bytes is what was emitted.
//  3. With every secret of the key log changed (its last hex digit), no
//     plaintext at all comes out: a record whose tag or MAC fails is never
//     shown. (Forging a tag is not something a fuzzer can do.)
#include <cctype>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "tls_session.h"

using namespace tcpscribe;

namespace {

struct Chunk {
  uint8_t ctl = 0;
  uint64_t gap = 0;
  std::vector<uint8_t> data;
};

class Text : public TlsEvents {
 public:
  std::string text;
  uint64_t next[2] = {0, 0};
  uint64_t plain[2] = {0, 0};
  int handshakes = 0;

  void tls_handshake(const TlsHandshakeInfo& i) override {
    ++handshakes;
    text += "\nhs " + std::to_string(i.version) + " " + i.cipher_suite_name + " " + i.sni +
            " " + i.alpn + " " + std::to_string(i.resumed) +
            std::to_string(static_cast<int>(i.early_data));
  }
  void tls_plaintext(Dir d, uint64_t offset, std::span<const uint8_t> b, Timestamp ts) override {
    const int k = index_of(d);
    FUZZ_CHECK(offset == next[k], "plaintext at %lu, expected %lu", (unsigned long)offset,
               (unsigned long)next[k]);
    FUZZ_CHECK(handshakes == 1, "plaintext before tls_handshake");
    next[k] = offset + b.size();
    plain[k] += b.size();
    text += "\np" + std::to_string(k) + "@" + std::to_string(offset) + "/" + std::to_string(ts) +
            " " + std::string(b.begin(), b.end());
  }
  void tls_plaintext_gap(Dir d, uint64_t offset, uint64_t length, Timestamp) override {
    const int k = index_of(d);
    FUZZ_CHECK(offset == next[k], "plaintext gap at %lu, expected %lu", (unsigned long)offset,
               (unsigned long)next[k]);
    next[k] = offset + length;
    text += "\ng" + std::to_string(k) + "@" + std::to_string(offset) + "+" +
            std::to_string(length);
  }
  void tls_alert(Dir d, uint8_t level, uint8_t desc, Timestamp) override {
    text += "\na" + std::to_string(index_of(d)) + " " + std::to_string(level) + "/" +
            std::to_string(desc);
  }
  void tls_problem(Dir d, TlsProblem p, const std::string& detail, Timestamp) override {
    text += "\n!" + std::to_string(index_of(d)) + " " + to_string(p) + " " + detail;
  }
};

std::string counts_text(const TlsDirectionCounts& c) {
  return std::to_string(c.records) + " " + std::to_string(c.decrypted_records) + " " +
         std::to_string(c.plaintext_bytes) + " " + std::to_string(c.bad_records) + " " +
         std::to_string(c.undecrypted_records) + " " + std::to_string(c.lost_records) + " " +
         std::to_string(c.gap_bytes) + " " + std::to_string(c.skipped_bytes) + " " +
         std::to_string(c.early_records_skipped) + " " + std::to_string(c.held_dropped_records);
}

/// Runs the chunks; `piece` 0: whole, else a cut pattern from `seed`.
std::string run(const std::vector<Chunk>& chunks, TlsKeyLog& keys, const std::string& key_text,
                bool hold, size_t piece, uint8_t seed, uint64_t* plain_total) {
  Text events;
  TlsResumptionCache cache(4);
  TlsSessionOptions o;
  o.keylog = &keys;
  o.resumption = &cache;
  o.hold_for_keys = hold;
  o.max_held_bytes = 8192;
  o.max_seq_search = 256;
  TlsSession s(events, o);
  uint64_t offset[2] = {0, 0};
  Timestamp ts = 1000;
  size_t revealed = 0;  // with retries, the key log arrives line by line
  uint32_t cut = seed;
  for (const Chunk& c : chunks) {
    const Dir d = (c.ctl & 1) ? Dir::kServerToClient : Dir::kClientToServer;
    const int k = index_of(d);
    ts += 1000;
    if (c.ctl & 2) {
      s.gap(d, offset[k], c.gap, ts);
      offset[k] += c.gap;
    } else {
      for (size_t i = 0; i < c.data.size();) {
        size_t n = c.data.size() - i;
        if (piece == 1) n = 1;
        if (piece > 1) {
          cut = cut * 1103515245u + 12345u;
          n = std::min<size_t>(n, 1 + (cut >> 16) % piece);
        }
        s.data(d, offset[k] + i, std::span(c.data).subspan(i, n), ts);
        i += n;
      }
      offset[k] += c.data.size();
    }
    if ((c.ctl & 4) && revealed < key_text.size()) {
      const size_t nl = key_text.find('\n', revealed);
      const size_t end = nl == std::string::npos ? key_text.size() : nl + 1;
      keys.add_text(key_text.substr(revealed, end - revealed));
      revealed = end;
      s.retry_keys();
    }
  }
  s.finish();
  FUZZ_CHECK(s.held_bytes() == 0, "records still held after finish");
  for (int k = 0; k < 2; ++k) {
    const TlsDirectionCounts& c = s.counts(static_cast<Dir>(k));
    FUZZ_CHECK(c.plaintext_bytes == events.plain[k], "counted %lu plaintext bytes, emitted %lu",
               (unsigned long)c.plaintext_bytes, (unsigned long)events.plain[k]);
    events.text += "\nc" + std::to_string(k) + " " + counts_text(c);
  }
  events.text += "\nwhy " + s.why_not() + " " + std::to_string(s.decrypted());
  if (plain_total) *plain_total = events.plain[0] + events.plain[1];
  return events.text;
}

/// The key log with the last hex digit of each line changed: every secret
/// it gives is wrong.
std::string corrupt(const std::string& keys) {
  std::string out = keys;
  size_t end = out.size();
  for (size_t i = out.size(); i-- > 0;) {
    if (out[i] == '\n') end = i;
    const bool last_hex = std::isxdigit(static_cast<unsigned char>(out[i])) && i < end &&
                          out.find_first_not_of(" \t\r", i + 1) >= end;
    if (last_hex) out[i] = out[i] == '0' ? '1' : '0';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t flags = data[0], seed = data[1];
  const size_t key_len = std::min<size_t>(size - 4, (size_t{data[2]} << 8) | data[3]);
  const std::string key_text(reinterpret_cast<const char*>(data + 4), key_len);
  std::vector<Chunk> chunks;
  for (size_t at = 4 + key_len; at + 3 <= size && chunks.size() < 200;) {
    Chunk c;
    c.ctl = data[at];
    const size_t len = (size_t{data[at + 1]} << 8) | data[at + 2];
    at += 3;
    if (c.ctl & 2) {
      c.gap = 1 + len;
    } else {
      const size_t n = std::min(len, size - at);
      c.data.assign(data + at, data + at + n);
      at += n;
    }
    chunks.push_back(std::move(c));
  }
  const bool hold = flags & 1;
  const bool staged = flags & 2;  // the key log comes line by line at the retries
  auto keys_for = [&](const std::string& text) {
    TlsKeyLog k;
    if (!staged) k.add_text(text);
    return k;
  };
  TlsKeyLog k1 = keys_for(key_text), k2 = keys_for(key_text);
  uint64_t plain = 0;
  const std::string whole = run(chunks, k1, key_text, hold, 0, seed, &plain);
  const std::string pieces = run(chunks, k2, key_text, hold, 2 + (flags >> 4) * 37, seed, nullptr);
  FUZZ_CHECK(whole == pieces, "whole and in pieces differ:\n--- whole%s\n--- pieces%s",
             whole.c_str(), pieces.c_str());
  if (size < 1500) {
    TlsKeyLog k3 = keys_for(key_text);
    const std::string bytes = run(chunks, k3, key_text, hold, 1, seed, nullptr);
    FUZZ_CHECK(whole == bytes, "whole and byte by byte differ:\n--- whole%s\n--- bytes%s",
               whole.c_str(), bytes.c_str());
  }
  const std::string bad_text = corrupt(key_text);
  TlsKeyLog bad = keys_for(bad_text);
  uint64_t bad_plain = 0;
  run(chunks, bad, bad_text, hold, 0, seed, &bad_plain);
  FUZZ_CHECK(bad_plain == 0, "%lu plaintext bytes came out with every key wrong",
             (unsigned long)bad_plain);
  return 0;
}
