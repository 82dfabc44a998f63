// `--replace` for protocols whose messages carry their own length, so that
// a replacement of another length keeps them well formed:
//  - RESP (Redis): a command is an array of bulk strings; each rule applies
//    inside each argument and the argument's `$N` is written anew ("SET k
//    alice" with alice=bob goes out as `$3\r\nbob`). Inline commands (a
//    line) get the rules on the line. Matches spanning two arguments are
//    not replaced.
//  - HTTP/1 requests: the rules apply to the head and to a Content-Length
//    body separately, and Content-Length is set to the new body's length.
//    A chunked body, or anything that does not parse, falls back to the
//    plain stream replace for the rest of the connection.
// The plan picks the framing from the first client bytes
// (detect_framing()); everything else keeps the plain ReplacerChain.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "replay_rewrite.h"

namespace tcpscribe {

enum class Framing { kPlain, kResp, kHttp };

/// RESP when the stream starts with '*' (a command array), HTTP when its
/// first line is "METHOD target HTTP/1.x" (or not yet ended but so far
/// like one), else plain.
Framing detect_framing(std::string_view first_bytes);
const char* framing_name(Framing f);

/// Every rule in turn, each replacing all non-overlapping matches, left to
/// right, in `s` (what the stream replacer does on a whole string).
std::string replace_all_rules(std::string_view s, const std::vector<ReplaceRule>& rules,
                              uint64_t* count = nullptr);

/// A stream rewriter for one client direction. feed() emits whole messages
/// (rewritten) as they complete and holds an incomplete one; flush() sends
/// what is held as it came through the plain replace (the recorded server
/// spoke: the target must see those bytes now).
class FramedReplacer {
 public:
  FramedReplacer(Framing f, const std::vector<ReplaceRule>& rules);
  void feed(std::string_view in, std::string& out);
  void flush(std::string& out);
  uint64_t replacements() const { return count_ + chain_.replacements(); }
  /// Messages whose length fields were rewritten.
  uint64_t reframed() const { return reframed_; }
  /// Why it fell back to the plain replace; empty while framing holds.
  const std::string& fallback() const { return fallback_; }

 private:
  /// Emits complete messages from buf_; false when buf_ starts with an
  /// incomplete one.
  bool take_resp(std::string& out);
  bool take_http(std::string& out);
  void to_plain(std::string why, std::string& out);

  Framing framing_;
  std::vector<ReplaceRule> rules_;
  ReplacerChain chain_;
  std::string buf_;
  std::string fallback_;
  uint64_t count_ = 0;
  uint64_t reframed_ = 0;
};

}  // namespace tcpscribe
