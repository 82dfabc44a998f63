#include "replay_compare.h"

#include <algorithm>

#include "replay_rewrite.h"

namespace tcpscribe {

bool Masker::add(const std::string& pattern, std::string& error) {
  try {
    regexes_.emplace_back(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    error = "bad regex '" + pattern + "': " + e.what();
    return false;
  }
  return true;
}

MaskedStream Masker::apply(std::string_view bytes) const {
  MaskedStream cur;
  cur.text.assign(bytes);
  cur.origin.resize(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) cur.origin[i] = i;
  for (const std::regex& re : regexes_) {
    MaskedStream next;
    size_t pos = 0;
    const std::string& s = cur.text;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
         ++it) {
      const size_t at = static_cast<size_t>(it->position(0));
      const size_t len = static_cast<size_t>(it->length(0));
      if (len == 0) continue;  // an empty match masks nothing
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
