// The flow table scenarios' fixture: crafted segments replayed at initial
// sequence numbers around the 32-bit wrap (flow_table_test.cc and
// flow_table_close_test.cc).
#pragma once

#include <gtest/gtest.h>

#include "test_support.h"

namespace tcpscribe::testing {

constexpr uint8_t S = tcp_flags::kSyn;
constexpr uint8_t A = tcp_flags::kAck;
constexpr uint8_t F = tcp_flags::kFin;
constexpr uint8_t R = tcp_flags::kRst;
constexpr uint8_t P = tcp_flags::kPsh;

class Reassembly : public ::testing::TestWithParam<uint32_t> {
 protected:
  // Client ISN is the parameter; the server's is offset so both wrap.
  uint32_t c0() const { return GetParam(); }
  uint32_t s0() const { return GetParam() - 7; }
  // Sequence numbers of stream offset `o` in each direction.
  uint32_t cs(uint32_t o) const { return c0() + 1 + o; }
  uint32_t ss(uint32_t o) const { return s0() + 1 + o; }

  void handshake(std::vector<std::vector<uint8_t>>& f) const {
    f.push_back(k.frame(true, c0(), 0, S));
    f.push_back(k.frame(false, s0(), cs(0), S | A));
    f.push_back(k.frame(true, cs(0), ss(0), A));
  }
  void close_both(std::vector<std::vector<uint8_t>>& f, uint32_t c_end,
                  uint32_t s_end) const {
    f.push_back(k.frame(true, cs(c_end), ss(s_end), F | A));
    f.push_back(k.frame(false, ss(s_end), cs(c_end) + 1, F | A));
    f.push_back(k.frame(true, cs(c_end) + 1, ss(s_end) + 1, A));
  }
  const RecordingSink::Conn& only(const RecordingSink& r) const {
    EXPECT_EQ(r.conns.size(), 1u);
    return r.conns.begin()->second;
  }

  Crafter k;
};

}  // namespace tcpscribe::testing
