#include "replay_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>

namespace tcpscribe {
namespace {

TEST(ReplayCompare, SameWithoutMasks) {
  Masker m;
  EXPECT_TRUE(compare_answers("+OK\r\n", "+OK\r\n", m).same);
  EXPECT_TRUE(compare_answers("", "", m).same);
}

TEST(ReplayCompare, FirstDifferenceWithContext) {
  Masker m;
  const Difference d = compare_answers("+OK\r\n:1\r\n$5\r\nhello\r\n", "+OK\r\n:2\r\n$5\r\nhello\r\n", m, 4);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(d.recorded_offset, 6u);
  EXPECT_EQ(d.target_offset, 6u);
  EXPECT_EQ(d.recorded_context, "...\"K\\r\\n:1\\r\\n$\"...");
  EXPECT_EQ(d.target_context, "...\"K\\r\\n:2\\r\\n$\"...");
}

TEST(ReplayCompare, ShorterAnswerDiffersAtItsEnd) {
  Masker m;
  const Difference d = compare_answers("+OK\r\n$5\r\nhello\r\n", "+OK\r\n", m, 4);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(d.recorded_offset, 5u);
  EXPECT_EQ(d.target_offset, 5u);
  EXPECT_EQ(d.target_context, "...\"OK\\r\\n\" (end)");
  EXPECT_EQ(d.recorded_context, "...\"OK\\r\\n$5\\r\\n\"...");
}

TEST(ReplayCompare, MasksBothSidesAndMapsOffsetsBack) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("Date: [^\\r]*", error)) << error;
  const std::string a = "HTTP/1.0 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nLen: 5\r\n";
  const std::string b = "HTTP/1.0 200 OK\r\nDate: Tue, 2 Jan 2024 10:00:00 GMT\r\nLen: 5\r\n";
  EXPECT_TRUE(compare_answers(a, b, m).same);

  // A difference after the masked field is reported at unmasked offsets.
  const std::string c = "HTTP/1.0 200 OK\r\nDate: Tue, 2 Jan 2024 10:00:00 GMT\r\nLen: 6\r\n";
  const Difference d = compare_answers(a, c, m, 3);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(a.substr(d.recorded_offset, 1), "5");
  EXPECT_EQ(c.substr(d.target_offset, 1), "6");
  EXPECT_EQ(d.recorded_offset, 59u);
  EXPECT_EQ(d.target_offset, 58u);
}

TEST(ReplayCompare, MaskTokenAndOrigins) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("[0-9]+", error));
  ASSERT_TRUE(m.add("id=<ignored>", error));  // later masks see earlier ones' output
  const MaskedStream s = m.apply("x 12 id=7 y");
  EXPECT_EQ(s.text, "x <ignored> <ignored> y");
  EXPECT_EQ(s.origin(2, 11), 2u);    // the first token stands for "12" at offset 2
  EXPECT_EQ(s.origin(10, 11), 2u);   // all its bytes
  EXPECT_EQ(s.origin(11, 11), 4u);   // " " after it
  EXPECT_EQ(s.origin(12, 11), 5u);   // the second for "id=7" at offset 5
  EXPECT_EQ(s.origin(22, 11), 10u);  // "y"
  EXPECT_EQ(s.origin(23, 11), 11u);  // past the end
}

// std::regex recursed once per character: a match of ~30 KB overflowed the
// stack (exit 139). RE2 has no such limit.
TEST(ReplayCompare, MatchesOfMegabytesDoNotCrash) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("\"data\":\"[^\"]*\"", error)) << error;
  ASSERT_TRUE(m.add("\\$10000000\r\n[^\r]*", error)) << error;
  const std::string big_json = "{\"id\":1,\"data\":\"" + std::string(4 << 20, 'x') + "\"}";
  const MaskedStream s = m.apply(big_json);
  EXPECT_EQ(s.text, "{\"id\":1,<ignored>}");
  const std::string resp = "$10000000\r\n" + std::string(10'000'000, 'v') + "\r\n+OK\r\n";
  EXPECT_EQ(m.apply(resp).text, "<ignored>\r\n+OK\r\n");
  const std::string other = "$10000000\r\n" + std::string(10'000'000, 'w') + "\r\n+OK\r\n";
  EXPECT_TRUE(compare_answers(resp, other, m).same);
}

// Answers are bytes: a class matches bytes >= 0x80 one by one, whatever
// UTF-8 would make of them, and a NUL is an ordinary byte.
TEST(ReplayCompare, MasksMatchBytesNotUtf8) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("k=[^;]*", error)) << error;
  const std::string a("k=\xff\xfe\x00\x80;end", 10);
  const MaskedStream s = m.apply(a);
  EXPECT_EQ(s.text, "<ignored>;end");
  ASSERT_TRUE(m.add("^<ign", error));  // ^ anchors at the start only
  EXPECT_EQ(m.apply("k=1;k=2").text, "<ignored>ored>;<ignored>");
}

Difference fed_in_pieces(const std::string& rec, const std::string& tgt, const Masker& m,
                         size_t window, unsigned seed) {
  StreamComparer c(m, 12, window);
  size_t i = 0, j = 0;
  while (i < rec.size() || j < tgt.size()) {
    seed = seed * 1103515245 + 12345;
    const size_t n = 1 + (seed >> 16) % 97;
    if (((seed >> 8) & 1) && i < rec.size()) {
      c.recorded(std::string_view(rec).substr(i, n));
      i = std::min(rec.size(), i + n);
    } else if (j < tgt.size()) {
      c.target(std::string_view(tgt).substr(j, n));
      j = std::min(tgt.size(), j + n);
    } else {
      c.recorded(std::string_view(rec).substr(i, n));
      i = std::min(rec.size(), i + n);
    }
  }
  return c.finish();
}

std::string show(const Difference& d) {
  return d.same ? "same" : std::to_string(d.recorded_offset) + " " + std::to_string(d.target_offset) +
                               " " + d.recorded_context + " | " + d.target_context;
}

// Fed in pieces of any size, in any interleaving, with windows small
// enough that masks are applied in many pieces: the same result as whole.
TEST(ReplayCompare, StreamedInPiecesAsWhole) {
  Masker none, dates;
  std::string error;
  ASSERT_TRUE(dates.add("Date: [^\r]*", error)) << error;
  ASSERT_TRUE(dates.add("id=[0-9]+", error)) << error;
  std::string a, b;
  for (int i = 0; i < 300; ++i) {
    a += "HTTP/1.1 200 OK\r\nDate: " + std::string(static_cast<size_t>(i % 17), 'd') +
         "\r\nid=" + std::to_string(i * 7) + "\r\n\r\nbody " + std::to_string(i) + "\n";
    b += "HTTP/1.1 200 OK\r\nDate: " + std::string(static_cast<size_t>(i % 5), 'e') +
         "\r\nid=" + std::to_string(i * 13) + "\r\n\r\nbody " + std::to_string(i) + "\n";
  }
  std::string c = b;
  c[c.size() - 700] = '#';  // in a body near the end
  for (const Masker* m : {&none, &dates}) {
    for (const auto& [rec, tgt] : {std::pair{a, b}, {a, c}, {a, a}, {a, a.substr(0, 5000)},
                                   {c.substr(0, 9000), c}}) {
      const std::string whole = show(compare_answers(rec, tgt, *m));
      for (size_t window : {size_t{40}, size_t{64}, size_t{1000}, kCompareWindow}) {
        for (unsigned seed : {1u, 2u, 3u}) {
          EXPECT_EQ(show(fed_in_pieces(rec, tgt, *m, window, seed)), whole)
              << "masks " << m->size() << " window " << window << " seed " << seed;
        }
      }
    }
  }
  EXPECT_TRUE(compare_answers(a, b, dates).same);
  EXPECT_FALSE(compare_answers(a, c, dates).same);
}

// What one side is ahead is all that is held: equal answers of 64 MB
// pass through a comparer that never holds more than a few pieces without
// masks, and a few windows with them (a 1 GB answer took 21.9 GB before).
TEST(ReplayCompare, MemoryStaysBoundedWhateverTheAnswerSize) {
  Masker none, masks;
  std::string error;
  ASSERT_TRUE(masks.add("\"t\":[0-9]+", error)) << error;
  std::string piece;
  for (int i = 0; piece.size() < (64 << 10); ++i) {
    piece += "{\"t\":" + std::to_string(i) + ",\"v\":\"" + std::string(40, 'a' + i % 26) + "\"}\n";
  }
  for (const Masker* m : {&none, &masks}) {
    const size_t window = 1 << 20;
    StreamComparer c(*m, 12, window);
    size_t most = 0;
    for (int i = 0; i < 1024; ++i) {  // 64 MB each
      c.target(piece);
      c.recorded(piece);
      most = std::max(most, c.held_bytes());
    }
    EXPECT_TRUE(c.finish().same);
    EXPECT_EQ(c.recorded_bytes(), 1024 * piece.size());
    if (m->empty()) {
      EXPECT_LE(most, 2 * piece.size());
    } else {
      EXPECT_LE(most, 2 * (4 * window + piece.size()));
    }
  }
}

// A match longer than the window is masked exactly when it fits in two
// windows; the offsets of a difference after it are the unmasked ones.
TEST(ReplayCompare, LongMatchesAcrossPieces) {
  Masker m;
  std::string error;
  ASSERT_TRUE(m.add("\\$[0-9]+\r\n[^\r]*", error)) << error;
  const std::string a = "+OK\r\n$3000\r\n" + std::string(3000, 'v') + "\r\n:1\r\n";
  const std::string b = "+OK\r\n$3000\r\n" + std::string(3000, 'w') + "\r\n:2\r\n";
  const Difference d = fed_in_pieces(a, b, m, 2000, 7);
  EXPECT_FALSE(d.same);
  EXPECT_EQ(d.recorded_offset, a.size() - 3);
  EXPECT_EQ(d.target_offset, b.size() - 3);
  EXPECT_EQ(show(d), show(compare_answers(a, b, m)));
}

TEST(ReplayCompare, BadRegexIsAnError) {
  Masker m;
  std::string error;
  EXPECT_FALSE(m.add("(", error));
  EXPECT_NE(error.find("bad regex '('"), std::string::npos) << error;
}

}  // namespace
}  // namespace tcpscribe
