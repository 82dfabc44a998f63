// The hex and text views' colors by kind of byte (--color): printable
// ASCII in the direction's color (client -> server blue, server -> client
// red), control bytes (0x00-0x1f, 0x7f) magenta, bytes >= 0x80 cyan. Only
// the views of bytes use them, and only when colors are on: with colors
// off not one byte of output changes.
#pragma once

#include <cstdint>
#include <string>

namespace tcpscribe {

enum class ByteClass : uint8_t { kPrintable, kControl, kHigh };

constexpr ByteClass byte_class(uint8_t b) {
  if (b >= 0x80) return ByteClass::kHigh;
  return b >= 0x20 && b < 0x7F ? ByteClass::kPrintable : ByteClass::kControl;
}

inline constexpr const char* kColorControlByte = "\033[35m";
inline constexpr const char* kColorHighByte = "\033[36m";

/// Appends to `out` the SGR sequences that switch between the colors of a
/// view, each only when the color changes. `base` is the direction's color
/// (printable ASCII, and everything around the bytes: offsets, headers);
/// null means colors are off and nothing is ever appended.
class ByteColorizer {
 public:
  ByteColorizer(std::string& out, const char* base) : out_(out), base_(base), current_(base) {}

  bool on() const { return base_ != nullptr; }
  /// Before the text that shows a byte of class `c`.
  void before(ByteClass c) { to(c == ByteClass::kPrintable ? base_ : c == ByteClass::kControl
                                                                       ? kColorControlByte
                                                                       : kColorHighByte); }
  void before_byte(uint8_t b) { before(byte_class(b)); }
  /// Back to the direction's color (text that is not a byte of the data).
  void plain() { to(base_); }

 private:
  void to(const char* color) {
    if (base_ == nullptr || color == current_) return;
    out_ += color;
    current_ = color;
  }
  std::string& out_;
  const char* base_;
  const char* current_;
};

}  // namespace tcpscribe
