#include "http_parser.h"

#include <algorithm>
#include <cstring>

namespace tcpscribe {
namespace {

constexpr size_t kMaxLine = 8192;  // chunk-size lines, lines scanned when resynchronising

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool method_char(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

bool http1_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 7) == "HTTP/1." && v[7] >= '0' && v[7] <= '9';
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

/// Splits a start line; false if it is not an HTTP/1.x one.
bool parse_start_line(std::string_view line, bool request, HttpHead& h) {
  line = strip_cr(line);
  if (request) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 24 || sp2 == sp1) return false;
    const std::string_view method = line.substr(0, sp1);
    if (!std::all_of(method.begin(), method.end(), method_char)) return false;
    const std::string_view target = trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
    const std::string_view version = line.substr(sp2 + 1);
    if (target.empty() || !http1_version(version)) return false;
    h.is_request = true;
    h.method = method;
    h.target = target;
    h.version = version;
    return true;
  }
  if (line.size() < 12 || !http1_version(line.substr(0, 8)) || line[8] != ' ') return false;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return false;
  h.is_request = false;
  h.version = line.substr(0, 8);
  h.status = status;
  h.reason = line.size() > 13 ? trim(line.substr(13)) : std::string_view();
  return true;
}

/// Header lines of a block (start line excluded by the caller), with
/// obsolete line folding joined. Lines without a colon are skipped.
void parse_fields(std::string_view block, std::vector<HttpHeader>& out) {
  while (!block.empty()) {
    const size_t nl = block.find('\n');
    std::string_view line = strip_cr(block.substr(0, nl));
    block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      if (!out.empty()) {
        const std::string_view more = trim(line);
        if (!more.empty()) {
          if (!out.back().value.empty()) out.back().value += ' ';
          out.back().value += more;
        }
      }
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    const std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) continue;
    out.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  }
}

/// Content-Length: digits only; several equal values (a list, or repeated
/// fields) are one value, differing ones are an error (RFC 9110 8.6).
bool content_length(const HttpHead& h, bool& present, uint64_t& value) {
  present = false;
  for (const HttpHeader& f : h.headers) {
    if (!ieq(f.name, "content-length")) continue;
    std::string_view v = f.value;
    while (!v.empty()) {
      const size_t comma = v.find(',');
      const std::string_view item = trim(v.substr(0, comma));
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      if (item.empty() || item.size() > 19) return false;
      uint64_t n = 0;
      for (char c : item) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (present && n != value) return false;
      present = true;
      value = n;
    }
  }
  return true;
}

bool chunked_last(const HttpHead& h) {
  std::string last;
  for (const HttpHeader& f : h.headers) {
    if (!ieq(f.name, "transfer-encoding")) continue;
    const size_t comma = f.value.rfind(',');
    last = std::string(trim(comma == std::string::npos ? std::string_view(f.value)
                                                       : std::string_view(f.value).substr(comma + 1)));
  }
  return ieq(last, "chunked");
}

}  // namespace

const std::string* HttpHead::find(std::string_view name) const {
  for (const HttpHeader& f : headers) {
    if (ieq(f.name, name)) return &f.value;
  }
  return nullptr;
}

bool HttpHead::has_token(std::string_view name, std::string_view token) const {
  for (const HttpHeader& f : headers) {
    if (!ieq(f.name, name)) continue;
    std::string_view v = f.value;
    while (!v.empty()) {
      const size_t comma = v.find(',');
      if (ieq(trim(v.substr(0, comma)), token)) return true;
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
  }
  return false;
}

BodyFraming framing_for(const HttpHead& h, std::string_view request_method) {
  using K = BodyFraming::Kind;
  if (!h.is_request) {
    if (request_method == "HEAD" || (h.status >= 100 && h.status < 200) || h.status == 204 ||
        h.status == 304) {
      return {h.status == 101 ? K::kTunnel : K::kNone, 0};
    }
    if (request_method == "CONNECT" && h.status >= 200 && h.status < 300) return {K::kTunnel, 0};
  }
  const bool has_te = h.find("transfer-encoding") != nullptr;
  if (has_te) {
    if (chunked_last(h)) return {K::kChunked, 0};
    // A request with another transfer coding cannot be delimited.
    return {h.is_request ? K::kInvalid : K::kUntilClose, 0};
  }
  bool present = false;
  uint64_t length = 0;
  if (!content_length(h, present, length)) return {K::kInvalid, 0};
  if (present) return {K::kLength, length};
  return {h.is_request ? K::kNone : K::kUntilClose, 0};
}

HttpStreamParser::HttpStreamParser(bool requests, HttpParserEvents& events, size_t max_head)
    : requests_(requests), ev_(events), max_head_(max_head) {}

void HttpStreamParser::set_midstream(bool midstream) { midstream_ = midstream; }

bool HttpStreamParser::in_message() const {
  switch (state_) {
    case State::kHead: case State::kBody: case State::kChunkSize: case State::kChunkData:
    case State::kChunkEnd: case State::kTrailers: case State::kUntilClose:
      return true;
    default:
      return false;
  }
}

bool HttpStreamParser::plausible_prefix() const {
  const std::string_view b(buf_);
  if (!requests_) {
    const std::string_view want = "HTTP/1.";
    const size_t n = std::min(b.size(), want.size());
    return b.substr(0, n) == want.substr(0, n);
  }
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == ' ') return i > 0;
    if (!method_char(b[i]) || i >= 24) return false;
  }
  return true;
}

void HttpStreamParser::fail(const std::string& what, Timestamp ts) {
  if (messages_ == 0 && !seen_error_) {
    // The stream does not start as HTTP: another protocol. A connection
    // picked up midstream may start inside a message: look for the next.
    if (!midstream_) {
      state_ = State::kDead;
      return;
    }
  } else {
    ev_.on_error(msg_offset_, what, ts);
  }
  seen_error_ = true;
  state_ = State::kResync;
  // The bad bytes may have ended a line: the next one is a candidate.
  resync_line_start_ = !buf_.empty() && buf_.back() == '\n';
  buf_.clear();
}

void HttpStreamParser::feed(std::span<const uint8_t> d, uint64_t offset, Timestamp ts) {
  size_t i = 0;
  const size_t n = d.size();
  while (i < n) {
    const uint64_t at = offset + i;
    switch (state_) {
      case State::kDead:
      case State::kTunnel:
        return;
      case State::kHeld: {
        Held h;
        h.bytes.assign(d.begin() + static_cast<ptrdiff_t>(i), d.end());
        h.offset = at;
        h.ts = ts;
        held_bytes_ += h.bytes.size();
        held_.push_back(std::move(h));
        if (held_bytes_ > max_head_) {
          // Too much waiting for an answer: it was a protocol switch.
          held_.clear();
          state_ = State::kTunnel;
        }
        return;
      }
      case State::kStart:
        while (i < n && (d[i] == '\r' || d[i] == '\n')) ++i;
        if (i == n) return;
        msg_offset_ = offset + i;
        msg_ts_ = ts;
        buf_.clear();
        line_start_ = 0;
        cur_ = MessageEnd();
        state_ = State::kHead;
        break;
      case State::kHead:
        i = take_head_bytes(d, i, false, ts);
        break;
      case State::kTrailers:
        i = take_head_bytes(d, i, true, ts);
        break;
      case State::kBody:
      case State::kChunkData: {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(remaining_, n - i));
        ev_.on_body(d.subspan(i, k), ts);
        cur_.body_wire += k;
        remaining_ -= k;
        i += k;
        if (remaining_ == 0) {
          if (state_ == State::kBody) {
            finish_message(true, "", ts);
          } else {
            state_ = State::kChunkEnd;
            buf_.clear();
          }
        }
        break;
      }
      case State::kUntilClose:
        ev_.on_body(d.subspan(i), ts);
        cur_.body_wire += n - i;
        return;
      case State::kChunkSize:
      case State::kChunkEnd: {
        const void* nl = std::memchr(d.data() + i, '\n', n - i);
        const size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d.data()) + 1 : n;
        buf_.append(reinterpret_cast<const char*>(d.data()) + i, end - i);
        cur_.body_wire += end - i;
        i = end;
        if (!nl) {
          if (buf_.size() > kMaxLine) {
            finish_message(false, "chunk-size line too long", ts);
            fail("chunked body framing broken (chunk-size line too long)", ts);
          }
          break;
        }
        const std::string_view line = strip_cr(std::string_view(buf_).substr(0, buf_.size() - 1));
        if (state_ == State::kChunkEnd) {
          if (!line.empty()) {
            finish_message(false, "chunk not followed by CRLF", ts);
            fail("chunked body framing broken (no CRLF after chunk data)", ts);
            break;
          }
          state_ = State::kChunkSize;
          buf_.clear();
          break;
        }
        uint64_t size = 0;
        size_t digits = 0;
        for (char c : line) {
          int v = -1;
          if (c >= '0' && c <= '9') v = c - '0';
          else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
          else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
          if (v < 0) break;
          size = size * 16 + static_cast<uint64_t>(v);
          ++digits;
        }
        if (digits == 0 || digits > 15) {
          finish_message(false, "bad chunk-size line", ts);
          fail("chunked body framing broken (bad chunk-size line)", ts);
          break;
        }
        buf_.clear();
        if (size == 0) {
          state_ = State::kTrailers;
          line_start_ = 0;
        } else {
          remaining_ = size;
          state_ = State::kChunkData;
        }
        break;
      }
      case State::kResync:
        i = resync_scan(d, i, offset, ts);
        break;
    }
  }
}

size_t HttpStreamParser::take_head_bytes(std::span<const uint8_t> d, size_t i, bool trailers,
                                         Timestamp ts) {
  const size_t n = d.size();
  while (i < n) {
    const void* nl = std::memchr(d.data() + i, '\n', n - i);
    size_t end = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d.data()) + 1 : n;
    if (buf_.size() + (end - i) > max_head_) {
      // Past the cap: take exactly one byte more than it allows, so where
      // the block is declared too long (and how many bytes it took) does
      // not depend on how the stream was cut into pieces.
      end = i + (max_head_ + 1 - std::min(buf_.size(), max_head_));
      nl = nullptr;
    }
    buf_.append(reinterpret_cast<const char*>(d.data()) + i, end - i);
    if (trailers) cur_.body_wire += end - i;
    i = end;
    if (!trailers && line_start_ == 0 && !plausible_prefix()) {
      fail(requests_ ? "not an HTTP request line" : "not an HTTP status line", ts);
      return i;
    }
    if (buf_.size() > max_head_) {
      if (trailers) finish_message(false, "trailer block too long", ts);
      fail("header block longer than " + std::to_string(max_head_) + " bytes", ts);
      return i;
    }
    if (!nl) return i;
    const std::string_view line =
        strip_cr(std::string_view(buf_).substr(line_start_, buf_.size() - 1 - line_start_));
    if (line.empty()) {
      if (trailers) {
        std::vector<HttpHeader> fields;
        parse_fields(buf_, fields);
        if (!fields.empty()) ev_.on_trailers(fields);
        buf_.clear();
        finish_message(true, "", ts);
      } else {
        head_complete(ts);
      }
      return i;
    }
    if (!trailers && line_start_ == 0) {
      HttpHead probe;
      if (!parse_start_line(line, requests_, probe)) {
        fail(requests_ ? "not an HTTP request line" : "not an HTTP status line", ts);
        return i;
      }
    }
    line_start_ = buf_.size();
  }
  return i;
}

void HttpStreamParser::head_complete(Timestamp ts) {
  HttpHead head;
  // A head cut short keeps its complete lines only.
  const std::string_view block =
      complete_head_ ? std::string_view(buf_) : std::string_view(buf_).substr(0, line_start_);
  const size_t first_nl = block.find('\n');
  parse_start_line(block.substr(0, first_nl), requests_, head);
  parse_fields(block.substr(first_nl + 1), head.headers);
  head.size = buf_.size();
  head.truncated = !complete_head_;
  buf_.clear();
  line_start_ = 0;
  ++messages_;
  const BodyFraming f = ev_.on_head(head, msg_offset_, msg_ts_, ts);
  if (head.truncated) return;
  begin_body(f, ts);
}

void HttpStreamParser::begin_body(const BodyFraming& f, Timestamp ts) {
  using K = BodyFraming::Kind;
  switch (f.kind) {
    case K::kNone:
      finish_message(true, "", ts);
      break;
    case K::kLength:
      if (f.length == 0) {
        finish_message(true, "", ts);
      } else {
        remaining_ = f.length;
        state_ = State::kBody;
      }
      break;
    case K::kChunked:
      state_ = State::kChunkSize;
      buf_.clear();
      break;
    case K::kUntilClose:
      state_ = State::kUntilClose;
      break;
    case K::kTunnel:
      finish_message(true, "", ts);
      state_ = State::kTunnel;
      break;
    case K::kInvalid:
      finish_message(false, "body length cannot be determined (bad Content-Length or Transfer-Encoding)", ts);
      fail("invalid message framing", ts);
      break;
  }
}

void HttpStreamParser::finish_message(bool complete, const std::string& problem, Timestamp ts) {
  cur_.complete = complete && cur_.missing == 0;
  if (!problem.empty()) {
    cur_.problem = problem;
  } else if (cur_.missing > 0) {
    cur_.problem = std::to_string(cur_.missing) + " bytes missing from the capture";
  }
  const MessageEnd end = cur_;
  cur_ = MessageEnd();
  state_ = State::kStart;
  if (tunnel_after_) {
    tunnel_after_ = false;
    hold_after_ = false;
    state_ = State::kTunnel;
  } else if (hold_after_) {
    hold_after_ = false;
    state_ = State::kHeld;
  }
  ev_.on_message_end(end, ts);
}

size_t HttpStreamParser::resync_scan(std::span<const uint8_t> d, size_t i, uint64_t offset,
                                     Timestamp ts) {
  const size_t n = d.size();
  while (i < n) {
    const void* nl = std::memchr(d.data() + i, '\n', n - i);
    const size_t end =
        nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - d.data()) + 1 : n;
    if (resync_line_start_) {
      if (buf_.empty()) {
        resync_offset_ = offset + i;
        resync_ts_ = ts;
      }
      if (buf_.size() + (end - i) <= kMaxLine) {
        buf_.append(reinterpret_cast<const char*>(d.data()) + i, end - i);
      } else {
        buf_.clear();
        resync_line_start_ = false;
      }
    }
    i = end;
    if (!nl) return i;
    if (resync_line_start_) {
      HttpHead probe;
      const std::string_view line = std::string_view(buf_).substr(0, buf_.size() - 1);
      if (parse_start_line(line, requests_, probe)) {
        msg_offset_ = resync_offset_;
        msg_ts_ = resync_ts_;
        line_start_ = buf_.size();
        cur_ = MessageEnd();
        complete_head_ = true;
        state_ = State::kHead;
        return i;
      }
    }
    buf_.clear();
    resync_line_start_ = true;
  }
  return i;
}

void HttpStreamParser::gap(uint64_t offset, uint64_t length, Timestamp ts) {
  switch (state_) {
    case State::kDead:
    case State::kTunnel:
      return;
    case State::kHeld: {
      Held h;
      h.offset = offset;
      h.gap = length;
      h.ts = ts;
      held_.push_back(std::move(h));
      return;
    }
    case State::kStart:
      // A whole message may be in the hole. Resume at the next start line,
      // which may well be the first byte after the hole.
      break;
    case State::kHead:
      cur_.missing += length;
      if (line_start_ > 0) {
        // The start line survived: report what there is of the head.
        complete_head_ = false;
        const std::string problem = "headers cut by " + std::to_string(length) +
                                    " bytes missing from the capture";
        head_complete(ts);
        finish_message(false, problem, ts);
      } else {
        if (messages_ > 0) {
          ev_.on_error(msg_offset_, "message start cut by " + std::to_string(length) +
                                        " bytes missing from the capture", ts);
        }
        cur_ = MessageEnd();
      }
      complete_head_ = true;
      break;
    case State::kBody:
    case State::kChunkData: {
      // The framing says how much of the hole is this body.
      const uint64_t k = std::min(length, remaining_);
      ev_.on_body_gap(k, ts);
      cur_.missing += k;
      cur_.body_wire += k;
      remaining_ -= k;
      if (k == length) {
        if (remaining_ > 0) return;
        if (state_ == State::kChunkData) {
          state_ = State::kChunkEnd;
          buf_.clear();
        } else {
          finish_message(false, "", ts);
        }
        return;
      }
      // The hole runs past the body (or chunk): what follows is unknown.
      finish_message(false, state_ == State::kChunkData
                                ? "chunked framing cut by " + std::to_string(length) +
                                      " bytes missing from the capture"
                                : "", ts);
      break;
    }
    case State::kChunkSize:
    case State::kChunkEnd:
    case State::kTrailers:
      cur_.missing += length;
      finish_message(false, "chunked framing cut by " + std::to_string(length) +
                                " bytes missing from the capture", ts);
      break;
    case State::kUntilClose:
      ev_.on_body_gap(length, ts);
      cur_.missing += length;
      cur_.body_wire += length;
      return;
    case State::kResync:
      break;
  }
  state_ = State::kResync;
  buf_.clear();
  resync_line_start_ = true;
}

void HttpStreamParser::end(bool clean, const std::string& why, Timestamp ts) {
  const std::string how = why.empty() ? "" : " (" + why + ")";
  switch (state_) {
    case State::kUntilClose:
      finish_message(clean, clean ? "" : "unfinished: body read until close" + how, ts);
      break;
    case State::kHead:
      if (line_start_ > 0) {
        complete_head_ = false;
        head_complete(ts);
        finish_message(false, "unfinished: headers incomplete" + how, ts);
        complete_head_ = true;
      } else {
        if (messages_ > 0) {
          ev_.on_error(msg_offset_, "unfinished start line at end of stream" + how, ts);
        }
      }
      break;
    case State::kBody:
      finish_message(false,
                     "unfinished: " + std::to_string(cur_.body_wire) + " of " +
                         std::to_string(cur_.body_wire + remaining_) + " body bytes" + how,
                     ts);
      break;
    case State::kChunkSize:
    case State::kChunkData:
    case State::kChunkEnd:
    case State::kTrailers:
      finish_message(false, "unfinished: chunked body without its last chunk" + how, ts);
      break;
    default:
      break;
  }
  state_ = State::kDead;
  held_.clear();
}

void HttpStreamParser::hold() { hold_after_ = true; }

void HttpStreamParser::resume(bool tunnel) {
  if (state_ != State::kHeld) {
    hold_after_ = false;
    if (!tunnel) return;
    // The answer came before the request ended, or the request did not
    // announce the switch: the tunnel starts after the current message.
    if (in_message()) tunnel_after_ = true;
    else if (active()) state_ = State::kTunnel;
    return;
  }
  std::vector<Held> held = std::move(held_);
  held_.clear();
  held_bytes_ = 0;
  if (tunnel) {
    state_ = State::kTunnel;
    return;
  }
  state_ = State::kStart;
  for (const Held& h : held) {
    if (h.gap > 0) gap(h.offset, h.gap, h.ts);
    else feed(h.bytes, h.offset, h.ts);
  }
}

}  // namespace tcpscribe
