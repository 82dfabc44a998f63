#include "whole_number.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(WholeNumber, OnlyDigitsWithinTheRange) {
  uint64_t v = 7;
  EXPECT_TRUE(parse_whole_number("0", 0, 10, v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_whole_number("18446744073709551615", 1, UINT64_MAX, v));
  EXPECT_EQ(v, UINT64_MAX);
  for (const char* bad : {"-5", "+5", " 5", "5 ", "1e3", "0x10", "1.5", "", "18446744073709551616"}) {
    v = 7;
    EXPECT_FALSE(parse_whole_number(bad, 0, UINT64_MAX, v)) << bad;
    EXPECT_EQ(v, 7u) << bad;  // left alone
  }
  EXPECT_FALSE(parse_whole_number("11", 0, 10, v));
  EXPECT_FALSE(parse_whole_number("0", 1, 10, v));
}

}  // namespace
}  // namespace tcpscribe
