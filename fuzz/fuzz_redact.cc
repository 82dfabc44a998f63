// --redact's streaming matcher (src/analyzers/redact): a stream cut at
// random boundaries must come out as one whole-buffer replace of the same
// rules, for every match within the guaranteed length (inputs stay under
// RedactRules::kMaxHold, so every match is). Input: byte 0 picks rules from
// a fixed set (bit 7: the `auth` preset with its PostgreSQL/MySQL framers,
// client side), byte 1 seeds the cuts, the rest is the stream; a line
// "=LITERAL\n" at its start adds LITERAL (quoted) as a rule.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "redact_rules.h"

namespace {

const char* const kPatterns[] = {
    R"(\d{4}[- ]?\d{4})",
    R"((?<=secret=)[^;\s]+)",
    R"(\bpass(word)?\b)",
    R"((?m)^Host:.*$)",
    R"(a+?b|ab+c)",
    R"((\w)\1{2,})",
    R"(x*)",
};

std::string stream(const tcpscribe::RedactRules& rules, bool client,
                   std::span<const uint8_t> in, uint32_t seed, size_t max_chunk) {
  tcpscribe::StreamRedactor r(rules, client);
  std::vector<uint8_t> out;
  size_t at = 0;
  while (at < in.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t n = std::min(in.size() - at, 1 + (seed >> 16) % max_chunk);
    r.feed(in.subspan(at, n), out);
    FUZZ_CHECK(r.released() == out.size(), "released %zu, out %zu", (size_t)r.released(),
               out.size());
    FUZZ_CHECK(out.size() + r.held() == at + n, "lost bytes");
    at += n;
  }
  r.finish(out);
  FUZZ_CHECK(out.size() == in.size(), "length %zu != %zu", out.size(), in.size());
  FUZZ_CHECK(r.forced() == 0, "a match under the guarantee was forced");
  return std::string(out.begin(), out.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size >= tcpscribe::RedactRules::kMaxHold) return 0;
  const uint8_t pick = data[0];
  const uint32_t seed = data[1];
  std::span<const uint8_t> in(data + 2, size - 2);
  tcpscribe::RedactRules rules;
  std::string error;
  for (size_t k = 0; k < std::size(kPatterns); ++k) {
    if (pick & (1u << k)) FUZZ_CHECK(rules.add(kPatterns[k], error), "%s", error.c_str());
  }
  if (!in.empty() && in[0] == '=') {
    const auto nl = std::find(in.begin(), in.end(), '\n');
    std::string lit(in.begin() + 1, nl);
    if (!lit.empty() && lit.find("\\E") == std::string::npos) {
      FUZZ_CHECK(rules.add("\\Q" + lit + "\\E", error), "%s", error.c_str());
    }
  }
  const bool auth = pick & 0x80;
  if (auth) FUZZ_CHECK(rules.add("auth", error), "%s", error.c_str());
  if (rules.empty()) return 0;

  const std::string once = stream(rules, auth, in, seed, in.size() + 1);
  if (!auth) {
    const std::vector<uint8_t> whole = tcpscribe::redact_whole(rules, in);
    FUZZ_CHECK(once == std::string(whole.begin(), whole.end()), "one chunk != whole buffer");
  }
  // Only blanking: every byte is the input's or the redaction byte.
  for (size_t k = 0; k < in.size(); ++k) {
    FUZZ_CHECK(static_cast<uint8_t>(once[k]) == in[k] ||
                   static_cast<uint8_t>(once[k]) == tcpscribe::kRedactByte,
               "byte %zu changed to something else", k);
  }
  for (size_t max_chunk : {size_t{1}, size_t{7}, size_t{64}}) {
    if (max_chunk == 1 && in.size() > 512) continue;
    FUZZ_CHECK(stream(rules, auth, in, seed, max_chunk) == once,
               "chunks of up to %zu bytes differ from one chunk", max_chunk);
  }
  return 0;
}
