#include "progress.h"

#include <unistd.h>

namespace tcpscribe {
namespace {

/// The progress line being shown, for progress_clear_line(); one at a time.
Progress* g_active = nullptr;

}  // namespace

Progress::Progress(bool wanted)
    : Progress(stderr, wanted && isatty(STDERR_FILENO) == 1, isatty(STDOUT_FILENO) == 1,
               std::chrono::milliseconds(200)) {}

Progress::Progress(std::FILE* out, bool tty, bool stdout_tty,
                   std::chrono::milliseconds interval)
    : out_(out), enabled_(tty), stdout_tty_(stdout_tty), interval_(interval) {
  if (enabled_) g_active = this;
}

Progress::~Progress() {
  if (g_active == this) g_active = nullptr;
}

void Progress::update(const std::string& name, uint64_t done, uint64_t total,
                      uint64_t packets, uint64_t flows) {
  if (!enabled_ || stdout_open_line_) return;
  const auto now = std::chrono::steady_clock::now();
  if (ever_drawn_ && now - last_ < interval_) return;
  last_ = now;
  ever_drawn_ = true;
  drawn_ = true;
  // Console output still in stdio's buffer goes before the line, not after.
  if (stdout_tty_) std::fflush(stdout);
  if (total > 0) {
    std::fprintf(out_, "\r\033[K%s: %3.0f%%  %llu packets  %llu connections", name.c_str(),
                 100.0 * static_cast<double>(done) / static_cast<double>(total),
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows));
  } else {
    std::fprintf(out_, "\r\033[K%s: %llu packets  %llu connections", name.c_str(),
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(flows));
  }
  std::fflush(out_);
}

void Progress::line(const std::string& text) {
  if (!enabled_ || stdout_open_line_) return;
  const auto now = std::chrono::steady_clock::now();
  if (ever_drawn_ && now - last_ < interval_) return;
  last_ = now;
  ever_drawn_ = true;
  drawn_ = true;
  if (stdout_tty_) std::fflush(stdout);
  std::fprintf(out_, "\r\033[K%s", text.c_str());
  std::fflush(out_);
}

void Progress::clear() {
  if (enabled_ && drawn_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
  }
  drawn_ = false;
}

void Progress::before_output(std::string_view next, bool to_stdout) {
  // Standard output redirected away from the terminal does not meet the line.
  if (to_stdout && !stdout_tty_) return;
  clear();
  if (to_stdout && !next.empty()) stdout_open_line_ = !ends_line(next);
}

bool ends_line(std::string_view text) {
  // Strip trailing SGR sequences ("\033[0m"): they do not move the cursor.
  for (;;) {
    if (text.empty() || text.back() != 'm') break;
    const size_t esc = text.rfind('\033');
    if (esc == std::string_view::npos || esc + 1 >= text.size() || text[esc + 1] != '[') break;
    const std::string_view params = text.substr(esc + 2, text.size() - esc - 3);
    if (params.find_first_not_of("0123456789;") != std::string_view::npos) break;
    text = text.substr(0, esc);
  }
  return !text.empty() && text.back() == '\n';
}

void progress_clear_line() {
  if (g_active) g_active->before_output({}, false);
}

void progress_clear_line(std::string_view text) {
  if (g_active) g_active->before_output(text, true);
}

}  // namespace tcpscribe
