#include "http_records.h"

#include <strings.h>

#include "json_text.h"

namespace tcpscribe {
namespace {

bool is_credential(const std::string& name) {
  return strcasecmp(name.c_str(), "authorization") == 0 ||
         strcasecmp(name.c_str(), "proxy-authorization") == 0;
}

/// "Basic [redacted, 20 bytes]": the scheme tells what was sent, the
/// secret stays out of the terminal.
std::string redacted(const std::string& value) {
  const size_t space = value.find(' ');
  const std::string scheme = space == std::string::npos ? "" : value.substr(0, space) + " ";
  const size_t secret = space == std::string::npos ? value.size() : value.size() - space - 1;
  return printable_text(scheme, 40) + "[redacted, " + std::to_string(secret) + " bytes]";
}

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string status_line(const HttpHead& h) {
  return std::to_string(h.status) + (h.reason.empty() ? "" : " " + h.reason);
}

}  // namespace

std::string printable_text(std::string_view s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? '.' : static_cast<char>(c);
  }
  if (s.size() > max) out += "...";
  return out;
}

DecodedMessage http_decoded_message(const HttpMessage& m, Timestamp latency) {
  DecodedMessage out;
  out.proto = "http";
  const HttpHead& h = m.head;
  out.dir = h.is_request ? Dir::kClientToServer : Dir::kServerToClient;
  out.ts = m.start_ts;
  out.latency = h.is_request ? -1 : latency;
  if (h.is_request) {
    out.summary = printable_text(h.method, 40) + " " + printable_text(h.target, 200);
    out.lines.push_back(printable_text(h.method, 40) + " " + printable_text(h.target, 2000) + " " +
                        printable_text(h.version, 20));
  } else {
    out.summary = printable_text(status_line(h), 200);
    out.lines.push_back(printable_text(h.version, 20) + " " + printable_text(status_line(h), 200));
  }
  for (const HttpHeader& f : h.headers) {
    out.lines.push_back(printable_text(f.name, 200) + ": " +
                        (is_credential(f.name) ? redacted(f.value) : printable_text(f.value, 2000)));
  }
  if (h.truncated) out.lines.push_back("(the head is cut by a gap in the capture)");
  if (m.body_bytes > 0) {
    std::string body = "body: " + std::to_string(m.body_bytes) + " bytes";
    if (!m.content_encoding.empty()) {
      body += " " + printable_text(m.content_encoding, 40);
      if (m.decoded) body += ", " + std::to_string(m.decoded_bytes) + " decoded";
    }
    if (!m.preview.empty()) {
      const bool more = m.preview.size() < (m.decoded ? m.decoded_bytes : m.body_bytes);
      body += ": \"" + printable_text(m.preview, m.preview.size()) + (more ? "\"..." : "\"");
    }
    out.lines.push_back(std::move(body));
  }
  if (!m.complete && !m.problem.empty()) out.lines.push_back("incomplete: " + printable_text(m.problem, 200));
  return out;
}

ExchangeRecord http_exchange_record(const HttpTransaction& t, const std::string& unanswered_why) {
  ExchangeRecord r;
  r.proto = "http";
  const HttpMessage& rq = t.request;
  const HttpMessage& rs = t.response;
  r.ts = rq.present ? rq.start_ts : rs.start_ts;
  r.end = rs.present ? rs.end_ts : rq.end_ts;
  if (rq.present && rs.present) r.latency = rs.start_ts - rq.end_ts;

  std::string error;
  if (!rq.present) {
    error = "response without a request";
  } else if (!rs.present) {
    error = "unanswered" + (unanswered_why.empty() ? "" : " (" + unanswered_why + ")");
  } else if (!rq.complete && !rq.problem.empty()) {
    error = "request " + rq.problem;
  } else if (!rs.complete && !rs.problem.empty()) {
    error = "response " + rs.problem;
  } else if (rs.head.status >= 400) {
    error = status_line(rs.head);
  }
  if (!error.empty()) r.error_json = json_string(error);

  auto text = [](bool present, const std::string& s) {
    return present ? json_string(s) : std::string("null");
  };
  const std::string* host = rq.present ? rq.head.find("host") : nullptr;
  r.fields.emplace_back("method", text(rq.present, rq.head.method));
  r.fields.emplace_back("target", text(rq.present, rq.head.target));
  r.fields.emplace_back("host", host ? json_string(*host) : "null");
  r.fields.emplace_back("version", text(rq.present || rs.present,
                                        rq.present ? rq.head.version : rs.head.version));
  r.fields.emplace_back("status", rs.present ? std::to_string(rs.head.status) : "null");
  r.fields.emplace_back("reason", text(rs.present, rs.head.reason));
  r.fields.emplace_back("request_body_bytes",
                        rq.present ? std::to_string(rq.body_bytes) : "null");
  r.fields.emplace_back("response_body_bytes",
                        rs.present ? std::to_string(rs.body_bytes) : "null");
  r.fields.emplace_back("scheme", json_string(t.scheme()));
  return r;
}

}  // namespace tcpscribe
