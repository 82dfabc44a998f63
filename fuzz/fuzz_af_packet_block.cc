// The TPACKET_V3 block walker (src/capture/af_packet) over the input as one
// block of a ring, and the ring merger over what it finds. Properties:
//  - every packet lies inside the block, after its own 48-byte header,
//    and after the previous packet's bytes (records never overlap or go
//    back), so the walk ends: at most one packet per 48 bytes, never more
//    than the block header declares;
//  - caplen <= origlen, nanoseconds below a second;
//  - a damaged block says why; a whole one gives every declared packet;
//  - the packets, dealt over two rings and merged, come out each once in
//    (time, ring, position) order, and both blocks are given back.
#include <chrono>
#include <cstring>
#include <memory>
#include <tuple>
#include <vector>

#include "af_packet.h"
#include "fuzz_check.h"

using namespace tcpscribe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return -1;
  // A heap block of exactly the input's size: a read past it is caught.
  std::unique_ptr<uint8_t[]> block(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(block.get(), data, size);
  const uint8_t* begin = block.get();
  const uint8_t* end = begin + size;
  BlockWalker walk({begin, size});
  std::vector<RingPacket> packets;
  RingPacket p;
  const uint8_t* floor = begin + BlockWalker::kBlockHeader;
  while (walk.next(p)) {
    FUZZ_CHECK(p.data >= floor + BlockWalker::kPacketHeader,
               "packet %zu at %td overlaps a header or the previous packet", packets.size(),
               p.data - begin);
    FUZZ_CHECK(p.data + p.caplen <= end, "packet %zu ends at %td of %zu", packets.size(),
               p.data + p.caplen - begin, size);
    FUZZ_CHECK(p.caplen <= p.origlen, "caplen %u > origlen %u", p.caplen, p.origlen);
    FUZZ_CHECK(p.ts >= 0 && p.ts % kNanosPerSecond < kNanosPerSecond, "time %lld",
               static_cast<long long>(p.ts));
    floor = p.data + p.caplen;
    packets.push_back(p);
    FUZZ_CHECK(packets.size() <= size / BlockWalker::kPacketHeader, "%zu packets in %zu bytes",
               packets.size(), size);
  }
  FUZZ_CHECK(packets.size() <= walk.declared(), "%zu packets, %u declared", packets.size(),
             walk.declared());
  FUZZ_CHECK(walk.damaged() || packets.size() == walk.declared(),
             "%zu of %u packets and no damage reported", packets.size(), walk.declared());
  FUZZ_CHECK(!walk.damaged() || !walk.error().empty(), "damaged without a reason");
  FUZZ_CHECK(!walk.next(p), "a packet after the end");

  // Deal the packets over two rings (by their first byte) and merge.
  std::vector<RingPacket> rings[2];
  for (const RingPacket& q : packets) rings[q.caplen > 0 && (q.data[0] & 1)].push_back(q);
  using Clock = RingMerger::Clock;
  RingMerger m(std::chrono::milliseconds(40));
  const Clock::time_point t0{};
  m.add_block(0, 0, rings[0], t0);
  m.add_block(1, 0, rings[1], t0 + std::chrono::milliseconds(10));
  std::vector<std::tuple<Timestamp, uint32_t, const uint8_t*>> out;
  const auto take = [&](const RingPacket& q) { out.emplace_back(q.ts, q.ring, q.data); };
  const size_t first = m.emit(t0 + std::chrono::milliseconds(45), false, take);
  FUZZ_CHECK(first <= rings[0].size(), "%zu released before ring 1's block was due", first);
  m.emit(t0 + std::chrono::milliseconds(50), false, take);
  FUZZ_CHECK(out.size() == packets.size(), "%zu of %zu packets merged", out.size(), packets.size());
  FUZZ_CHECK(m.held_packets() == 0 && m.held_blocks() == 0, "still held");
  FUZZ_CHECK(m.done().size() == 2, "blocks not given back");
  for (size_t i = 1; i < out.size(); ++i) {
    const auto& [ts0, r0, d0] = out[i - 1];
    const auto& [ts1, r1, d1] = out[i];
    FUZZ_CHECK(ts0 < ts1 || (ts0 == ts1 && (r0 < r1 || (r0 == r1 && d0 < d1))),
               "merge order broken at %zu", i);
  }
  return 0;
}
