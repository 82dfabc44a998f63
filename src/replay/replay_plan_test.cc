#include "replay_plan.h"

#include "replay_answer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace tcpscribe {
namespace {

ConvEvent data(char side, int64_t us, std::string bytes) {
  ConvEvent e;
  e.side = side;
  e.micros = us;
  e.data = std::move(bytes);
  return e;
}
ConvEvent hup(char side, int64_t us) {
  ConvEvent e;
  e.side = side;
  e.micros = us;
  e.kind = ConvEvent::Kind::kHangup;
  return e;
}

/// A request cut in two chunks, an answer, a second request, the server
/// closing, then the client.
Conversation sample() {
  Conversation c;
  c.name = "log_1";
  c.start_us = 1'000'000;
  c.events = {data('c', 1'000'500, "GET a"), data('c', 1'000'600, "\r\n"),
              data('s', 1'010'000, "0123456789"), data('c', 1'500'000, "PING"),
              data('s', 1'510'000, "+PONG\r\n"), hup('s', 1'600'000), hup('c', 1'700'000)};
  return c;
}

TEST(ReplayPlan, ConversationalWaitsForTheRecordedAnswerBytes) {
  const ReplayPlan p = make_plan(sample(), 500'000, Timing::kConversational, 1.0, {});
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.start_us, 0);  // starts at once
  EXPECT_EQ(p.steps[0].bytes, "GET a");
  EXPECT_EQ(p.steps[0].wait_server_bytes, 0u);
  EXPECT_EQ(p.steps[1].bytes, "\r\n");
  EXPECT_EQ(p.steps[1].wait_server_bytes, 0u);
  EXPECT_EQ(p.steps[2].bytes, "PING");
  EXPECT_EQ(p.steps[2].wait_server_bytes, 10u);
  EXPECT_FALSE(p.steps[2].wait_server_close);
  EXPECT_EQ(p.steps[3].kind, ReplayStep::Kind::kHangup);
  EXPECT_EQ(p.steps[3].wait_server_bytes, 17u);
  EXPECT_TRUE(p.steps[3].wait_server_close);
  for (const ReplayStep& s : p.steps) EXPECT_EQ(s.at_us, -1);
  EXPECT_EQ(p.recorded_answer, "0123456789+PONG\r\n");
  EXPECT_TRUE(p.server_closed);
  EXPECT_FALSE(p.server_reset);
}

TEST(ReplayPlan, OriginalScalesOffsetsBySpeed) {
  const ReplayPlan p1 = make_plan(sample(), 500'000, Timing::kOriginal, 1.0, {});
  EXPECT_EQ(p1.start_us, 500'000);
  EXPECT_EQ(p1.steps[0].at_us, 500);
  EXPECT_EQ(p1.steps[3].at_us, 700'000);
  EXPECT_EQ(p1.steps[2].wait_server_bytes, 10u);  // original pacing also waits

  const ReplayPlan p2 = make_plan(sample(), 500'000, Timing::kOriginal, 2.0, {});
  EXPECT_EQ(p2.start_us, 250'000);
  EXPECT_EQ(p2.steps[0].at_us, 250);
  EXPECT_EQ(p2.steps[1].at_us, 300);
  EXPECT_EQ(p2.steps[2].at_us, 250'000);
  EXPECT_EQ(p2.steps[3].at_us, 350'000);

  const ReplayPlan p4 = make_plan(sample(), 1'000'000, Timing::kOriginal, 0.5, {});
  EXPECT_EQ(p4.start_us, 0);
  EXPECT_EQ(p4.steps[2].at_us, 1'000'000);
}

TEST(ReplayPlan, NoneWaitsForNothing) {
  const ReplayPlan p = make_plan(sample(), 0, Timing::kNone, 1.0, {});
  ASSERT_EQ(p.steps.size(), 4u);
  for (const ReplayStep& s : p.steps) {
    EXPECT_EQ(s.wait_server_bytes, 0u);
    EXPECT_FALSE(s.wait_server_close);
    EXPECT_EQ(s.at_us, -1);
  }
  EXPECT_EQ(p.start_us, 0);
}

TEST(ReplayPlan, ScaleRoundsToTheNearestMicrosecond) {
  EXPECT_EQ(scale_micros(3, 2.0), 2);  // 1.5 rounds away from zero
  EXPECT_EQ(scale_micros(1'000'000, 4.0), 250'000);
  EXPECT_EQ(scale_micros(1'000'001, 3.0), 333'334);
  EXPECT_EQ(scale_micros(-5, 1.0), 0);
  EXPECT_EQ(scale_micros(100, 0.25), 400);
}

TEST(ReplayPlan, ReplaceSpansChunksSentBackToBack) {
  const ReplayPlan p = make_plan(sample(), 0, Timing::kConversational, 1.0, {{"a\r\n", "b\r\n"}});
  EXPECT_EQ(p.steps[0].bytes, "GET ");   // "a" held back: it may start a match
  EXPECT_EQ(p.steps[1].bytes, "b\r\n");  // ... and it did
  EXPECT_EQ(p.steps[1].recorded_bytes, 2u);
}

TEST(ReplayPlan, ReplaceDoesNotHoldBytesAcrossAnAnswer) {
  // "\r\nPI" would span the point where the server answered: the held
  // "\r\n" is sent before waiting, so no match.
  const ReplayPlan p = make_plan(sample(), 0, Timing::kConversational, 1.0, {{"\r\nPI", "X"}});
  EXPECT_EQ(p.steps[0].bytes, "GET a");
  EXPECT_EQ(p.steps[1].bytes, "\r\n");
  EXPECT_EQ(p.steps[2].bytes, "PING");
  // The same cut in --timing none: the rule does not depend on the pacing.
  const ReplayPlan n = make_plan(sample(), 0, Timing::kNone, 1.0, {{"\r\nPI", "X"}});
  EXPECT_EQ(n.steps[1].bytes, "\r\n");
}

TEST(ReplayPlan, NothingAfterTheClientsReset) {
  Conversation c = sample();
  ConvEvent err = hup('c', 1'200'000);
  err.kind = ConvEvent::Kind::kReset;
  c.events.insert(c.events.begin() + 3, err);  // after the first answer
  const ReplayPlan p = make_plan(c, 0, Timing::kConversational, 1.0, {});
  ASSERT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.steps[2].kind, ReplayStep::Kind::kReset);
  EXPECT_EQ(p.steps[2].wait_server_bytes, 10u);
  EXPECT_EQ(p.recorded_answer, "0123456789+PONG\r\n");
}

TEST(ReplayPlan, ServerSpeaksFirst) {
  Conversation c;
  c.start_us = 0;
  c.events = {data('s', 10, "220 hi\r\n"), data('c', 20, "QUIT\r\n"), data('s', 30, "221\r\n")};
  const ReplayPlan p = make_plan(c, 0, Timing::kConversational, 1.0, {});
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].wait_server_bytes, 8u);
  EXPECT_FALSE(p.server_closed);
}

class ReplayLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("replay_load_test." + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& contents) {
    const auto p = dir_ / name;
    std::ofstream(p, std::ios::binary) << contents;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(ReplayLoad, NetrecordLogEndingInsideARecord) {
  // The original's 7-digit quirk: "4.1000000" is 5 s.
  const std::string path =
      write("log_1", "c 4.1000000 con\nc 5.000010 4\nPING" "s 5.000020 7\n+PONG\r\n"
                     "c 5.000030 hup\ns 5.000040 err\nc 6.000000 10\nabc");
  Conversation c;
  std::string error;
  ASSERT_TRUE(load_netrecord_conversation(path, c, error, false, true)) << error;
  EXPECT_EQ(c.name, path);
  EXPECT_EQ(c.start_us, 5'000'000);
  ASSERT_EQ(c.events.size(), 5u);
  EXPECT_EQ(c.events[0].data, "PING");
  EXPECT_EQ(c.events[0].micros, 5'000'010);
  EXPECT_EQ(c.events[1].side, 's');
  // The server's bytes stay in the log: only their size is kept.
  EXPECT_EQ(c.events[1].data, "");
  EXPECT_EQ(c.events[1].size(), 7u);
  EXPECT_EQ(c.log_path, path);
  EXPECT_EQ(c.events[2].kind, ConvEvent::Kind::kHangup);
  EXPECT_EQ(c.events[3].kind, ConvEvent::Kind::kReset);
  EXPECT_EQ(c.events[4].data, "abc");  // what is there of the cut record
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0], "the log ends inside a data record (3 of 10 bytes)");
}

// The recorded answer of a log is read again from it, a piece at a time,
// never loaded with the conversation; it ends where the plan's did.
TEST_F(ReplayLoad, AnswerIsReadAgainFromTheLogInPieces) {
  std::string log = "c 0.000001 con\nc 0.000002 4\nPING";
  std::string answer;
  for (int i = 0; i < 50; ++i) {
    const std::string chunk = "+PONG " + std::to_string(i) + std::string(1000 + i, 'x') + "\r\n";
    log += "s 0.000003 " + std::to_string(chunk.size()) + "\n" + chunk;
    log += "c 0.000004 2\nhi";
    answer += chunk;
  }
  const std::string path = write("big_1", log);
  Conversation c;
  std::string error;
  ASSERT_TRUE(load_netrecord_conversation(path, c, error)) << error;
  size_t kept = 0;
  for (const ConvEvent& e : c.events) kept += e.data.size();
  EXPECT_EQ(kept, 0u);  // neither side's bytes: sizes and offsets
  const ReplayPlan p = make_plan(c, 0, Timing::kConversational, 1.0, {});
  // The client's chunks are read from the log when sent.
  ASSERT_EQ(p.steps.size(), 51u);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const ReplayStep& s = p.steps[i];
    EXPECT_TRUE(s.from_log);
    EXPECT_EQ(s.bytes, "");
    std::string out;
    ASSERT_TRUE(read_chunk(p, s, out, error)) << error;
    EXPECT_EQ(out, i == 0 ? "PING" : "hi");
  }
  ReplayStep wrong = p.steps[1];
  wrong.log_offset += 1;
  std::string out;
  EXPECT_FALSE(read_chunk(p, wrong, out, error));
  EXPECT_NE(error.find("could not be read again"), std::string::npos) << error;
  EXPECT_EQ(p.recorded_answer, "");
  EXPECT_EQ(p.recorded_answer_bytes, answer.size());
  EXPECT_EQ(p.log, path);
  EXPECT_EQ(p.steps.back().wait_server_bytes, answer.size());
  AnswerReader r(p);
  std::string got;
  size_t pieces = 0;
  for (std::string piece; !(piece = r.next(3000)).empty(); ++pieces) got += piece;
  EXPECT_EQ(got, answer);
  EXPECT_GT(pieces, 10u);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.error(), "");

  // The log grew after it was loaded: the answer still ends where it did.
  { std::ofstream(path, std::ios::app) << "s 0.000005 5\nextra"; }
  AnswerReader again(p);
  got.clear();
  for (std::string piece; !(piece = again.next()).empty();) got += piece;
  EXPECT_EQ(got, answer);

  // With keep_server_data the bytes are in the conversation (and the plan).
  Conversation whole;
  ASSERT_TRUE(load_netrecord_conversation(path, whole, error, true, true)) << error;
  EXPECT_EQ(whole.log_path, "");
  const ReplayPlan q = make_plan(whole, 0, Timing::kConversational, 1.0, {});
  EXPECT_EQ(q.recorded_answer.substr(0, answer.size()), answer);
}

TEST_F(ReplayLoad, BadInputsAreOneLine) {
  Conversation c;
  std::string error;
  EXPECT_FALSE(load_netrecord_conversation(write("empty", ""), c, error));
  EXPECT_EQ(error, (dir_ / "empty").string() + ": empty netrecord log");
  EXPECT_FALSE(load_netrecord_conversation(write("text", "hello world\n"), c, error));
  EXPECT_EQ(error.rfind((dir_ / "text").string() + ": not a netrecord log: ", 0), 0u) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_FALSE(load_netrecord_conversation((dir_ / "absent").string(), c, error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST(ReplayCapture, EveryConnectionOfACaptureWithItsOrder) {
  std::vector<Conversation> convs;
  std::string error;
  const std::string pcap = std::string(TCPSCRIBE_SOURCE_DIR) + "/tests/pcaps/redis_cli_lo.pcap";
  ASSERT_TRUE(load_capture_conversations({pcap}, "", convs, error)) << error;
  ASSERT_GE(convs.size(), 3u);
  const Conversation& first = convs[0];
  EXPECT_EQ(first.name, pcap + " 127.0.0.1:48620-127.0.0.1:16379");
  ASSERT_GE(first.events.size(), 2u);
  EXPECT_EQ(first.events[0].side, 'c');
  EXPECT_EQ(first.events[0].data, "*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$11\r\nhello world\r\n");
  EXPECT_EQ(first.events[1].side, 's');
  EXPECT_EQ(first.events[1].data, "+OK\r\n");
  EXPECT_GE(first.events[1].micros, first.events[0].micros);

  // A filter keeps only the matching connections.
  std::vector<Conversation> one;
  ASSERT_TRUE(load_capture_conversations({pcap}, "port 48622", one, error)) << error;
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].events[0].data, "*2\r\n$3\r\nGET\r\n$8\r\ngreeting\r\n");

  EXPECT_FALSE(load_capture_conversations({pcap}, "port nonsense", one, error));
  EXPECT_FALSE(load_capture_conversations({pcap + ".absent"}, "", one, error));
}

}  // namespace
}  // namespace tcpscribe
