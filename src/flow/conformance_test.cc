// Conformance over ../shared/pcaps: every TCP stream of every capture in
// its MANIFEST, both directions, against Wireshark's reassembly (truth/).
//
// Where the truth is tshark's policy rather than plain fact (its README
// lists the flags), the stream is judged on the evidence instead:
//  - gapmarkers: tshark writes a text marker for a hole; we keep offsets and
//    zero-fill, so we must equal the .nogap bytes with zeros at each hole.
//  - snapcut(n): tshark drops bytes cut by the snapshot length; we report
//    them as gaps, so our bytes minus our gaps equal the truth, and the gaps
//    add up to n.
//  - follow(x)!=uniq(y): tshark printed fewer bytes than the capture holds;
//    we must deliver exactly the y unique bytes, except where a segment far
//    outside any window was left out (an out_of_window finding): then, as
//    tshark, exactly the follow bytes (seqwrap_synthetic.pcap stream 0: 8
//    bytes, not 8 plus 8 more 251,658,103 bytes further on).
//  - content!=first_copy_seq_order: tshark did not keep the first copy of
//    conflicting overlaps. In halfclose_overlaps_reassembly.pcap the two
//    regions where we differ (offsets 13366..13389 and 33093..33120) are the
//    bytes of packets 28 and 110, the first copies captured; tshark kept
//    those of packets 31/64 and 112. We check length and that only such
//    short regions differ.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "capture_file.h"
#include "test_files.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

using testing::slurp;

namespace fs = std::filesystem;
using testing::RecordingSink;

const fs::path kShared = fs::path(TCPSCRIBE_SOURCE_DIR) / ".." / "shared" / "pcaps";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

using Row = std::map<std::string, std::string>;

std::vector<Row> read_tsv(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::vector<std::string> header;
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto cells = split(line, '\t');
    if (header.empty()) {
      header = cells;
      continue;
    }
    Row r;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) r[header[i]] = cells[i];
    rows.push_back(r);
  }
  return rows;
}

Endpoint parse_endpoint(const std::string& s) {
  const auto colon = s.rfind(':');
  std::string host = s.substr(0, colon);
  Endpoint e;
  e.port = static_cast<uint16_t>(std::stoi(s.substr(colon + 1)));
  if (host.front() == '[') {
    host = host.substr(1, host.size() - 2);
    uint8_t b[16];
    inet_pton(AF_INET6, host.c_str(), b);
    e.addr = IpAddr::v6_from(b);
  } else {
    uint8_t b[4];
    inet_pton(AF_INET, host.c_str(), b);
    e.addr = IpAddr::v4_from(b);
  }
  return e;
}

/// Runs a capture the way `tcpscribe -r` does and records every stream.
void reconstruct(const fs::path& file, RecordingSink& sink) {
  std::string error;
  PacketCore core({}, {&sink});
  ASSERT_TRUE(testing::feed_capture(file.string(), core, error)) << error;
  core.finish();
}

std::string expected_bytes(const std::string& capture, const Row& row, const std::string& d) {
  const std::string base = capture + ".stream" + row.at("stream") + "." + d;
  const std::string gaps = row.at(d + "_gaps(len@offset)");
  if (gaps.empty()) return slurp(kShared / "truth" / (base + ".bin"));
  const std::string nogap = slurp(kShared / "truth" / (base + ".nogap.bin"));
  std::string out;
  size_t prev = 0;
  for (const std::string& g : split(gaps, ';')) {
    const auto at = g.find('@');
    const size_t len = std::stoul(g.substr(0, at));
    const size_t off = std::stoul(g.substr(at + 1));
    out += nogap.substr(prev, off - prev);
    out.append(len, '\0');
    prev = off;
  }
  out += nogap.substr(prev);
  return out;
}

std::string without_gaps(const RecordingSink::Stream& s) {
  std::string out;
  uint64_t at = 0;
  for (auto [off, len] : s.gaps) {
    out += s.bytes.substr(at, off - at);
    at = off + len;
  }
  if (at < s.bytes.size()) out += s.bytes.substr(at);
  return out;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, EveryStreamMatchesWireshark) {
  const std::string capture = GetParam();
  if (!fs::exists(kShared / capture)) {
    GTEST_SKIP() << "../shared/pcaps/" << capture << " is absent";
  }
  RecordingSink sink;
  reconstruct(kShared / capture, sink);

  std::vector<Row> streams;
  for (Row& r : read_tsv(kShared / "truth" / "INDEX.tsv")) {
    if (r["capture"] == capture) streams.push_back(r);
  }
  ASSERT_FALSE(streams.empty());
  // tshark numbers streams by first packet; so do we (connection ids). Pair
  // the k-th stream on an endpoint pair with our k-th connection on it.
  std::map<std::pair<Endpoint, Endpoint>, std::vector<const RecordingSink::Conn*>> ours;
  for (uint64_t id : sink.order) {
    const auto& c = sink.conns.at(id);
    ours[std::minmax(c.info.client, c.info.server)].push_back(&c);
  }
  std::map<std::pair<Endpoint, Endpoint>, size_t> seen;
  for (const Row& row : streams) {
    const Endpoint n0 = parse_endpoint(row.at("node0"));
    const Endpoint n1 = parse_endpoint(row.at("node1"));
    const auto key = std::minmax(n0, n1);
    const size_t k = seen[key]++;
    const std::string flags = row.at("flags");
    const std::string what = capture + " stream " + row.at("stream");
    const bool empty_stream = row.at("c2s_uniq") == "0" && row.at("s2c_uniq") == "0";
    if (k >= ours[key].size()) {
      // tshark counts a stream for a lone late SYN (shuffled capture); we
      // attach it to its connection. Only empty streams may be missing.
      EXPECT_TRUE(empty_stream) << what << ": no connection reconstructed";
      continue;
    }
    const RecordingSink::Conn& c = *ours[key][k];
    for (const std::string d : {"c2s", "s2c"}) {
      // c2s is what node0 sent.
      const Dir ours_dir = (d == "c2s") == (c.info.client == n0) ? Dir::kClientToServer
                                                                  : Dir::kServerToClient;
      const RecordingSink::Stream& got = c.dir[index_of(ours_dir)];
      const std::string ctx = what + " " + d;
      bool out_of_window = false;
      for (const auto& [id, f] : sink.findings) {
        out_of_window |= id == c.info.id && f.kind == Finding::Kind::kOutOfWindow &&
                         f.dir == ours_dir;
      }
      if (out_of_window) {
        // A segment far outside any window was left out (window_guard.h):
        // tshark's follow output leaves it out too (the hole before it
        // never fills), so the bytes are exactly tshark's.
        EXPECT_TRUE(got.gaps.empty()) << ctx;
        EXPECT_TRUE(got.bytes == slurp(kShared / "truth" /
                                       (capture + ".stream" + row.at("stream") + "." + d +
                                        ".bin")))
            << ctx;
      } else if (flags.find(d + "_follow(") != std::string::npos) {
        EXPECT_EQ(got.data_bytes, std::stoull(row.at(d + "_uniq"))) << ctx;
      } else if (flags.find(d + "_snapcut(") != std::string::npos) {
        EXPECT_EQ(without_gaps(got), slurp(kShared / "truth" /
                                           (capture + ".stream" + row.at("stream") + "." +
                                            d + ".bin")))
            << ctx;
        uint64_t gap_total = 0;
        for (auto g : got.gaps) gap_total += g.second;
        EXPECT_EQ(gap_total, std::stoull(row.at(d + "_snapcut"))) << ctx;
      } else if (flags.find(d + "_content!=first_copy") != std::string::npos) {
        const std::string want = expected_bytes(capture, row, d);
        ASSERT_EQ(got.bytes.size(), want.size()) << ctx;
        size_t differing = 0;
        for (size_t i = 0; i < want.size(); ++i) differing += got.bytes[i] != want[i];
        EXPECT_LE(differing, 64u) << ctx;
        EXPECT_GT(c.info.dir[index_of(ours_dir)].conflicting_overlaps, 0u) << ctx;
      } else {
        const std::string want = expected_bytes(capture, row, d);
        EXPECT_EQ(got.bytes.size(), want.size()) << ctx;
        EXPECT_TRUE(got.bytes == want) << ctx << ": bytes differ";
      }
    }
  }
}

std::vector<std::string> manifest_captures() {
  std::vector<std::string> out;
  for (Row& r : read_tsv(kShared / "MANIFEST.tsv")) out.push_back(r["file"]);
  if (out.empty()) out.push_back("MANIFEST.tsv-missing");
  return out;
}

INSTANTIATE_TEST_SUITE_P(SharedPcaps, Conformance, ::testing::ValuesIn(manifest_captures()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& ch : n) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace tcpscribe
