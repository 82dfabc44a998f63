#include "http2.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <strings.h>

#include "http2_state.h"
#include "http_records.h"
#include "json_text.h"
#include "name_template.h"

namespace tcpscribe {
namespace {

constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;
constexpr size_t kRecordGrpcMessages = 20;  // gRPC messages listed per direction in a record
constexpr size_t kViewGrpcMessages = 10;     // ... shown by --decode

bool has(const std::string& t, const char* esc) { return t.find(esc) != std::string::npos; }

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string end_reason(CloseReason why) {
  return why == CloseReason::kFin ? "the connection was closed" : close_reason_text(why);
}

bool is_credential(const std::string& name) {
  return strcasecmp(name.c_str(), "authorization") == 0 ||
         strcasecmp(name.c_str(), "proxy-authorization") == 0;
}

std::string header_line(const HttpHeader& f) {
  if (is_credential(f.name)) {
    const size_t space = f.value.find(' ');
    const std::string scheme = space == std::string::npos ? "" : f.value.substr(0, space) + " ";
    const size_t secret = space == std::string::npos ? f.value.size() : f.value.size() - space - 1;
    return printable_text(f.name, 200) + ": " + printable_text(scheme, 40) + "[redacted, " +
           std::to_string(secret) + " bytes]";
  }
  return printable_text(f.name, 200) + ": " + printable_text(f.value, 2000);
}

std::string describe(const Http2Analyzer::Stats&, uint32_t id, const HttpMessage& rq) {
  std::string s = "stream " + std::to_string(id);
  if (rq.present && !rq.head.method.empty()) {
    s += " (" + printable_text(rq.head.method, 40) + " " + printable_text(rq.head.target) + ")";
  }
  return s;
}

/// The grpc-status / grpc-message of `fields`, if there.
void grpc_status_of(const std::vector<HttpHeader>& fields, bool& seen, int& status,
                    std::string& message) {
  for (const HttpHeader& f : fields) {
    if (f.name == "grpc-status") {
      seen = true;
      status = std::atoi(f.value.c_str());
    } else if (f.name == "grpc-message") {
      message = f.value;
    }
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    size_t i = l.find_first_not_of(' ');
    if (!out.empty()) out += ' ';
    out += l.substr(i == std::string::npos ? 0 : i);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- setup

Http2Analyzer::Http2Analyzer(Http2Options o, FindingCallback on_finding,
                             TransactionCallback on_transaction)
    : opt_(std::move(o)),
      on_finding_(std::move(on_finding)),
      on_transaction_(std::move(on_transaction)) {
  if (opt_.name_template.empty()) opt_.name_template = kDefaultTemplate;
  const std::string& t = opt_.name_template;
  names_unique_ = has(t, "%A") && has(t, "%a") && has(t, "%B") && has(t, "%b") &&
                  (has(t, "%c") || has(t, "%#"));
}

Http2Analyzer::~Http2Analyzer() = default;

std::string Http2Analyzer::body_path(Dir d, uint32_t number) {
  const std::string flow = opt_.outdir + "/" + expand_name(opt_.name_template, *current_, d);
  if (!names_unique_) number = ++body_numbers_[flow];
  char num[16];
  std::snprintf(num, sizeof num, "%03u", number);
  return flow + "-HTTPBODY-" + num;
}

Http2Analyzer::Conn& Http2Analyzer::conn_for(const Connection& c) {
  auto [it, inserted] = conns_.try_emplace(c.id);
  if (inserted) {
    it->second = std::make_unique<Conn>();
    Conn& k = *it->second;
    k.info = c;
    for (int i = 0; i < 2; ++i) {
      k.side[i] = std::make_unique<Side>(*this, k, static_cast<Dir>(i));
      if (!c.handshake_seen) {
        k.side[i]->parser.set_midstream();
        k.side[i]->hpack.forget();
      }
    }
    k.windows_known = c.handshake_seen;
  }
  return *it->second;
}

void Http2Analyzer::on_open(const Connection& c) { conn_for(c); }

void Http2Analyzer::take_over(const Connection& c, uint64_t client_offset, uint64_t server_offset,
                              const HttpMessage& request) {
  current_ = &c;
  Conn& k = conn_for(c);
  k.side[0]->base = client_offset;
  k.side[1]->base = server_offset;
  Stream& st = stream_for(k, 1, kC2S, request.start_ts);
  st.t.request = request;
  st.t.request.number = st.t.index;
  st.half[0].headers = true;
  st.half[0].ended = true;
  // The HTTP/1.1 request as HTTP/2 would have said it (RFC 9113 8.3.1).
  HttpHead& h = st.t.request.head;
  std::vector<HttpHeader> fields = {{":method", h.method}, {":scheme", "http"}};
  if (const std::string* host = h.find("host")) fields.push_back({":authority", *host});
  fields.push_back({":path", h.target});
  fields.insert(fields.end(), h.headers.begin(), h.headers.end());
  h.headers = std::move(fields);
}

void Http2Analyzer::on_data(const Connection& c, Dir d, uint64_t offset,
                            std::span<const uint8_t> bytes, Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  Side& s = *k.side[index_of(d)];
  if (offset + bytes.size() <= s.base) return;
  if (offset < s.base) {
    bytes = bytes.subspan(static_cast<size_t>(s.base - offset));
    offset = s.base;
  }
  s.parser.feed(bytes, offset - s.base, ts);
}

void Http2Analyzer::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                           Timestamp ts) {
  Conn& k = conn_for(c);
  current_ = &c;
  Side& s = *k.side[index_of(d)];
  if (offset + length <= s.base) return;
  if (offset < s.base) {
    length -= s.base - offset;
    offset = s.base;
  }
  s.parser.gap(offset - s.base, length, ts);
}

void Http2Analyzer::on_shutdown(const Connection& c, Dir d, bool, Timestamp) {
  Conn& k = conn_for(c);
  current_ = &c;
  k.side[index_of(d)]->ended = true;
}

void Http2Analyzer::on_close(const Connection& c, CloseReason why) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  Conn& k = *it->second;
  current_ = &c;
  k.why = why;
  while (!k.streams.empty()) {
    Stream& st = k.streams.begin()->second;
    for (Dir d : {kC2S, kS2C}) {
      if (st.msg(d).present && !st.half[index_of(d)].ended) {
        end_half(k, st, d, c.last_ts, false, "unfinished: " + end_reason(why));
      }
    }
    deliver(k, st);
    k.streams.erase(k.streams.begin());
  }
  if (k.told_closed > 10) {
    report(k, kC2S, c.last_ts, 0,
           std::to_string(k.told_closed) + " frames in all came on streams already ended");
  }
  conns_.erase(it);
  current_ = nullptr;
}

void Http2Analyzer::finish() {
  while (!conns_.empty()) {
    const Connection info = conns_.begin()->second->info;
    on_close(info, CloseReason::kEndOfInput);
  }
}

// -------------------------------------------------------------- streams

Http2Analyzer::Stream& Http2Analyzer::stream_for(Conn& k, uint32_t id, Dir, Timestamp) {
  auto [it, inserted] = k.streams.try_emplace(id);
  Stream& st = it->second;
  if (inserted) {
    st.id = id;
    st.t.index = ++k.count;
    st.t.stream = id;
    st.t.h2_scheme = "http";
    for (Dir d : {kC2S, kS2C}) {
      st.half[index_of(d)].window = k.side[index_of(d)]->initial_window;
    }
    if (id > k.highest(id)) k.highest(id) = id;
    if (k.streams.size() > opt_.max_streams) {
      // The oldest goes out as it is.
      Stream& old = k.streams.begin()->second;
      if (&old != &st) {
        for (Dir d : {kC2S, kS2C}) {
          if (old.msg(d).present && !old.half[index_of(d)].ended) {
            end_half(k, old, d, 0, false, "delivered before its end (open-stream cap)");
          }
        }
        deliver(k, old);
        k.streams.erase(k.streams.begin());
      }
    }
  }
  return st;
}

void Http2Analyzer::header_block(Conn& k, Side& s, Timestamp ts) {
  s.in_block = false;
  std::vector<HttpHeader> fields;
  bool known = false;
  if (s.block_too_big) {
    s.hpack.forget();
    report(k, s.dir, ts, s.at(s.block_offset),
           std::string(s.who()) + " header block of stream " + std::to_string(s.block_stream) +
               " is longer than " + std::to_string(opt_.max_header_block) +
               " bytes: not decoded");
  } else {
    known = s.hpack.decode(s.block, fields);
  }
  s.block.clear();
  if (s.block_promise) {
    on_headers(k, s.dir, s.promised, fields, known, true, s.at(s.block_offset), s.block_wire, ts,
               true);
  } else {
    on_headers(k, s.dir, s.block_stream, fields, known, s.block_end_stream,
               s.at(s.block_offset), s.block_wire, ts, false);
  }
}

void Http2Analyzer::on_headers(Conn& k, Dir d, uint32_t id, std::vector<HttpHeader>& fields,
                               bool known, bool end_stream, uint64_t offset, uint64_t size,
                               Timestamp ts, bool promise) {
  H2FrameHeader h;
  h.type = static_cast<uint8_t>(promise ? H2Type::kPushPromise : H2Type::kHeaders);
  h.stream = id;
  h.offset = offset - k.side[index_of(d)]->base;
  Stream* stp = nullptr;
  if (promise) {
    if (k.streams.count(id) || id <= k.highest(id)) {
      report(k, d, ts, offset, "PUSH_PROMISE of stream " + std::to_string(id) +
                                   ", a stream already in use; ignored");
      return;
    }
    stp = &stream_for(k, id, d, ts);
    stp->pushed = true;
  } else {
    stp = k.side[index_of(d)]->open_stream(h, ts);
  }
  if (!stp) return;
  Stream& st = *stp;
  // A push promise carries the request, from the server.
  const Dir as = promise ? kC2S : d;
  Stream::Half& half = st.half[index_of(as)];
  HttpMessage& m = st.msg(as);
  if (!promise && half.ended) {
    if (!half.after_end_told) {
      half.after_end_told = true;
      report(k, d, ts, offset,
             std::string(d == kC2S ? "client" : "server") + " sent HEADERS on stream " +
                 std::to_string(id) + " after ending it (END_STREAM)");
    }
    return;
  }
  if (half.headers) {
    // Trailers.
    m.trailers = std::move(fields);
    m.end_ts = ts;
    grpc_status_of(m.trailers, st.grpc_status_seen, st.grpc_status, st.grpc_message);
    if (!end_stream) {
      report(k, d, ts, offset,
             "stream " + std::to_string(id) + ": a second header block without END_STREAM");
    }
  } else {
    HttpHead head;
    head.is_request = as == kC2S;
    head.version = "HTTP/2.0";
    head.size = size;
    head.truncated = !known;
    for (const HttpHeader& f : fields) {
      if (f.name == ":method") head.method = f.value;
      if (f.name == ":path") head.target = f.value;
      if (f.name == ":scheme") st.t.h2_scheme = f.value;
      if (f.name == ":status") head.status = std::atoi(f.value.c_str());
    }
    head.headers = std::move(fields);
    if (!head.is_request && head.status >= 100 && head.status < 200) {
      // Informational: the final head is still to come.
      return;
    }
    m.present = true;
    m.head = std::move(head);
    m.number = st.t.index;
    m.offset = offset;
    m.start_ts = m.head_ts = m.end_ts = ts;
    half.headers = true;
    if (!known) m.problem = "header fields unknown (HPACK table not known)";
    if (as == kC2S) {
      const std::string* ct = m.head.find("content-type");
      st.grpc = ct && ct->rfind("application/grpc", 0) == 0;
    }
    grpc_status_of(m.head.headers, st.grpc_status_seen, st.grpc_status, st.grpc_message);
    start_body(st, as);
    if (promise) {
      show(k, d, ts,
           "PUSH_PROMISE stream " + std::to_string(id), {});
    }
  }
  if (end_stream || promise) {
    end_half(k, st, as, ts, true, "");
    maybe_deliver(k, id);
  }
}

// ---------------------------------------------------------------- bodies

void Http2Analyzer::start_body(Stream& st, Dir d) {
  Stream::Half& half = st.half[index_of(d)];
  HttpMessage& m = st.msg(d);
  const std::string* ce = m.head.find("content-encoding");
  if (ce) m.content_encoding = *ce;
  const ContentCoding coding = parse_content_coding(ce ? *ce : "");
  half.decoder.reset();
  half.decoding = half.write_decoded = false;
  if (coding != ContentCoding::kIdentity && coding != ContentCoding::kUnsupported) {
    half.decoder = std::make_unique<ContentDecoder>(coding);
    half.decoding = true;
    half.write_decoded = !opt_.keep_encoded;
  }
  half.text_ok = opt_.max_text_bytes > 0 && coding != ContentCoding::kUnsupported;
}

BodyFile& Http2Analyzer::file_for(Stream& st, Dir d) {
  Stream::Half& half = st.half[index_of(d)];
  if (!half.file) {
    HttpMessage& m = st.msg(d);
    half.file = std::make_unique<BodyFile>(body_path(d, m.number));
    if (opt_.outdir_fd >= 0) {
      std::string name = half.file->path().substr(opt_.outdir.size() + 1);
      name.erase(0, name.find_first_not_of('/'));
      half.file->place(opt_.outdir_fd, std::move(name));
    }
    half.file->set_time(m.start_ts);
  }
  return *half.file;
}

void Http2Analyzer::take_decoded(Stream& st, Dir d, std::span<const uint8_t> bytes) {
  Stream::Half& half = st.half[index_of(d)];
  HttpMessage& m = st.msg(d);
  if (opt_.decode_view && m.preview.size() < opt_.preview_bytes) {
    const size_t n = std::min(bytes.size(), opt_.preview_bytes - m.preview.size());
    m.preview.append(reinterpret_cast<const char*>(bytes.data()), n);
  }
  if (half.text_ok) {
    if (m.body_text.size() + bytes.size() <= opt_.max_text_bytes) {
      m.body_text.append(bytes.begin(), bytes.end());
    } else {
      half.text_ok = false;
      std::string().swap(m.body_text);
    }
  }
  if (st.grpc) half.grpc.feed(bytes);
  if (half.write_decoded && opt_.extract_bodies && !bytes.empty()) file_for(st, d).append(bytes);
}

void Http2Analyzer::body_bytes(Stream& st, Dir d, std::span<const uint8_t> bytes) {
  Stream::Half& half = st.half[index_of(d)];
  HttpMessage& m = st.msg(d);
  m.body_bytes += bytes.size();
  if (half.decoder) {
    if (half.decoding && !half.decoder->feed(bytes, [&](std::span<const uint8_t> out) {
          take_decoded(st, d, out);
        })) {
      m.decode_error = half.decoder->error();
      half.decoding = false;
    }
  } else {
    m.decoded_bytes += bytes.size();
    take_decoded(st, d, bytes);
  }
  if (!half.write_decoded && opt_.extract_bodies && !bytes.empty()) file_for(st, d).append(bytes);
}

void Http2Analyzer::close_body(Stream& st, Dir d) {
  Stream::Half& half = st.half[index_of(d)];
  HttpMessage& m = st.msg(d);
  if (half.decoder) {
    m.decoded_bytes = half.decoder->decoded_bytes();
    if (half.decoding && !half.decoder->finished() && m.complete) {
      m.decode_error = "compressed data ends before its end marker";
    }
    m.decoded = m.decode_error.empty() && half.decoder->finished();
  }
  m.has_text = half.text_ok && m.complete && (!half.decoder || m.decoded);
  if (!m.has_text) std::string().swap(m.body_text);
  if (half.file) {
    if (!half.file->close() && error_.empty()) error_ = half.file->error();
    if (half.file->created()) {
      m.body_path = half.file->path();
      ++stats_.bodies;
    }
  }
  half.decoder.reset();
  half.file.reset();
  half.decoding = half.write_decoded = half.text_ok = false;
}

void Http2Analyzer::end_half(Conn& k, Stream& st, Dir d, Timestamp ts, bool complete,
                             const std::string& problem) {
  Stream::Half& half = st.half[index_of(d)];
  if (half.ended) return;
  half.ended = true;
  HttpMessage& m = st.msg(d);
  if (!m.present) return;
  m.ended = true;
  if (ts > 0 && ts > m.end_ts) m.end_ts = ts;
  if (m.problem.empty()) m.problem = problem;
  m.complete = complete && m.missing == 0 && m.problem.empty();
  close_body(st, d);
  show_message(k, st, d);
}

// -------------------------------------------------------------- delivery

void Http2Analyzer::maybe_deliver(Conn& k, uint32_t id) {
  auto it = k.streams.find(id);
  if (it == k.streams.end()) return;
  Stream& st = it->second;
  const bool rq_done = st.half[0].ended || !st.t.request.present;
  const bool rs_done = st.half[1].ended;
  if (!st.reset && !(rq_done && rs_done && st.t.request.present)) return;
  if (st.reset) {
    for (Dir d : {kC2S, kS2C}) st.half[index_of(d)].ended = true;
  }
  deliver(k, st);
  uint8_t bits = 0;
  for (Dir d : {kC2S, kS2C}) {
    if (st.msg(d).present && st.msg(d).complete) bits |= 1u << index_of(d);
  }
  if (st.reset) bits = 4;
  k.closed[id] = bits;
  if (k.closed.size() > 4096) k.closed.erase(k.closed.begin());
  k.streams.erase(it);
}

void Http2Analyzer::deliver(Conn& k, Stream& st) {
  const Connection& c = *current_;
  HttpTransaction& t = st.t;
  t.conn_id = c.id;
  t.client = c.client;
  t.server = c.server;
  t.syn_ts = c.syn_ts;
  t.synack_ts = c.synack_ts;
  const HttpMessage& rq = t.request;
  const HttpMessage& rs = t.response;
  const std::string what = describe(stats_, st.id, rq);
  std::string why;
  if (rq.present && !rs.present && !st.reset) {
    Side& server = *k.side[1];
    if (server.lost || !k.windows_known) {
      why = "the capture lacks the server's frames";
      report(k, kC2S, rq.start_ts, rq.offset, what + " has no response in the capture, which lacks "
                                                     "the server's frames", false);
    } else {
      why = end_reason(k.why);
      report(k, kC2S, rq.start_ts, rq.offset, what + " was never answered (" + why + ")");
    }
  }
  // Flow control: a side that still had body to send but no window left.
  if (k.windows_known) {
    for (Dir d : {kC2S, kS2C}) {
      const HttpMessage& m = st.msg(d);
      const Side& s = *k.side[index_of(d)];
      const int64_t w = std::min(s.conn_window, st.half[index_of(d)].window);
      if (m.present && !m.complete && !st.reset && m.ended && w <= 0 &&
          m.problem.rfind("unfinished", 0) == 0) {
        report(k, d, m.end_ts, m.offset,
               what + " stalled on flow control: the " + (d == kC2S ? "client" : "server") +
                   " had no send window left (stream " + std::to_string(st.half[index_of(d)].window) +
                   ", connection " + std::to_string(s.conn_window) + " bytes) and the " +
                   (d == kC2S ? "server" : "client") + " granted no more");
      }
    }
  }
  for (Dir d : {kC2S, kS2C}) {
    const HttpMessage& m = st.msg(d);
    if (m.present && !m.decode_error.empty() && m.missing == 0) {
      report(k, d, m.start_ts, m.offset,
             what + ": " + printable_text(m.content_encoding, 40) + " body not decoded: " +
                 m.decode_error);
    }
  }
  ++stats_.streams;
  if (opt_.out) {
    ExchangeRecord r;
    r.proto = "http2";
    r.ts = rq.present ? rq.start_ts : rs.start_ts;
    r.end = rs.present ? rs.end_ts : rq.end_ts;
    if (rq.present && rs.present) r.latency = rs.start_ts - rq.end_ts;
    std::string error;
    if (st.reset) {
      error = std::string("reset by the ") + (st.reset_by == kC2S ? "client" : "server") + " (" +
              h2_error_name(st.reset_code) + ")";
    } else if (!rq.present) {
      error = "response without a request";
    } else if (!rs.present) {
      error = "unanswered" + (why.empty() ? "" : " (" + why + ")");
    } else if (!rq.complete && !rq.problem.empty()) {
      error = "request " + rq.problem;
    } else if (!rs.complete && !rs.problem.empty()) {
      error = "response " + rs.problem;
    } else if (rs.head.status >= 400) {
      error = std::to_string(rs.head.status);
    } else if (st.grpc && st.grpc_status_seen && st.grpc_status != 0) {
      error = "grpc " + std::to_string(st.grpc_status) + " " + grpc_status_name(st.grpc_status) +
              (st.grpc_message.empty() ? "" : ": " + st.grpc_message);
    }
    if (!error.empty()) r.error_json = json_string(error);
    const auto pseudo = [&](const HttpMessage& m, const char* name) -> std::string {
      const std::string* v = m.present ? m.head.find(name) : nullptr;
      return v ? json_string(*v) : "null";
    };
    r.fields.emplace_back("stream", std::to_string(st.id));
    r.fields.emplace_back("method", pseudo(rq, ":method"));
    r.fields.emplace_back("scheme", pseudo(rq, ":scheme"));
    r.fields.emplace_back("authority", pseudo(rq, ":authority"));
    r.fields.emplace_back("path", pseudo(rq, ":path"));
    r.fields.emplace_back("status", rs.present && rs.head.status > 0 ? std::to_string(rs.head.status)
                                                                     : "null");
    r.fields.emplace_back("request_body_bytes", rq.present ? std::to_string(rq.body_bytes) : "null");
    r.fields.emplace_back("response_body_bytes",
                          rs.present ? std::to_string(rs.body_bytes) : "null");
    if (st.pushed) r.fields.emplace_back("pushed", "true");
    if (st.grpc) {
      const auto [service, method] = grpc_service_method(rq.head.target);
      r.fields.emplace_back("grpc_service", json_string(service));
      r.fields.emplace_back("grpc_method", json_string(method));
      r.fields.emplace_back("grpc_status", st.grpc_status_seen ? std::to_string(st.grpc_status) : "null");
      r.fields.emplace_back("grpc_status_name", st.grpc_status_seen
                                                    ? json_string(grpc_status_name(st.grpc_status))
                                                    : "null");
      r.fields.emplace_back("grpc_message", st.grpc_status_seen ? json_string(st.grpc_message) : "null");
      for (Dir d : {kC2S, kS2C}) {
        const GrpcFramer& g = st.half[index_of(d)].grpc;
        std::string list = "[";
        size_t n = 0;
        for (const GrpcMessage& gm : g.messages()) {
          if (n++ == kRecordGrpcMessages) break;
          if (list.size() > 1) list += ',';
          list += "{\"compressed\":" + std::string(gm.compressed ? "true" : "false") +
                  ",\"size\":" + std::to_string(gm.size);
          if (!gm.compressed && gm.whole) {
            const auto bytes = std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(gm.head.data()), gm.head.size());
            const std::vector<std::string> lines = protobuf_decode_raw(bytes);
            if (!lines.empty() || gm.size == 0) list += ",\"decoded\":" + json_string(joined(lines));
          }
          list += '}';
        }
        list += ']';
        const char* key = d == kC2S ? "grpc_request_messages" : "grpc_response_messages";
        r.fields.emplace_back(key, std::to_string(g.count()));
        r.fields.emplace_back(std::string(key) + "_decoded", list);
      }
    }
    opt_.out->exchange(c, r);
  }
  if (on_transaction_) on_transaction_(t);
}

// -------------------------------------------------------------- reports

void Http2Analyzer::report(Conn&, Dir d, Timestamp ts, uint64_t offset, std::string text,
                           bool alarm) {
  ++stats_.findings;
  if (!on_finding_ || !current_) return;
  Finding f;
  f.kind = Finding::Kind::kHttp;
  f.dir = d;
  f.ts = ts;
  f.offset = offset;
  f.text = "HTTP/2 " + std::move(text);
  f.alarm = alarm;
  on_finding_(*current_, f);
}

void Http2Analyzer::show(Conn&, Dir d, Timestamp ts, std::string summary,
                         std::vector<std::string> lines) {
  if (!opt_.out || !opt_.decode_view || !current_) return;
  DecodedMessage m;
  m.proto = "http2";
  m.dir = d;
  m.ts = ts;
  m.summary = std::move(summary);
  m.lines = std::move(lines);
  opt_.out->message(*current_, m);
}

void Http2Analyzer::show_message(Conn& k, Stream& st, Dir d) {
  Stream::Half& half = st.half[index_of(d)];
  if (half.shown || !opt_.out || !opt_.decode_view) return;
  half.shown = true;
  const HttpMessage& m = st.msg(d);
  const HttpHead& h = m.head;
  std::string summary = "stream " + std::to_string(st.id) + ": ";
  if (h.is_request) {
    summary += h.method.empty() ? std::string("request") : printable_text(h.method, 40) + " " +
                                                              printable_text(h.target, 200);
  } else {
    summary += h.status > 0 ? std::to_string(h.status) : std::string("response");
  }
  std::vector<std::string> lines;
  for (const HttpHeader& f : h.headers) lines.push_back(header_line(f));
  if (h.truncated) lines.push_back("(header fields unknown: the HPACK table is not known)");
  if (m.body_bytes > 0) {
    std::string body = "body: " + std::to_string(m.body_bytes) + " bytes";
    if (!m.content_encoding.empty()) {
      body += " " + printable_text(m.content_encoding, 40);
      if (m.decoded) body += ", " + std::to_string(m.decoded_bytes) + " decoded";
    }
    if (!m.preview.empty() && !st.grpc) {
      const bool more = m.preview.size() < (m.decoded ? m.decoded_bytes : m.body_bytes);
      body += ": \"" + printable_text(m.preview, m.preview.size()) + (more ? "\"..." : "\"");
    }
    lines.push_back(std::move(body));
  }
  if (st.grpc) {
    const auto [service, method] = grpc_service_method(st.t.request.head.target);
    if (h.is_request && !service.empty()) lines.push_back("grpc: " + service + " / " + method);
    size_t n = 0;
    for (const GrpcMessage& gm : half.grpc.messages()) {
      if (n++ == kViewGrpcMessages) {
        lines.push_back("grpc: ... " + std::to_string(half.grpc.count() - kViewGrpcMessages) +
                        " more messages");
        break;
      }
      lines.push_back("grpc message " + std::to_string(n) + ": " + std::to_string(gm.size) +
                      " bytes" + (gm.compressed ? ", compressed" : ""));
      if (!gm.compressed && gm.whole) {
        const auto bytes = std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(gm.head.data()), gm.head.size());
        for (const std::string& l : protobuf_decode_raw(bytes)) lines.push_back("  " + l);
      }
    }
  }
  for (const HttpHeader& f : m.trailers) lines.push_back("trailer " + header_line(f));
  if (st.grpc && !h.is_request && st.grpc_status_seen) {
    lines.push_back("grpc-status: " + std::to_string(st.grpc_status) + " " +
                    grpc_status_name(st.grpc_status) +
                    (st.grpc_message.empty() ? "" : ": " + printable_text(st.grpc_message)));
  }
  if (!m.complete && !m.problem.empty()) lines.push_back("incomplete: " + printable_text(m.problem, 200));
  DecodedMessage out;
  out.proto = "http2";
  out.dir = d;
  out.ts = m.start_ts;
  out.summary = std::move(summary);
  out.lines = std::move(lines);
  if (!h.is_request && st.t.request.present && st.t.request.ended) {
    out.latency = m.start_ts - st.t.request.end_ts;
  }
  (void)k;
  opt_.out->message(*current_, out);
}

// ------------------------------------------------------------- registry

std::unique_ptr<Http2Analyzer> make_http2_analyzer_for(const AnalyzerSettings& s) {
  Http2Options o;
  o.outdir = s.outdir;
  o.outdir_fd = s.outdir_fd;
  o.name_template = s.name_template;
  o.extract_bodies = s.extract && s.outdir_fd >= 0;
  o.keep_encoded = s.keep_encoded;
  o.max_text_bytes = s.keep_text_bytes;
  o.out = s.out;
  o.decode_view = s.decode_view;
  AnalyzerOutput* out = s.out;
  Http2Analyzer::FindingCallback on_finding;
  Http2Analyzer::TransactionCallback on_transaction;
  if (out) {
    on_finding = [out](const Connection& c, const Finding& f) { out->finding(c, f); };
    on_transaction = [out](const HttpTransaction& t) { out->http_transaction(t); };
  }
  return std::make_unique<Http2Analyzer>(std::move(o), std::move(on_finding),
                                         std::move(on_transaction));
}

std::unique_ptr<ProtocolAnalyzer> make_http2_analyzer(const AnalyzerSettings& s) {
  return make_http2_analyzer_for(s);
}

ProbeResult probe_http2(Dir d, std::span<const uint8_t> first) {
  if (d == kC2S) {
    const size_t n = std::min(first.size(), kH2PrefaceLen);
    if (std::memcmp(first.data(), kH2Preface, n) != 0) return ProbeResult::kNo;
    return n == kH2PrefaceLen ? ProbeResult::kYes : ProbeResult::kNeedMore;
  }
  // The server's first frame is its SETTINGS.
  if (first.size() < 9) {
    static const uint8_t kStart[] = {0, 0};
    if (first.empty()) return ProbeResult::kNeedMore;
    // Length < 2^16 in practice: a first byte 0.
    return first[0] == kStart[0] ? ProbeResult::kNeedMore : ProbeResult::kNo;
  }
  const H2FrameHeader h = h2_parse_header(first.first(9));
  const bool settings = h.is(H2Type::kSettings) && h.stream == 0 && h.flags == 0 &&
                        h.length % 6 == 0 && h2_plausible_header(first.first(9));
  return settings ? ProbeResult::kYes : ProbeResult::kNo;
}

}  // namespace tcpscribe
