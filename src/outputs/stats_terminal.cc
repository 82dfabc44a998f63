#include "stats_terminal.h"

namespace tcpscribe {
namespace {

std::string cursor_to(size_t row) { return "\033[" + std::to_string(row) + ";1H"; }

std::string scroll_region(const PanelLayout& l) {
  return "\033[" + std::to_string(l.panel + 1) + ";" + std::to_string(l.rows) + "r";
}

}  // namespace

PanelLayout panel_layout(size_t rows, size_t cols, bool log_shares_terminal) {
  PanelLayout l{rows, cols, 0};
  if (rows < 8 || cols < 40) return l;
  l.panel = log_shares_terminal ? rows / 2 : rows - 6;
  return l;
}

std::string panel_setup(const PanelLayout& l) {
  if (l.panel == 0) return {};
  std::string out = cursor_to(l.rows);
  out.append(l.rows, '\n');
  // DECSTBM puts the cursor home (row 1): back below the panel.
  out += scroll_region(l) + cursor_to(l.panel + 1);
  return out;
}

std::string panel_resize(const PanelLayout& l) {
  if (l.panel == 0) return "\0337\033[r\0338";
  return scroll_region(l) + cursor_to(l.rows);
}

std::string panel_frame(const std::vector<std::string>& lines) {
  std::string out = "\0337";
  for (size_t i = 0; i < lines.size(); ++i) {
    // Erased before it is drawn: erasing after a full-width row would
    // take its last column with it (the cursor waits there to wrap).
    out += cursor_to(i + 1) + "\033[2K";
    out += lines[i];
  }
  out += "\0338";
  return out;
}

std::string panel_restore() { return "\0337\033[r\0338"; }

}  // namespace tcpscribe
