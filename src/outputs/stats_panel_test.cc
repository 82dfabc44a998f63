#include "stats_panel.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

constexpr Timestamp kSec = kNanosPerSecond;
constexpr Timestamp kT0 = 1'700'000'000 * kSec;

StatsOpen session(uint64_t id, const char* client, Timestamp opened, uint64_t c2s, uint64_t s2c,
                  const char* state = "open") {
  StatsOpen o;
  o.id = id;
  o.client = client;
  o.opened = opened;
  o.bytes[0] = c2s;
  o.bytes[1] = s2c;
  o.state = state;
  return o;
}

TEST(StatsBoard, RatesAreTheBytesSinceThePreviousSample) {
  StatsBoard b(kT0);
  StatsSnapshot s = b.sample(kT0 + kSec, {session(1, "10.0.0.1:1000", kT0, 100, 2000)});
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_DOUBLE_EQ(s.rows[0].rate[0], 100);
  EXPECT_DOUBLE_EQ(s.rows[0].rate[1], 2000);
  EXPECT_DOUBLE_EQ(s.rows[0].age, 1);
  // Two seconds later, 300 more bytes one way and none the other.
  s = b.sample(kT0 + 3 * kSec, {session(1, "10.0.0.1:1000", kT0, 400, 2000)});
  EXPECT_DOUBLE_EQ(s.rows[0].rate[0], 150);
  EXPECT_DOUBLE_EQ(s.rows[0].rate[1], 0);
  EXPECT_DOUBLE_EQ(s.rate[0], 150);
  EXPECT_EQ(s.bytes[0], 400u);
  EXPECT_EQ(s.bytes[1], 2000u);
}

TEST(StatsBoard, ASessionOpenedSinceThePreviousSampleCountsFromItsOpening) {
  StatsBoard b(kT0);
  b.sample(kT0 + kSec, {});
  // Opened half a second before this sample, 500 bytes: 1000 B/s.
  const StatsSnapshot s =
      b.sample(kT0 + 2 * kSec, {session(2, "c", kT0 + 3 * kSec / 2, 500, 0)});
  EXPECT_DOUBLE_EQ(s.rows[0].rate[0], 1000);
  EXPECT_DOUBLE_EQ(s.rate[0], 500);  // all sessions: over the whole second
}

TEST(StatsBoard, ClosedSessionsStayInTheTotalsAndAreListedOnce) {
  StatsBoard b(kT0);
  b.sample(kT0 + kSec, {session(1, "a", kT0, 10, 20), session(2, "b", kT0, 1, 2)});
  for (uint64_t id = 1; id <= 4; ++id) {
    StatsClosed c;
    c.id = id;
    c.client = "x";
    c.opened = kT0;
    c.closed = kT0 + kSec + static_cast<Timestamp>(id);
    c.bytes[0] = 10 * id;
    c.bytes[1] = 20 * id;
    c.reason = "fin";
    b.closed(c);
  }
  StatsSnapshot s = b.sample(kT0 + 2 * kSec, {});
  EXPECT_EQ(s.open, 0u);
  EXPECT_EQ(s.closed, 4u);
  EXPECT_EQ(s.bytes[0], 100u);
  EXPECT_EQ(s.bytes[1], 200u);
  ASSERT_EQ(s.closed_now.size(), 4u);
  ASSERT_EQ(s.recent.size(), StatsBoard::kRecentClosed);
  EXPECT_EQ(s.recent[0].id, 4u);  // newest first
  EXPECT_EQ(s.recent[2].id, 2u);
  s = b.sample(kT0 + 3 * kSec, {});
  EXPECT_TRUE(s.closed_now.empty());
  EXPECT_EQ(s.recent.size(), 3u);
  EXPECT_EQ(s.bytes[0], 100u);
  EXPECT_DOUBLE_EQ(s.rate[0], 0);
}

TEST(StatsText, BytesAndAges) {
  EXPECT_EQ(stats_bytes_text(0), "0");
  EXPECT_EQ(stats_bytes_text(99999), "99999");
  EXPECT_EQ(stats_bytes_text(100000), "100.0k");
  EXPECT_EQ(stats_bytes_text(1234567), "1.2M");
  EXPECT_EQ(stats_bytes_text(999960), "1.0M");
  EXPECT_EQ(stats_bytes_text(5e9), "5.0G");
  EXPECT_EQ(stats_age_text(0.04), "0.0s");
  EXPECT_EQ(stats_age_text(12.34), "12.3s");
  EXPECT_EQ(stats_age_text(245), "4m05s");
  EXPECT_EQ(stats_age_text(7620), "2h07m");
}

TEST(StatsState, FromTheEndedDirections) {
  const bool none[2] = {false, false}, c2s[2] = {true, false}, s2c[2] = {false, true},
             both[2] = {true, true};
  EXPECT_EQ(stats_state(none, none), "open");
  EXPECT_EQ(stats_state(c2s, none), "fin C->S");
  EXPECT_EQ(stats_state(s2c, s2c), "rst S->C");
  EXPECT_EQ(stats_state(both, none), "fin both");
  EXPECT_EQ(stats_state(both, c2s), "rst both");
}

StatsSnapshot two_sessions() {
  StatsBoard b(kT0);
  b.sample(kT0 + 60 * kSec, {session(1, "127.0.0.1:50312", kT0, 1000, 0)});
  StatsClosed c;
  c.id = 3;
  c.client = "127.0.0.1:50400";
  c.opened = kT0 + 60 * kSec;
  c.closed = kT0 + 61 * kSec + kSec / 2;
  c.bytes[0] = 78;
  c.bytes[1] = 1234;
  c.reason = "fin";
  b.closed(c);
  return b.sample(kT0 + 62 * kSec,
                  {session(1, "127.0.0.1:50312", kT0, 3000, 250000),
                   session(2, "[2001:db8::1234:5678]:61000", kT0 + 61 * kSec, 5, 0, "connecting")});
}

TEST(StatsPanel, ExactLines) {
  const std::vector<std::string> lines = render_stats_panel(two_sessions(), "tcpscribe proxy", 8, 110, false);
  const std::vector<std::string> want = {
      "tcpscribe proxy  up 1m02s  open 2, closed 1  C->S 3083 (1042/s)  S->C 251.2k (125.6k/s)",
      "closed 0003 127.0.0.1:50400 after 1.5s: C->S 78, S->C 1234 (fin), 0.5s ago",
      "   SID CLIENT                        AGE     C->S    C->S/s     S->C    S->C/s  STATE",
      "  0001 127.0.0.1:50312             1m02s     3000    1000/s   250.0k  125.0k/s  open",
      "  0002 [2001:db8::1234:5678]:61     1.0s        5       5/s        0       0/s  connecting",
      "",
      "",
      std::string(110, '-')};
  EXPECT_EQ(lines, want);
}

TEST(StatsPanel, RowsBeyondTheHeightAreSummarisedAndLinesCut) {
  StatsBoard b(kT0);
  std::vector<StatsOpen> open;
  for (uint64_t id = 1; id <= 10; ++id) open.push_back(session(id, "10.0.0.1:1", kT0, id, 0));
  const StatsSnapshot s = b.sample(kT0 + kSec, open);
  // 6 rows: totals, heads, 3 sessions, "+7 more" ... and the rule.
  std::vector<std::string> lines = render_stats_panel(s, "t", 7, 40, false);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "t  up 1.0s  open 10, closed 0  C->S 55 (");
  EXPECT_EQ(lines[2], "  0001 10.0.0.1:1                   1.0s");
  EXPECT_EQ(lines[4], "  0003 10.0.0.1:1                   1.0s");
  EXPECT_EQ(lines[5], "+7 more");
  EXPECT_EQ(lines[6], std::string(40, '-'));
  for (const std::string& l : lines) EXPECT_LE(l.size(), 40u);
  // Exactly enough room: no summary line.
  lines = render_stats_panel(s, "t", 13, 40, false);
  EXPECT_EQ(lines[11], "  0010 10.0.0.1:1                   1.0s");
  // Too short for any row: the totals first.
  lines = render_stats_panel(s, "t", 2, 40, false);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].substr(0, 9), "t  up 1.0");
}

TEST(StatsPanel, ColorsOnlyWhenAsked) {
  const std::vector<std::string> plain = render_stats_panel(two_sessions(), "t", 8, 100, false);
  const std::vector<std::string> color = render_stats_panel(two_sessions(), "t", 8, 100, true);
  for (const std::string& l : plain) EXPECT_EQ(l.find('\033'), std::string::npos) << l;
  EXPECT_EQ(color[0], "\033[1m" + plain[0] + "\033[0m");
  EXPECT_EQ(color[1], "\033[2m" + plain[1] + "\033[0m");
  EXPECT_EQ(color[2], "\033[7m" + plain[2] + "\033[0m");
  EXPECT_EQ(color[3], plain[3]);
}

TEST(StatsJson, OneLineWithEverySession) {
  EXPECT_EQ(stats_json_line(two_sessions()),
            "{\"time\":1700000062.000,\"uptime\":62.000,\"open\":2,\"closed\":1,"
            "\"c2s_bytes\":3083,\"s2c_bytes\":251234,\"c2s_rate\":1041.500,\"s2c_rate\":125617.000,"
            "\"sessions\":[{\"id\":1,\"client\":\"127.0.0.1:50312\",\"age\":62.000,"
            "\"c2s_bytes\":3000,\"s2c_bytes\":250000,\"c2s_rate\":1000.000,\"s2c_rate\":125000.000,"
            "\"state\":\"open\"},{\"id\":2,\"client\":\"[2001:db8::1234:5678]:61000\",\"age\":1.000,"
            "\"c2s_bytes\":5,\"s2c_bytes\":0,\"c2s_rate\":5.000,\"s2c_rate\":0.000,"
            "\"state\":\"connecting\"}],\"closed_sessions\":[{\"id\":3,\"client\":\"127.0.0.1:50400\","
            "\"duration\":1.500,\"c2s_bytes\":78,\"s2c_bytes\":1234,\"reason\":\"fin\"}]}\n");
}

}  // namespace
}  // namespace tcpscribe
