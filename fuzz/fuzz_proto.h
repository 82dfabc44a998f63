// What the request/response protocol harnesses share (fuzz_redis,
// fuzz_postgresql): a conversation decoded from the input, fed to a fresh
// analyzer of the registry whole (one call per chunk), in pieces cut where
// the seed says, and byte by byte; the records, console messages and
// findings, written down as text, must be the same, and bounded.
//
// Input: a flags byte (bit 0: no handshake seen), a seed byte, then chunks:
// a header byte h, then (h >> 1) + 1 bytes for direction h & 1; h >> 1 ==
// 127: a gap of the next byte's value + 1 bytes in direction h & 1 instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analyzer.h"
#include "fuzz_check.h"
#include "proto_test_support.h"

namespace tcpscribe::fuzz {

struct Chunk {
  Dir dir = Dir::kClientToServer;
  bool gap = false;
  std::string bytes;     // data
  uint64_t length = 0;   // gap
};

inline std::vector<Chunk> chunks_of(const uint8_t* data, size_t size) {
  std::vector<Chunk> out;
  size_t i = 0;
  while (i < size) {
    const uint8_t h = data[i++];
    Chunk c;
    c.dir = (h & 1) ? Dir::kServerToClient : Dir::kClientToServer;
    if ((h >> 1) == 127) {
      c.gap = true;
      c.length = (i < size ? data[i++] : 0) + 1u;
    } else {
      const size_t n = std::min<size_t>((h >> 1) + 1u, size - i);
      c.bytes.assign(reinterpret_cast<const char*>(data + i), n);
      i += n;
    }
    out.push_back(std::move(c));
  }
  return out;
}

/// mode 0: whole chunks; 1: pieces cut by `seed`; 2: byte by byte.
inline std::string run_proto(const char* analyzer, uint16_t port, bool handshake,
                             const std::vector<Chunk>& chunks, int mode, uint8_t seed) {
  const AnalyzerInfo* info = find_analyzer(analyzer);
  FUZZ_CHECK(info != nullptr, "no analyzer %s", analyzer);
  testing::ProtoHarness h(*info, port, handshake);
  uint32_t rng = seed * 2654435761u + 1;
  for (const Chunk& c : chunks) {
    if (c.gap) {
      h.gap(c.dir, c.length);
      continue;
    }
    size_t piece = c.bytes.size() + 1;
    if (mode == 2) piece = 1;
    if (mode == 1) {
      rng = rng * 1103515245u + 12345u;
      piece = 1 + (rng >> 16) % 9;
    }
    h.send(c.dir, c.bytes, piece);
  }
  h.close();
  const testing::RecordingOutput& o = h.out;
  size_t total = 0;
  for (const Chunk& c : chunks) total += c.bytes.size() + c.length;
  // Bounds: at most a record and two messages per input byte (plus the
  // startup/close lines), and no line longer than the analyzers' cuts allow.
  FUZZ_CHECK(o.records.size() <= total + 4, "%zu records for %zu bytes", o.records.size(), total);
  FUZZ_CHECK(o.messages.size() <= 2 * total + 4, "%zu messages for %zu bytes", o.messages.size(), total);
  for (const ExchangeRecord& r : o.records) {
    size_t n = r.error_json.size();
    for (const auto& [k, v] : r.fields) n += k.size() + v.size();
    FUZZ_CHECK(n < 200000, "a record of %zu bytes", n);
  }
  return o.digest();
}

inline void check_proto(const char* analyzer, uint16_t port, const uint8_t* data, size_t size) {
  if (size < 2) return;
  const bool handshake = (data[0] & 1) == 0;
  const uint8_t seed = data[1];
  const std::vector<Chunk> chunks = chunks_of(data + 2, size - 2);
  const std::string whole = run_proto(analyzer, port, handshake, chunks, 0, seed);
  const std::string pieces = run_proto(analyzer, port, handshake, chunks, 1, seed);
  FUZZ_CHECK(whole == pieces, "whole and in pieces differ:\n%s\n----\n%s", whole.c_str(), pieces.c_str());
  if (size < 4096) {
    const std::string bytes = run_proto(analyzer, port, handshake, chunks, 2, seed);
    FUZZ_CHECK(whole == bytes, "whole and byte by byte differ:\n%s\n----\n%s", whole.c_str(), bytes.c_str());
  }
}

}  // namespace tcpscribe::fuzz
