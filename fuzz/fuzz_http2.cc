// The HTTP/2 frame layer, HPACK decoding (with an unknown table too), gRPC
// framing and the HTTP/2 analyzer.
//
// Input: a flags byte, a seed byte, then a conversation whose 0x01 0x01
// byte pairs switch direction (client first; the client's preface is
// prepended unless flags bit 0). Properties:
//  1. H2FrameParser over each direction, fed whole, in pieces cut where the
//     seed says and byte by byte, with an optional gap (flags bit 2): the
//     events written down as text (DATA pieces joined) are the same; no
//     buffered frame longer than kMaxFrame is delivered.
//  2. Http2Analyzer over the connection (midstream when flags bit 1),
//     each packet given whole, in pieces and byte by byte: the same
//     transactions, exchange records and --decode messages (each in
//     order) and the same set of findings.
//  3. protobuf_decode_raw on the input: at most max_lines + 1 lines, each
//     indentation within max_depth.
#include <set>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "grpc.h"
#include "h2_frame.h"
#include "http2.h"

using namespace tcpscribe;

namespace {

struct Cuts {
  uint32_t state;
  size_t next(size_t max) {
    state = state * 1103515245u + 12345u;
    return 1 + (state >> 8) % max;
  }
};

class FrameText : public H2FrameEvents {
 public:
  std::string text;
  void on_preface(uint64_t offset, Timestamp) override { add("preface @" + std::to_string(offset)); }
  void on_frame(const H2FrameHeader& h, std::span<const uint8_t> p, Timestamp) override {
    FUZZ_CHECK(p.size() <= H2FrameParser::kMaxFrame, "frame of %zu bytes delivered", p.size());
    FUZZ_CHECK(p.size() <= h.length, "payload %zu longer than the frame's %u", p.size(), h.length);
    add(head(h) + " " + std::string(p.begin(), p.end()));
  }
  void on_data_begin(const H2FrameHeader& h, Timestamp) override { add("data " + head(h)); }
  void on_data(const H2FrameHeader&, std::span<const uint8_t> b, Timestamp) override {
    if (!in_data_) text += "\n  ";
    in_data_ = true;
    text.append(b.begin(), b.end());
  }
  void on_data_gap(const H2FrameHeader&, uint64_t n, Timestamp) override {
    add("data gap " + std::to_string(n));
  }
  void on_data_end(const H2FrameHeader& h, Timestamp) override { add("data end " + head(h)); }
  void on_bad_frame(const H2FrameHeader& h, const std::string& what, Timestamp) override {
    add("bad " + head(h) + " " + what);
  }
  void on_sync(uint64_t offset, bool found, const std::string& why, Timestamp) override {
    add("sync @" + std::to_string(offset) + " " + std::to_string(found) + " " + why);
  }

 private:
  static std::string head(const H2FrameHeader& h) {
    return std::to_string(h.type) + "/" + std::to_string(h.flags) + "/" + std::to_string(h.stream) +
           "/" + std::to_string(h.length) + "@" + std::to_string(h.offset);
  }
  void add(const std::string& s) {
    in_data_ = false;
    text += "\n" + s;
  }
  bool in_data_ = false;
};

std::string run_frames(const std::string& stream, bool client, uint8_t flags, uint8_t seed,
                       int mode) {
  FrameText ev;
  H2FrameParser p(client, ev);
  if (flags & 2) p.set_midstream();
  const size_t cut = (flags & 4) ? seed * stream.size() / 256 : stream.size();
  const uint64_t gap = (flags & 4) ? 1 + seed % 23 : 0;
  Cuts cuts{seed};
  uint64_t offset = 0;
  for (int part = 0; part < 2; ++part) {
    const std::string_view s = part == 0 ? std::string_view(stream).substr(0, cut)
                                         : std::string_view(stream).substr(cut);
    for (size_t i = 0; i < s.size();) {
      const size_t n = mode == 0 ? s.size() : mode == 2 ? 1 : std::min(s.size() - i, cuts.next(40));
      p.feed({reinterpret_cast<const uint8_t*>(s.data()) + i, n}, offset, 1);
      offset += n;
      i += n;
    }
    if (part == 0 && gap) {
      p.gap(offset, gap, 1);
      offset += gap;
    }
  }
  return ev.text;
}

struct OutputText : AnalyzerOutput {
  std::string exchanges, messages, txns;
  std::multiset<std::string> findings;
  void finding(const Connection&, const Finding& f) override {
    findings.insert(std::to_string(f.offset) + " " + f.text);
  }
  void exchange(const Connection&, const ExchangeRecord& r) override {
    exchanges += "\n" + r.proto + " " + std::to_string(r.ts) + " " + std::to_string(r.end) + " " +
                 r.error_json;
    for (const auto& [k, v] : r.fields) exchanges += " " + k + "=" + v;
  }
  void message(const Connection&, const DecodedMessage& m) override {
    messages += "\n" + std::to_string(index_of(m.dir)) + " " + m.summary;
    for (const std::string& l : m.lines) messages += "\n  " + l;
  }
  void http_transaction(const HttpTransaction& t) override {
    txns += "\n" + std::to_string(t.index) + " " + t.url() + " " + std::to_string(t.request.present) +
            std::to_string(t.response.present) + " " + std::to_string(t.response.head.status) + " " +
            std::to_string(t.request.body_bytes) + "/" + std::to_string(t.response.body_bytes) + " " +
            std::to_string(t.response.decoded_bytes) + " " + t.response.problem + " " +
            t.response.body_text;
    for (const HttpHeader& f : t.request.head.headers) txns += "\n  " + f.name + ": " + f.value;
    for (const HttpHeader& f : t.response.head.headers) txns += "\n  " + f.name + ": " + f.value;
  }
};

struct Packet {
  Dir dir;
  std::string bytes;
};

OutputText run_analyzer(const std::vector<Packet>& packets, bool midstream, uint8_t seed, int mode) {
  OutputText out;
  Http2Options o;
  o.extract_bodies = false;
  o.out = &out;
  o.decode_view = true;
  o.max_text_bytes = 4096;
  o.max_streams = 8;
  Http2Analyzer an(o, [&](const Connection& c, const Finding& f) { out.finding(c, f); },
                   [&](const HttpTransaction& t) { out.http_transaction(t); });
  Connection c;
  c.id = 1;
  c.handshake_seen = !midstream;
  an.on_open(c);
  uint64_t off[2] = {0, 0};
  Cuts cuts{seed};
  Timestamp ts = 1000;
  for (const Packet& p : packets) {
    ts += 10;
    const int d = index_of(p.dir);
    for (size_t i = 0; i < p.bytes.size();) {
      const size_t n = mode == 0   ? p.bytes.size()
                       : mode == 2 ? 1
                                   : std::min(p.bytes.size() - i, cuts.next(40));
      an.on_data(c, p.dir, off[d], {reinterpret_cast<const uint8_t*>(p.bytes.data()) + i, n}, ts);
      off[d] += n;
      i += n;
    }
  }
  c.last_ts = ts;
  an.on_close(c, CloseReason::kFin);
  an.finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) return -1;
  const uint8_t flags = data[0], seed = data[1];
  const std::string conv(reinterpret_cast<const char*>(data) + 2, size - 2);

  // Split into packets at 0x01 0x01.
  std::vector<Packet> packets;
  Dir d = Dir::kClientToServer;
  std::string cur = (flags & 1) ? "" : std::string(kH2Preface, kH2PrefaceLen);
  std::string streams[2];
  for (size_t i = 0; i < conv.size(); ++i) {
    if (conv[i] == 1 && i + 1 < conv.size() && conv[i + 1] == 1) {
      if (!cur.empty()) packets.push_back({d, cur});
      streams[index_of(d)] += cur;
      cur.clear();
      d = reverse(d);
      ++i;
      continue;
    }
    cur += conv[i];
  }
  if (!cur.empty()) packets.push_back({d, cur});
  streams[index_of(d)] += cur;

  for (int side = 0; side < 2; ++side) {
    const std::string whole = run_frames(streams[side], side == 0, flags, seed, 0);
    const std::string pieces = run_frames(streams[side], side == 0, flags, seed, 1);
    const std::string bytes = run_frames(streams[side], side == 0, flags, seed, 2);
    FUZZ_CHECK(whole == pieces, "frame events differ whole / in pieces");
    FUZZ_CHECK(whole == bytes, "frame events differ whole / byte by byte");
  }

  const bool midstream = flags & 2;
  const OutputText a = run_analyzer(packets, midstream, seed, 0);
  const OutputText b = run_analyzer(packets, midstream, seed, 1);
  const OutputText c = run_analyzer(packets, midstream, seed, 2);
  for (const OutputText* x : {&b, &c}) {
    FUZZ_CHECK(a.txns == x->txns, "transactions differ:\n%s\n----\n%s", a.txns.c_str(),
               x->txns.c_str());
    FUZZ_CHECK(a.exchanges == x->exchanges, "records differ:\n%s\n----\n%s", a.exchanges.c_str(),
               x->exchanges.c_str());
    FUZZ_CHECK(a.messages == x->messages, "messages differ:\n%s\n----\n%s", a.messages.c_str(),
               x->messages.c_str());
    FUZZ_CHECK(a.findings == x->findings, "findings differ");
  }

  ProtoRawLimits lim;
  lim.max_depth = 4;
  lim.max_lines = 50;
  const std::vector<std::string> lines = protobuf_decode_raw(
      {reinterpret_cast<const uint8_t*>(conv.data()), conv.size()}, lim);
  FUZZ_CHECK(lines.size() <= lim.max_lines + 1, "%zu lines", lines.size());
  for (const std::string& l : lines) {
    const size_t indent = l.find_first_not_of(' ');
    FUZZ_CHECK(indent == std::string::npos || indent <= 2u * (lim.max_depth + 1), "indent %zu",
               indent);
  }
  return 0;
}
