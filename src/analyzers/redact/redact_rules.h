// --redact: the rules (PCRE2 regular expressions, and the `auth` preset)
// and the streaming matcher that blanks what they match in one direction of
// a stream, however the bytes are cut into reads or packets.
//
// Why PCRE2 and not RE2 (which replay --ignore uses): the matcher must know,
// at the end of what has arrived so far, whether the tail could still be the
// start of a match. PCRE2's PCRE2_PARTIAL_HARD says exactly that (and where
// that possible match starts), so only that tail is held back; RE2 has no
// partial matching.
//
// The algorithm: the bytes not yet released (plus up to kContext bytes
// already released, for lookbehinds, \b and ^) are matched from where each
// rule stopped last time. A complete match is blanked; a partial one at the
// end holds its bytes until more arrive; everything before the earliest
// held byte of all rules is released. At the end of a direction (FIN, RST,
// close, or before a gap) the held bytes are matched as a finished subject
// and released. So the result is the same as one leftmost, non-overlapping
// replace over the whole stream, for every match of at most kMaxHold bytes
// (the longest match guaranteed). A possible match still open after
// kMaxHold held bytes is blanked up to there as a whole (fail-closed:
// more is blanked, not less) and matching restarts after it, so only the
// part of such an over-long match beyond kMaxHold bytes may show. A search
// that hits a PCRE2 limit (backtracking, depth, heap) blanks the rest of what
// that rule had not looked at yet (fail-closed too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tcpscribe {

/// The byte every redacted byte becomes.
inline constexpr uint8_t kRedactByte = '*';

class RedactRules {
 public:
  /// The longest match guaranteed (see above).
  static constexpr size_t kMaxHold = 4096;
  /// Bytes already released kept for lookbehinds (PCRE2's limit is 255).
  static constexpr size_t kContext = 256;

  RedactRules();
  ~RedactRules();
  RedactRules(RedactRules&&) noexcept;
  RedactRules& operator=(RedactRules&&) noexcept;

  /// Adds one --redact argument: `auth` (the preset) or a PCRE2 pattern
  /// whose whole match is blanked. False with `error` set to one line
  /// naming the pattern and what is wrong in it.
  bool add(const std::string& spec, std::string& error);
  bool empty() const { return rules_.empty() && !auth_; }
  /// The preset is on: HTTP credentials headers and Redis AUTH by rules,
  /// PostgreSQL and MySQL passwords by the framers (redact_framers.h).
  bool auth() const { return auth_; }

  struct Rule;
  const std::vector<std::unique_ptr<Rule>>& rules() const { return rules_; }
  size_t context() const { return context_; }

 private:
  bool add_pattern(const std::string& pattern, bool groups, std::string& error);
  std::vector<std::unique_ptr<Rule>> rules_;
  size_t context_ = 1;
  bool auth_ = false;
};

/// The rules' regular expressions over a whole buffer at once (no framer):
/// the result the streaming matcher must give, for the tests and the fuzz
/// harness.
std::vector<uint8_t> redact_whole(const RedactRules& rules, std::span<const uint8_t> bytes);

class ProtocolFramer;

/// One direction of one stream. feed() takes the bytes in order and
/// appends to `out` those that may be released, blanked where a rule
/// matched; finish() releases the rest.
class StreamRedactor {
 public:
  /// `client`: the direction the client sends (the framers look there).
  StreamRedactor(const RedactRules& rules, bool client, size_t max_hold = RedactRules::kMaxHold);
  ~StreamRedactor();
  StreamRedactor(const StreamRedactor&) = delete;
  StreamRedactor& operator=(const StreamRedactor&) = delete;

  void feed(std::span<const uint8_t> in, std::vector<uint8_t>& out);
  /// The end of the bytes in a row (end of the direction, or a gap next):
  /// everything held is matched as a finished subject and released.
  void finish(std::vector<uint8_t>& out);
  /// After finish(): `length` bytes never seen come next (a gap); the
  /// context before them is dropped and the framers stop (out of step).
  void skip(uint64_t length);

  /// Offset (in the stream) of the next byte feed() will release.
  uint64_t released() const { return released_; }
  size_t held() const { return buf_.size() - (released_ - base_); }
  /// Times a possible match outgrew max_hold and was blanked as a whole.
  uint64_t forced() const { return forced_; }
  /// Times a rule's matching hit a PCRE2 limit; what it had not yet
  /// looked at was blanked.
  uint64_t failed() const { return failed_; }

 private:
  void scan(bool final, std::vector<uint8_t>& out);
  void release(uint64_t upto, std::vector<uint8_t>& out);
  void mark(uint64_t from, uint64_t to);

  const RedactRules& rules_;
  size_t max_hold_;
  std::vector<uint8_t> buf_;      // original bytes from base_: context, then held
  uint64_t base_ = 0;             // stream offset of buf_[0]
  uint64_t released_ = 0;         // stream offset of the first byte not released
  std::vector<uint64_t> next_;    // per rule: where its matching resumes
  std::vector<std::pair<uint64_t, uint64_t>> marks_;  // [from, to) to blank
  std::unique_ptr<ProtocolFramer> framer_;
  void* match_data_ = nullptr;    // pcre2_match_data_8*
  uint64_t forced_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace tcpscribe
