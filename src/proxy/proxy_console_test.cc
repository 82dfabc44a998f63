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

// The text view is unambiguous: CR, TAB and LF as escapes (LF also breaks
// the line), a backslash doubled, other bytes as \xHH unless they are
// valid UTF-8 (C1 controls escaped), so "a\rb" and "a.b" no longer look alike.
TEST(ProxyConsole, TextView) {
  EXPECT_EQ(run({}, "*1\r\n$4\r\nPING\r\n"),
            "[sid=0001] C->S (14 bytes)\n*1\\r\\n\n$4\\r\\n\nPING\\r\\n\n");
  EXPECT_EQ(run({}, std::string("a\0b\tc\xff", 6), Dir::kServerToClient),
            "[sid=0001] S->C (6 bytes)\na\\x00b\\tc\\xff\n");
  EXPECT_NE(run({}, "a\rb"), run({}, "a.b"));
  EXPECT_EQ(run({}, "a\\x00"), "[sid=0001] C->S (5 bytes)\na\\\\x00\n");
  // UTF-8 passes through; a C1 control (U+009B, CSI) and ESC do not.
  EXPECT_EQ(run({}, "caf\xc3\xa9 \xe2\x82\xac\n"), "[sid=0001] C->S (10 bytes)\ncaf\xc3\xa9 \xe2\x82\xac\\n\n");
  EXPECT_EQ(run({}, "\xc2\x9b" "2J\x1b[0m"), "[sid=0001] C->S (8 bytes)\n\\xc2\\x9b" "2J\\x1b[0m\n");
  // A UTF-8 sequence cut short, or overlong, is bytes.
  EXPECT_EQ(run({}, "\xc3"), "[sid=0001] C->S (1 bytes)\n\\xc3\n");
  EXPECT_EQ(run({}, "\xc0\xaf"), "[sid=0001] C->S (2 bytes)\n\\xc0\\xaf\n");
}

TEST(ProxyConsole, Timestamps) {
  ProxyConsoleOptions o;
  o.timestamps = 1;
  ProxyConsole c(o, -1);
  std::string out;
  c.capture_to(&out);
  c.data(2, 1.5, Dir::kClientToServer, bytes("x"));
  c.closed(2, 2.25, "closed", 1, 0, 0.75);
  EXPECT_EQ(out,
            "+1.500000 [sid=0002] C->S (1 bytes)\nx\n"
            "+2.250000 [sid=0002] closed: closed (C->S 1 bytes, S->C 0 bytes, 0.750 s)\n");
  o.timestamps = 2;
  ProxyConsole a(o, -1);
  out.clear();
  a.capture_to(&out);
  a.set_start(int64_t{1'700'000'000} * 1'000'000'000);  // 2023-11-14 22:13:20 UTC
  a.data(2, 61.000042, Dir::kServerToClient, bytes("y"));
  // Local time: the minutes and seconds are the same in every whole-hour zone.
  EXPECT_NE(out.find(":14:21.000042 [sid=0002] S->C (1 bytes)\ny\n"), std::string::npos) << out;
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
            "[sid=0001] 00000000  2a 31 0d 0a 24 34 0d 0a  50 49 4e 47 0d 0a 2b 50  |*1..$4..PING..+P|\n"
            "[sid=0001] 00000010  4f 4e 47 0d 0a                                    |ONG..|\n"
            "[sid=0001] 00000015\n");
  std::string out;
  ProxyConsole::append_hexdump(out, bytes(std::string(16, 'A')));
  EXPECT_EQ(out,
            "00000000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|\n"
            "00000010\n");
}

TEST(ProxyConsole, MaxDumpAndNoDump) {
  ProxyConsoleOptions o;
  o.max_dump = 4;
  EXPECT_EQ(run(o, "hello world"), "[sid=0001] C->S (11 bytes, first 4 shown)\nhell\n... 7 more bytes\n");
  EXPECT_EQ(run(o, "hell"), "[sid=0001] C->S (4 bytes)\nhell\n");
  o.hex = true;
  EXPECT_EQ(run(o, "hello world"),
            "[sid=0001] C->S (11 bytes, first 4 shown)\n"
            "[sid=0001] 00000000  68 65 6c 6c                                       |hell|\n"
            "[sid=0001] 00000004\n... 7 more bytes\n");
  o.max_dump = 0;
  EXPECT_EQ(run(o, "hello"), "[sid=0001] C->S (5 bytes, first 0 shown)\n... 5 more bytes\n");
  ProxyConsoleOptions n;
  n.dump = false;
  EXPECT_EQ(run(n, "hello"), "[sid=0001] C->S (5 bytes)\n");
}

TEST(ProxyConsole, ColorsPerDirection) {
  ProxyConsoleOptions o;
  o.color = true;
  EXPECT_EQ(run(o, "hi"), "\033[34m[sid=0001] C->S (2 bytes)\nhi\n\033[0m");
  EXPECT_EQ(run(o, "hi", Dir::kServerToClient), "\033[31m[sid=0001] S->C (2 bytes)\nhi\n\033[0m");
}

// Printable ASCII in the direction's color, control bytes magenta, bytes
// >= 0x80 cyan (as UTF-8 or escaped); with colors off, not one byte more.
TEST(ProxyConsole, ColorsPerByteClass) {
  ProxyConsoleOptions o;
  o.color = true;
  EXPECT_EQ(run(o, "hi\r\n\xc3\xa9\xff!"),
            "\033[34m[sid=0001] C->S (8 bytes)\n"
            "hi\033[35m\\r\\n\n\033[36m\xc3\xa9\\xff\033[34m!\n\033[0m");
  o.hex = true;
  EXPECT_EQ(run(o, "a\x01\x80", Dir::kServerToClient),
            "\033[31m[sid=0001] S->C (3 bytes)\n"
            "[sid=0001] 00000000  61 \033[35m01 \033[36m80" + std::string(41, ' ') +
                "\033[31m |a\033[35m.\033[36m.\033[31m|\n"
            "[sid=0001] 00000003\n\033[0m");
  o.color = false;
  EXPECT_EQ(run(o, "a\x01\x80"),
            "[sid=0001] C->S (3 bytes)\n"
            "[sid=0001] 00000000  61 01 80                                          |a..|\n"
            "[sid=0001] 00000003\n");
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
  c.data(12, 0.75, Dir::kClientToServer, bytes("caf\xc3\xa9"));
  c.shutdown(12, 1.0, Dir::kClientToServer, "");
  c.shutdown(12, 1.0, Dir::kServerToClient, "Connection refused");
  c.closed(12, 2.0, "closed", 3, 4, 1.75);
  EXPECT_EQ(out,
            "{\"t\":0.250000,\"sid\":12,\"event\":\"open\",\"client\":\"127.0.0.1:5000\","
            "\"upstream\":\"127.0.0.1:6379\",\"log\":\"/tmp/r_1\"}\n"
            "{\"t\":0.500000,\"sid\":12,\"event\":\"data\",\"dir\":\"S->C\",\"bytes\":8,"
            "\"data\":\"\\\"\\\\\\n\\u0001\\ufffdx\",\"data_b64\":\"IlwKAel4\",\"more\":2}\n"
            "{\"t\":0.750000,\"sid\":12,\"event\":\"data\",\"dir\":\"C->S\",\"bytes\":5,"
            "\"data\":\"caf\xc3\xa9\",\"data_b64\":\"Y2Fmw6k=\"}\n"
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
