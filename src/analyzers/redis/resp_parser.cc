#include "resp_parser.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace tcpscribe {
namespace {

constexpr size_t kKeptBudget = 256u << 10;  // bytes of kept items per top-level value

bool is_type(uint8_t b) { return b != 0 && std::strchr("+-:$*_,#!=(%~>|", b) != nullptr; }
bool has_length(char t) { return t == '$' || t == '!' || t == '='; }
bool is_aggregate_type(char t) { return t == '*' || t == '%' || t == '~' || t == '>' || t == '|'; }
bool is_text_line(char t) { return t == '+' || t == '-' || t == '('; }

/// A length or count line: -1 (null) or 0 .. 2^62.
bool parse_count(const std::string& s, int64_t& out) {
  if (s.size() == 2 && s[0] == '-' && s[1] == '1') {
    out = -1;
    return true;
  }
  if (s.empty() || s.size() > 19) return false;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  if (v > (int64_t{1} << 62)) return false;
  out = v;
  return true;
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'; }

}  // namespace

bool split_inline_command(const std::string& line, std::vector<std::string>& words) {
  words.clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && is_space(line[i])) ++i;
    if (i >= n) return true;
    std::string cur;
    bool dq = false, sq = false, done = false;
    while (!done) {
      if (dq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && hex_value(line[i + 2]) >= 0 &&
            hex_value(line[i + 3]) >= 0) {
          cur += static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3]));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          ++i;
          const char e = line[i];
          cur += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          cur += line[i];
        }
      } else if (sq) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          cur += '\'';
        } else if (line[i] == '\'') {
          if (i + 1 < n && !is_space(line[i + 1])) return false;
          done = true;
        } else {
          cur += line[i];
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        const char ch = line[i];
        if (is_space(ch)) {
          done = true;
        } else if (ch == '"') {
          dq = true;
        } else if (ch == '\'') {
          sq = true;
        } else {
          cur += ch;
        }
      }
      if (i < n) ++i;
    }
    words.push_back(std::move(cur));
  }
}

RespParser::RespParser(bool client_side, ValueFn on_value, ErrorFn on_error)
    : client_(client_side), on_value_(std::move(on_value)), on_error_(std::move(on_error)) {}

void RespParser::fail(const std::string& why, uint64_t offset) {
  if (dead_) return;
  dead_ = true;
  stack_.clear();
  pending_attr_.reset();
  if (on_error_) on_error_(why, offset);
}

void RespParser::fail(const std::string& why) { fail(why, at_ > 0 ? at_ - 1 : 0); }

void RespParser::feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts) {
  if (dead_) return;
  pos_ = offset;
  ts_ = ts;
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n && !dead_) {
    const uint8_t b = bytes[i];
    at_ = pos_ + i + 1;
    switch (state_) {
      case State::kSeek: {
        if (b == '*' && after_newline_) {
          state_ = State::kType;  // parsed from this byte on
          break;
        }
        after_newline_ = b == '\n';
        ++i;
        break;
      }
      case State::kType: {
        if (!started_) {
          started_ = true;
          kept_ = 0;
          start_offset_ = pos_ + i;
          start_ts_ = ts;
        }
        line_.clear();
        line_len_ = 0;
        line_cr_ = false;
        state_ = State::kLine;
        if (client_ && stack_.empty() && !pending_attr_ && b != '*') {
          type_ = 'i';  // the byte is the line's first
          break;
        }
        if (!is_type(b)) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "byte 0x%02x where a RESP type was expected", b);
          fail(buf);
          break;
        }
        type_ = static_cast<char>(b);
        ++i;
        break;
      }
      case State::kLine: {
        const uint8_t* start = bytes.data() + i;
        const void* nl = std::memchr(start, '\n', n - i);
        const size_t take = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - start) : n - i;
        const size_t cap = type_ == 'i' ? kMaxInlineLine : is_text_line(type_) ? kKeptBytes + 1
                                                                                  : kMaxHeaderLine;
        if (take > 0) {
          line_cr_ = start[take - 1] == '\r';
          line_len_ += take;
          if (line_.size() < cap) {
            line_.append(reinterpret_cast<const char*>(start), std::min(take, cap - line_.size()));
          }
          if (line_len_ > cap && type_ != '+' && type_ != '-' && type_ != '(') {
            // Reported where the line starts: the same wherever the pieces end.
            fail(type_ == 'i' ? "inline command longer than 64 KiB"
                              : std::string("a '") + type_ + "' line longer than " +
                                    std::to_string(kMaxHeaderLine) + " bytes",
                 start_offset_);
            break;
          }
        }
        i += take;
        if (!nl) break;
        at_ = pos_ + i + 1;
        ++i;  // the '\n'
        if (line_cr_) {
          --line_len_;
          if (line_.size() > line_len_) line_.resize(line_len_);
        }
        if (line_.size() > kKeptBytes && type_ != 'i') line_.resize(kKeptBytes);
        end_line();
        break;
      }
      case State::kBulk: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(bulk_left_, n - i));
        if (bulk_.text.size() < kKeptBytes) {
          bulk_.text.append(reinterpret_cast<const char*>(bytes.data() + i),
                            std::min(take, kKeptBytes - bulk_.text.size()));
        }
        bulk_left_ -= take;
        i += take;
        if (bulk_left_ == 0) {
          state_ = State::kBulkEnd;
          bulk_end_ = 0;
        }
        break;
      }
      case State::kBulkEnd: {
        ++i;
        if (bulk_end_ == 0 && b == '\r') {
          bulk_end_ = 1;
        } else if (bulk_end_ == 1 && b == '\n') {
          state_ = State::kType;
          complete(std::move(bulk_));
          bulk_ = RespValue();
        } else {
          fail("a bulk string is not followed by CRLF");
        }
        break;
      }
    }
  }
  pos_ = offset + n;
}

void RespParser::end_line() {
  state_ = State::kType;
  if (type_ == 'i') {
    std::vector<std::string> words;
    if (!split_inline_command(line_, words)) {
      fail("unbalanced quotes in an inline command");
      return;
    }
    if (words.empty()) {  // an empty line: redis-server ignores it
      started_ = false;
      return;
    }
    RespValue v;
    v.type = 'i';
    v.size = words.size();
    for (std::string& w : words) {
      if (v.items.size() >= kKeptItems) break;
      RespValue a;
      a.type = '$';
      a.size = w.size();
      if (w.size() > kKeptBytes) w.resize(kKeptBytes);
      a.text = std::move(w);
      v.items.push_back(std::move(a));
    }
    complete(std::move(v));
    return;
  }
  if (has_length(type_) || is_aggregate_type(type_)) {
    int64_t count = 0;
    if (!parse_count(line_, count)) {
      fail(std::string("bad length in a '") + type_ + "' header");
      return;
    }
    if (count < 0) {
      RespValue v;
      v.type = type_;
      v.null = true;
      complete(std::move(v));
      return;
    }
    if (has_length(type_)) {
      bulk_ = RespValue();
      bulk_.type = type_;
      bulk_.size = static_cast<uint64_t>(count);
      bulk_left_ = bulk_.size;
      state_ = bulk_left_ == 0 ? State::kBulkEnd : State::kBulk;
      bulk_end_ = 0;
      return;
    }
    if (stack_.size() >= kMaxDepth) {
      fail("aggregates nested deeper than " + std::to_string(kMaxDepth));
      return;
    }
    Frame f;
    f.v.type = type_;
    f.v.size = static_cast<uint64_t>(count);
    f.remaining = f.v.wire_items();
    if (f.remaining == 0) {
      complete(std::move(f.v));
      return;
    }
    // One allocation instead of growing 1, 2, 4, ... (at most what is kept).
    f.v.items.reserve(static_cast<size_t>(std::min<uint64_t>(f.remaining, kKeptItems)));
    stack_.push_back(std::move(f));
    return;
  }
  RespValue v;
  v.type = type_;
  if (type_ == '_') {
    v.null = true;
  } else {
    v.text = line_;
    v.size = line_len_;
  }
  complete(std::move(v));
}

void RespParser::complete(RespValue&& done) {
  RespValue v = std::move(done);
  while (true) {
    if (v.type == '|') {
      auto attr = std::make_shared<RespValue>(std::move(v));
      if (stack_.empty()) {
        pending_attr_ = std::move(attr);
      } else {
        stack_.back().next_attr = std::move(attr);
      }
      return;
    }
    if (stack_.empty()) {
      if (pending_attr_) v.attribute = std::move(pending_attr_);
      started_ = false;
      const uint64_t first = start_offset_;
      if (on_value_) on_value_(std::move(v), first, at_ - first, start_ts_, ts_);
      return;
    }
    Frame& top = stack_.back();
    if (top.next_attr) v.attribute = std::move(top.next_attr);
    const size_t cost = 64 + v.text.size();
    if (top.v.items.size() < kKeptItems && kept_ + cost <= kKeptBudget) {
      kept_ += cost;
      top.v.items.push_back(std::move(v));
    }
    if (--top.remaining > 0) return;
    v = std::move(top.v);
    stack_.pop_back();
  }
}

}  // namespace tcpscribe
