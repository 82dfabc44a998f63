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
//
// Answers are compared as they arrive (StreamComparer), never held whole:
// without masks only the bytes one side is ahead are kept; with masks each
// side is masked in pieces of at least kCompareWindow bytes, cut where no
// match crosses, so a match of up to kCompareWindow bytes is masked as if
// the answer were whole (a longer one may be cut, and `^` / `$` may then
// also match at such a cut), and each side holds at most about four
// windows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscribe {

constexpr std::string_view kIgnoredToken = "<ignored>";

constexpr size_t kCompareWindow = 16u << 20;

/// Masked bytes [masked, masked + length) and the original bytes they
/// stand for: the same number from `orig` on, or, for a token, the match
/// that started at `orig`.
struct OriginRun {
  uint64_t masked = 0;
  uint64_t orig = 0;
  uint64_t length = 0;
  bool token = false;
};

/// A stream after masking, with the way back to original offsets.
struct MaskedStream {
  std::string text;
  std::vector<OriginRun> runs;  ///< in order, covering `text`
  /// The original offset masked byte `at` stands for (a token's bytes all
  /// map to the start of the match it replaced); `end` past the runs.
  uint64_t origin(uint64_t at, uint64_t end) const;
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
  /// The matches of regex `i` in `text`, in order (empty ones skipped).
  void matches(size_t i, std::string_view text,
               const std::function<bool(size_t at, size_t len)>& each) const;
  size_t size() const { return regexes_.size(); }

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

/// Compares two answers fed in pieces, as they come. Once a difference is
/// found (decided()), later pieces are dropped.
class StreamComparer {
 public:
  /// `context`: the bytes shown before and after the first differing byte.
  explicit StreamComparer(const Masker& masker, size_t context = 12,
                          size_t window = kCompareWindow);
  void recorded(std::string_view bytes);
  void target(std::string_view bytes);
  /// Both answers are complete: the result.
  Difference finish();
  bool decided() const { return decided_; }
  uint64_t recorded_bytes() const { return side_[0].total; }
  uint64_t target_bytes() const { return side_[1].total; }
  /// Bytes held now (both sides, masked and not).
  size_t held_bytes() const;

 private:
  struct Side {
    std::string raw;           // not masked yet
    uint64_t raw_base = 0;     // original offset of raw[0]
    std::string masked;        // masked, not compared yet (from pos)
    size_t pos = 0;
    uint64_t masked_base = 0;  // masked-stream offset of masked[pos]
    uint64_t masked_end = 0;   // masked-stream offset after masked
    std::vector<OriginRun> runs;  // masked-stream and original offsets
    size_t run_pos = 0;
    std::string before;        // the last compared masked bytes (context)
    uint64_t total = 0;        // original bytes fed
  };
  void feed(Side& s, std::string_view bytes);
  void mask_some(Side& s, bool final);
  size_t safe_cut(std::string_view raw) const;
  void compare_some(bool final);
  void decide(size_t at, bool final);
  std::string context_of(const Side& s, size_t at, bool final) const;
  uint64_t origin_of(const Side& s, uint64_t masked_at) const;

  const Masker& masker_;
  size_t context_;
  size_t window_;
  Side side_[2];  // recorded, target
  bool decided_ = false;
  bool finished_ = false;
  Difference diff_;
};

/// Compares two whole answers after masking (StreamComparer fed once).
Difference compare_answers(std::string_view recorded, std::string_view target,
                           const Masker& masker, size_t context = 12);

}  // namespace tcpscribe
