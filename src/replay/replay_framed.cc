#include "replay_framed.h"

#include <cctype>
#include <charconv>
#include <utility>

namespace tcpscribe {

namespace {

constexpr size_t kMaxHead = 64 * 1024;           // an HTTP head or a RESP length line
constexpr uint64_t kMaxBody = 512ull << 20;      // a body or bulk string held whole
constexpr uint64_t kMaxArgs = 1 << 20;           // arguments of one command

/// Reads "<digits>\r\n" at `pos` (after a '*' or '$'). 0: incomplete, -1:
/// malformed, else the bytes used; the number in `n`.
int read_length_line(std::string_view s, size_t pos, uint64_t& n) {
  const size_t end = s.find("\r\n", pos);
  if (end == std::string_view::npos) return s.size() - pos > 20 ? -1 : 0;
  if (end == pos) return -1;
  const auto r = std::from_chars(s.data() + pos, s.data() + end, n);
  if (r.ec != std::errc() || r.ptr != s.data() + end) return -1;
  return static_cast<int>(end + 2 - pos);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Framing detect_framing(std::string_view b) {
  if (b.empty()) return Framing::kPlain;
  if (b[0] == '*') return Framing::kResp;
  size_t i = 0;
  while (i < b.size() && i < 32 && std::isupper(static_cast<unsigned char>(b[i]))) ++i;
  if (i == 0 || i >= b.size() || b[i] != ' ') return Framing::kPlain;
  const size_t eol = b.find("\r\n");
  const std::string_view line = b.substr(0, eol);
  if (eol == std::string_view::npos) return Framing::kPlain;
  return line.size() > 9 && line.substr(line.size() - 9, 7) == " HTTP/1" ? Framing::kHttp
                                                                          : Framing::kPlain;
}

const char* framing_name(Framing f) {
  switch (f) {
    case Framing::kResp: return "RESP";
    case Framing::kHttp: return "HTTP";
    case Framing::kPlain: return "plain";
  }
  return "?";
}

std::string replace_all_rules(std::string_view s, const std::vector<ReplaceRule>& rules,
                              uint64_t* count) {
  std::string cur(s);
  for (const ReplaceRule& r : rules) {
    if (r.from.empty()) continue;
    std::string next;
    size_t pos = 0;
    for (size_t at; (at = cur.find(r.from, pos)) != std::string::npos; pos = at + r.from.size()) {
      next.append(cur, pos, at - pos);
      next += r.to;
      if (count) ++*count;
    }
    next.append(cur, pos, std::string::npos);
    cur.swap(next);
  }
  return cur;
}

FramedReplacer::FramedReplacer(Framing f, const std::vector<ReplaceRule>& rules)
    : framing_(f), rules_(rules), chain_(rules) {}

void FramedReplacer::to_plain(std::string why, std::string& out) {
  if (fallback_.empty()) fallback_ = std::move(why);
  framing_ = Framing::kPlain;
  chain_.feed(buf_, out);
  buf_.clear();
}

void FramedReplacer::feed(std::string_view in, std::string& out) {
  if (framing_ == Framing::kPlain) {
    chain_.feed(in, out);
    return;
  }
  buf_.append(in);
  while (!buf_.empty() && framing_ != Framing::kPlain) {
    const bool took = framing_ == Framing::kResp ? take_resp(out) : take_http(out);
    if (!took) break;
  }
  if (framing_ == Framing::kPlain && !buf_.empty()) to_plain(fallback_, out);
}

void FramedReplacer::flush(std::string& out) {
  if (!buf_.empty()) chain_.feed(buf_, out);
  buf_.clear();
  chain_.flush(out);
}

bool FramedReplacer::take_resp(std::string& out) {
  const std::string_view s = buf_;
  if (s[0] != '*') {
    // An inline command: one line, the rules applied to it.
    const size_t eol = s.find('\n');
    if (eol == std::string_view::npos) {
      if (s.size() > kMaxHead) to_plain("an inline command line longer than 64 KiB", out);
      return false;
    }
    out += replace_all_rules(s.substr(0, eol + 1), rules_, &count_);
    buf_.erase(0, eol + 1);
    return true;
  }
  uint64_t nargs = 0;
  int used = read_length_line(s, 1, nargs);
  if (used == 0) return false;
  if (used < 0 || nargs > kMaxArgs) {
    to_plain("a RESP array header that does not parse", out);
    return false;
  }
  size_t pos = 1 + static_cast<size_t>(used);
  const size_t head_len = pos;
  // Each argument: its bytes on the wire (length line included) and its value.
  std::vector<std::pair<std::string_view, std::string_view>> args;
  args.reserve(nargs);
  for (uint64_t i = 0; i < nargs; ++i) {
    if (pos >= s.size()) return false;
    if (s[pos] != '$') {
      to_plain("a RESP command argument that is not a bulk string", out);
      return false;
    }
    uint64_t len = 0;
    used = read_length_line(s, pos + 1, len);
    if (used == 0) return false;
    if (used < 0 || len > kMaxBody) {
      to_plain("a RESP bulk length that does not parse", out);
      return false;
    }
    const size_t data = pos + 1 + static_cast<size_t>(used);
    if (s.size() < data + len + 2) return false;
    if (s.substr(data + len, 2) != "\r\n") {
      to_plain("a RESP bulk string not ended by CRLF", out);
      return false;
    }
    args.emplace_back(s.substr(pos, data + len + 2 - pos), s.substr(data, len));
    pos = data + len + 2;
  }
  // What no rule touches goes out as it came (a "*00" or "$03" header
  // included); a rewritten argument gets its length line anew.
  std::string cmd(s.substr(0, head_len));
  bool changed = false;
  for (const auto& [wire, a] : args) {
    const uint64_t before = count_;
    const std::string r = replace_all_rules(a, rules_, &count_);
    if (count_ == before) {
      cmd += wire;
      continue;
    }
    changed |= r.size() != a.size();
    cmd += "$" + std::to_string(r.size()) + "\r\n";
    cmd += r;
    cmd += "\r\n";
  }
  if (changed) ++reframed_;
  out += cmd;
  buf_.erase(0, pos);
  return true;
}

bool FramedReplacer::take_http(std::string& out) {
  const std::string_view s = buf_;
  const size_t end = s.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (s.size() > kMaxHead) to_plain("an HTTP head longer than 64 KiB", out);
    return false;
  }
  const std::string_view head = s.substr(0, end + 4);
  // Content-Length and Transfer-Encoding, case-insensitively.
  uint64_t body_len = 0;
  size_t cl_value_at = std::string::npos, cl_value_len = 0;
  bool chunked = false;
  for (size_t line = head.find("\r\n") + 2; line < end;) {
    const size_t eol = head.find("\r\n", line);
    const std::string_view l = head.substr(line, eol - line);
    const size_t colon = l.find(':');
    if (colon != std::string_view::npos) {
      const std::string name = lower(l.substr(0, colon));
      size_t v = colon + 1;
      while (v < l.size() && (l[v] == ' ' || l[v] == '\t')) ++v;
      std::string_view value = l.substr(v);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      if (name == "content-length") {
        const auto r = std::from_chars(value.data(), value.data() + value.size(), body_len);
        if (r.ec != std::errc() || r.ptr != value.data() + value.size() || body_len > kMaxBody) {
          to_plain("an HTTP Content-Length that does not parse", out);
          return false;
        }
        cl_value_at = line + v;
        cl_value_len = value.size();
      } else if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
        chunked = true;
      }
    }
    line = eol + 2;
  }
  if (chunked) {
    to_plain("a chunked HTTP body", out);
    return false;
  }
  if (s.size() < head.size() + body_len) return false;
  const std::string_view body = s.substr(head.size(), body_len);
  std::string new_body = replace_all_rules(body, rules_, &count_);
  // The head with the rules applied, Content-Length set to the new body's.
  std::string new_head;
  if (cl_value_at != std::string::npos) {
    new_head = replace_all_rules(head.substr(0, cl_value_at), rules_, &count_);
    // The value as sent when the body kept its length ("02" stays "02").
    new_head += new_body.size() == body.size() ? std::string(head.substr(cl_value_at, cl_value_len))
                                               : std::to_string(new_body.size());
    new_head += replace_all_rules(head.substr(cl_value_at + cl_value_len), rules_, &count_);
    if (new_body.size() != body.size()) ++reframed_;
  } else {
    new_head = replace_all_rules(head, rules_, &count_);
  }
  out += new_head;
  out += new_body;
  buf_.erase(0, head.size() + body_len);
  return true;
}

}  // namespace tcpscribe
