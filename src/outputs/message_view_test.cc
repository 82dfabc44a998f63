#include "message_view.h"

#include <gtest/gtest.h>

#include <string>

namespace tcpscribe {
namespace {

// 2024-04-05 12:00:01 UTC.
constexpr Timestamp kNoonPlusOne = 1712318401LL * kNanosPerSecond;

Connection conn() {
  const uint8_t lo[4] = {127, 0, 0, 1};
  Connection c;
  c.client.addr = IpAddr::v4_from(lo);
  c.client.port = 54321;
  c.server.addr = IpAddr::v4_from(lo);
  c.server.port = 8000;
  return c;
}

DecodedMessage request() {
  DecodedMessage m;
  m.proto = "http";
  m.dir = Dir::kClientToServer;
  m.ts = kNoonPlusOne + 234567891;  // the nanoseconds are cut, not rounded
  m.summary = "GET /index.html HTTP/1.1";
  m.lines = {"GET /index.html HTTP/1.1", "Host: localhost:8000", "Accept: */*"};
  return m;
}

DecodedMessage answer() {
  DecodedMessage m;
  m.proto = "http";
  m.dir = Dir::kServerToClient;
  m.ts = kNoonPlusOne + 236012000;
  m.summary = "200 OK";
  m.latency = 1445000;
  m.lines = {"HTTP/1.0 200 OK", "Content-Length: 5", "body: 5 bytes \"hello\""};
  return m;
}

TEST(MessageView, RequestWithoutColor) {
  EXPECT_EQ(format_message(conn(), request(), {}),
            "12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] "
            "GET /index.html HTTP/1.1\n"
            "    GET /index.html HTTP/1.1\n"
            "    Host: localhost:8000\n"
            "    Accept: */*\n"
            "\n");
}

TEST(MessageView, AnswerNamesTheServerSideAndTheLatency) {
  EXPECT_EQ(format_message(conn(), answer(), {}),
            "12:00:01.236012 127.000.000.001.08000-127.000.000.001.54321 [http] "
            "200 OK (+1.445 ms)\n"
            "    HTTP/1.0 200 OK\n"
            "    Content-Length: 5\n"
            "    body: 5 bytes \"hello\"\n"
            "\n");
}

TEST(MessageView, ColorEachLineByDirection) {
  MessageViewOptions o;
  o.color = true;
  DecodedMessage q = request();
  q.lines.resize(1);
  EXPECT_EQ(format_message(conn(), q, o),
            "\033[34m12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] "
            "GET /index.html HTTP/1.1\033[0m\n"
            "\033[34m    GET /index.html HTTP/1.1\033[0m\n"
            "\n");
  DecodedMessage a = answer();
  a.lines.resize(1);
  EXPECT_EQ(format_message(conn(), a, o),
            "\033[31m12:00:01.236012 127.000.000.001.08000-127.000.000.001.54321 [http] "
            "200 OK (+1.445 ms)\033[0m\n"
            "\033[31m    HTTP/1.0 200 OK\033[0m\n"
            "\n");
}

TEST(MessageView, NameTemplateAsTheConsoleHeader) {
  MessageViewOptions o;
  o.name_template = "%a>%b";
  DecodedMessage m = answer();
  m.lines.clear();
  m.latency = -1;  // an answer whose request was not seen
  m.summary.clear();
  EXPECT_EQ(format_message(conn(), m, o), "12:00:01.236012 08000>54321 [http]\n\n");
}

TEST(MessageView, EscapeSequencesFromTheWireAreShownEscaped) {
  DecodedMessage m = request();
  m.summary = "GET /\x1b[2J HTTP/1.1";
  m.lines = {"X-A: \x1b]0;title\x07 tab\there\r", "Caf\xc3\xa9 \xc2\x9b" "31m \xff\x80 del\x7f"};
  EXPECT_EQ(format_message(conn(), m, {}),
            "12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] "
            "GET /\\x1b[2J HTTP/1.1\n"
            "    X-A: \\x1b]0;title\\x07 tab\\x09here\\x0d\n"
            "    Caf\xc3\xa9 \\xc2\\x9b" "31m \\xff\\x80 del\\x7f\n"
            "\n");
}

TEST(MessageView, TerminalSafeKeepsTextAndBackslashes) {
  EXPECT_EQ(terminal_safe("plain \\x41 text, \xe2\x82\xac and \xf0\x9f\x98\x80"),
            "plain \\x41 text, \xe2\x82\xac and \xf0\x9f\x98\x80");
  EXPECT_EQ(terminal_safe(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(terminal_safe("\xe2\x82"), "\\xe2\\x82");  // cut sequence
}

TEST(MessageView, LatencyUnits) {
  EXPECT_EQ(latency_text(0), "0.000 ms");
  EXPECT_EQ(latency_text(1445000), "1.445 ms");
  EXPECT_EQ(latency_text(1445499), "1.445 ms");
  EXPECT_EQ(latency_text(1445500), "1.446 ms");
  EXPECT_EQ(latency_text(999'999'000), "999.999 ms");
  EXPECT_EQ(latency_text(999'999'600), "1.000 s");  // rounds up to a second
  EXPECT_EQ(latency_text(1'234'500'000), "1.235 s");
  EXPECT_EQ(latency_text(61'000'000'000), "61.000 s");
}

TEST(MessageView, ClockTimeIsUtcTimeOfDay) {
  EXPECT_EQ(clock_time(kNoonPlusOne + 999'999'999), "12:00:01.999999");
  EXPECT_EQ(clock_time(0), "00:00:00.000000");
  EXPECT_EQ(clock_time(-1000), "23:59:59.999999");
  EXPECT_EQ(clock_time(86399LL * kNanosPerSecond + 5000), "23:59:59.000005");
}

TEST(MessageView, MaxLinesCutsTheMessage) {
  MessageViewOptions o;
  o.max_lines = 1;
  EXPECT_EQ(format_message(conn(), request(), o),
            "12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] "
            "GET /index.html HTTP/1.1\n"
            "    GET /index.html HTTP/1.1\n"
            "    ... 2 more lines\n"
            "\n");
  o.max_lines = 2;
  EXPECT_EQ(format_message(conn(), request(), o),
            "12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] "
            "GET /index.html HTTP/1.1\n"
            "    GET /index.html HTTP/1.1\n"
            "    Host: localhost:8000\n"
            "    ... 1 more line\n"
            "\n");
  o.max_lines = 3;  // exactly all: no marker
  EXPECT_EQ(format_message(conn(), request(), o), format_message(conn(), request(), {}));
}

}  // namespace
}  // namespace tcpscribe
