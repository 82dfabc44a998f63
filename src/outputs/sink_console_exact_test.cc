// -C -B -0: standard output is exactly the stream, holes included.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "sink_console.h"
#include "test_support.h"

namespace tcpscribe {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

/// Client sends "abc", loses 3 bytes, sends "ghi"; the server only ACKs.
std::vector<std::vector<uint8_t>> hole_frames() {
  testing::Crafter k;
  return {k.frame(true, 100, 0, Tins::TCP::SYN),
          k.frame(false, 500, 101, Tins::TCP::SYN | Tins::TCP::ACK),
          k.frame(true, 101, 501, Tins::TCP::ACK, "abc"),
          k.frame(true, 107, 501, Tins::TCP::ACK, "ghi"),
          k.frame(false, 501, 104, Tins::TCP::ACK)};
}

struct Printed {
  std::string out;
  std::string notes;
};

Printed run(ConsoleOptions o) {
  std::FILE* out = std::tmpfile();
  std::FILE* notes = std::tmpfile();
  o.notes = notes;
  {
    ConsoleSink sink(o, out);
    testing::run_frames(hole_frames(), sink);
    EXPECT_FALSE(sink.failed());
  }
  Printed r{read_all(out), read_all(notes)};
  std::fclose(out);
  std::fclose(notes);
  return r;
}

TEST(ConsoleExact, HoleIsZeroBytesAndTheMarkerGoesToStderr) {
  ConsoleOptions o;
  o.header = false;
  o.binary = true;
  o.newline = false;
  o.color = true;  // asked for, but escape sequences are not stream bytes
  const Printed r = run(o);
  EXPECT_EQ(r.out, std::string("abc\0\0\0ghi", 9));
  EXPECT_EQ(r.notes,
            "010.000.000.001.40000-010.000.000.002.00080: [gap: 3 bytes missing from the "
            "capture at offset 3, written as zero bytes]\n");
}

TEST(ConsoleExact, OtherModesKeepTheMarkerInline) {
  ConsoleOptions o;
  o.header = false;
  o.binary = true;  // with newlines: not the exact stream
  const Printed r = run(o);
  EXPECT_EQ(r.out,
            "abc\n[gap: 3 bytes missing from the capture at offset 3]\nghi\n");
  EXPECT_EQ(r.notes, "");
}

}  // namespace
}  // namespace tcpscribe
