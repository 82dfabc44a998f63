#include "replay_answer_count.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "replay_answer.h"
#include "replay_framed.h"

namespace tcpscribe {

namespace {

constexpr size_t kMaxLine = 64u << 10;

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

bool parse_int(std::string_view s, int64_t& v, int base = 10) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

constexpr uint32_t kPgProtocol3 = 196608, kPgSsl = 80877103, kPgGss = 80877104;

}  // namespace

AnswerProtocol detect_answer_protocol(std::string_view b) {
  switch (detect_framing(b)) {
    case Framing::kResp: return AnswerProtocol::kResp;
    case Framing::kHttp: return AnswerProtocol::kHttp;
    case Framing::kPlain: break;
  }
  if (b.size() >= 8) {
    const auto* u = reinterpret_cast<const uint8_t*>(b.data());
    const uint32_t len = be32(u), code = be32(u + 4);
    if (len >= 8 && len <= 10000 && (code == kPgProtocol3 || code == kPgSsl || code == kPgGss)) {
      return AnswerProtocol::kPostgres;
    }
  }
  return AnswerProtocol::kNone;
}

const char* answer_protocol_name(AnswerProtocol p) {
  switch (p) {
    case AnswerProtocol::kResp: return "RESP";
    case AnswerProtocol::kHttp: return "HTTP";
    case AnswerProtocol::kPostgres: return "PostgreSQL";
    case AnswerProtocol::kNone: break;
  }
  return "none";
}

AnswerCounter::AnswerCounter(AnswerProtocol p, bool pg_ssl_request)
    : p_(p), lost_(p == AnswerProtocol::kNone), pg_ssl_(pg_ssl_request) {}

bool AnswerCounter::at_answer_end() const { return !mid_ && !lost_; }

void AnswerCounter::answer_done(bool error) {
  ++answers_;
  if (error) ++errors_;
  mid_ = false;
}

bool AnswerCounter::take_line(std::string_view& in, size_t cap) {
  const size_t nl = in.find('\n');
  const size_t n = nl == std::string_view::npos ? in.size() : nl;
  if (line_.size() + n > cap) {
    lost_ = true;
    return false;
  }
  line_.append(in.substr(0, n));
  if (nl == std::string_view::npos) {
    in = {};
    return false;
  }
  in.remove_prefix(nl + 1);
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

void AnswerCounter::feed(std::string_view in) {
  while (!in.empty() && !lost_) {
    switch (p_) {
      case AnswerProtocol::kResp: feed_resp(in); break;
      case AnswerProtocol::kHttp: feed_http(in); break;
      case AnswerProtocol::kPostgres: feed_pg(in); break;
      case AnswerProtocol::kNone: lost_ = true; break;
    }
  }
}

// ---------------------------------------------------------------- RESP

void AnswerCounter::resp_element_done(bool error) {
  if (error) resp_error_ = true;
  while (!frames_.empty()) {
    Frame& f = frames_.back();
    if (--f.left > 0) return;
    const bool attribute = f.attribute;
    frames_.pop_back();
    // An attribute describes the element after it: not an element itself.
    if (attribute) return;
  }
  answer_done(resp_error_);
  resp_error_ = false;
}

void AnswerCounter::resp_head(std::string_view line) {
  mid_ = true;
  if (line.empty()) {
    lost_ = true;
    return;
  }
  const char type = line[0];
  int64_t n = 0;
  switch (type) {
    case '+': case ':': case '_': case ',': case '#': case '(':
      resp_element_done(false);
      return;
    case '-':
      resp_element_done(true);
      return;
    case '$': case '!': case '=':
      if (!parse_int(line.substr(1), n) || n > (int64_t{1} << 40)) break;
      if (n < 0) {
        resp_element_done(type == '!');
      } else {
        skip_ = static_cast<uint64_t>(n) + 2;
        skip_is_error_ = type == '!';
      }
      return;
    case '*': case '~': case '>': case '%': case '|':
      if (!parse_int(line.substr(1), n) || n > (int64_t{1} << 32)) break;
      if (type == '%' || type == '|') n *= 2;
      if (n <= 0) {
        if (type != '|') resp_element_done(false);
      } else {
        frames_.push_back({n, type == '|'});
      }
      return;
    default:
      break;
  }
  lost_ = true;
}

void AnswerCounter::feed_resp(std::string_view& in) {
  if (skip_ > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(skip_, in.size()));
    in.remove_prefix(n);
    skip_ -= n;
    if (skip_ == 0) resp_element_done(skip_is_error_);
    return;
  }
  if (!take_line(in, kMaxLine)) return;
  const std::string line = std::move(line_);
  line_.clear();
  resp_head(line);
}

// ---------------------------------------------------------------- HTTP

void AnswerCounter::http_head(std::string_view head) {
  mid_ = true;
  const size_t eol = head.find("\r\n");
  const std::string_view first = head.substr(0, eol);
  int64_t status = 0;
  if (first.substr(0, 5) != "HTTP/" || first.size() < 12 || first[8] != ' ' ||
      !parse_int(first.substr(9, 3), status)) {
    lost_ = true;
    return;
  }
  if (status == 101) {  // another protocol follows: nothing more to count
    answer_done(false);
    lost_ = true;
    return;
  }
  if (status < 200) return;  // informational: the answer follows
  http_error_ = status >= 400;
  if (status == 204 || status == 304) {
    answer_done(http_error_);
    return;
  }
  bool chunked = false;
  int64_t length = -1;
  size_t at = eol == std::string_view::npos ? head.size() : eol + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view h = head.substr(at, end - at);
    at = end + 2;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(h.substr(0, colon));
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "transfer-encoding") {
      std::string v(value);
      for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      chunked = v.find("chunked") != std::string::npos;
    } else if (name == "content-length") {
      if (!parse_int(value, length) || length < 0) {
        lost_ = true;
        return;
      }
    }
  }
  if (chunked) {
    http_ = Http::kChunkSize;
  } else if (length >= 0) {
    skip_ = static_cast<uint64_t>(length);
    http_ = Http::kBody;
    if (skip_ == 0) {
      http_ = Http::kHead;
      answer_done(http_error_);
    }
  } else {
    lost_ = true;  // a body that ends with the connection
  }
}

void AnswerCounter::feed_http(std::string_view& in) {
  switch (http_) {
    case Http::kHead: {
      const size_t old = line_.size();
      const size_t from = old >= 3 ? old - 3 : 0;
      line_.append(in.substr(0, std::min(in.size(), kMaxLine + 4 - old)));
      const size_t end = line_.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        in.remove_prefix(line_.size() - old);
        if (line_.size() > kMaxLine) lost_ = true;
        return;
      }
      in.remove_prefix(end + 4 - old);
      const std::string head = line_.substr(0, end + 2);
      line_.clear();
      http_head(head);
      return;
    }
    case Http::kBody:
    case Http::kChunkData: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(skip_, in.size()));
      in.remove_prefix(n);
      skip_ -= n;
      if (skip_ > 0) return;
      if (http_ == Http::kChunkData) {
        http_ = Http::kChunkSize;
      } else {
        http_ = Http::kHead;
        answer_done(http_error_);
      }
      return;
    }
    case Http::kChunkSize: {
      if (!take_line(in, 1024)) return;
      std::string_view v = line_;
      v = v.substr(0, v.find(';'));
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      int64_t size = 0;
      const bool ok = parse_int(v, size, 16) && size >= 0;
      line_.clear();
      if (!ok) {
        lost_ = true;
        return;
      }
      if (size == 0) {
        http_ = Http::kTrailers;
      } else {
        skip_ = static_cast<uint64_t>(size) + 2;
        http_ = Http::kChunkData;
      }
      return;
    }
    case Http::kTrailers: {
      if (!take_line(in, kMaxLine)) return;
      const bool end = line_.empty();
      line_.clear();
      if (end) {
        http_ = Http::kHead;
        answer_done(http_error_);
      }
      return;
    }
  }
}

// ---------------------------------------------------------------- PostgreSQL

void AnswerCounter::feed_pg(std::string_view& in) {
  if (pg_ssl_) {  // one byte: 'S' / 'G' (encryption follows) or 'N'
    const char b = in[0];
    in.remove_prefix(1);
    pg_ssl_ = false;
    answer_done(false);
    if (b != 'N') lost_ = true;
    return;
  }
  if (skip_ > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(skip_, in.size()));
    in.remove_prefix(n);
    skip_ -= n;
    if (skip_ == 0 && pg_hdr_[0] == 'Z') answer_done(false);
    return;
  }
  while (pg_hdr_len_ < 5 && !in.empty()) {
    pg_hdr_[pg_hdr_len_++] = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
  }
  if (pg_hdr_len_ < 5) return;
  pg_hdr_len_ = 0;
  mid_ = true;
  const uint32_t len = be32(pg_hdr_ + 1);
  if (len < 4 || len > (1u << 30)) {
    lost_ = true;
    return;
  }
  if (pg_hdr_[0] == 'E') ++errors_;
  skip_ = len - 4;
  if (skip_ == 0 && pg_hdr_[0] == 'Z') answer_done(false);
}

// ---------------------------------------------------------------- plans

void count_recorded_answers(ReplayPlan& plan) {
  std::string first;
  for (const ReplayStep& s : plan.steps) {
    if (s.kind != ReplayStep::Kind::kSend || s.size() == 0) continue;
    std::string error;
    if (s.from_log && !read_chunk(plan, s, first, error)) return;
    if (!s.from_log) first = s.bytes;
    break;
  }
  plan.protocol = detect_answer_protocol(first);
  if (plan.protocol == AnswerProtocol::kNone) return;
  if (plan.protocol == AnswerProtocol::kPostgres) {
    const uint32_t code = be32(reinterpret_cast<const uint8_t*>(first.data()) + 4);
    plan.pg_ssl_request = code == kPgSsl || code == kPgGss;
  }
  AnswerCounter counter(plan.protocol, plan.pg_ssl_request);
  AnswerReader reader(plan);
  std::string piece;
  size_t at = 0;
  uint64_t fed = 0;
  const auto feed_to = [&](uint64_t upto) {
    while (fed < upto) {
      if (at == piece.size()) {
        piece = reader.next();
        at = 0;
        if (piece.empty()) return;
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(piece.size() - at, upto - fed));
      counter.feed(std::string_view(piece).substr(at, n));
      at += n;
      fed += n;
    }
  };
  for (ReplayStep& s : plan.steps) {
    feed_to(s.wait_server_bytes);
    if (fed == s.wait_server_bytes && counter.at_answer_end() && !s.wait_server_close) {
      s.wait_on_answers = true;
      s.wait_answers = counter.answers();
    }
  }
  feed_to(UINT64_MAX);
  plan.recorded_answers = counter.answers();
  plan.recorded_errors = counter.errors();
  plan.answers_lost = counter.lost() || !counter.at_answer_end();
}

}  // namespace tcpscribe
