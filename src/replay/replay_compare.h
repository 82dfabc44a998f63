// `--compare`: is what the target answered what the recorded server sent?
//
// Both answers first go through the `--ignore` masks: every match of every
// regex (RE2 syntax, over bytes: `.` and classes match any byte but `\n`;
// applied in the order given, each to the result of the previous one) is
// replaced by the token "<ignored>". RE2 matches in time linear in the
// answer with bounded memory and no recursion, so a match of any length
// (a 10 MB value) cannot exhaust the stack as std::regex did. A varying field
// ("Date: ..." or a session id) thus compares equal whatever its length.
// The first difference is then reported at an offset of the *unmasked*
// streams (the mask keeps track of where each masked byte came from), with
// a few bytes of context from both sides.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscribe {

constexpr std::string_view kIgnoredToken = "<ignored>";

/// A stream after masking, with the way back to original offsets.
struct MaskedStream {
  std::string text;
  /// For each masked byte, the offset of the original byte it stands for (a
  /// token's bytes all map to the start of the match it replaced).
  std::vector<uint64_t> origin;
};

class Masker {
 public:
  Masker();
  ~Masker();
  Masker(Masker&&) noexcept;
  Masker& operator=(Masker&&) noexcept;
  /// Compiles `pattern` (RE2). Returns false with `error` set.
  bool add(const std::string& pattern, std::string& error);
  bool empty() const { return regexes_.empty(); }
  MaskedStream apply(std::string_view bytes) const;

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

struct Difference {
  bool same = true;
  uint64_t recorded_offset = 0;  ///< in the recorded answer (unmasked)
  uint64_t target_offset = 0;    ///< in the target's answer (unmasked)
  std::string recorded_context;  ///< escaped, starting a little before the difference
  std::string target_context;
};

/// Compares the two answers after masking. `context` is the number of
/// bytes shown before and after the first differing byte.
Difference compare_answers(std::string_view recorded, std::string_view target,
                           const Masker& masker, size_t context = 12);

}  // namespace tcpscribe
