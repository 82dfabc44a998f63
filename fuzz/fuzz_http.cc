// The HTTP/1 stream parser and the HTTP analyzer.
//
// Input: a flags byte, a seed byte, then a conversation whose 0x01 bytes
// switch direction (client first). Properties:
//  1. HttpStreamParser over one direction's stream (flags bit 0: the
//     client's requests or the server's responses), fed whole, in pieces cut
//     where the seed says, and byte by byte, with an optional gap: the
//     events, written down as text (consecutive body pieces joined), are
//     the same.
//  2. HttpAnalyzer over the two-direction connection, each packet given
//     whole and then byte by byte: the same transactions, exchange records,
//     console messages (each in the same order) and findings (the same set).
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "http.h"
#include "http_parser.h"

using namespace tcpscribe;
using tcpscribe::fuzz::bytes_of;

namespace {

/// Writes the parser's events down as text.
class EventText : public HttpParserEvents {
 public:
  EventText(bool requests, uint8_t seed) : requests_(requests), seed_(seed) {}
  std::string text;

  BodyFraming on_head(HttpHead& h, uint64_t offset, Timestamp start_ts, Timestamp ts) override {
    text += "\nhead " + std::to_string(h.is_request) + " " + h.method + " " + h.target + " " +
            std::to_string(h.status) + " " + h.reason + " " + h.version + " size " +
            std::to_string(h.size) + " trunc " + std::to_string(h.truncated) + " @" +
            std::to_string(offset) + " " + std::to_string(start_ts) + "/" + std::to_string(ts);
    for (const HttpHeader& f : h.headers) text += "\n  " + f.name + ": " + f.value;
    // A response's framing depends on the request it answers: which one is
    // a function of the seed and the count, the same in every run.
    static const char* const kMethods[] = {"GET", "HEAD", "CONNECT", ""};
    const char* method = requests_ ? "" : kMethods[(seed_ + heads_++) % 4];
    BodyFraming f = framing_for(h, method);
    text += "\nframing " + std::to_string(static_cast<int>(f.kind)) + " " +
            std::to_string(f.length);
    return f;
  }
  void on_body(std::span<const uint8_t> bytes, Timestamp ts) override {
    if (!in_body_) text += "\nbody " + std::to_string(ts) + " ";
    in_body_ = true;
    text.append(bytes.begin(), bytes.end());
  }
  void on_body_gap(uint64_t length, Timestamp ts) override {
    add("body_gap " + std::to_string(length) + " " + std::to_string(ts));
  }
  void on_trailers(std::vector<HttpHeader>& trailers) override {
    add("trailers");
    for (const HttpHeader& f : trailers) text += "\n  " + f.name + ": " + f.value;
  }
  void on_message_end(const MessageEnd& e, Timestamp ts) override {
    add("end " + std::to_string(e.complete) + " wire " + std::to_string(e.body_wire) +
        " missing " + std::to_string(e.missing) + " " + e.problem + " " + std::to_string(ts));
  }
  void on_error(uint64_t offset, const std::string& what, Timestamp ts) override {
    add("error @" + std::to_string(offset) + " " + what + " " + std::to_string(ts));
  }

 private:
  void add(const std::string& line) {
    in_body_ = false;
    text += "\n" + line;
  }
  bool requests_;
  uint8_t seed_;
  unsigned heads_ = 0;
  bool in_body_ = false;
};

/// A small deterministic generator for cut points.
struct Cuts {
  uint32_t state;
  size_t next(size_t max) {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 8) % max;
  }
};

struct Packet {
  Dir dir;
  std::string bytes;
};

/// mode 0: whole, 1: pieces, 2: byte by byte.
std::string run_parser(const std::string& stream, uint8_t flags, uint8_t seed, int mode) {
  const bool requests = !(flags & 1);
  EventText ev(requests, seed);
  HttpStreamParser parser(requests, ev, (flags & 4) ? 96 : 64u << 10);
  parser.set_midstream(flags & 2);
  // An optional gap cuts the stream in two; each part has its own time.
  const size_t cut = (flags & 8) ? seed * stream.size() / 256 : stream.size();
  const uint64_t gap = (flags & 8) ? 1 + seed % 17 : 0;
  Cuts cuts{seed};
  uint64_t offset = 0;
  for (int part = 0; part < 2; ++part) {
    const std::string_view s = part == 0 ? std::string_view(stream).substr(0, cut)
                                         : std::string_view(stream).substr(cut);
    const Timestamp ts = 1000 + part;
    for (size_t i = 0; i < s.size();) {
      const size_t n = mode == 0 ? s.size() : mode == 2 ? 1 : std::min(s.size() - i, cuts.next(40));
      parser.feed({reinterpret_cast<const uint8_t*>(s.data()) + i, n}, offset, ts);
      offset += n;
      i += n;
    }
    if (part == 0 && gap) {
      parser.gap(offset, gap, ts);
      offset += gap;
    }
  }
  parser.end(flags & 16, "the connection ended", 2000);
  ev.text += "\nactive " + std::to_string(parser.active()) + " messages " +
             std::to_string(parser.messages());
  return ev.text;
}

/// Writes down what the analyzer emits, one text per kind: each output
/// (findings, --messages, --decode, HAR) must get the same sequence however
/// the bytes were cut; how the kinds interleave may differ (a transaction
/// is handed on once the packet that ends it has been parsed).
struct OutputText : AnalyzerOutput {
  std::string exchanges, messages, txns;
  // Findings come from the parser at once and from transactions when they
  // are delivered: their interleaving may differ, the set may not.
  std::multiset<std::string> findings;
  void finding(const Connection&, const Finding& f) override {
    findings.insert("\nfinding " + std::to_string(static_cast<int>(f.kind)) + " " +
                    std::to_string(f.offset) + "+" + std::to_string(f.length) + " " + f.text);
  }
  void exchange(const Connection&, const ExchangeRecord& r) override {
    exchanges += "\nexchange " + r.proto + " " + std::to_string(r.ts) + " " + std::to_string(r.end) +
            " " + (r.latency ? std::to_string(*r.latency) : std::string("none")) + " " + r.error_json;
    for (const auto& [k, v] : r.fields) exchanges += " " + k + "=" + v;
  }
  void message(const Connection&, const DecodedMessage& m) override {
    messages += "\nmessage " + std::to_string(index_of(m.dir)) + " " + std::to_string(m.ts) + " " +
            m.summary + " " + std::to_string(m.latency);
    for (const std::string& l : m.lines) messages += "\n  " + l;
  }
  void http_transaction(const HttpTransaction& t) override {
    txns += "\ntxn " + std::to_string(t.index) + " " + t.url() + " " +
            std::to_string(t.request.present) + "/" + std::to_string(t.response.present) + " " +
            std::to_string(t.request.body_bytes) + " " + std::to_string(t.response.body_bytes) +
            " " + std::to_string(t.response.decoded_bytes) + " " + t.request.problem + "|" +
            t.response.problem + " " + t.close_note;
  }
};

std::string run_analyzer(const std::vector<Packet>& packets, uint8_t flags, bool bytewise) {
  OutputText out;
  AnalyzerSettings s;
  s.out = &out;
  s.decode_view = true;
  s.keep_text_bytes = 256;
  auto an = make_http_analyzer(s);
  Connection c;
  c.id = 1;
  c.client.addr.bytes = {10, 0, 0, 1};
  c.client.port = 40000;
  c.server.addr.bytes = {10, 0, 0, 2};
  c.server.port = 80;
  c.handshake_seen = flags & 32;
  an->on_open(c);
  uint64_t offset[2] = {0, 0};
  Timestamp ts = 1'000'000;
  for (const Packet& p : packets) {
    ts += 1000;
    const auto bytes = bytes_of(p.bytes);
    for (size_t i = 0; i < bytes.size();) {
      const size_t n = bytewise ? 1 : bytes.size();
      an->on_data(c, p.dir, offset[index_of(p.dir)], bytes.subspan(i, n), ts);
      offset[index_of(p.dir)] += n;
      i += n;
    }
  }
  const bool reset = flags & 64;
  an->on_shutdown(c, Dir::kClientToServer, reset, ts + 1);
  an->on_shutdown(c, Dir::kServerToClient, false, ts + 2);
  an->on_close(c, reset ? CloseReason::kRst : CloseReason::kFin);
  an->finish();
  std::string text = out.exchanges + out.messages + out.txns;
  for (const std::string& f : out.findings) text += f;
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) return -1;
  const uint8_t flags = data[0], seed = data[1];
  std::vector<Packet> packets{{Dir::kClientToServer, {}}};
  std::string stream[2];
  for (size_t i = 2; i < size; ++i) {
    if (data[i] == 0x01) {
      packets.push_back({reverse(packets.back().dir), {}});
      continue;
    }
    packets.back().bytes.push_back(static_cast<char>(data[i]));
    stream[index_of(packets.back().dir)].push_back(static_cast<char>(data[i]));
  }

  const std::string& one = stream[flags & 1];
  const std::string whole = run_parser(one, flags, seed, 0);
  const std::string pieces = run_parser(one, flags, seed, 1);
  FUZZ_CHECK(whole == pieces, "the parser's events differ fed whole and in pieces:\n--- whole"
             "%s\n--- pieces%s", whole.c_str(), pieces.c_str());
  const std::string bytes = run_parser(one, flags, seed, 2);
  FUZZ_CHECK(whole == bytes, "the parser's events differ fed whole and byte by byte:\n--- whole"
             "%s\n--- bytes%s", whole.c_str(), bytes.c_str());

  const std::string a = run_analyzer(packets, flags, false);
  const std::string b = run_analyzer(packets, flags, true);
  FUZZ_CHECK(a == b, "the analyzer's output differs fed by packet and byte by byte:\n--- packets"
             "%s\n--- bytes%s", a.c_str(), b.c_str());
  return 0;
}
