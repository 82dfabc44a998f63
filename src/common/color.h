// --color=auto|always|never and NO_COLOR, decided the same way by every mode.
#pragma once

#include <string>

namespace tcpscribe {

enum class ColorMode { kAuto, kAlways, kNever };

/// --color's value (auto, always, never); false for anything else.
bool parse_color_mode(const std::string& s, ColorMode& out);
/// Whether output to `fd` is colored: always, never, or (auto) when `fd` is
/// a terminal and NO_COLOR is not set.
bool color_enabled(ColorMode m, int fd);

}  // namespace tcpscribe
