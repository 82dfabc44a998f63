#include "tls_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

std::vector<uint8_t> record(uint8_t type, size_t len, uint8_t fill, uint16_t version = 0x0303) {
  std::vector<uint8_t> r{type, static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version),
                         static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  r.insert(r.end(), len, fill);
  return r;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// "type/len/fill@offset" per record.
struct Seen {
  std::vector<std::string> records;
  TlsRecordFramer framer{[this](const TlsRecord& r) {
    records.push_back(std::to_string(r.type) + "/" + std::to_string(r.fragment.size()) + "/" +
                      (r.fragment.empty() ? "-" : std::to_string(r.fragment[0])) + "@" +
                      std::to_string(r.offset));
  }};
};

TEST(TlsRecordFramer, SameRecordsWhateverThePieces) {
  const auto stream = cat({record(22, 300, 1), record(20, 1, 2), record(23, 0, 0),
                           record(23, 16384, 3), record(21, 2, 4)});
  Seen whole;
  whole.framer.feed(stream, 0, 0);
  ASSERT_EQ(whole.records, (std::vector<std::string>{"22/300/1@0", "20/1/2@305", "23/0/-@311",
                                                     "23/16384/3@316", "21/2/4@16705"}));
  for (size_t cut = 1; cut < stream.size(); cut += 37) {
    Seen two;
    two.framer.feed(std::span(stream).first(cut), 0, 0);
    two.framer.feed(std::span(stream).subspan(cut), cut, 0);
    ASSERT_EQ(two.records, whole.records) << cut;
  }
  Seen bytewise;
  for (size_t i = 0; i < stream.size(); ++i) bytewise.framer.feed(std::span(stream).subspan(i, 1), i, 0);
  EXPECT_EQ(bytewise.records, whole.records);
  EXPECT_EQ(bytewise.framer.counts().skipped_bytes, 0u);
  EXPECT_EQ(bytewise.framer.buffered(), 0u);
}

TEST(TlsRecordFramer, HeaderChecks) {
  auto h = [](uint8_t t, uint8_t maj, uint8_t min, size_t len) {
    const uint8_t b[5] = {t, maj, min, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    return tls_plausible_header(b);
  };
  EXPECT_TRUE(h(20, 3, 0, 1));
  EXPECT_TRUE(h(24, 3, 4, 18432));
  EXPECT_TRUE(h(23, 3, 3, 0));
  EXPECT_FALSE(h(22, 3, 3, 0));  // only application data may be empty
  EXPECT_FALSE(h(19, 3, 3, 10));
  EXPECT_FALSE(h(25, 3, 3, 10));
  EXPECT_FALSE(h(23, 2, 0, 10));
  EXPECT_FALSE(h(23, 3, 5, 10));
  EXPECT_FALSE(h(23, 3, 3, 18433));
}

TEST(TlsRecordFramer, ResyncsAfterAGapOnTwoHeadersInARow) {
  const auto a = record(23, 100, 1), b = record(23, 200, 2), c = record(23, 50, 3),
             d = record(21, 2, 4);
  const auto stream = cat({a, b, c, d});
  Seen s;
  s.framer.feed(std::span(stream).first(40), 0, 0);  // inside a
  s.framer.gap(40, 80);                              // a's end and b's start lost
  s.framer.feed(std::span(stream).subspan(120), 120, 0);
  EXPECT_EQ(s.records, (std::vector<std::string>{"23/50/3@310", "21/2/4@365"}));
  EXPECT_EQ(s.framer.counts().resyncs, 1u);
  EXPECT_EQ(s.framer.counts().skipped_bytes, 40u + (310 - 120));
}

TEST(TlsRecordFramer, ResyncKeepsWaitingForTheNextHeader) {
  // After a gap: a candidate header whose record ends beyond the data seen
  // is decided only when the next header is there.
  const auto stream = cat({record(23, 100, 1), record(23, 100, 2)});
  Seen s;
  s.framer.gap(0, 10);
  s.framer.feed(std::span(stream).first(60), 0, 0);
  EXPECT_TRUE(s.records.empty());
  EXPECT_TRUE(s.framer.resyncing());
  s.framer.feed(std::span(stream).subspan(60, 60), 60, 0);
  EXPECT_EQ(s.records, (std::vector<std::string>{"23/100/1@0"}));
  s.framer.feed(std::span(stream).subspan(120), 120, 0);
  EXPECT_EQ(s.records.size(), 2u);
  EXPECT_EQ(s.framer.counts().skipped_bytes, 0u);
}

TEST(TlsRecordFramer, ResyncGivesARecordItsFirstBytesTime) {
  // After a gap, junk then records, fed in pieces each captured at its own
  // time (its offset + 1000): each record carries the time of the piece
  // holding its first byte, however the stream was cut. The resync scan
  // used to keep the time of the oldest byte it still buffered (the last
  // 4 junk bytes, or a candidate record it could not yet decide), so a
  // record found further on got an earlier piece's time - whole and in
  // pieces differed.
  const auto stream = cat({std::vector<uint8_t>(20, 'x'), record(23, 100, 1),
                           record(23, 50, 2), record(21, 2, 4)});
  const std::vector<uint64_t> starts{20, 125, 180};
  auto run = [&](const std::vector<size_t>& cuts) {
    std::vector<std::string> got;
    TlsRecordFramer f([&](const TlsRecord& r) {
      got.push_back(std::to_string(r.offset) + "@" + std::to_string(r.ts));
    });
    f.gap(0, 10);
    size_t from = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
      const size_t to = i < cuts.size() ? cuts[i] : stream.size();
      f.feed(std::span(stream).subspan(from, to - from), from, 1000 + from);
      from = to;
    }
    return got;
  };
  auto expected = [&](const std::vector<size_t>& cuts) {
    std::vector<std::string> want;
    for (uint64_t at : starts) {
      size_t piece = 0;  // start of the piece holding `at`
      for (size_t c : cuts) {
        if (c <= at) piece = c;
      }
      want.push_back(std::to_string(at) + "@" + std::to_string(1000 + piece));
    }
    return want;
  };
  EXPECT_EQ(run({}), expected({}));
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    EXPECT_EQ(run({cut}), expected({cut})) << cut;
  }
  for (size_t a = 1; a < 40; ++a) {
    for (size_t b = a + 1; b < stream.size(); b += 7) {
      EXPECT_EQ(run({a, b}), expected({a, b})) << a << " " << b;
    }
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < stream.size(); ++i) every.push_back(i);
  EXPECT_EQ(run(every), expected(every));
}

TEST(TlsRecordFramer, LockedVersionAndTheValidator) {
  // Garbage that looks like a TLS 1.0 header, then one real 1.2 record
  // ending the data: with the version locked the junk is passed over; the
  // last record, with no header after it, is taken when the validator
  // (the session opening it) says so, and only then.
  auto junk = record(23, 3, 9, 0x0301);
  const auto real = record(21, 26, 5);
  const auto stream = cat({junk, real});
  Seen waiting;
  waiting.framer.lock_version(0x0303);
  waiting.framer.gap(0, 5);
  waiting.framer.feed(stream, 0, 0);
  EXPECT_TRUE(waiting.records.empty());
  EXPECT_TRUE(waiting.framer.resyncing());
  std::vector<std::string> seen;
  int asked = 0;
  TlsRecordFramer validated(
      [&](const TlsRecord& r) { seen.push_back(std::to_string(r.offset)); },
      [&](const TlsRecord& r) {
        ++asked;
        return r.fragment.size() == 26 && r.fragment[0] == 5;
      });
  validated.lock_version(0x0303);
  validated.gap(0, 5);
  for (size_t i = 0; i < stream.size(); ++i) validated.feed(std::span(stream).subspan(i, 1), i, 0);
  EXPECT_EQ(seen, std::vector<std::string>{"8"});
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(validated.counts().skipped_bytes, 8u);
  Seen unlocked;
  unlocked.framer.gap(0, 5);
  unlocked.framer.feed(stream, 0, 0);
  EXPECT_EQ(unlocked.records, (std::vector<std::string>{"23/3/9@0", "21/26/5@8"}));
}

TEST(TlsRecordFramer, NotTlsIsSkippedWithBoundedMemory) {
  Seen s;
  std::vector<uint8_t> http(100000, 'x');
  for (size_t i = 0; i < http.size(); i += 1000) {
    s.framer.feed(std::span(http).subspan(i, 1000), i, 0);
    EXPECT_LE(s.framer.buffered(), 4u);
  }
  EXPECT_TRUE(s.records.empty());
  EXPECT_EQ(s.framer.counts().bad_headers, 1u);
  EXPECT_EQ(s.framer.counts().skipped_bytes, http.size() - 4);
}

TEST(TlsRecordFramer, Probe) {
  const std::vector<uint8_t> ch{22, 3, 1, 0, 200, 1, 0, 0, 196};
  EXPECT_EQ(probe_tls(Dir::kClientToServer, ch), ProbeResult::kYes);
  EXPECT_EQ(probe_tls(Dir::kServerToClient, ch), ProbeResult::kNo);
  EXPECT_EQ(probe_tls(Dir::kClientToServer, std::span(ch).first(3)), ProbeResult::kNeedMore);
  std::vector<uint8_t> sh = ch;
  sh[5] = 2;
  EXPECT_EQ(probe_tls(Dir::kServerToClient, sh), ProbeResult::kYes);
  const std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(probe_tls(Dir::kClientToServer,
                      {reinterpret_cast<const uint8_t*>(get.data()), get.size()}),
            ProbeResult::kNo);
}

}  // namespace
}  // namespace tcpscribe
