// -c's colors by kind of byte: printable ASCII in the direction's color,
// control bytes magenta, bytes >= 0x80 cyan; nothing added with colors off.
#include <gtest/gtest.h>

#include <string>

#include "sink_console.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(ConsoleColors, TextViewByByteClass) {
  std::string out;
  ConsoleSink::append_shown(out, bytes(std::string("ok\r\n\x01\xff!")), "\033[31m");
  EXPECT_EQ(out, "ok\033[35m\r\n.\033[36m.\033[31m!");
  std::string plain;
  ConsoleSink::append_shown(plain, bytes(std::string("ok\r\n\x01\xff!")), nullptr);
  EXPECT_EQ(plain, "ok\r\n..!");
}

TEST(ConsoleColors, HexViewByByteClass) {
  std::string out;
  ConsoleSink::append_hex(out, bytes(std::string("A\x00\x90", 3)), 16, "\033[34m");
  EXPECT_EQ(out, "0010: 41\033[35m00 \033[36m90" + std::string(73, ' ') +
                     "\033[34m A\033[35m.\033[36m.\033[34m\n");
  std::string plain;
  ConsoleSink::append_hex(plain, bytes(std::string("A\x00\x90", 3)), 16);
  EXPECT_EQ(plain, "0010: 4100 90" + std::string(73, ' ') + " A..\n");
}

}  // namespace
}  // namespace tcpscribe
