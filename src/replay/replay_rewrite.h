// Rewriting the client's bytes on their way to the target: `--replace
// OLD=NEW`, applied to the client stream as a whole, so a match may span the
// chunks the recording happened to cut it into.
//
// The streaming replacer holds back the longest tail of what it has seen that
// is still a prefix of OLD (at most len(OLD)-1 bytes): those bytes may turn
// out to be the start of a match once the next chunk arrives. Everything
// before that tail is final and goes out at once. flush() releases the tail
// unchanged (the stream ended, or the server must see it now).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscribe {

/// Decodes C-style escapes: \r \n \t \0 \\ \= \xHH. Returns false and sets
/// `error` on an unknown escape or a bad \x.
bool parse_escapes(std::string_view in, std::string& out, std::string& error);

struct ReplaceRule {
  std::string from;
  std::string to;
};

/// Parses "OLD=NEW": split at the first '=' that is not escaped as "\=",
/// then both sides go through parse_escapes. OLD must not be empty.
bool parse_replace_rule(std::string_view spec, ReplaceRule& out, std::string& error);

/// Replaces every non-overlapping occurrence of one rule, left to right, in
/// a stream fed in pieces. The output is the same however the input is cut.
class StreamReplacer {
 public:
  explicit StreamReplacer(ReplaceRule rule);

  /// Feeds `in`; appends to `out` everything that is final.
  void feed(std::string_view in, std::string& out);
  /// Appends the held-back tail (no match can complete any more).
  void flush(std::string& out);
  size_t held() const { return pending_.size(); }
  uint64_t replacements() const { return replacements_; }

 private:
  ReplaceRule rule_;
  std::string pending_;  // a proper prefix of rule_.from
  uint64_t replacements_ = 0;
};

/// Several rules applied one after another (each to the previous one's
/// output), in the order given.
class ReplacerChain {
 public:
  explicit ReplacerChain(const std::vector<ReplaceRule>& rules);
  void feed(std::string_view in, std::string& out);
  void flush(std::string& out);
  bool empty() const { return stages_.empty(); }
  uint64_t replacements() const;

 private:
  std::vector<StreamReplacer> stages_;
};

/// Shows bytes the way C source would: printable ASCII as is, \r \n \t \\ \"
/// and \xHH for the rest.
std::string escape_bytes(std::string_view bytes);

}  // namespace tcpscribe
