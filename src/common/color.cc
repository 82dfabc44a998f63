#include "color.h"

#include <unistd.h>

#include <cstdlib>

namespace tcpscribe {

bool parse_color_mode(const std::string& s, ColorMode& out) {
  if (s == "auto") out = ColorMode::kAuto;
  else if (s == "always") out = ColorMode::kAlways;
  else if (s == "never") out = ColorMode::kNever;
  else return false;
  return true;
}

bool color_enabled(ColorMode m, int fd) {
  if (m == ColorMode::kAlways) return true;
  if (m == ColorMode::kNever) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(fd) == 1;
}

}  // namespace tcpscribe
