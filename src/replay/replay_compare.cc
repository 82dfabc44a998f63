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

void Masker::matches(size_t i, std::string_view text,
                     const std::function<bool(size_t at, size_t len)>& each) const {
  const RE2& re = regexes_[i]->re;
  const re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece m;
  for (size_t from = 0; from <= text.size();) {
    if (!re.Match(whole, from, text.size(), RE2::UNANCHORED, &m, 1)) break;
    const size_t at = static_cast<size_t>(m.data() - text.data());
    if (m.empty()) {  // an empty match masks nothing; look again one byte on
      from = at + 1;
      continue;
    }
    from = at + m.size();
    if (!each(at, m.size())) break;
  }
}

namespace {

/// Appends a run, merged with the last one when both are plain and follow
/// on in both streams.
void push_run(std::vector<OriginRun>& runs, const OriginRun& r) {
  if (r.length == 0) return;
  if (!runs.empty()) {
    OriginRun& last = runs.back();
    if (!last.token && !r.token && last.masked + last.length == r.masked &&
        last.orig + last.length == r.orig) {
      last.length += r.length;
      return;
    }
  }
  runs.push_back(r);
}

/// The run holding masked offset `at` among runs[from..], or runs.size().
size_t run_at(const std::vector<OriginRun>& runs, size_t from, uint64_t at) {
  auto it = std::upper_bound(runs.begin() + static_cast<ptrdiff_t>(from), runs.end(), at,
                             [](uint64_t v, const OriginRun& r) { return v < r.masked; });
  if (it == runs.begin() + static_cast<ptrdiff_t>(from)) return runs.size();
  --it;
  if (at >= it->masked + it->length) return runs.size();
  return static_cast<size_t>(it - runs.begin());
}

uint64_t origin_in(const std::vector<OriginRun>& runs, size_t from, uint64_t at, uint64_t end) {
  const size_t k = run_at(runs, from, at);
  if (k == runs.size()) return end;
  const OriginRun& r = runs[k];
  return r.token ? r.orig : r.orig + (at - r.masked);
}

}  // namespace

uint64_t MaskedStream::origin(uint64_t at, uint64_t end) const {
  return origin_in(runs, 0, at, end);
}

MaskedStream Masker::apply(std::string_view bytes) const {
  MaskedStream cur;
  cur.text.assign(bytes);
  push_run(cur.runs, {0, 0, bytes.size(), false});
  for (size_t i = 0; i < regexes_.size(); ++i) {
    MaskedStream next;
    size_t ri = 0;  // cur's run holding the next byte to copy
    // Copies cur's bytes [from, to) with their origins.
    const auto copy = [&](size_t from, size_t to) {
      if (from >= to) return;
      const uint64_t base = next.text.size();
      while (ri < cur.runs.size() && cur.runs[ri].masked + cur.runs[ri].length <= from) ++ri;
      for (size_t k = ri; k < cur.runs.size() && cur.runs[k].masked < to; ++k) {
        const OriginRun& r = cur.runs[k];
        const uint64_t a = std::max<uint64_t>(r.masked, from);
        const uint64_t b = std::min<uint64_t>(r.masked + r.length, to);
        push_run(next.runs, {base + (a - from), r.token ? r.orig : r.orig + (a - r.masked),
                             b - a, r.token});
      }
      next.text.append(cur.text, from, to - from);
    };
    size_t pos = 0;  // end of the last match: bytes before it are copied
    matches(i, cur.text, [&](size_t at, size_t len) {
      copy(pos, at);
      push_run(next.runs, {next.text.size(), cur.origin(at, bytes.size()), kIgnoredToken.size(),
                           true});
      next.text += kIgnoredToken;
      pos = at + len;
      return true;
    });
    copy(pos, cur.text.size());
    cur = std::move(next);
  }
  return cur;
}

namespace {

/// `view` holds masked bytes, `at` the first differing one; `earlier`:
/// bytes came before view[0]; `more`: bytes may follow view's end.
std::string context_at(std::string_view view, size_t at, size_t context, bool earlier,
                       bool more) {
  const size_t from = at > context ? at - context : 0;
  const size_t to = std::min(view.size(), at + context);
  std::string out = from > 0 || earlier ? "..." : "";
  out += "\"" + escape_bytes(view.substr(from, to - from)) + "\"";
  if (at >= view.size() && !more) out += " (end)";
  else if (to < view.size() || more) out += "...";
  return out;
}

}  // namespace

StreamComparer::StreamComparer(const Masker& masker, size_t context, size_t window)
    : masker_(masker), context_(context), window_(std::max<size_t>(window, 1)) {}

size_t StreamComparer::held_bytes() const {
  size_t n = 0;
  for (const Side& s : side_) n += s.raw.size() + s.masked.size() + s.before.size();
  return n;
}

void StreamComparer::recorded(std::string_view bytes) { feed(side_[0], bytes); }
void StreamComparer::target(std::string_view bytes) { feed(side_[1], bytes); }

void StreamComparer::feed(Side& s, std::string_view bytes) {
  s.total += bytes.size();
  if (decided_ || finished_) return;
  s.raw.append(bytes);
  mask_some(s, false);
  compare_some(false);
}

size_t StreamComparer::safe_cut(std::string_view raw) const {
  const size_t limit = std::min(raw.size(), 2 * window_);
  const std::string_view text = raw.substr(0, limit);
  size_t cut = window_;
  for (int round = 0; round < 8; ++round) {
    bool moved = false;
    for (size_t i = 0; i < masker_.size(); ++i) {
      masker_.matches(i, text, [&](size_t at, size_t len) {
        if (at >= cut) return false;
        if (at + len <= cut) return true;
        // This match crosses the cut: end the piece after it, or before
        // it when it may go on past what is here; one that fills the
        // whole text is cut (longer than a window).
        if (at + len < limit) {
          cut = at + len;
        } else if (at > 0) {
          cut = at;
        } else {
          cut = limit;
          return false;
        }
        moved = true;
        return false;
      });
    }
    if (!moved || cut == limit) break;
  }
  return cut;
}

void StreamComparer::mask_some(Side& s, bool final) {
  while (!s.raw.empty()) {
    size_t cut;
    if (masker_.empty()) {
      cut = s.raw.size();
    } else if (s.raw.size() > 2 * window_) {
      cut = safe_cut(s.raw);
    } else if (final) {
      cut = s.raw.size();
    } else {
      return;  // wait for two windows, or the end
    }
    const std::string_view piece(s.raw.data(), cut);
    if (masker_.empty()) {
      push_run(s.runs, {s.masked_end, s.raw_base, cut, false});
      s.masked.append(piece);
      s.masked_end += cut;
    } else {
      const MaskedStream m = masker_.apply(piece);
      for (const OriginRun& r : m.runs) {
        push_run(s.runs, {s.masked_end + r.masked, s.raw_base + r.orig, r.length, r.token});
      }
      s.masked += m.text;
      s.masked_end += m.text.size();
    }
    s.raw.erase(0, cut);
    s.raw_base += cut;
  }
}

uint64_t StreamComparer::origin_of(const Side& s, uint64_t masked_at) const {
  return origin_in(s.runs, s.run_pos, masked_at, s.raw_base + s.raw.size());
}

std::string StreamComparer::context_of(const Side& s, size_t at, bool final) const {
  const size_t avail = s.masked.size() - s.pos;
  const size_t upto = std::min(avail, at + context_ + 1);
  std::string view = s.before;
  view.append(s.masked, s.pos, upto);
  const bool earlier = s.masked_base > s.before.size();
  return context_at(view, s.before.size() + at, context_, earlier, !final);
}

void StreamComparer::decide(size_t at, bool final) {
  decided_ = true;
  diff_.same = false;
  diff_.recorded_offset = origin_of(side_[0], side_[0].masked_base + at);
  diff_.target_offset = origin_of(side_[1], side_[1].masked_base + at);
  diff_.recorded_context = context_of(side_[0], at, final);
  diff_.target_context = context_of(side_[1], at, final);
  for (Side& s : side_) {
    std::string().swap(s.raw);
    std::string().swap(s.masked);
    std::vector<OriginRun>().swap(s.runs);
    std::string().swap(s.before);
    s.pos = 0;
    s.run_pos = 0;
  }
}

void StreamComparer::compare_some(bool final) {
  Side& a = side_[0];
  Side& b = side_[1];
  const size_t na = a.masked.size() - a.pos, nb = b.masked.size() - b.pos;
  const size_t n = std::min(na, nb);
  const char* pa = a.masked.data() + a.pos;
  const char* pb = b.masked.data() + b.pos;
  const size_t i = static_cast<size_t>(std::mismatch(pa, pa + n, pb).first - pa);
  if (i < n || (final && na != nb)) {
    // Decided once the context after the difference is here on both sides
    // (or nothing more comes); until then only the equal part is dropped.
    if (final || (na > i + context_ && nb > i + context_)) {
      decide(i, final);
      return;
    }
  }
  if (final) return;
  // The same so far: keep only the context before what is still to come.
  for (Side* s : {&a, &b}) {
    if (s->before.size() + i <= context_) {
      s->before.append(s->masked, s->pos, i);
    } else if (i >= context_) {
      s->before.assign(s->masked, s->pos + i - context_, context_);
    } else {
      s->before = s->before.substr(s->before.size() + i - context_) + s->masked.substr(s->pos, i);
    }
    s->pos += i;
    s->masked_base += i;
    if (s->pos > 0 && s->pos * 2 >= s->masked.size()) {
      s->masked.erase(0, s->pos);
      s->pos = 0;
    }
    while (s->run_pos + 1 < s->runs.size() &&
           s->runs[s->run_pos].masked + s->runs[s->run_pos].length <= s->masked_base) {
      ++s->run_pos;
    }
    if (s->run_pos >= 64 && s->run_pos * 2 >= s->runs.size()) {
      s->runs.erase(s->runs.begin(), s->runs.begin() + static_cast<ptrdiff_t>(s->run_pos));
      s->run_pos = 0;
    }
  }
}

Difference StreamComparer::finish() {
  if (!finished_ && !decided_) {
    for (Side& s : side_) mask_some(s, true);
    compare_some(true);
  }
  finished_ = true;
  return diff_;
}

Difference compare_answers(std::string_view recorded, std::string_view target,
                           const Masker& masker, size_t context) {
  StreamComparer c(masker, context);
  c.recorded(recorded);
  c.target(target);
  return c.finish();
}

}  // namespace tcpscribe
