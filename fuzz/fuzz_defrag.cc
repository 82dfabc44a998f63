// The IP defragmenter (src/decode/ip_fragments) fed fragments described by
// the input: which of a few datagrams (src, dst, id, protocol, version),
// offset, more-fragments flag, length, capture time in small steps, and
// which of two byte patterns the fragment carries (so overlaps may agree
// or conflict). Small caps come from the input. Properties:
//  - the documented caps hold after every call: pending_datagrams() <=
//    max_datagrams, pending_bytes() <= max_bytes;
//  - a rebuilt datagram's bytes are the fragments' bytes: byte i is the
//    byte some fragment of that datagram carried at offset i, it is no
//    longer than 65535 and it ends where a last fragment said;
//  - the counters only grow, and every completion is counted.
#include <fuzzer/FuzzedDataProvider.h>

#include <bitset>
#include <map>
#include <vector>

#include "fuzz_check.h"
#include "ip_fragments.h"

using namespace tcpscribe;
using tcpscribe::fuzz::stream_byte;

namespace {

struct Model {
  /// Per offset: which of the two patterns a fragment carried there since
  /// the datagram was last completed.
  std::vector<std::bitset<2>> seen;
  std::vector<uint32_t> ends;  // ends given by last fragments
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  FragmentLimits limits;
  const auto cfg = in.ConsumeIntegral<uint8_t>();
  const size_t bytes_caps[] = {0, 64, 1500, 9000, 70000, 32u << 20};
  limits.max_bytes = bytes_caps[cfg % 6];
  limits.max_datagrams = cfg >> 3 & 7;  // 0 is taken as 1
  limits.timeout = (cfg & 0x40) ? 2 * kNanosPerSecond : 30 * kNanosPerSecond;
  IpDefragmenter defrag(limits);
  const size_t max_datagrams = limits.max_datagrams == 0 ? 1 : limits.max_datagrams;

  std::map<int, Model> model;
  std::vector<uint8_t> frag, out;
  Timestamp ts = 5 * kNanosPerSecond;
  FragmentStats last = defrag.stats();
  while (in.remaining_bytes() > 0) {
    const auto op = in.ConsumeIntegral<uint8_t>();
    const int key = op & 7;
    const int pattern = op >> 3 & 1;
    const bool more = op >> 4 & 1;
    ts += in.ConsumeIntegralInRange<int64_t>(0, 1'500'000'000);
    // Offsets mostly multiples of 8 near the start, sometimes anywhere.
    uint32_t offset = (op & 0x20) ? in.ConsumeIntegralInRange<uint32_t>(0, 70000)
                                  : in.ConsumeIntegralInRange<uint32_t>(0, 200) * 8;
    const uint32_t len = in.ConsumeIntegralInRange<uint32_t>(0, (op & 0x40) ? 9000 : 600);
    frag.resize(len);
    for (uint32_t i = 0; i < len; ++i) frag[i] = stream_byte(key, pattern, offset + i);

    IpAddr src, dst;
    src.bytes = {192, 0, 2, static_cast<uint8_t>(1 + (key & 1))};
    dst.bytes = {198, 51, 100, 1};
    src.v6 = dst.v6 = (key & 4) != 0;
    const uint8_t proto = (key & 2) ? 17 : 6;
    const uint32_t id = 1000 + static_cast<uint32_t>(key & 1);

    Model& m = model[key];
    if (uint64_t{offset} + len <= IpDefragmenter::kMaxPayload && offset % 8 == 0) {
      if (m.seen.size() < offset + len) m.seen.resize(offset + len);
      for (uint32_t i = 0; i < len; ++i) m.seen[offset + i].set(pattern);
      if (!more) m.ends.push_back(offset + len);
    }
    const bool done =
        defrag.add(ts, src, dst, id, proto, offset, more, frag.data(), len, out);
    const FragmentStats& st = defrag.stats();
    FUZZ_CHECK(defrag.pending_datagrams() <= max_datagrams, "%zu datagrams pending, cap %zu",
               defrag.pending_datagrams(), max_datagrams);
    FUZZ_CHECK(defrag.pending_bytes() <= limits.max_bytes, "%zu bytes pending, cap %zu",
               defrag.pending_bytes(), limits.max_bytes);
    FUZZ_CHECK(st.fragments == last.fragments + 1, "fragments counted");
    FUZZ_CHECK(st.reassembled == last.reassembled + (done ? 1 : 0), "completions counted");
    FUZZ_CHECK(st.timed_out >= last.timed_out && st.evicted_for_limits >= last.evicted_for_limits &&
                   st.malformed >= last.malformed &&
                   st.overlaps_conflicting >= last.overlaps_conflicting,
               "a counter went down");
    last = st;
    if (!done) continue;
    FUZZ_CHECK(out.size() <= IpDefragmenter::kMaxPayload, "a %zu-byte datagram", out.size());
    FUZZ_CHECK(std::find(m.ends.begin(), m.ends.end(), out.size()) != m.ends.end(),
               "a %zu-byte datagram no last fragment announced", out.size());
    FUZZ_CHECK(m.seen.size() >= out.size(), "bytes beyond any fragment");
    for (size_t i = 0; i < out.size(); ++i) {
      bool ok = false;
      for (int p = 0; p < 2 && !ok; ++p) {
        ok = m.seen[i].test(p) && out[i] == stream_byte(key, p, i);
      }
      FUZZ_CHECK(ok, "byte %zu of a rebuilt datagram (key %d) is no fragment's byte", i, key);
    }
    m = Model{};  // the datagram is forgotten; the key may start another
  }
  return 0;
}
