#include "byte_colors.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(ByteColors, ClassesCoverEveryByte) {
  int counts[3] = {0, 0, 0};
  for (int b = 0; b < 256; ++b) ++counts[static_cast<int>(byte_class(static_cast<uint8_t>(b)))];
  EXPECT_EQ(counts[static_cast<int>(ByteClass::kPrintable)], 95);  // 0x20..0x7e
  EXPECT_EQ(counts[static_cast<int>(ByteClass::kControl)], 33);    // 0x00..0x1f, 0x7f
  EXPECT_EQ(counts[static_cast<int>(ByteClass::kHigh)], 128);
  EXPECT_EQ(byte_class(' '), ByteClass::kPrintable);
  EXPECT_EQ(byte_class('~'), ByteClass::kPrintable);
  EXPECT_EQ(byte_class(0x7f), ByteClass::kControl);
  EXPECT_EQ(byte_class('\n'), ByteClass::kControl);
  EXPECT_EQ(byte_class(0x80), ByteClass::kHigh);
}

TEST(ByteColors, SwitchesOnlyWhenTheClassChanges) {
  std::string out;
  ByteColorizer p(out, "\033[34m");
  for (const char ch : std::string("ab\r\n\xc3\xa9" "c")) {
    p.before_byte(static_cast<uint8_t>(ch));
    out += '*';
  }
  p.plain();
  EXPECT_EQ(out, "**\033[35m**\033[36m**\033[34m*");
}

TEST(ByteColors, OffAppendsNothing) {
  std::string out;
  ByteColorizer p(out, nullptr);
  EXPECT_FALSE(p.on());
  p.before_byte(0);
  p.before_byte(0xff);
  p.plain();
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace tcpscribe
