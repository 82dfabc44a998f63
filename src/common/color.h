// --color=auto|always|never and NO_COLOR, decided the same way by every mode.
#pragma once

#include <string>

namespace tcpscribe {

enum class ColorMode { kAuto, kAlways, kNever };

/// The console's colours (SGR sequences): client -> server blue, server ->
/// client red; findings yellow.
inline constexpr const char* kColorClientToServer = "\033[34m";
inline constexpr const char* kColorServerToClient = "\033[31m";
inline constexpr const char* kColorFinding = "\033[33m";
inline constexpr const char* kColorReset = "\033[0m";

/// --color's value (auto, always, never); false for anything else.
bool parse_color_mode(const std::string& s, ColorMode& out);
/// Whether output to `fd` is colored: always, never, or (auto) when `fd` is
/// a terminal and NO_COLOR is not set.
bool color_enabled(ColorMode m, int fd);

}  // namespace tcpscribe
