#include "stats_terminal.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(StatsTerminal, LayoutSharesTheScreenWithTheLog) {
  EXPECT_EQ(panel_layout(40, 120, true), (PanelLayout{40, 120, 20}));
  EXPECT_EQ(panel_layout(40, 120, false), (PanelLayout{40, 120, 34}));
  EXPECT_EQ(panel_layout(7, 120, true).panel, 0u);   // too short
  EXPECT_EQ(panel_layout(24, 39, false).panel, 0u);  // too narrow
  EXPECT_EQ(panel_layout(8, 40, true).panel, 4u);
}

TEST(StatsTerminal, SetupScrollsTheScreenAwayAndReservesThePanelRows) {
  EXPECT_EQ(panel_setup(PanelLayout{10, 80, 5}),
            "\033[10;1H\n\n\n\n\n\n\n\n\n\n\033[6;10r\033[6;1H");
  EXPECT_EQ(panel_setup(PanelLayout{6, 80, 0}), "");
}

TEST(StatsTerminal, FrameDrawsInPlaceAndPutsTheCursorBack) {
  EXPECT_EQ(panel_frame({"totals", "", "---"}),
            "\0337\033[1;1H\033[2Ktotals\033[2;1H\033[2K\033[3;1H\033[2K---\0338");
}

TEST(StatsTerminal, RestoreAndResize) {
  EXPECT_EQ(panel_restore(), "\0337\033[r\0338");
  EXPECT_EQ(panel_resize(PanelLayout{30, 80, 15}), "\033[16;30r\033[30;1H");
  EXPECT_EQ(panel_resize(PanelLayout{5, 80, 0}), "\0337\033[r\0338");
}

}  // namespace
}  // namespace tcpscribe
