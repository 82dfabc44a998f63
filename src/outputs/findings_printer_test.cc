#include "findings_printer.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

Connection conn() {
  Connection c;
  c.client.addr.bytes = {198, 18, 0, 1};
  c.client.port = 54442;
  c.server.addr.bytes = {198, 18, 0, 2};
  c.server.port = 80;
  return c;
}

TEST(FindingsPrinter, OneLineNamedByTheConnection) {
  FindingsPrinter p("%A.%a-%B.%b%V%v%C%c", false, true);
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.text = "client sent 85 bytes 0.120 s after the server closed its side (FIN)";
  EXPECT_EQ(p.line(conn(), f),
            "!! 198.018.000.001.54442-198.018.000.002.00080: client sent 85 bytes 0.120 s "
            "after the server closed its side (FIN)\n");
}

TEST(FindingsPrinter, RoutineFindingsOnlyWhenAskedFor) {
  Finding f;
  f.kind = Finding::Kind::kTupleReuse;
  f.text = "4-tuple reused by a new SYN (connection 1 on it; the previous one, #0, closed "
           "normally)";
  f.routine = true;
  EXPECT_EQ(FindingsPrinter("%a", false, true).line(conn(), f), "");
  EXPECT_EQ(FindingsPrinter("%a", false, true, true).line(conn(), f),
            "!! 54442: " + f.text + "\n");
  f.routine = false;
  EXPECT_EQ(FindingsPrinter("%a", false, true).line(conn(), f), "!! 54442: " + f.text + "\n");
}

TEST(FindingsPrinter, GapLinesAreLimitedThenCounted) {
  FindingsPrinter p("%A.%a-%B.%b", false, true);
  Connection c = conn();
  Finding f;
  f.kind = Finding::Kind::kCaptureGap;
  f.dir = Dir::kServerToClient;
  f.text = "10 bytes missing from the capture at offset 0";
  int printed = 0;
  for (int i = 0; i < 8; ++i) printed += !p.line(c, f).empty();
  EXPECT_EQ(printed, FindingsPrinter::kGapLinesPerConnection);
  c.dir[1].gap_bytes = 80;
  EXPECT_EQ(p.close_line(c),
            "!! 198.018.000.001.54442-198.018.000.002.00080: 3 more gaps (80 bytes missing in "
            "all) not shown\n");
  EXPECT_EQ(p.close_line(c), "");
}

// A capture can repeat out-of-window segments and conflicting copies per
// packet (a million one-byte segments last first, past the window guard's
// reach, printed a million lines): they are limited and counted as gaps are.
TEST(FindingsPrinter, OutOfWindowAndConflictLinesAreLimitedThenCounted) {
  FindingsPrinter p("%A.%a-%B.%b", false, true);
  const Connection c = conn();
  Finding w;
  w.kind = Finding::Kind::kOutOfWindow;
  w.text = "segment left out";
  Finding x;
  x.kind = Finding::Kind::kConflictingOverlap;
  x.text = "a retransmitted segment carries different bytes";
  Finding other;
  other.kind = Finding::Kind::kDataAfterPeerFin;
  other.text = "data after FIN";
  int printed = 0;
  for (int i = 0; i < 1000; ++i) printed += !p.line(c, w).empty();
  for (int i = 0; i < 7; ++i) printed += !p.line(c, x).empty();
  for (int i = 0; i < 7; ++i) printed += !p.line(c, other).empty();  // not limited
  EXPECT_EQ(printed, 2 * FindingsPrinter::kGapLinesPerConnection + 7);
  EXPECT_EQ(p.close_line(c),
            "!! 198.018.000.001.54442-198.018.000.002.00080: 995 more segments left out as "
            "far outside any window not shown\n"
            "!! 198.018.000.001.54442-198.018.000.002.00080: 2 more conflicting overlaps not "
            "shown\n");
  EXPECT_EQ(p.close_line(c), "");
}

TEST(FindingsPrinter, ColorFollowsDirection) {
  FindingsPrinter p("%A", true, false);
  Finding f;
  f.kind = Finding::Kind::kCaptureGap;
  f.length = 10;
  Connection c = conn();
  c.dir[0].gap_bytes = 10;
  EXPECT_EQ(p.line(c, f), "");  // gaps with a marker not printed by this printer
  f.kind = Finding::Kind::kConflictingOverlap;
  f.dir = Dir::kServerToClient;
  f.text = "x";
  EXPECT_EQ(p.line(conn(), f), "\033[1;31m!! 198.018.000.001: server->client: x\033[0m\n");
}

TEST(FindingsPrinter, GapsPastTheStreamEndHaveNoMarkerSoTheyArePrinted) {
  FindingsPrinter p("%A", false, false);
  Connection c = conn();
  c.dir[1].delivered_bytes = 100;
  Finding f;
  f.kind = Finding::Kind::kCaptureGap;
  f.dir = Dir::kServerToClient;
  f.offset = 99;
  f.length = 1;
  f.text = "t";
  EXPECT_EQ(p.line(c, f), "");
  f.offset = 100;
  EXPECT_EQ(p.line(c, f), "!! 198.018.000.001: server->client: t\n");
}

TEST(FindingsPrinter, FactsForTheReportsOnlyAreNotPrinted) {
  FindingsPrinter p("%A", false, true);
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.text = "t";
  f.alarm = false;
  EXPECT_EQ(p.line(conn(), f), "");
  f.alarm = true;
  EXPECT_EQ(p.line(conn(), f), "!! 198.018.000.001: t\n");
}

TEST(FindingsPrinter, LinesToldBetterElsewhereAreNotPrinted) {
  FindingsPrinter p("%A", false, true);
  p.set_told_elsewhere([](const Connection&, const Finding& f) { return f.offset == 7; });
  Finding f;
  f.kind = Finding::Kind::kDataAfterPeerFin;
  f.text = "t";
  f.offset = 7;
  EXPECT_EQ(p.line(conn(), f), "");
  f.offset = 8;
  EXPECT_EQ(p.line(conn(), f), "!! 198.018.000.001: t\n");
}

}  // namespace
}  // namespace tcpscribe
