#include "replay_rewrite.h"

#include <cstdio>

namespace tcpscribe {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool parse_escapes(std::string_view in, std::string& out, std::string& error) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\') {
      out += in[i];
      continue;
    }
    if (i + 1 == in.size()) {
      error = "a lone '\\' at the end";
      return false;
    }
    const char e = in[++i];
    switch (e) {
      case 'r': out += '\r'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '=': out += '='; break;
      case 'x': {
        const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          error = "\\x needs two hex digits";
          return false;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        error = std::string("unknown escape '\\") + e + "' (known: \\r \\n \\t \\0 \\\\ \\= \\xHH)";
        return false;
    }
  }
  return true;
}

bool parse_replace_rule(std::string_view spec, ReplaceRule& out, std::string& error) {
  size_t eq = std::string_view::npos;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '\\') {
      ++i;  // whatever follows is escaped, '=' included
    } else if (spec[i] == '=') {
      eq = i;
      break;
    }
  }
  if (eq == std::string_view::npos) {
    error = "expected OLD=NEW (write a literal '=' in OLD as \\=)";
    return false;
  }
  if (!parse_escapes(spec.substr(0, eq), out.from, error) ||
      !parse_escapes(spec.substr(eq + 1), out.to, error)) {
    return false;
  }
  if (out.from.empty()) {
    error = "OLD is empty";
    return false;
  }
  return true;
}

StreamReplacer::StreamReplacer(ReplaceRule rule) : rule_(std::move(rule)) {}

void StreamReplacer::feed(std::string_view in, std::string& out) {
  // Work on held-back tail + new bytes; the tail cannot contain a whole
  // match (it is a proper prefix of OLD), so scanning restarts cleanly.
  std::string buf = std::move(pending_);
  buf.append(in);
  pending_.clear();
  const std::string& from = rule_.from;
  size_t pos = 0;
  while (true) {
    const size_t hit = buf.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(buf, pos, hit - pos);
    out += rule_.to;
    ++replacements_;
    pos = hit + from.size();
  }
  // Hold back the longest suffix of buf[pos..] that is a proper prefix of OLD.
  const size_t rest = buf.size() - pos;
  size_t keep = std::min(rest, from.size() - 1);
  while (keep > 0 && buf.compare(buf.size() - keep, keep, from, 0, keep) != 0) --keep;
  out.append(buf, pos, rest - keep);
  pending_.assign(buf, buf.size() - keep, keep);
}

void StreamReplacer::flush(std::string& out) {
  out += pending_;
  pending_.clear();
}

ReplacerChain::ReplacerChain(const std::vector<ReplaceRule>& rules) {
  for (const ReplaceRule& r : rules) stages_.emplace_back(r);
}

void ReplacerChain::feed(std::string_view in, std::string& out) {
  if (stages_.empty()) {
    out.append(in);
    return;
  }
  std::string cur(in), next;
  for (StreamReplacer& s : stages_) {
    next.clear();
    s.feed(cur, next);
    cur.swap(next);
  }
  out += cur;
}

void ReplacerChain::flush(std::string& out) {
  // Each stage's tail goes through the later stages, which then flush too.
  std::string cur, next;
  for (StreamReplacer& s : stages_) {
    next.clear();
    s.feed(cur, next);
    s.flush(next);
    cur.swap(next);
  }
  out += cur;
}

uint64_t ReplacerChain::replacements() const {
  uint64_t n = 0;
  for (const StreamReplacer& s : stages_) n += s.replacements();
  return n;
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char b[5];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        }
    }
  }
  return out;
}

}  // namespace tcpscribe
