#include "findings_printer.h"

#include "name_template.h"
#include "progress.h"

namespace tcpscribe {

std::string FindingsPrinter::prefix(const Connection& c, Dir d) const {
  std::string out;
  if (color_) out += d == Dir::kClientToServer ? "\033[1;34m" : "\033[1;31m";
  out += "!! ";
  // Named by the client->server flow, as the connection's name.
  out += expand_name(template_, c, Dir::kClientToServer);
  out += ": ";
  return out;
}

std::string FindingsPrinter::line(const Connection& c, const Finding& f) {
  if (f.routine && !print_routine_) return "";
  if (!f.alarm) return "";
  if (told_elsewhere_ && told_elsewhere_(c, f)) return "";
  if (f.kind == Finding::Kind::kCaptureGap) {
    // Without print_gaps the conversation has a marker for each gap up to
    // the stream's end; bytes past it (known from the peer's ACKs only)
    // have none.
    const DirectionStats& st = c.dir[index_of(f.dir)];
    if (!print_gaps_ && f.offset < st.delivered_bytes + st.gap_bytes) return "";
    if (++counts_[c.id].gaps > kGapLinesPerConnection) return "";
  } else if (f.kind == Finding::Kind::kOutOfWindow) {
    if (++counts_[c.id].out_of_window > kGapLinesPerConnection) return "";
  } else if (f.kind == Finding::Kind::kConflictingOverlap) {
    if (++counts_[c.id].conflicts > kGapLinesPerConnection) return "";
  }
  std::string out = prefix(c, f.dir);
  if (f.kind == Finding::Kind::kCaptureGap || f.kind == Finding::Kind::kConflictingOverlap ||
      f.kind == Finding::Kind::kOutOfWindow) {
    out += f.dir == Dir::kClientToServer ? "client->server: " : "server->client: ";
  }
  out += f.text;
  if (color_) out += "\033[0m";
  out += '\n';
  return out;
}

std::string FindingsPrinter::close_line(const Connection& c) {
  auto it = counts_.find(c.id);
  if (it == counts_.end()) return "";
  const Counts n = it->second;
  counts_.erase(it);
  std::string out;
  auto more = [&](uint64_t count, const std::string& what) {
    if (count <= kGapLinesPerConnection) return;
    out += prefix(c, Dir::kClientToServer);
    out += std::to_string(count - kGapLinesPerConnection) + " more " + what + " not shown";
    if (color_) out += "\033[0m";
    out += '\n';
  };
  more(n.gaps, "gaps (" + std::to_string(c.dir[0].gap_bytes + c.dir[1].gap_bytes) +
                   " bytes missing in all)");
  more(n.out_of_window, "segments left out as far outside any window");
  more(n.conflicts, "conflicting overlaps");
  return out;
}

void FindingsSink::on_finding(const Connection& c, const Finding& f) {
  const std::string s = printer_.line(c, f);
  if (s.empty()) return;
  progress_clear_line();
  std::fputs(s.c_str(), out_);
}

void FindingsSink::on_close(const Connection& c, CloseReason) {
  const std::string s = printer_.close_line(c);
  if (s.empty()) return;
  progress_clear_line();
  std::fputs(s.c_str(), out_);
}

}  // namespace tcpscribe
