// The console shows an inner stream (TLS's plaintext) instead of the wire.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sink_console.h"

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(ConsoleInner, TakenOverConnectionsShowTheirInnerStreamOnly) {
  std::FILE* out = std::tmpfile();
  ConsoleOptions o;
  o.header = false;
  {
    ConsoleSink console(o, out);
    Connection a, b;
    a.id = 1;
    b.id = 2;
    console.on_data(a, Dir::kClientToServer, 0, bytes_of("\x16\x03\x01hello"), 1);  // before
    console.take_over(a);
    console.on_data(a, Dir::kClientToServer, 8, bytes_of("CIPHERTEXT"), 2);
    console.inner_data(a, Dir::kClientToServer, 0, bytes_of("GET / HTTP/1.1"), 2);
    console.on_gap(a, Dir::kServerToClient, 0, 100, 3);  // the wire's gap: not shown
    console.inner_gap(a, "TLS", Dir::kServerToClient, 0, 37);
    console.on_data(b, Dir::kClientToServer, 0, bytes_of("plain"), 4);  // not taken over
    console.on_close(a, CloseReason::kFin);
    console.on_data(a, Dir::kClientToServer, 0, bytes_of("again"), 5);  // a new one, same id
  }
  EXPECT_EQ(read_all(out),
            "...hello\nGET / HTTP/1.1\n"
            "[TLS: up to 37 bytes could not be decrypted at offset 0]\nplain\nagain\n");
  std::fclose(out);
}

}  // namespace
}  // namespace tcpscribe
