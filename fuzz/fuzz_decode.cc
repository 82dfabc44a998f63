// The packet decoder (src/decode) over frames of every link type tcpscribe
// decodes, the type chosen by the input's first byte. The rest is frames,
// each [length: 2 bytes big-endian][bytes cut by the snapshot][time step]
// [frame bytes] (fuzz/make_seeds.py writes such inputs from captures).
// Properties:
//  - no read outside the frame (each frame sits in a heap block of exactly
//    caplen bytes, so ASan sees any byte past it);
//  - every packet is counted under exactly one reason (DecodeStats), or is
//    a fragment the defragmenter holds; decode() is true exactly when it
//    counts a TCP segment;
//  - a segment's payload lies inside the frame (or, when rebuilt from
//    fragments, inside the decoder's buffer), and its lengths add up.
#include <cstring>
#include <memory>

#include "decode.h"
#include "fuzz_check.h"

using namespace tcpscribe;

namespace {

constexpr int kLinkTypes[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 274, 276, 147};

uint64_t reasons(const DecodeStats& s) {
  return s.tcp_segments + s.not_ip + s.not_tcp + s.unknown_linktype + s.truncated +
         s.malformed + s.fragments_cut;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return -1;
  const uint8_t sel = data[0];
  const int linktype = kLinkTypes[sel % std::size(kLinkTypes)];
  // Small caps so that eviction runs too.
  FragmentLimits limits;
  limits.max_bytes = (sel & 0x80) ? 4096 : limits.max_bytes;
  limits.max_datagrams = (sel & 0x40) ? 2 : limits.max_datagrams;
  Decoder dec(limits);
  Timestamp ts = 1'000'000'000;
  size_t at = 1;
  while (at + 4 <= size) {
    const size_t len = std::min<size_t>(data[at] << 8 | data[at + 1], size - at - 4);
    const uint32_t cut = data[at + 2];
    ts += (data[at + 3] & 3) * kNanosPerSecond / 2;
    at += 4;
    // The frame alone in a heap block of its size: ASan sees a byte past it.
    std::unique_ptr<uint8_t[]> frame(new uint8_t[len]);
    if (len > 0) std::memcpy(frame.get(), data + at, len);
    at += len;
    RawPacket p;
    p.ts = ts;
    p.linktype = linktype;
    p.caplen = static_cast<uint32_t>(len);
    p.origlen = p.caplen + cut;
    p.data = frame.get();
    const DecodeStats before = dec.stats();
    Segment seg;
    const bool ok = dec.decode(p, seg);
    const DecodeStats& after = dec.stats();

    FUZZ_CHECK(after.packets == before.packets + 1, "packets counted once");
    const uint64_t counted = reasons(after) - reasons(before);
    const uint64_t frags = after.fragments - before.fragments;
    FUZZ_CHECK(counted == 1 || (counted == 0 && frags == 1),
               "a packet is counted under %llu reasons (fragments +%llu)",
               static_cast<unsigned long long>(counted), static_cast<unsigned long long>(frags));
    FUZZ_CHECK(ok == (after.tcp_segments == before.tcp_segments + 1),
               "decode() %d but tcp_segments +%llu", ok,
               static_cast<unsigned long long>(after.tcp_segments - before.tcp_segments));
    FUZZ_CHECK(after.reassembled - before.reassembled <= frags, "rebuilt without a fragment");
    if (!ok) continue;
    FUZZ_CHECK(seg.payload != nullptr || seg.payload_len == 0, "payload without bytes");
    if (after.reassembled == before.reassembled) {
      const uint8_t* end = p.data + p.caplen;
      FUZZ_CHECK(seg.payload >= p.data && seg.payload <= end &&
                     seg.payload_len <= static_cast<size_t>(end - seg.payload),
                 "payload [%p, +%u) outside the frame [%p, +%u)",
                 static_cast<const void*>(seg.payload), seg.payload_len,
                 static_cast<const void*>(p.data), p.caplen);
      FUZZ_CHECK(seg.mac == nullptr || (seg.mac >= p.data && seg.mac + 12 <= end),
                 "MAC addresses outside the frame");
    } else {
      FUZZ_CHECK(seg.missing_len == 0, "a rebuilt datagram misses bytes");
      FUZZ_CHECK(seg.payload_len <= IpDefragmenter::kMaxPayload, "rebuilt payload too long");
    }
    FUZZ_CHECK(seg.frame_caplen == p.caplen && seg.frame_len == p.origlen, "frame lengths");
    FUZZ_CHECK(seg.wscale >= -1 && seg.wscale <= 14, "window scale %d", seg.wscale);
    // Touch every payload byte: ASan checks they are readable.
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < seg.payload_len; ++i) sink = sink ^ seg.payload[i];
  }
  const FragmentStats& fs = dec.defragmenter().stats();
  FUZZ_CHECK(dec.defragmenter().pending_datagrams() <= limits.max_datagrams, "datagram cap");
  FUZZ_CHECK(dec.defragmenter().pending_bytes() <= limits.max_bytes, "byte cap");
  FUZZ_CHECK(fs.reassembled == dec.stats().reassembled, "reassembled counts agree");
  return 0;
}
