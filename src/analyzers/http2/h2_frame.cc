#include "h2_frame.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace tcpscribe {
namespace {

std::string hex(uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, v);
  return buf;
}

uint32_t be24(const uint8_t* p) { return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2]; }
uint32_t be31(const uint8_t* p) {
  return (uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]) & 0x7fffffffu;
}

}  // namespace

std::string h2_type_name(uint8_t type) {
  static const char* const kNames[] = {"DATA",   "HEADERS", "PRIORITY", "RST_STREAM",
                                       "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
                                       "WINDOW_UPDATE", "CONTINUATION"};
  if (type < 10) return kNames[type];
  return "type " + hex(type, 2);
}

std::string h2_error_name(uint32_t code) {
  static const char* const kNames[] = {
      "NO_ERROR",       "PROTOCOL_ERROR", "INTERNAL_ERROR",      "FLOW_CONTROL_ERROR",
      "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",   "REFUSED_STREAM",
      "CANCEL",         "COMPRESSION_ERROR", "CONNECT_ERROR",    "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  if (code < 14) return kNames[code];
  return hex(code, 8);
}

std::string h2_setting_name(uint16_t id) {
  static const char* const kNames[] = {nullptr,
                                       "HEADER_TABLE_SIZE",
                                       "ENABLE_PUSH",
                                       "MAX_CONCURRENT_STREAMS",
                                       "INITIAL_WINDOW_SIZE",
                                       "MAX_FRAME_SIZE",
                                       "MAX_HEADER_LIST_SIZE"};
  if (id >= 1 && id <= 6) return kNames[id];
  if (id == 8) return "ENABLE_CONNECT_PROTOCOL";
  if (id == 9) return "NO_RFC7540_PRIORITIES";
  return hex(id, 4);
}

H2FrameHeader h2_parse_header(std::span<const uint8_t> nine) {
  H2FrameHeader h;
  h.length = be24(nine.data());
  h.type = nine[3];
  h.flags = nine[4];
  h.stream = be31(nine.data() + 5);
  return h;
}

bool h2_plausible_header(std::span<const uint8_t> nine) {
  if (nine.size() < 9 || (nine[5] & 0x80) != 0) return false;
  const H2FrameHeader h = h2_parse_header(nine);
  if (h.length > H2FrameParser::kSyncMaxLength) return false;
  const bool on_stream = h.stream != 0;
  switch (static_cast<H2Type>(h.type)) {
    case H2Type::kData: return on_stream && (h.flags & ~0x09) == 0;
    case H2Type::kHeaders: return on_stream && (h.flags & ~0x2d) == 0;
    case H2Type::kPriority: return on_stream && h.length == 5 && h.flags == 0;
    case H2Type::kRstStream: return on_stream && h.length == 4 && h.flags == 0;
    case H2Type::kSettings:
      return !on_stream && (h.flags & ~0x01) == 0 && h.length % 6 == 0 &&
             (h.flags == 0 || h.length == 0);
    case H2Type::kPushPromise: return on_stream && (h.flags & ~0x0c) == 0 && h.length >= 4;
    case H2Type::kPing: return !on_stream && h.length == 8 && (h.flags & ~0x01) == 0;
    case H2Type::kGoaway: return !on_stream && h.length >= 8 && h.flags == 0;
    case H2Type::kWindowUpdate: return h.length == 4 && h.flags == 0;
    case H2Type::kContinuation: return on_stream && (h.flags & ~0x04) == 0;
  }
  return false;
}

H2FrameParser::H2FrameParser(bool client, H2FrameEvents& ev)
    : ev_(ev), state_(client ? State::kPreface : State::kHeader) {}

void H2FrameParser::set_midstream() {
  if (pos_ != 0 || state_ == State::kSearch) return;
  state_ = State::kSearch;
  buf_.clear();
  buf_offset_ = 0;
}

void H2FrameParser::lose(uint64_t offset, const std::string& why, Timestamp ts) {
  if (state_ == State::kData || state_ == State::kPadding) ev_.on_data_end(h_, ts);
  state_ = State::kSearch;
  buf_.clear();
  buf_offset_ = offset;
  ev_.on_sync(offset, false, why, ts);
}

void H2FrameParser::gap(uint64_t offset, uint64_t length, Timestamp ts) {
  if (length == 0) return;
  if (offset + length <= pos_) return;
  if (offset < pos_) {
    length -= pos_ - offset;
    offset = pos_;
  }
  if (offset > pos_) {
    // A hole before this one: the same as one gap.
    length += offset - pos_;
    offset = pos_;
  }
  if ((state_ == State::kData || state_ == State::kPadding || state_ == State::kSkip) &&
      length <= left_) {
    if (state_ == State::kData) ev_.on_data_gap(h_, length, ts);
    left_ -= length;
    pos_ += length;
    if (left_ == 0) {
      if (state_ == State::kData && pad_ > 0) {
        state_ = State::kPadding;
        left_ = pad_;
        pad_ = 0;
      } else {
        if (state_ != State::kSkip) ev_.on_data_end(h_, ts);
        frame_done(ts);
      }
    }
    return;
  }
  if (state_ == State::kData) ev_.on_data_gap(h_, left_, ts);
  pos_ = offset + length;
  lose(offset, "the capture lacks " + std::to_string(length) + " bytes", ts);
  buf_offset_ = pos_;
}

void H2FrameParser::frame_done(Timestamp) {
  state_ = State::kHeader;
  buf_.clear();
  left_ = 0;
  ++frames_;
}

void H2FrameParser::start_frame(Timestamp ts) {
  h_ = h2_parse_header(buf_);
  h_.offset = pos_ - 9;
  buf_.clear();
  left_ = h_.length;
  pad_ = 0;
  if (h_.is(H2Type::kData)) {
    if (h_.stream == 0) {
      ev_.on_bad_frame(h_, "DATA on stream 0", ts);
      state_ = State::kSkip;
    } else if (h_.has(h2flag::kPadded)) {
      state_ = State::kDataPad;
      if (left_ == 0) {
        ev_.on_bad_frame(h_, "padded DATA without its pad length", ts);
        frame_done(ts);
        return;
      }
    } else {
      state_ = State::kData;
      ev_.on_data_begin(h_, ts);
    }
  } else if (h_.length > kMaxFrame) {
    ev_.on_bad_frame(h_, h2_type_name(h_.type) + " of " + std::to_string(h_.length) +
                              " bytes, longer than tcpscribe keeps (" +
                              std::to_string(kMaxFrame) + ")",
                     ts);
    state_ = State::kSkip;
  } else {
    state_ = State::kPayload;
  }
  if (left_ == 0) {
    if (state_ == State::kData) ev_.on_data_end(h_, ts);
    if (state_ == State::kPayload) deliver_buffered(ts);
    frame_done(ts);
  }
}

void H2FrameParser::deliver_buffered(Timestamp ts) {
  std::span<const uint8_t> p(buf_);
  const H2Type t = static_cast<H2Type>(h_.type);
  const bool on_stream = h_.stream != 0;
  std::string bad;
  const auto need = [&](bool ok, const char* what) {
    if (!ok && bad.empty()) bad = what;
  };
  switch (t) {
    case H2Type::kHeaders:
    case H2Type::kPushPromise: {
      need(on_stream, "on stream 0");
      size_t pad = 0;
      if (h_.has(h2flag::kPadded)) {
        need(!p.empty(), "padded without its pad length");
        if (!p.empty()) {
          pad = p[0];
          p = p.subspan(1);
        }
      }
      if (t == H2Type::kHeaders && h_.has(h2flag::kPriority)) {
        need(p.size() >= 5, "too short for its priority fields");
        if (p.size() >= 5) p = p.subspan(5);
      }
      if (t == H2Type::kPushPromise) need(p.size() >= 4, "too short for a promised stream id");
      need(pad <= p.size(), "padding longer than the frame");
      if (bad.empty()) p = p.first(p.size() - pad);
      break;
    }
    case H2Type::kPriority: need(on_stream && p.size() == 5, "not 5 bytes on a stream"); break;
    case H2Type::kRstStream: need(on_stream && p.size() == 4, "not 4 bytes on a stream"); break;
    case H2Type::kSettings:
      need(!on_stream, "on a stream");
      need(p.size() % 6 == 0, "length not a multiple of 6");
      need(!h_.has(h2flag::kAck) || p.empty(), "an ACK with a payload");
      break;
    case H2Type::kPing: need(!on_stream && p.size() == 8, "not 8 bytes on stream 0"); break;
    case H2Type::kGoaway: need(!on_stream && p.size() >= 8, "shorter than 8 bytes or on a stream"); break;
    case H2Type::kWindowUpdate: need(p.size() == 4, "not 4 bytes"); break;
    case H2Type::kContinuation: need(on_stream, "on stream 0"); break;
    case H2Type::kData: break;
  }
  if (!bad.empty()) {
    ev_.on_bad_frame(h_, h2_type_name(h_.type) + " " + bad, ts);
  } else {
    ev_.on_frame(h_, p, ts);
  }
}

bool H2FrameParser::search(Timestamp ts) {
  size_t i = 0;
  bool found = false;
  while (i + 9 <= buf_.size()) {
    std::span<const uint8_t> b(buf_);
    if (!h2_plausible_header(b.subspan(i, 9))) {
      ++i;
      continue;
    }
    const size_t next = i + 9 + be24(&buf_[i]);
    if (next + 9 > buf_.size()) break;  // decided once those bytes are here
    if (h2_plausible_header(b.subspan(next, 9))) {
      found = true;
      break;
    }
    ++i;
  }
  if (!found && i + 9 > buf_.size()) i = buf_.size() >= 8 ? buf_.size() - 8 : 0;
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(i));
  buf_offset_ += i;
  if (!found) return false;
  std::vector<uint8_t> rest;
  rest.swap(buf_);
  pos_ = buf_offset_;
  state_ = State::kHeader;
  ev_.on_sync(pos_, true, "", ts);
  feed(rest, pos_, ts);
  return true;
}

void H2FrameParser::feed(std::span<const uint8_t> in, uint64_t offset, Timestamp ts) {
  if (offset > pos_) gap(pos_, offset - pos_, ts);
  if (offset < pos_) {
    const uint64_t skip = std::min<uint64_t>(pos_ - offset, in.size());
    in = in.subspan(skip);
  }
  while (!in.empty()) {
    switch (state_) {
      case State::kSearch: {
        const size_t n = std::min(in.size(), kSyncBuffer - buf_.size());
        buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
        in = in.subspan(n);
        pos_ += n;
        search(ts);
        break;
      }
      case State::kPreface: {
        const size_t have = buf_.size();
        const size_t n = std::min(in.size(), kH2PrefaceLen - have);
        if (std::memcmp(in.data(), kH2Preface + have, n) != 0) {
          // Not the preface: what came so far is searched for frames.
          std::vector<uint8_t> seen(buf_);
          lose(0, "no connection preface", ts);
          buf_.swap(seen);
          buf_offset_ = 0;
          break;
        }
        buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
        in = in.subspan(n);
        pos_ += n;
        if (buf_.size() == kH2PrefaceLen) {
          buf_.clear();
          state_ = State::kHeader;
          ev_.on_preface(0, ts);
        }
        break;
      }
      case State::kHeader: {
        const size_t n = std::min(in.size(), 9 - buf_.size());
        buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
        in = in.subspan(n);
        pos_ += n;
        if (buf_.size() == 9) start_frame(ts);
        break;
      }
      case State::kPayload: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), left_));
        buf_.insert(buf_.end(), in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
        in = in.subspan(n);
        pos_ += n;
        left_ -= n;
        if (left_ == 0) {
          deliver_buffered(ts);
          frame_done(ts);
        }
        break;
      }
      case State::kDataPad: {
        pad_ = in[0];
        in = in.subspan(1);
        ++pos_;
        --left_;
        if (pad_ > left_) {
          ev_.on_bad_frame(h_, "DATA padding longer than the frame", ts);
          pad_ = 0;
          state_ = State::kSkip;
          if (left_ == 0) frame_done(ts);
          break;
        }
        left_ -= pad_;
        state_ = State::kData;
        ev_.on_data_begin(h_, ts);
        if (left_ == 0) {
          if (pad_ > 0) {
            state_ = State::kPadding;
            left_ = pad_;
            pad_ = 0;
          } else {
            ev_.on_data_end(h_, ts);
            frame_done(ts);
          }
        }
        break;
      }
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), left_));
        ev_.on_data(h_, in.first(n), ts);
        in = in.subspan(n);
        pos_ += n;
        left_ -= n;
        if (left_ == 0) {
          if (pad_ > 0) {
            state_ = State::kPadding;
            left_ = pad_;
            pad_ = 0;
          } else {
            ev_.on_data_end(h_, ts);
            frame_done(ts);
          }
        }
        break;
      }
      case State::kPadding:
      case State::kSkip: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), left_));
        in = in.subspan(n);
        pos_ += n;
        left_ -= n;
        if (left_ == 0) {
          if (state_ == State::kPadding) ev_.on_data_end(h_, ts);
          frame_done(ts);
        }
        break;
      }
    }
  }
}

}  // namespace tcpscribe
