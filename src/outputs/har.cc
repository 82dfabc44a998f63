#include "har.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#ifndef TCPSCRIBE_VERSION
#define TCPSCRIBE_VERSION "unknown"
#endif

namespace tcpscribe {
namespace {



/// Milliseconds with microsecond precision; -1 stays -1.
std::string ms(Timestamp ns) {
  if (ns < 0) return "-1";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(ns / 1'000'000),
                static_cast<long long>(ns / 1000 % 1000));
  return buf;
}

Timestamp span(Timestamp from, Timestamp to) { return to > from ? to - from : 0; }

class Json {
 public:
  Json& raw(std::string_view s) { out_ += s; return *this; }
  Json& key(std::string_view k) {
    comma();
    append_har_string(out_, k);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  Json& str(std::string_view v) { comma(); append_har_string(out_, v); return *this; }
  Json& num(std::string_view v) { comma(); out_ += v; return *this; }
  Json& num(int64_t v) { return num(std::to_string(v)); }
  Json& boolean(bool v) { return num(v ? "true" : "false"); }
  Json& open(char c) { comma(); out_ += c; fresh_ = true; return *this; }
  Json& close(char c) { out_ += c; fresh_ = false; return *this; }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }
  std::string out_;
  bool fresh_ = true;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

void name_value(Json& j, std::string_view name, std::string_view value) {
  j.open('{').key("name").str(name).key("value").str(value).close('}');
}

void headers(Json& j, const HttpMessage& m) {
  j.key("headers").open('[');
  for (const HttpHeader& h : m.head.headers) name_value(j, h.name, h.value);
  for (const HttpHeader& h : m.trailers) name_value(j, h.name, h.value);
  j.close(']');
}

void cookies(Json& j, const HttpMessage& m) {
  j.key("cookies").open('[');
  for (const HttpHeader& h : m.head.headers) {
    if (m.head.is_request && ieq(h.name, "cookie")) {
      std::string_view v = h.value;
      while (!v.empty()) {
        const size_t semi = v.find(';');
        const std::string_view pair = trim(v.substr(0, semi));
        v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        name_value(j, trim(pair.substr(0, eq)),
                   eq == std::string_view::npos ? "" : trim(pair.substr(eq + 1)));
      }
    } else if (!m.head.is_request && ieq(h.name, "set-cookie")) {
      std::string_view v = h.value;
      const size_t semi = v.find(';');
      const std::string_view pair = trim(v.substr(0, semi));
      const size_t eq = pair.find('=');
      j.open('{').key("name").str(trim(pair.substr(0, eq)));
      j.key("value").str(eq == std::string_view::npos ? "" : trim(pair.substr(eq + 1)));
      v = semi == std::string_view::npos ? std::string_view() : v.substr(semi + 1);
      while (!v.empty()) {
        const size_t next = v.find(';');
        const std::string_view attr = trim(v.substr(0, next));
        v = next == std::string_view::npos ? std::string_view() : v.substr(next + 1);
        const size_t aeq = attr.find('=');
        const std::string_view an = trim(attr.substr(0, aeq));
        const std::string_view av = aeq == std::string_view::npos ? "" : trim(attr.substr(aeq + 1));
        if (ieq(an, "path")) j.key("path").str(av);
        else if (ieq(an, "domain")) j.key("domain").str(av);
        else if (ieq(an, "httponly")) j.key("httpOnly").boolean(true);
        else if (ieq(an, "secure")) j.key("secure").boolean(true);
      }
      j.close('}');
    }
  }
  j.close(']');
}

void query_string(Json& j, const std::string& target) {
  j.key("queryString").open('[');
  const size_t q = target.find('?');
  if (q != std::string::npos) {
    std::string_view v = std::string_view(target).substr(q + 1);
    v = v.substr(0, v.find('#'));
    while (!v.empty()) {
      const size_t amp = v.find('&');
      const std::string_view pair = v.substr(0, amp);
      v = amp == std::string_view::npos ? std::string_view() : v.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      name_value(j, pair.substr(0, eq), eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
  }
  j.close(']');
}

std::string mime_type(const HttpMessage& m) {
  const std::string* ct = m.head.find("content-type");
  return ct ? *ct : "";
}

void extras(Json& j, const HttpMessage& m, const char* prefix) {
  if (!m.body_path.empty()) j.key(std::string("_") + prefix + "BodyFile").str(m.body_path);
  if (!m.complete) j.key(std::string("_") + prefix + "Problem").str(m.problem.empty() ? "incomplete" : m.problem);
  if (!m.decode_error.empty()) j.key(std::string("_") + prefix + "DecodeError").str(m.decode_error);
}

}  // namespace


void append_har_string(std::string& out, std::string_view s) {
  JsonStringStyle style;
  style.invalid_as_replacement = false;  // keep binary recoverable
  style.escape_line_separators = true;
  append_json_string(out, s, style);
}

std::string base64(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 0x3F];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = b(i) << 16;
    out += kAlphabet[v >> 18 & 0x3F];
    out += kAlphabet[v >> 12 & 0x3F];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = b(i) << 16 | b(i + 1) << 8;
    out += kAlphabet[v >> 18 & 0x3F];
    out += kAlphabet[v >> 12 & 0x3F];
    out += kAlphabet[v >> 6 & 0x3F];
    out += '=';
  }
  return out;
}

std::string iso8601(Timestamp ns) {
  const time_t secs = static_cast<time_t>(ns / kNanosPerSecond);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03lldZ",
                static_cast<long long>(ns % kNanosPerSecond / 1'000'000));
  return buf;
}

std::string har_entry(const HttpTransaction& t) {
  const HttpMessage& rq = t.request;
  const HttpMessage& rs = t.response;
  const Timestamp connect = t.index == 1 && t.syn_ts > 0 && t.synack_ts >= t.syn_ts
                                ? t.synack_ts - t.syn_ts
                                : -1;
  const Timestamp send = span(rq.start_ts, rq.end_ts);
  const Timestamp wait = rs.present ? span(rq.end_ts, rs.start_ts) : 0;
  const Timestamp receive = rs.present ? span(rs.start_ts, rs.end_ts) : 0;
  const Timestamp total = (connect > 0 ? connect : 0) + send + wait + receive;

  Json j;
  j.open('{');
  j.key("startedDateTime").str(iso8601(rq.start_ts));
  j.key("time").num(ms(total));

  j.key("request").open('{');
  j.key("method").str(rq.head.method);
  j.key("url").str(t.url());
  j.key("httpVersion").str(rq.head.version);
  cookies(j, rq);
  headers(j, rq);
  query_string(j, rq.head.target);
  if (rq.has_text && !rq.body_text.empty() && valid_utf8(rq.body_text)) {
    j.key("postData").open('{');
    j.key("mimeType").str(mime_type(rq));
    j.key("params").open('[').close(']');
    j.key("text").str(rq.body_text);
    j.close('}');
  }
  j.key("headersSize").num(static_cast<int64_t>(rq.head.size));
  j.key("bodySize").num(static_cast<int64_t>(rq.body_wire));
  extras(j, rq, "request");
  j.close('}');

  j.key("response").open('{');
  if (rs.present) {
    j.key("status").num(rs.head.status);
    j.key("statusText").str(rs.head.reason);
    j.key("httpVersion").str(rs.head.version);
    cookies(j, rs);
    headers(j, rs);
    j.key("content").open('{');
    j.key("size").num(static_cast<int64_t>(rs.decoded_bytes));
    if (rs.decoded && rs.decoded_bytes >= rs.body_bytes) {
      j.key("compression").num(static_cast<int64_t>(rs.decoded_bytes - rs.body_bytes));
    }
    j.key("mimeType").str(mime_type(rs));
    if (rs.has_text && !rs.body_text.empty()) {
      if (valid_utf8(rs.body_text)) {
        j.key("text").str(rs.body_text);
      } else {
        j.key("text").str(base64(rs.body_text));
        j.key("encoding").str("base64");
      }
    }
    j.close('}');
    const std::string* location = rs.head.find("location");
    j.key("redirectURL").str(location ? *location : "");
    j.key("headersSize").num(static_cast<int64_t>(rs.head.size));
    j.key("bodySize").num(static_cast<int64_t>(rs.body_wire));
    extras(j, rs, "response");
  } else {
    j.key("status").num(0).key("statusText").str("").key("httpVersion").str("");
    j.key("cookies").open('[').close(']').key("headers").open('[').close(']');
    j.key("content").open('{').key("size").num(0).key("mimeType").str("x-unknown").close('}');
    j.key("redirectURL").str("").key("headersSize").num(-1).key("bodySize").num(-1);
    j.key("_error").str("no response in the capture");
  }
  j.close('}');

  j.key("cache").open('{').close('}');
  j.key("timings").open('{');
  j.key("blocked").num(-1).key("dns").num(-1).key("connect").num(ms(connect));
  j.key("send").num(ms(send)).key("wait").num(ms(wait)).key("receive").num(ms(receive));
  j.key("ssl").num(-1);
  j.close('}');
  j.key("serverIPAddress").str(format_addr(t.server.addr));
  j.key("connection").str(std::to_string(t.conn_id));
  j.key("_client").str(format_endpoint(t.client));
  j.key("_server").str(format_endpoint(t.server));
  if (t.after_close_header || t.after_server_close) j.key("_afterClose").str(t.close_note);
  j.close('}');
  return j.take();
}

HarWriter::~HarWriter() = default;

void HarWriter::put(const std::string& s) {
  if (!f_ || write_failed_) return;
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) {
    write_failed_ = true;
    write_errno_ = errno;
  }
}

bool HarWriter::open(const std::string& path, std::string& error) {
  path_ = path;
  if (!file_.open(path, error)) return false;
  f_ = file_.stream();
  std::string head = "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"tcpscribe\",\"version\":";
  append_har_string(head, TCPSCRIBE_VERSION);
  head += "},\"pages\":[],\"entries\":[";
  put(head);
  return true;
}

void HarWriter::add(const HttpTransaction& t) {
  if (!t.request.present) return;
  put((entries_ == 0 ? "\n" : ",\n") + har_entry(t));
  ++entries_;
}

bool HarWriter::finish(std::string& error) {
  if (!f_) return true;
  put("\n]}}\n");
  f_ = nullptr;
  if (write_failed_) {
    file_.abandon();
    const char* why = std::strerror(write_errno_ ? write_errno_ : EIO);
    error = path_ == "-" ? std::string("cannot write the HAR to standard output: ") + why
                         : "cannot write " + path_ + ".tmp: " + why + " (" + path_ +
                               " is left as it was)";
    return false;
  }
  return file_.commit(error);
}

}  // namespace tcpscribe
