#include "stats_output.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "diag.h"
#include "exit_codes.h"

namespace tcpscribe {
namespace {

// The panel holds the terminal: what a signal handler writes to give it
// back (panel_restore()).
std::atomic<bool> g_terminal_taken{false};
// The terminal was given back for a stop (Ctrl-Z): the next frame sets the
// panel up again.
std::atomic<bool> g_redo_setup{false};

void install_stop_handler();

// Ctrl-Z: the shell gets its whole screen back while the run is stopped
// (as less and vim do): restore, stop for real, and on SIGCONT take the
// handler back; the next frame draws the panel again.
void on_terminal_stop(int) {
  const int saved = errno;
  stats_terminal_suspend();
  struct sigaction dfl {};
  sigemptyset(&dfl.sa_mask);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGTSTP, &dfl, nullptr);
  sigset_t tstp;
  sigemptyset(&tstp);
  sigaddset(&tstp, SIGTSTP);
  pthread_sigmask(SIG_UNBLOCK, &tstp, nullptr);
  raise(SIGTSTP);  // stopped here until SIGCONT
  install_stop_handler();
  errno = saved;
}

void install_stop_handler() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_terminal_stop;
  sigaction(SIGTSTP, &sa, nullptr);
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Standard output is the terminal standard error is.
bool same_terminal(int a, int b) {
  struct stat sa {}, sb {};
  return ::isatty(a) == 1 && ::isatty(b) == 1 && ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 &&
         sa.st_rdev == sb.st_rdev;
}

// Async-signal-safe: panel_restore()'s bytes in one write().
void write_restore() {
  static const char kRestore[] = "\0337\033[r\0338";  // panel_restore()
  const ssize_t n = ::write(STDERR_FILENO, kRestore, sizeof kRestore - 1);
  (void)n;
}

}  // namespace

void stats_terminal_suspend() {
  if (!g_terminal_taken.exchange(false)) return;
  g_redo_setup = true;
  write_restore();
}

void stats_terminal_emergency_restore() {
  if (g_terminal_taken.exchange(false)) write_restore();
}

StatsOutput::StatsOutput(StatsOutputOptions o, Timestamp start)
    : opt_(std::move(o)), board_(start) {}

StatsOutput::~StatsOutput() {
  restore_terminal();
  if (json_ && json_owned_) std::fclose(json_);
}

int StatsOutput::open() {
  if (!opt_.json_path.empty()) {
    if (opt_.json_path == "-") {
      json_ = stdout;
    } else {
      json_ = std::fopen(opt_.json_path.c_str(), "w");
      if (!json_) {
        diag::errorf("cannot write --stats-json %s: %s; give a file in a writable directory",
                     opt_.json_path.c_str(), std::strerror(errno));
        return kExitOutput;
      }
      json_owned_ = true;
    }
  }
  if (!opt_.panel) return kExitOk;
  if (!fixed_size_) {
    if (::isatty(STDERR_FILENO) != 1) {
      diag::warning("--stats: standard error is not a terminal, so there is no panel; "
                    "--stats-json FILE writes the same numbers for scripts");
      return kExitOk;
    }
    shares_ = opt_.log_on_stdout && same_terminal(STDOUT_FILENO, STDERR_FILENO);
    color_ = color_enabled(opt_.color, STDERR_FILENO);
  }
  panel_on_ = true;
  if (!fixed_size_) {
    // Ctrl-Z gives the terminal back (unless stops are ignored: no job control).
    struct sigaction old {};
    if (sigaction(SIGTSTP, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) install_stop_handler();
  }
  if (!measure()) return kExitOk;
  const std::string setup = panel_setup(layout_);
  if (!setup.empty()) {
    // Written now, not through the frame writer: what is printed after
    // open() must land below the panel.
    write_now(setup);
    taken_ = true;
    g_terminal_taken = true;
  }
  return kExitOk;
}

void StatsOutput::use_terminal(size_t rows, size_t cols, bool shares, bool color) {
  fixed_size_ = true;
  layout_ = panel_layout(rows, cols, shares);
  shares_ = shares;
  color_ = color;
}

bool StatsOutput::measure() {
  if (fixed_size_) return true;
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) {
    return false;
  }
  layout_ = panel_layout(ws.ws_row, ws.ws_col, shares_);
  return true;
}

void StatsOutput::write_terminal(const std::string& s) {
  if (frame_writer_) {
    frame_writer_(s);
  } else {
    write_all(STDERR_FILENO, s);
  }
}

void StatsOutput::draw(const StatsSnapshot& s) {
  if (!panel_on_) return;
  const PanelLayout before = layout_;
  if (!measure()) return;
  if (g_redo_setup.exchange(false)) taken_ = false;  // back from a stop
  std::string out;
  if (!taken_) {
    out = panel_setup(layout_);  // the terminal grew big enough
    taken_ = layout_.panel > 0;
  } else if (!(layout_ == before)) {
    out = panel_resize(layout_);
    taken_ = layout_.panel > 0;
  }
  g_terminal_taken = taken_;
  if (layout_.panel == 0) {
    if (!out.empty()) write_terminal(out);
    return;
  }
  out += panel_frame(render_stats_panel(s, opt_.title, layout_.panel, layout_.cols, color_));
  write_terminal(out);
}

void StatsOutput::sample(Timestamp now, std::vector<StatsOpen> open) {
  if (!enabled()) return;
  const StatsSnapshot s = board_.sample(now, std::move(open));
  draw(s);
  if (json_ && failure_.empty()) {
    const std::string line = stats_json_line(s);
    if (std::fwrite(line.data(), 1, line.size(), json_) != line.size() ||
        std::fflush(json_) != 0) {
      failure_ = "cannot write --stats-json " + opt_.json_path + ": " + std::strerror(errno);
      diag::error(failure_ + " (no more stats lines are written)");
    }
  }
}

void StatsOutput::finish(Timestamp now, std::vector<StatsOpen> open) {
  sample(now, std::move(open));
}

void StatsOutput::restore_terminal() {
  if (!taken_) return;
  taken_ = false;
  g_terminal_taken = false;
  write_now(panel_restore());
}

void StatsOutput::write_now(const std::string& s) {
  if (fixed_size_ && frame_writer_) {
    frame_writer_(s);  // tests see everything in order
    return;
  }
  write_all(STDERR_FILENO, s);
}

}  // namespace tcpscribe
