// Where the --stats panel goes on the terminal: the top rows of standard
// error's terminal, redrawn in place, while everything else written to
// that terminal (the console's log lines when standard output is the same
// terminal, warnings on standard error) scrolls in the rows below it.
//
// The rows below are a scroll region (DECSTBM, ESC [ top ; bottom r), so
// log lines never scroll into the panel. A frame saves the cursor (DECSC,
// ESC 7: position and colors), draws each panel row after erasing it, and
// restores the cursor (DECRC, ESC 8): a frame written between two log
// writes, even in the middle of a log line, leaves the log's position and
// colors as they were. No alternate screen: the last frame stays on the
// screen after the run, above what the run printed.
//
// Sizes: when standard output is that terminal too, the panel takes half
// the rows (the log the other half); otherwise all but 6 rows (left for
// warnings). A terminal under 8 rows or 40 columns gets no panel until it
// is resized.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tcpscribe {

struct PanelLayout {
  size_t rows = 0;   ///< the terminal's
  size_t cols = 0;
  size_t panel = 0;  ///< rows 1..panel; 0: too small, nothing drawn
  bool operator==(const PanelLayout&) const = default;
};

PanelLayout panel_layout(size_t rows, size_t cols, bool log_shares_terminal);

/// Moves what the screen shows into the scrollback (the cursor goes to
/// the last row and `rows` newlines scroll everything off), then makes the
/// rows below the panel the scroll region, with the cursor at its top.
std::string panel_setup(const PanelLayout& l);
/// After a resize: the new scroll region, the cursor at its last row.
std::string panel_resize(const PanelLayout& l);
/// One frame: `lines` in rows 1.., each erased first, inside DECSC/DECRC.
std::string panel_frame(const std::vector<std::string>& lines);
/// The whole screen scrolls again; the cursor stays where the log left it.
std::string panel_restore();

}  // namespace tcpscribe
