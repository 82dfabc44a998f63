// One direction of an HTTP/1 connection: the parser's events become
// messages of the connection's transactions, bodies are extracted and
// decoded (http_state.h; the analyzer itself is in http.cc).
#include <algorithm>

#include "http_records.h"
#include "http_state.h"
#include "name_template.h"

namespace tcpscribe {
namespace {

/// The message tells the peer that the connection closes after it.
bool says_close(const HttpHead& h) {
  if (h.has_token("connection", "close")) return true;
  return h.version == "HTTP/1.0" && !h.has_token("connection", "keep-alive");
}

const char* close_wording(const HttpHead& h) {
  return h.has_token("connection", "close") ? "said \"Connection: close\""
                                            : "closed the connection (HTTP/1.0 without keep-alive)";
}

/// Heap bytes of a string (beyond the small-string buffer), malloc's
/// header and rounding included.
size_t heap_of(const std::string& s) { return s.capacity() > 15 ? (s.capacity() + 32) & ~size_t{15} : 0; }

/// Memory a parsed head holds: a short header line on the wire costs its
/// HttpHeader (64 bytes) and its strings' allocations.
size_t head_memory(const HttpHead& h) {
  size_t n = heap_of(h.method) + heap_of(h.target) + heap_of(h.reason) + heap_of(h.version) +
             h.headers.capacity() * sizeof(HttpHeader);
  for (const HttpHeader& x : h.headers) n += heap_of(x.name) + heap_of(x.value);
  return n;
}

}  // namespace

void HttpAnalyzer::Side::charge(HttpTransaction& t, size_t bytes) {
  t.held_bytes += bytes;
  conn.held_bytes += bytes;
}

BodyFraming HttpAnalyzer::Side::on_head(HttpHead& head, uint64_t offset, Timestamp start_ts,
                                        Timestamp ts) {
  HttpTransaction* t = nullptr;
  const bool request = head.is_request;
  if (!request && head.status >= 100 && head.status < 200 && head.status != 101) {
    interim = HttpMessage();
    interim.present = true;
    interim.head = std::move(head);
    msg = &interim;
    txn = nullptr;
    return {BodyFraming::Kind::kNone, 0};
  }
  if (!request && !conn.early.empty()) return early_response(head, offset, start_ts, ts);
  if (request) {
    // A response delivered before its request (the request's stream had a
    // hole) takes a request that started before it.
    for (HttpTransaction& x : conn.txns) {
      if (!x.request.present && x.response.present && x.response.start_ts >= start_ts) {
        t = &x;
        break;
      }
    }
  } else {
    for (HttpTransaction& x : conn.txns) {
      if (x.request.present && !x.response.present) {
        t = &x;
        break;
      }
    }
  }
  if (!t) {
    conn.txns.emplace_back();
    t = &conn.txns.back();
    t->index = ++conn.count;
    charge(*t, sizeof(HttpTransaction));
  }
  HttpMessage& m = request ? t->request : t->response;
  m.present = true;
  m.head = std::move(head);
  charge(*t, head_memory(m.head));
  txn = t;
  m.number = ++numbers;
  m.offset = offset;
  m.start_ts = start_ts;
  m.head_ts = ts;
  m.end_ts = ts;
  msg = &m;
  const HttpHead& h = m.head;

  BodyFraming f;
  if (request) {
    if (conn.close_request) {
      t->after_close_header = true;
      t->close_note = "request " + std::to_string(conn.close_request) + " said \"Connection: close\"";
    } else if (conn.close_response && start_ts >= conn.close_response_ts) {
      t->after_close_header = true;
      t->close_note = "response " + std::to_string(conn.close_response) + " " +
                      conn.close_response_words;
    }
    if (conn.server_shut) {
      t->after_server_close = true;
      conn.after_close_offset = std::min(conn.after_close_offset, offset);
    }
    if (!conn.close_request && h.has_token("connection", "close")) conn.close_request = m.number;
    f = framing_for(h, "");
    if (h.has_token("upgrade", "h2c") && h.has_token("connection", "upgrade")) {
      conn.h2c_wait = true;
      conn.h2c_index = t->index;
    }
    if (h.method == "CONNECT" || (h.find("upgrade") && h.has_token("connection", "upgrade"))) {
      conn.hold_index = t->index;
      parser.hold();
    }
  } else {
    f = framing_for(h, t->request.present ? std::string_view(t->request.head.method) : "");
    // Only the answer to the request that asked for h2c can switch: a 101
    // answering an earlier pipelined request leaves the upgrade waiting.
    if (conn.h2c_wait && t->index == conn.h2c_index) {
      if (h.status == 101 && h.has_token("upgrade", "h2c") && t->request.present &&
          t->request.ended) {
        conn.h2c_go = true;
        conn.h2c_client = t->request.offset + t->request.wire_size();
        conn.h2c_server = offset + h.size;
        conn.h2c_request = t->request;
      } else {
        conn.h2c_wait = false;
        std::vector<Conn::Held>().swap(conn.h2c_held);
        conn.h2c_held_bytes = 0;
      }
    }
    if (!conn.close_response && says_close(h)) {
      conn.close_response = m.number;
      conn.close_response_ts = ts;
      conn.close_response_words = close_wording(h);
    }
    if (conn.hold_index == t->index || f.kind == BodyFraming::Kind::kTunnel) settle_switch(f);
  }
  if (!m.head.truncated) start_body(f);
  return f;
}

BodyFraming HttpAnalyzer::Side::early_response(HttpHead& head, uint64_t offset,
                                               Timestamp start_ts, Timestamp ts) {
  const Conn::Early e = std::move(conn.early.front());
  conn.early.pop_front();
  interim = HttpMessage();
  interim.present = true;
  interim.head = std::move(head);
  interim.number = ++numbers;
  interim.offset = offset;
  interim.start_ts = start_ts;
  interim.head_ts = interim.end_ts = ts;
  msg = &interim;
  txn = nullptr;
  const BodyFraming f = framing_for(interim.head, e.method);
  if (conn.hold_index == e.index || f.kind == BodyFraming::Kind::kTunnel) settle_switch(f);
  if (!interim.head.truncated) start_body(f);
  return f;
}

void HttpAnalyzer::Side::settle_switch(const BodyFraming& f) {
  conn.resume_at_answer_end = true;
  conn.resume_tunnel = f.kind == BodyFraming::Kind::kTunnel;
  conn.hold_index = 0;
  if (!conn.resume_tunnel) {
    parser.hold();
    conn.server_held = true;
  }
}

void HttpAnalyzer::Side::start_body(const BodyFraming& f) {
  using K = BodyFraming::Kind;
  decoder.reset();
  file.reset();
  decoding = write_decoded = text_ok = false;
  if (f.kind != K::kLength && f.kind != K::kChunked && f.kind != K::kUntilClose) return;
  const std::string* ce = msg->head.find("content-encoding");
  if (ce) msg->content_encoding = *ce;
  const ContentCoding coding = parse_content_coding(ce ? *ce : "");
  if (coding != ContentCoding::kIdentity && coding != ContentCoding::kUnsupported) {
    decoder = std::make_unique<ContentDecoder>(coding);
    decoding = true;
    write_decoded = !an.opt_.keep_encoded;
  }
  text_ok = an.opt_.max_text_bytes > 0 && coding != ContentCoding::kUnsupported;
}

void HttpAnalyzer::Side::write(std::span<const uint8_t> bytes) {
  if (!an.opt_.extract_bodies || bytes.empty()) return;
  body_file().append(bytes);
}

BodyFile& HttpAnalyzer::Side::body_file() {
  if (!file) {
    file = std::make_unique<BodyFile>(an.body_path(*an.current_, dir, msg->number));
    if (an.opt_.outdir_fd >= 0) {
      // The name inside the output directory (flow names never leave it).
      std::string name = file->path().substr(an.opt_.outdir.size() + 1);
      name.erase(0, name.find_first_not_of('/'));
      file->place(an.opt_.outdir_fd, std::move(name));
    }
    file->set_time(msg->start_ts);
  }
  return *file;
}

void HttpAnalyzer::Side::take_decoded(std::span<const uint8_t> bytes) {
  if (an.opt_.decode_view && msg->preview.size() < an.opt_.preview_bytes) {
    const size_t n = std::min(bytes.size(), an.opt_.preview_bytes - msg->preview.size());
    msg->preview.append(reinterpret_cast<const char*>(bytes.data()), n);
  }
  if (text_ok) {
    if (msg->body_text.size() + bytes.size() <= an.opt_.max_text_bytes) {
      msg->body_text.append(bytes.begin(), bytes.end());
    } else {
      text_ok = false;
      std::string().swap(msg->body_text);
    }
  }
  if (write_decoded) write(bytes);
}

void HttpAnalyzer::Side::on_body(std::span<const uint8_t> bytes, Timestamp ts) {
  if (!msg) return;
  msg->end_ts = ts;
  msg->body_bytes += bytes.size();
  if (decoder) {
    if (decoding && !decoder->feed(bytes, [this](std::span<const uint8_t> out) {
          take_decoded(out);
        })) {
      msg->decode_error = decoder->error();
      decoding = false;
    }
  } else {
    msg->decoded_bytes += bytes.size();
    take_decoded(bytes);
  }
  if (!write_decoded) write(bytes);
}

void HttpAnalyzer::Side::on_body_gap(uint64_t length, Timestamp ts) {
  if (!msg) return;
  msg->end_ts = ts;
  msg->body_bytes += length;
  text_ok = false;
  std::string().swap(msg->body_text);
  if (decoder) {
    if (decoding) {
      msg->decode_error = "decoding stopped: " + std::to_string(length) +
                          " bytes missing from the capture";
      decoding = false;
    }
  } else {
    msg->decoded_bytes += length;
  }
  if (!write_decoded && an.opt_.extract_bodies) {
    body_file().hole(length);
  }
}

void HttpAnalyzer::Side::on_trailers(std::vector<HttpHeader>& trailers) {
  if (msg) msg->trailers = std::move(trailers);
}

void HttpAnalyzer::Side::on_message_end(const MessageEnd& end, Timestamp ts) {
  if (dir == Dir::kServerToClient && conn.resume_at_answer_end) {
    conn.resume_at_answer_end = false;
    conn.resume_pending = true;
  }
  if (!msg) return;
  HttpMessage& m = *msg;
  m.ended = true;
  m.complete = end.complete;
  m.problem = end.problem;
  m.body_wire = end.body_wire;
  m.missing = end.missing;
  if (end.body_wire > 0 || !end.complete) m.end_ts = ts;
  if (decoder) {
    m.decoded_bytes = decoder->decoded_bytes();
    if (decoding && !decoder->finished() && m.complete) {
      m.decode_error = "compressed data ends before its end marker";
    }
    m.decoded = m.decode_error.empty() && decoder->finished();
  }
  m.has_text = text_ok && m.complete && (!decoder || m.decoded);
  if (!m.has_text) std::string().swap(m.body_text);
  if (txn) charge(*txn, heap_of(m.body_text));
  if (file) {
    if (!file->close() && an.error_.empty()) an.error_ = file->error();
    if (file->created()) {
      m.body_path = file->path();
      ++an.stats_.bodies;
    }
  }
  decoder.reset();
  file.reset();
  decoding = write_decoded = text_ok = false;
  msg = nullptr;
  txn = nullptr;
  if (an.opt_.out && an.opt_.decode_view) {
    Timestamp latency = -1;
    for (const HttpTransaction& t : conn.txns) {
      if (&t.response == &m && t.request.present && t.request.ended) {
        latency = m.start_ts - t.request.end_ts;
      }
    }
    an.opt_.out->message(*an.current_, http_decoded_message(m, latency));
  }
}

void HttpAnalyzer::Side::on_error(uint64_t offset, const std::string& what, Timestamp ts) {
  an.report(*an.current_, dir, ts, offset, 0,
            std::string(dir == Dir::kClientToServer ? "client" : "server") +
                " stream at offset " + std::to_string(offset) + ": " + what +
                "; looking for the next message");
}

}  // namespace tcpscribe
