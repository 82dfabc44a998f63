// One direction of an HTTP/2 connection: the frame parser's events become
// the streams' messages (http2_state.h; the analyzer is in http2.cc).
#include <algorithm>

#include "http2_state.h"
#include "http_records.h"

namespace tcpscribe {
namespace {

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

constexpr uint64_t kMaxClosedTold = 10;

}  // namespace

void Http2Analyzer::Side::on_preface(uint64_t, Timestamp) {}

void Http2Analyzer::Side::on_bad_frame(const H2FrameHeader& h, const std::string& what,
                                       Timestamp ts) {
  std::string text = std::string(who()) + " frame at offset " + std::to_string(at(h.offset)) +
                     ": " + what;
  if (h.stream != 0) {
    text += " (stream " + std::to_string(h.stream) + ")";
    auto it = conn.streams.find(h.stream);
    if (it != conn.streams.end()) {
      HttpMessage& m = it->second.msg(dir);
      if (m.problem.empty()) m.problem = "bad frame: " + what;
    }
  }
  an.report(conn, dir, ts, at(h.offset), text + "; skipped");
}

void Http2Analyzer::Side::on_sync(uint64_t offset, bool found, const std::string& why,
                                  Timestamp ts) {
  hpack.forget();
  in_block = false;
  block.clear();
  if (found) return;
  conn.windows_known = false;
  if (why.empty()) return;
  lost = true;
  for (auto& [id, st] : conn.streams) {
    HttpMessage& m = st.msg(dir);
    if (m.present && !st.half[index_of(dir)].ended && m.problem.empty()) {
      m.problem = "frames lost (" + why + ")";
    }
  }
  an.report(conn, dir, ts, at(offset),
            std::string(who()) + " stream at offset " + std::to_string(at(offset)) +
                ": HTTP/2 frame boundaries lost (" + why + "); looking for the next frame",
            false);
}

Http2Analyzer::Stream* Http2Analyzer::Side::open_stream(const H2FrameHeader& h, Timestamp ts) {
  auto it = conn.streams.find(h.stream);
  if (it != conn.streams.end()) return &it->second;
  auto c = conn.closed.find(h.stream);
  const bool closed = c != conn.closed.end() || h.stream <= conn.highest(h.stream);
  if (!closed) return &an.stream_for(conn, h.stream, dir, ts);
  const bool ended_here = c != conn.closed.end() && (c->second & (1u << index_of(dir))) != 0;
  if (ended_here && conn.told_closed++ < kMaxClosedTold) {
    an.report(conn, dir, ts, at(h.offset),
              std::string(who()) + " sent " + h2_type_name(h.type) + " on stream " +
                  std::to_string(h.stream) + " after ending it (END_STREAM)");
  }
  return nullptr;
}

void Http2Analyzer::Side::on_frame(const H2FrameHeader& h, std::span<const uint8_t> p,
                                   Timestamp ts) {
  ++an.stats_.frames;
  const H2Type type = static_cast<H2Type>(h.type);
  if (in_block && type != H2Type::kContinuation) {
    an.report(conn, dir, ts, at(h.offset),
              std::string(who()) + " frame at offset " + std::to_string(at(h.offset)) + ": " +
                  h2_type_name(h.type) + " inside the header block of stream " +
                  std::to_string(block_stream) + " (CONTINUATION expected); the block is lost");
    in_block = false;
    block.clear();
    hpack.forget();
  }
  switch (type) {
    case H2Type::kHeaders:
    case H2Type::kPushPromise:
      in_block = true;
      block_stream = h.stream;
      block_promise = type == H2Type::kPushPromise;
      promised = block_promise ? be32(p.data()) & 0x7fffffffu : 0;
      if (block_promise) p = p.subspan(4);
      block_end_stream = !block_promise && h.has(h2flag::kEndStream);
      block.assign(p.begin(), p.end());
      block_too_big = block.size() > an.opt_.max_header_block;
      if (block_too_big) block.clear();
      block_offset = h.offset;
      block_wire = 9 + h.length;
      block_ts = ts;
      if (h.has(h2flag::kEndHeaders)) an.header_block(conn, *this, ts);
      return;
    case H2Type::kContinuation:
      if (!in_block || h.stream != block_stream) {
        on_bad_frame(h, "CONTINUATION without a header block to continue", ts);
        return;
      }
      block_wire += 9 + h.length;
      if (!block_too_big && block.size() + p.size() > an.opt_.max_header_block) {
        block_too_big = true;
        block.clear();
      }
      if (!block_too_big) block.insert(block.end(), p.begin(), p.end());
      if (h.has(h2flag::kEndHeaders)) an.header_block(conn, *this, ts);
      return;
    default:
      control(h, p, ts);
  }
}

void Http2Analyzer::Side::control(const H2FrameHeader& h, std::span<const uint8_t> p,
                                  Timestamp ts) {
  Side& peer = *conn.side[1 - index_of(dir)];
  switch (static_cast<H2Type>(h.type)) {
    case H2Type::kSettings: {
      if (h.has(h2flag::kAck)) return;
      ++settings;
      std::vector<std::string> lines;
      for (size_t i = 0; i + 6 <= p.size(); i += 6) {
        const uint16_t id = static_cast<uint16_t>(p[i] << 8 | p[i + 1]);
        const uint32_t v = be32(&p[i + 2]);
        lines.push_back(h2_setting_name(id) + " = " + std::to_string(v));
        if (id == 1) peer.hpack.set_max_table(v);
        if (id == 4 && v <= 0x7fffffffu) {
          // The peer sends on its streams within this window (RFC 9113 6.9.2).
          const int64_t delta = int64_t{v} - peer.initial_window;
          peer.initial_window = v;
          for (auto& [sid, st] : conn.streams) st.half[index_of(peer.dir)].window += delta;
        }
      }
      an.show(conn, dir, ts, "SETTINGS", std::move(lines));
      return;
    }
    case H2Type::kWindowUpdate: {
      const int64_t inc = be32(p.data()) & 0x7fffffffu;
      if (h.stream == 0) {
        peer.conn_window += inc;
      } else if (auto it = conn.streams.find(h.stream); it != conn.streams.end()) {
        it->second.half[index_of(peer.dir)].window += inc;
      }
      return;
    }
    case H2Type::kRstStream: {
      const uint32_t code = be32(p.data());
      auto it = conn.streams.find(h.stream);
      if (it == conn.streams.end()) {
        if (h.stream > conn.highest(h.stream)) {
          it = conn.streams.find(an.stream_for(conn, h.stream, dir, ts).id);
        } else {
          return;  // a reset of a stream already over: allowed, nothing to tell
        }
      }
      Stream& st = it->second;
      const HttpMessage& rq = st.t.request;
      std::string what = "stream " + std::to_string(h.stream);
      if (rq.present) {
        what += " (" + printable_text(rq.head.method, 40) + " " + printable_text(rq.head.target) + ")";
      }
      const bool routine = code == 0 || code == 8;  // NO_ERROR, CANCEL
      an.report(conn, dir, ts, at(h.offset),
                what + " reset by the " + who() + ": " + h2_error_name(code) + " (" +
                    std::to_string(code) + ")",
                !routine);
      an.show(conn, dir, ts,
              "RST_STREAM stream " + std::to_string(h.stream) + " " + h2_error_name(code), {});
      st.reset = true;
      st.reset_by = dir;
      st.reset_code = code;
      for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
        if (!st.half[index_of(d)].ended && st.msg(d).present) {
          an.end_half(conn, st, d, ts, false,
                      std::string("reset by the ") + who() + " (" + h2_error_name(code) + ")");
        }
      }
      an.maybe_deliver(conn, h.stream);
      return;
    }
    case H2Type::kGoaway: {
      const uint32_t last = be32(p.data()) & 0x7fffffffu;
      const uint32_t code = be32(p.data() + 4);
      const std::string debug(reinterpret_cast<const char*>(p.data() + 8), p.size() - 8);
      std::string text = std::string(who()) + " sent GOAWAY: last stream " + std::to_string(last) +
                         ", " + h2_error_name(code) + " (" + std::to_string(code) + ")";
      if (!debug.empty()) text += ", \"" + printable_text(debug) + "\"";
      an.report(conn, dir, ts, at(h.offset), text, code != 0);
      an.show(conn, dir, ts,
              "GOAWAY last stream " + std::to_string(last) + " " + h2_error_name(code),
              debug.empty() ? std::vector<std::string>{}
                            : std::vector<std::string>{"debug: " + printable_text(debug)});
      return;
    }
    case H2Type::kPing:
    case H2Type::kPriority:
    default:
      return;
  }
}

void Http2Analyzer::Side::on_data_begin(const H2FrameHeader& h, Timestamp ts) {
  ++an.stats_.frames;
  if (in_block) {
    an.report(conn, dir, ts, at(h.offset),
              std::string(who()) + " frame at offset " + std::to_string(at(h.offset)) +
                  ": DATA inside the header block of stream " + std::to_string(block_stream) +
                  " (CONTINUATION expected); the block is lost");
    in_block = false;
    block.clear();
    hpack.forget();
  }
  conn_window -= h.length;
  Stream* st = open_stream(h, ts);
  if (!st) return;
  Stream::Half& half = st->half[index_of(dir)];
  half.window -= h.length;
  if (half.ended) {
    if (!half.after_end_told) {
      half.after_end_told = true;
      an.report(conn, dir, ts, at(h.offset),
                std::string(who()) + " sent DATA on stream " + std::to_string(h.stream) +
                    " after ending it (END_STREAM)");
    }
    return;
  }
  HttpMessage& m = st->msg(dir);
  if (!m.present) {
    // Its headers are not in the capture (picked up midstream, lost).
    m.present = true;
    m.head.is_request = dir == Dir::kClientToServer;
    m.head.version = "HTTP/2.0";
    m.head.truncated = true;
    m.number = st->t.index;
    m.offset = at(h.offset);
    m.start_ts = m.head_ts = m.end_ts = ts;
    m.problem = "its headers are not in the capture";
    half.headers = true;
    an.start_body(*st, dir);
  }
  m.body_wire += 9 + h.length;
  m.end_ts = ts;
}

void Http2Analyzer::Side::on_data(const H2FrameHeader& h, std::span<const uint8_t> bytes,
                                  Timestamp ts) {
  auto it = conn.streams.find(h.stream);
  if (it == conn.streams.end() || it->second.half[index_of(dir)].ended) return;
  Stream& st = it->second;
  st.msg(dir).end_ts = ts;
  an.body_bytes(st, dir, bytes);
}

void Http2Analyzer::Side::on_data_gap(const H2FrameHeader& h, uint64_t length, Timestamp ts) {
  auto it = conn.streams.find(h.stream);
  if (it == conn.streams.end() || it->second.half[index_of(dir)].ended) return;
  Stream& st = it->second;
  Stream::Half& half = st.half[index_of(dir)];
  HttpMessage& m = st.msg(dir);
  m.end_ts = ts;
  m.body_bytes += length;
  m.missing += length;
  half.text_ok = false;
  std::string().swap(m.body_text);
  half.grpc.lose();
  if (half.decoder) {
    if (half.decoding) {
      m.decode_error = "decoding stopped: " + std::to_string(length) +
                       " bytes missing from the capture";
      half.decoding = false;
    }
  } else {
    m.decoded_bytes += length;
  }
  if (!half.write_decoded && an.opt_.extract_bodies) {
    an.file_for(st, dir).hole(length);
  }
}

void Http2Analyzer::Side::on_data_end(const H2FrameHeader& h, Timestamp ts) {
  if (!h.has(h2flag::kEndStream)) return;
  auto it = conn.streams.find(h.stream);
  if (it == conn.streams.end() || it->second.half[index_of(dir)].ended) return;
  an.end_half(conn, it->second, dir, ts, true, "");
  an.maybe_deliver(conn, h.stream);
}

}  // namespace tcpscribe
