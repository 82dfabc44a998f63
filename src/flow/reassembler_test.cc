#include "reassembler.h"

#include <gtest/gtest.h>

#include <string>

namespace tcpscribe {
namespace {

struct Collect : StreamOutput {
  std::string bytes;
  uint64_t gap_bytes = 0;
  void data(uint64_t, std::span<const uint8_t> b, Timestamp) override {
    bytes.append(b.begin(), b.end());
  }
  void gap(uint64_t, uint64_t length, Timestamp) override { gap_bytes += length; }
};

// Buffered pieces are charged their memory, not their payload: a one-byte
// piece costs its map node and its smallest allocation, a large piece
// about its bytes; delivery gives it all back.
TEST(StreamReassembler, BufferedBytesChargeEachPiecesMemory) {
  StreamReassembler rs;
  rs.set_base(1000);
  Collect out;
  const uint8_t one = 'x';
  for (uint32_t o = 100; o >= 1; --o) rs.add(1000 + o, &one, 1, 0, 1, out);
  EXPECT_EQ(rs.buffered_bytes(), 100 * StreamReassembler::piece_cost(1));
  EXPECT_EQ(StreamReassembler::piece_cost(1), 128u);
  const std::string big(1448, 'y');
  rs.add(1000 + 2000, reinterpret_cast<const uint8_t*>(big.data()), 1448, 0, 1, out);
  EXPECT_EQ(rs.buffered_bytes(), 100 * 128u + 96u + 1448u);
  rs.add(1000, &one, 1, 0, 1, out);  // fills the first hole: 101 bytes out
  EXPECT_EQ(out.bytes.size(), 101u);
  EXPECT_EQ(rs.buffered_bytes(), 96u + 1448u);
  rs.flush_all(2, out);
  EXPECT_EQ(rs.buffered_bytes(), 0u);
  EXPECT_EQ(out.gap_bytes, 2000u - 101u);
}

}  // namespace
}  // namespace tcpscribe
