#include "proxy_console.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string run(ProxyConsoleOptions o, const std::string& chunk, Dir d = Dir::kClientToServer) {
  ProxyConsole c(o, -1);
  std::string out;
  c.capture_to(&out);
  c.data(1, 0.5, d, bytes(chunk));
  return out;
}

TEST(ProxyConsole, TextView) {
  EXPECT_EQ(run({}, "*1\r\n$4\r\nPING\r\n"),
            "[sid=0001] C->S (14 bytes)\n*1.\n$4.\nPING.\n");
  EXPECT_EQ(run({}, std::string("a\0b\tc\xff", 6), Dir::kServerToClient),
            "[sid=0001] S->C (6 bytes)\na.b\tc.\n");
}

TEST(ProxyConsole, DecodedMessage) {
  ProxyConsole c({}, -1);
  std::string out;
  c.capture_to(&out);
  DecodedMessage m;
  m.proto = "http";
  m.summary = "GET /a HTTP/1.1";
  m.lines = {"GET /a HTTP/1.1", "Host: x\x1b[2J"};
  c.message(3, m);
  m.dir = Dir::kServerToClient;
  m.summary = "200 OK";
  m.latency = 1'445'000;
  m.lines = {"HTTP/1.1 200 OK", "body: 5 bytes"};
  c.message(3, m);
  EXPECT_EQ(out,
            "[sid=0003] C->S [http] GET /a HTTP/1.1\n"
            "    GET /a HTTP/1.1\n"
            "    Host: x\\x1b[2J\n"
            "[sid=0003] S->C [http] 200 OK (+1.445 ms)\n"
            "    HTTP/1.1 200 OK\n"
            "    body: 5 bytes\n");
}

TEST(ProxyConsole, HexdumpLikeHexdumpC) {
  ProxyConsoleOptions o;
  o.hex = true;
  // `printf '*1\r\n$4\r\nPING\r\n+PONG\r\n' | hexdump -C -v`
  EXPECT_EQ(run(o, "*1\r\n$4\r\nPING\r\n+PONG\r\n"),
            "[sid=0001] C->S (21 bytes)\n"
            "00000000  2a 31 0d 0a 24 34 0d 0a  50 49 4e 47 0d 0a 2b 50  |*1..$4..PING..+P|\n"
            "00000010  4f 4e 47 0d 0a                                    |ONG..|\n"
            "00000015\n");
  std::string out;
  ProxyConsole::append_hexdump(out, bytes(std::string(16, 'A')));
  EXPECT_EQ(out,
            "00000000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|\n"
            "00000010\n");
}

TEST(ProxyConsole, MaxDumpAndNoDump) {
  ProxyConsoleOptions o;
  o.max_dump = 4;
  EXPECT_EQ(run(o, "hello world"), "[sid=0001] C->S (11 bytes)\nhell\n... 7 more bytes\n");
  o.hex = true;
  EXPECT_EQ(run(o, "hello world"),
            "[sid=0001] C->S (11 bytes)\n"
            "00000000  68 65 6c 6c                                       |hell|\n"
            "00000004\n... 7 more bytes\n");
  o.max_dump = 0;
  EXPECT_EQ(run(o, "hello"), "[sid=0001] C->S (5 bytes)\n... 5 more bytes\n");
  ProxyConsoleOptions n;
  n.dump = false;
  EXPECT_EQ(run(n, "hello"), "[sid=0001] C->S (5 bytes)\n");
}

TEST(ProxyConsole, ColorsPerDirection) {
  ProxyConsoleOptions o;
  o.color = true;
  EXPECT_EQ(run(o, "hi\n"), "\033[34m[sid=0001] C->S (3 bytes)\nhi\n\033[0m");
  EXPECT_EQ(run(o, "hi\n", Dir::kServerToClient), "\033[31m[sid=0001] S->C (3 bytes)\nhi\n\033[0m");
}

TEST(ProxyConsole, JsonEvents) {
  ProxyConsoleOptions o;
  o.json = true;
  o.max_dump = 6;
  ProxyConsole c(o, -1);
  std::string out;
  c.capture_to(&out);
  const std::string log = "/tmp/r_1";
  c.open(12, 0.25, "127.0.0.1:5000", "127.0.0.1:6379", &log);
  c.data(12, 0.5, Dir::kServerToClient, bytes(std::string("\"\\\n\x01\xe9xyz", 8)));
  c.shutdown(12, 1.0, Dir::kClientToServer, "");
  c.shutdown(12, 1.0, Dir::kServerToClient, "Connection refused");
  c.closed(12, 2.0, "closed", 3, 4, 1.75);
  EXPECT_EQ(out,
            "{\"t\":0.250000,\"sid\":12,\"event\":\"open\",\"client\":\"127.0.0.1:5000\","
            "\"upstream\":\"127.0.0.1:6379\",\"log\":\"/tmp/r_1\"}\n"
            "{\"t\":0.500000,\"sid\":12,\"event\":\"data\",\"dir\":\"S->C\",\"bytes\":8,"
            "\"data\":\"\\\"\\\\\\n\\u0001\\u00e9x\",\"more\":2}\n"
            "{\"t\":1.000000,\"sid\":12,\"event\":\"hup\",\"side\":\"client\"}\n"
            "{\"t\":1.000000,\"sid\":12,\"event\":\"err\",\"side\":\"server\","
            "\"error\":\"Connection refused\"}\n"
            "{\"t\":2.000000,\"sid\":12,\"event\":\"close\",\"reason\":\"closed\",\"c2s_bytes\":3,"
            "\"s2c_bytes\":4,\"duration\":1.750000}\n");
}

TEST(ProxyConsole, OffWritesNothing) {
  ProxyConsole c({}, -1);
  EXPECT_FALSE(c.enabled());
  c.data(1, 0, Dir::kClientToServer, bytes("x"));  // must not crash or write
}

}  // namespace
}  // namespace tcpscribe
