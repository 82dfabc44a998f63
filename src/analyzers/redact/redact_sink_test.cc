#include "redact_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tcpscribe {
namespace {

// Records every event as one line.
class Recorder : public Sink {
 public:
  std::vector<std::string> lines;
  void on_open(const Connection& c) override { lines.push_back("open " + std::to_string(c.id)); }
  void on_data(const Connection&, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    lines.push_back("data " + std::to_string(index_of(d)) + " @" + std::to_string(offset) + " " +
                    std::string(bytes.begin(), bytes.end()) + " t" + std::to_string(ts));
  }
  void on_gap(const Connection&, Dir d, uint64_t offset, uint64_t length, Timestamp) override {
    lines.push_back("gap " + std::to_string(index_of(d)) + " @" + std::to_string(offset) + "+" +
                    std::to_string(length));
  }
  void on_shutdown(const Connection&, Dir d, bool reset, Timestamp) override {
    lines.push_back(std::string(reset ? "rst " : "fin ") + std::to_string(index_of(d)));
  }
  void on_close(const Connection&, CloseReason) override { lines.push_back("close"); }
  void finish() override { lines.push_back("finish"); }
};

std::span<const uint8_t> b(const char* s) {
  return {reinterpret_cast<const uint8_t*>(s), std::char_traits<char>::length(s)};
}

TEST(RedactSink, EveryOutputGetsTheBlankedBytesAtTheirOffsets) {
  RedactRules rules;
  std::string error;
  ASSERT_TRUE(rules.add("hunter[0-9]+", error));
  Recorder a, c;
  RedactSink sink(rules, {&a, &c});
  std::vector<std::string> viewed;
  sink.set_view([&](const Connection&, Dir, std::span<const uint8_t> bytes, Timestamp) {
    viewed.emplace_back(bytes.begin(), bytes.end());
  });
  Connection conn;
  conn.id = 7;
  sink.on_open(conn);
  sink.on_data(conn, Dir::kClientToServer, 0, b("pw=hun"), 1);
  sink.on_data(conn, Dir::kServerToClient, 0, b("ok"), 2);
  sink.on_data(conn, Dir::kClientToServer, 6, b("ter22 ok hunter9"), 3);
  sink.on_shutdown(conn, Dir::kClientToServer, false, 4);
  sink.on_data(conn, Dir::kServerToClient, 2, b("x"), 5);
  sink.on_gap(conn, Dir::kServerToClient, 3, 10, 6);
  sink.on_data(conn, Dir::kServerToClient, 13, b("hunter1"), 7);
  conn.last_ts = 8;
  sink.on_close(conn, CloseReason::kFin);
  sink.finish();
  const std::vector<std::string> want = {
      "open 7",
      "data 0 @0 pw= t1",
      "data 1 @0 ok t2",
      "data 0 @3 ******** ok  t3",
      "data 0 @15 ******* t4",  // held until the FIN: "hunter9" might have gone on
      "fin 0",
      "data 1 @2 x t5",
      "gap 1 @3+10",
      "data 1 @13 ******* t8",
      "close",
      "finish",
  };
  EXPECT_EQ(a.lines, want);
  EXPECT_EQ(c.lines, want);
  EXPECT_EQ(viewed, (std::vector<std::string>{"pw=", "ok", "******** ok ", "*******", "x",
                                              "*******"}));
}

TEST(RedactSink, AStreamPickedUpMidwayStartsAtItsFirstOffset) {
  RedactRules rules;
  std::string error;
  ASSERT_TRUE(rules.add("abc", error));
  Recorder a;
  RedactSink sink(rules, {&a});
  Connection conn;
  sink.on_open(conn);
  sink.on_data(conn, Dir::kServerToClient, 1000, b("xxab"), 1);
  sink.on_data(conn, Dir::kServerToClient, 1004, b("cx"), 2);
  sink.on_close(conn, CloseReason::kEndOfInput);
  EXPECT_EQ(a.lines, (std::vector<std::string>{"open 0", "data 1 @1000 xx t1",
                                               "data 1 @1002 ***x t2", "close"}));
}

}  // namespace
}  // namespace tcpscribe
