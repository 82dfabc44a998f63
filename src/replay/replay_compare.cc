#include "replay_compare.h"

#include <re2/re2.h>

#include <algorithm>

#include "replay_rewrite.h"

namespace tcpscribe {

struct Masker::Compiled {
  explicit Compiled(const std::string& pattern, const RE2::Options& o) : re(pattern, o) {}
  RE2 re;
};

Masker::Masker() = default;
Masker::~Masker() = default;
Masker::Masker(Masker&&) noexcept = default;
Masker& Masker::operator=(Masker&&) noexcept = default;

bool Masker::add(const std::string& pattern, std::string& error) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);  // answers are bytes, not UTF-8
  o.set_log_errors(false);
  o.set_max_mem(64 << 20);  // room for large counted repetitions
  auto c = std::make_unique<Compiled>(pattern, o);
  if (!c->re.ok()) {
    error = "bad regex '" + pattern + "': " + c->re.error() + " (RE2 syntax)";
    return false;
  }
  regexes_.push_back(std::move(c));
  return true;
}

MaskedStream Masker::apply(std::string_view bytes) const {
  MaskedStream cur;
  cur.text.assign(bytes);
  cur.origin.resize(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) cur.origin[i] = i;
  for (const std::unique_ptr<Compiled>& c : regexes_) {
    MaskedStream next;
    size_t pos = 0;  // end of the last match: bytes before it are copied
    const std::string& s = cur.text;
    const re2::StringPiece whole(s.data(), s.size());
    re2::StringPiece m;
    for (size_t from = 0; from <= s.size();) {
      if (!c->re.Match(whole, from, s.size(), RE2::UNANCHORED, &m, 1)) break;
      const size_t at = static_cast<size_t>(m.data() - s.data());
      const size_t len = m.size();
      if (len == 0) {  // an empty match masks nothing; look again one byte on
        from = at + 1;
        continue;
      }
      from = at + len;
      next.text.append(s, pos, at - pos);
      next.origin.insert(next.origin.end(), cur.origin.begin() + static_cast<ptrdiff_t>(pos),
                         cur.origin.begin() + static_cast<ptrdiff_t>(at));
      next.text += kIgnoredToken;
      next.origin.insert(next.origin.end(), kIgnoredToken.size(), cur.origin[at]);
      pos = at + len;
    }
    next.text.append(s, pos, std::string::npos);
    next.origin.insert(next.origin.end(), cur.origin.begin() + static_cast<ptrdiff_t>(pos),
                       cur.origin.end());
    cur = std::move(next);
  }
  return cur;
}

namespace {

std::string context_at(const MaskedStream& m, size_t at, size_t context) {
  const size_t from = at > context ? at - context : 0;
  const size_t to = std::min(m.text.size(), at + context);
  std::string out = from > 0 ? "..." : "";
  out += "\"" + escape_bytes(std::string_view(m.text).substr(from, to - from)) + "\"";
  if (at >= m.text.size()) out += " (end)";
  else if (to < m.text.size()) out += "...";
  return out;
}

uint64_t original_offset(const MaskedStream& m, size_t at, size_t original_size) {
  return at < m.origin.size() ? m.origin[at] : original_size;
}

}  // namespace

Difference compare_answers(std::string_view recorded, std::string_view target,
                           const Masker& masker, size_t context) {
  const MaskedStream a = masker.apply(recorded);
  const MaskedStream b = masker.apply(target);
  Difference d;
  const size_t n = std::min(a.text.size(), b.text.size());
  size_t i = 0;
  while (i < n && a.text[i] == b.text[i]) ++i;
  if (i == a.text.size() && i == b.text.size()) return d;
  d.same = false;
  d.recorded_offset = original_offset(a, i, recorded.size());
  d.target_offset = original_offset(b, i, target.size());
  d.recorded_context = context_at(a, i, context);
  d.target_context = context_at(b, i, context);
  return d;
}

}  // namespace tcpscribe
