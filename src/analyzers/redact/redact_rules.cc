#include "redact_rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "redact_framers.h"

namespace tcpscribe {

struct RedactRules::Rule {
  pcre2_code* code = nullptr;
  bool groups = false;  // blank the capture groups, not the whole match (the preset)
  bool jit = false;
  ~Rule() { pcre2_code_free(code); }
};

namespace {

// The preset's rules: what follows the name of a credentials header up to
// the end of its line (in any header block or body line that starts so),
// and Redis AUTH's arguments, as a RESP array or an inline command.
const char* const kAuthPatterns[] = {
    R"((?im)^(?:proxy-)?authorization[ \t]*:[ \t]*([^\r\n]*))",
    R"((?im)^(?:set-)?cookie[ \t]*:[ \t]*([^\r\n]*))",
    R"((?i)\*2\r\n\$4\r\nauth\r\n\$\d{1,9}\r\n([^\r\n]*)\r\n)",
    R"((?i)\*3\r\n\$4\r\nauth\r\n\$\d{1,9}\r\n([^\r\n]*)\r\n\$\d{1,9}\r\n([^\r\n]*)\r\n)",
    R"((?im)^auth[ \t]+([^\r\n]*))",
};

}  // namespace

RedactRules::RedactRules() = default;
RedactRules::~RedactRules() = default;
RedactRules::RedactRules(RedactRules&&) noexcept = default;
RedactRules& RedactRules::operator=(RedactRules&&) noexcept = default;

bool RedactRules::add(const std::string& spec, std::string& error) {
  if (spec == "auth") {
    if (auth_) return true;
    auth_ = true;
    for (const char* p : kAuthPatterns) {
      if (!add_pattern(p, true, error)) return false;
    }
    return true;
  }
  if (spec.empty()) {
    error = "--redact: the pattern is empty; give a PCRE2 regular expression or `auth`";
    return false;
  }
  return add_pattern(spec, false, error);
}

bool RedactRules::add_pattern(const std::string& pattern, bool groups, std::string& error) {
  int code = 0;
  PCRE2_SIZE at = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_NEVER_BACKSLASH_C, &code, &at, nullptr);
  if (!re) {
    PCRE2_UCHAR text[256];
    pcre2_get_error_message(code, text, sizeof text);
    error = "--redact '" + pattern + "': " + reinterpret_cast<const char*>(text) +
            " at offset " + std::to_string(at) + "; give a PCRE2 regular expression "
            "(pcre2syntax(3)) or `auth`";
    return false;
  }
  auto rule = std::make_unique<Rule>();
  rule->code = re;
  rule->groups = groups;
  rule->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD) == 0;
  uint32_t lookbehind = 0;
  pcre2_pattern_info(re, PCRE2_INFO_MAXLOOKBEHIND, &lookbehind);
  context_ = std::max<size_t>(context_, std::min<size_t>(lookbehind + 1, kContext));
  rules_.push_back(std::move(rule));
  return true;
}

std::vector<uint8_t> redact_whole(const RedactRules& rules, std::span<const uint8_t> bytes) {
  std::vector<uint8_t> out(bytes.begin(), bytes.end());
  pcre2_match_data* md = pcre2_match_data_create(64, nullptr);
  for (const auto& rule : rules.rules()) {
    size_t start = 0;
    while (start <= bytes.size()) {
      const int rc = pcre2_match(rule->code, bytes.data(), bytes.size(), start, 0, md, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      for (int g = rule->groups ? 1 : 0; g < (rule->groups ? rc : 1); ++g) {
        if (ov[2 * g] == PCRE2_UNSET) continue;
        for (size_t k = ov[2 * g]; k < ov[2 * g + 1]; ++k) out[k] = kRedactByte;
      }
      start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
  }
  pcre2_match_data_free(md);
  return out;
}

StreamRedactor::StreamRedactor(const RedactRules& rules, bool client, size_t max_hold)
    : rules_(rules), max_hold_(max_hold), next_(rules.rules().size(), 0) {
  if (rules.auth() && client) framer_ = make_auth_framer();
  match_data_ = pcre2_match_data_create(64, nullptr);
}

StreamRedactor::~StreamRedactor() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
}

void StreamRedactor::mark(uint64_t from, uint64_t to) {
  if (from >= to) return;
  if (!marks_.empty() && marks_.back().second >= from && marks_.back().first <= from) {
    marks_.back().second = std::max(marks_.back().second, to);
    return;
  }
  marks_.emplace_back(from, to);
}

void StreamRedactor::feed(std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  if (in.empty()) return;
  if (framer_) {
    framer_->feed(in, base_ + buf_.size(),
                  [this](uint64_t from, uint64_t to) { mark(from, to); });
  }
  buf_.insert(buf_.end(), in.begin(), in.end());
  scan(false, out);
}

void StreamRedactor::finish(std::vector<uint8_t>& out) { scan(true, out); }

void StreamRedactor::skip(uint64_t length) {
  const uint64_t end = base_ + buf_.size();
  buf_.clear();
  base_ = released_ = end + length;
  std::fill(next_.begin(), next_.end(), released_);
  if (framer_) framer_->stop();
  // Marks a framer made past the gap no longer apply to known bytes.
  marks_.clear();
}

// Each rule resumes where it stopped; a complete match is marked, a
// possible one at the end (PCRE2_PARTIAL_HARD) holds its bytes.
void StreamRedactor::scan(bool final, std::vector<uint8_t>& out) {
  auto* md = static_cast<pcre2_match_data*>(match_data_);
  const uint64_t end = base_ + buf_.size();
  uint64_t hold = end;
  const auto& rules = rules_.rules();
  for (size_t r = 0; r < rules.size(); ++r) {
    const RedactRules::Rule& rule = *rules[r];
    uint64_t start = next_[r];
    const uint32_t options = final ? 0 : PCRE2_PARTIAL_HARD;
    while (start <= end) {
      const int rc = rule.jit
          ? pcre2_jit_match(rule.code, buf_.data(), buf_.size(), start - base_, options, md, nullptr)
          : pcre2_match(rule.code, buf_.data(), buf_.size(), start - base_, options, md, nullptr);
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      if (rc == PCRE2_ERROR_PARTIAL) {
        start = base_ + ov[0];
        hold = std::min(hold, start);
        break;
      }
      if (rc < 0) {
        // A PCRE2 limit (backtracking, depth, heap) leaves the rest of the
        // subject unknown: blanked (fail-closed), counted.
        if (rc != PCRE2_ERROR_NOMATCH) {
          mark(start, end);
          ++failed_;
        }
        start = end;
        break;
      }
      if (!rule.groups) {
        mark(base_ + ov[0], base_ + ov[1]);
      } else {
        for (int g = 1; g < rc; ++g) {
          if (ov[2 * g] != PCRE2_UNSET) mark(base_ + ov[2 * g], base_ + ov[2 * g + 1]);
        }
      }
      start = base_ + (ov[1] > ov[0] ? ov[1] : ov[1] + 1);
      if (ov[1] == ov[0] && start > end) {
        start = end;
        break;
      }
    }
    next_[r] = std::max(std::min(start, end), released_);
  }
  if (!final && end - hold > max_hold_) {
    // A possible match longer than the guarantee: blank what is held of it
    // and start afresh after it (fail-closed).
    mark(hold, end);
    hold = end;
    std::fill(next_.begin(), next_.end(), end);
    ++forced_;
  }
  release(hold, out);
}

void StreamRedactor::release(uint64_t upto, std::vector<uint8_t>& out) {
  if (upto > released_) {
    const size_t first = out.size();
    out.insert(out.end(), buf_.begin() + (released_ - base_), buf_.begin() + (upto - base_));
    for (const auto& [from, to] : marks_) {
      const uint64_t a = std::max(from, released_), b = std::min(to, upto);
      for (uint64_t k = a; k < b; ++k) out[first + (k - released_)] = kRedactByte;
    }
    released_ = upto;
    std::erase_if(marks_, [this](const auto& m) { return m.second <= released_; });
  }
  // Keep a little of what was released, for lookbehinds.
  const uint64_t keep_from = released_ - std::min<uint64_t>(released_ - base_, rules_.context());
  if (keep_from > base_) {
    buf_.erase(buf_.begin(), buf_.begin() + (keep_from - base_));
    base_ = keep_from;
  }
}

}  // namespace tcpscribe
