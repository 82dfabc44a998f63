#include "redis.h"

#include <gtest/gtest.h>

#include <string>

#include "proto_test_support.h"

namespace tcpscribe {
namespace {

using testing::ProtoHarness;
using testing::RecordingOutput;
constexpr Dir kC2S = Dir::kClientToServer;
constexpr Dir kS2C = Dir::kServerToClient;

const AnalyzerInfo& redis_info() {
  const AnalyzerInfo* a = find_analyzer("redis");
  EXPECT_NE(a, nullptr);
  return *a;
}

std::string cmd(std::initializer_list<std::string> words) {
  std::string s = "*" + std::to_string(words.size()) + "\r\n";
  for (const std::string& w : words) s += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
  return s;
}

/// A conversation fed with every piece size: the same records, messages
/// and findings.
std::string run(const std::vector<std::pair<Dir, std::string>>& conv, size_t piece) {
  ProtoHarness h(redis_info(), 6379);
  for (const auto& [d, bytes] : conv) h.send(d, bytes, piece);
  h.close();
  return h.out.digest();
}

// --report alone counts exchanges and error replies: the records come
// without the protocol's fields, with the same times, latency and error.
TEST(Redis, RecordsWithoutFieldsKeepTimesLatencyAndErrors) {
  const std::string client = cmd({"SET", "k", "v"}) + cmd({"FOO"});
  const std::string server = "+OK\r\n-ERR unknown command 'FOO'\r\n";
  ProtoHarness full(redis_info(), 6379, true, false);
  ProtoHarness counts(redis_info(), 6379, true, false);
  counts.out.want_fields = false;
  for (ProtoHarness* h : {&full, &counts}) {
    h->send(kC2S, client);
    h->send(kS2C, server);
    h->close();
  }
  ASSERT_EQ(counts.out.records.size(), 2u);
  ASSERT_EQ(full.out.records.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const ExchangeRecord& a = full.out.records[i];
    const ExchangeRecord& b = counts.out.records[i];
    EXPECT_FALSE(a.fields.empty());
    EXPECT_TRUE(b.fields.empty()) << i;
    EXPECT_EQ(a.proto, b.proto);
    EXPECT_EQ(a.ts, b.ts);
    EXPECT_EQ(a.end, b.end);
    EXPECT_EQ(a.latency, b.latency);
    EXPECT_EQ(a.error_json, b.error_json);
  }
  EXPECT_TRUE(counts.out.records[0].error_json.empty());
  EXPECT_NE(counts.out.records[1].error_json.find("unknown command"), std::string::npos);
}

TEST(Redis, PipelinedCommandsArePairedInOrder) {
  const std::vector<std::pair<Dir, std::string>> conv = {
      {kC2S, cmd({"set", "user:1", "Ada"}) + cmd({"GET", "user:1"}) + cmd({"GET", "nope"}) +
                 cmd({"FOO"})},
      {kS2C, "+OK\r\n$3\r\nAda\r\n"},
      {kS2C, "$-1\r\n-ERR unknown command 'FOO'\r\n"},
  };
  const std::string whole = run(conv, SIZE_MAX);
  for (size_t piece : {1, 2, 5}) EXPECT_EQ(run(conv, piece), whole) << piece;

  ProtoHarness h(redis_info(), 6379);
  for (const auto& [d, bytes] : conv) h.send(d, bytes);
  h.close();
  const auto& r = h.out.records;
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(RecordingOutput::line(r[0]),
            "error=null latency=1000000 command=\"SET\" args=[\"user:1\",\"Ada\"] reply=\"+OK\" "
            "push=false");
  EXPECT_EQ(RecordingOutput::line(r[1]),
            "error=null latency=1000000 command=\"GET\" args=[\"user:1\"] reply=\"\\\"Ada\\\"\" "
            "push=false");
  EXPECT_EQ(RecordingOutput::line(r[2]),
            "error=null latency=2000000 command=\"GET\" args=[\"nope\"] reply=\"(nil)\" push=false");
  EXPECT_EQ(RecordingOutput::line(r[3]),
            "error=\"ERR unknown command 'FOO'\" latency=2000000 command=\"FOO\" args=[] "
            "reply=\"-ERR unknown command 'FOO'\" push=false");
  // Console: the commands, then the replies with their latency.
  ASSERT_EQ(h.out.messages.size(), 8u);
  EXPECT_EQ(h.out.messages[0].summary, "SET user:1 Ada");
  EXPECT_EQ(h.out.messages[4].summary, "+OK");
  EXPECT_EQ(h.out.messages[4].latency, 1000000);
  // The error reply is counted for the connection.
  ASSERT_EQ(h.out.findings.size(), 1u);
  EXPECT_EQ(h.out.findings[0].text,
            "redis: 1 error reply on this connection (first: FOO: -ERR unknown command 'FOO')");
}

TEST(Redis, ArgumentsAreEscapedAndCut) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"SET", std::string("k\xff\x01", 3), std::string(1000, 'v'), "caf\xc3\xa9"}));
  h.server("+OK\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 1u);
  const std::string args = h.out.records[0].fields[1].second;
  EXPECT_NE(args.find("\"k\\\\xff\\\\x01\""), std::string::npos) << args;
  EXPECT_NE(args.find(std::string(256, 'v') + "...(1000 bytes)\""), std::string::npos) << args;
  EXPECT_NE(args.find("\"caf\xc3\xa9\""), std::string::npos) << args;
}

TEST(Redis, SecretsAreNeverShown) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"AUTH", "s3cret-pw"}) + cmd({"auth", "alice", "s3cret-pw"}) +
           cmd({"HELLO", "3", "AUTH", "alice", "s3cret-pw", "SETNAME", "app"}) +
           cmd({"MIGRATE", "h", "1", "k", "0", "5", "AUTH2", "bob", "s3cret-pw"}) +
           cmd({"CONFIG", "SET", "requirepass", "s3cret-pw"}) +
           cmd({"ACL", "SETUSER", "bob", "on", ">s3cret-pw"}) + "AUTH s3cret-pw\r\n");
  h.server("+OK\r\n+OK\r\n%1\r\n+proto\r\n:3\r\n+OK\r\n+OK\r\n+OK\r\n-WRONGPASS bad\r\n");
  h.close();
  const std::string all = h.out.digest();
  EXPECT_EQ(all.find("s3cret"), std::string::npos) << all;
  ASSERT_EQ(h.out.records.size(), 7u);
  EXPECT_EQ(h.out.records[0].fields[1].second, "[\"[redacted, 9 bytes]\"]");
  EXPECT_EQ(h.out.records[2].fields[1].second,
            "[\"3\",\"AUTH\",\"[redacted, 5 bytes]\",\"[redacted, 9 bytes]\",\"SETNAME\",\"app\"]");
  EXPECT_EQ(h.out.messages[0].summary, "AUTH [redacted, 9 bytes]");
  EXPECT_EQ(h.out.records[6].fields[0].second, "\"AUTH\"");  // inline
}

TEST(Redis, MultiExecPairsEachQueuedCommand) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"MULTI"}) + cmd({"INCR", "a"}) + cmd({"INCR", "a"}) + cmd({"EXEC"}));
  h.server("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 4u);
  EXPECT_EQ(h.out.records[1].fields[2].second, "\"+QUEUED\"");
  EXPECT_EQ(h.out.records[3].fields[2].second, "\"*2 [:1, :2]\"");
  EXPECT_TRUE(h.out.findings.empty());
}

TEST(Redis, PubSubMessagesAreNotPaired) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"SUBSCRIBE", "a", "b"}));
  h.server("*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n");
  h.server("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n");
  h.client(cmd({"PING"}));
  h.server("*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u);
  EXPECT_EQ(h.out.records[0].fields[0].second, "\"SUBSCRIBE\"");
  EXPECT_EQ(h.out.records[0].fields[2].second, "\"*3 [\\\"subscribe\\\", \\\"a\\\", :1]\"");
  EXPECT_EQ(h.out.records[1].fields[3].second, "true");  // the message: a push
  EXPECT_EQ(h.out.records[2].fields[0].second, "\"PING\"");
  EXPECT_EQ(h.out.records[2].fields[3].second, "false");
  EXPECT_TRUE(h.out.findings.empty()) << h.out.digest();
}

TEST(Redis, Resp3PushesAndMonitorAreNotPaired) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"HELLO", "3"}) + cmd({"SUBSCRIBE", "ch"}));
  h.server("%1\r\n+proto\r\n:3\r\n>3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
  h.server(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u);
  EXPECT_EQ(h.out.records[1].fields[0].second, "\"SUBSCRIBE\"");
  EXPECT_EQ(h.out.records[2].fields[3].second, "true");

  ProtoHarness m(redis_info(), 6379);
  m.client(cmd({"MONITOR"}));
  m.server("+OK\r\n+1700000000.1 [0 127.0.0.1:5000] \"get\" \"a\"\r\n");
  m.close();
  ASSERT_EQ(m.out.records.size(), 2u);
  EXPECT_EQ(m.out.records[0].fields[2].second, "\"+OK\"");
  EXPECT_EQ(m.out.records[1].fields[3].second, "true");
  EXPECT_TRUE(m.out.findings.empty());
}

TEST(Redis, ClientReplyOffAndSkipKeepThePairing) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"CLIENT", "REPLY", "SKIP"}) + cmd({"SET", "a", "1"}) + cmd({"GET", "a"}) +
           cmd({"CLIENT", "REPLY", "OFF"}) + cmd({"SET", "b", "2"}) + cmd({"CLIENT", "REPLY", "ON"}) +
           cmd({"GET", "b"}));
  h.server("$1\r\n1\r\n+OK\r\n$1\r\n2\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 7u) << h.out.digest();
  EXPECT_EQ(h.out.records[1].fields[2].second, "null");  // SET a: skipped
  EXPECT_EQ(h.out.records[1].error_json, "");
  EXPECT_EQ(h.out.records[2].fields[2].second, "\"\\\"1\\\"\"");  // GET a
  EXPECT_EQ(h.out.records[5].fields[2].second, "\"+OK\"");    // CLIENT REPLY ON
  EXPECT_EQ(h.out.records[6].fields[2].second, "\"\\\"2\\\"\"");  // GET b
  EXPECT_TRUE(h.out.findings.empty()) << h.out.digest();
}

TEST(Redis, UnansweredAndAfterServerClose) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"BLPOP", "q", "0"}));
  h.close(CloseReason::kEndOfInput);
  ASSERT_EQ(h.out.records.size(), 1u);
  EXPECT_EQ(h.out.records[0].error_json, "\"unanswered (the capture ended)\"");
  ASSERT_EQ(h.out.findings.size(), 1u);
  EXPECT_EQ(h.out.findings[0].text,
            "redis: command 1 (BLPOP) was never answered (the capture ended)");

  ProtoHarness a(redis_info(), 6379);
  a.client(cmd({"PING"}));
  a.server("+PONG\r\n");
  a.shutdown(kS2C);
  a.client(cmd({"GET", "k"}));
  Finding tcp;
  tcp.kind = Finding::Kind::kDataAfterPeerFin;
  tcp.dir = kC2S;
  tcp.offset = 14;
  tcp.length = 20;
  EXPECT_TRUE(a.analyzer().tells(a.conn(), tcp));
  a.close();
  ASSERT_EQ(a.out.findings.size(), 1u);
  EXPECT_EQ(a.out.findings[0].text,
            "redis: command 2 (GET), 20 bytes, was sent 0.001 s after the server closed its side "
            "(FIN); it was never answered");
  EXPECT_EQ(a.out.records[1].error_json, "\"unanswered (sent after the server closed (FIN))\"");
}

TEST(Redis, FindingsAreTheSameWithoutRecordsOrConsole) {
  // Without --messages and --decode the analyzer skips the arguments and
  // most reply summaries: the findings that quote them must not change.
  auto play = [](bool full) {
    ProtoHarness h(redis_info(), 6379, true, full, full);
    h.client(cmd({"CLIENT", "REPLY", "OFF"}) + cmd({"SET", "b", "2"}) + cmd({"CLIENT", "REPLY", "ON"}) +
             cmd({"GET", "x"}) + cmd({"INCR", "n"}));
    h.server("+OK\r\n-ERR wrong type\r\n");
    h.shutdown(kS2C);
    h.client(cmd({"PING"}));
    h.server(":1\r\n+PONG\r\n+EXTRA\r\n");
    h.close();
    EXPECT_EQ(h.out.records.empty(), !full);
    EXPECT_EQ(h.out.messages.empty(), !full);
    std::string texts;
    for (const Finding& f : h.out.findings) texts += f.text + "\n";
    return texts;
  };
  const std::string lean = play(false);
  EXPECT_EQ(lean, play(true));
  EXPECT_EQ(lean,
            "redis: command 6 (PING), 14 bytes, was sent 0.001 s after the server closed its side "
            "(FIN); it was answered anyway (+PONG)\n"
            "redis: a reply (+EXTRA) answers no command\n"
            "redis: 1 error reply on this connection (first: GET: -ERR wrong type)\n");
}

TEST(Redis, GapsStopADirectionAndAreReported) {
  // A gap in the server's replies: the waiting commands and later ones
  // are unanswered, told once (not as "never answered" each).
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"GET", "a"}) + cmd({"GET", "b"}));
  h.server("$1\r\n1\r\n");
  h.gap(kS2C, 100);
  h.server("$1\r\n2\r\n");
  h.client(cmd({"GET", "c"}));
  h.close();
  ASSERT_EQ(h.out.records.size(), 3u);
  EXPECT_EQ(h.out.records[0].fields[2].second, "\"\\\"1\\\"\"");
  EXPECT_EQ(h.out.records[1].error_json, "\"unanswered (the capture lacks 100 bytes the server sent)\"");
  EXPECT_EQ(h.out.records[2].error_json, "\"unanswered (the capture lacks 100 bytes the server sent)\"");
  ASSERT_EQ(h.out.findings.size(), 1u);
  EXPECT_FALSE(h.out.findings[0].alarm);

  // A gap in the commands: replies to the commands before it still pair.
  ProtoHarness c(redis_info(), 6379);
  c.client(cmd({"GET", "a"}));
  c.gap(kC2S, 50);
  c.server("$1\r\n1\r\n$1\r\n2\r\n");
  c.close();
  ASSERT_EQ(c.out.records.size(), 1u);
  EXPECT_EQ(c.out.records[0].fields[2].second, "\"\\\"1\\\"\"");
  ASSERT_EQ(c.out.findings.size(), 2u);
  EXPECT_FALSE(c.out.findings[0].alarm);
  EXPECT_FALSE(c.out.findings[1].alarm);  // the orphan reply, explained by the gap
}

TEST(Redis, MidstreamCommandsStartAtTheFirstArray) {
  // Picked up inside a bulk string: skipped to the next command; the
  // replies cannot be paired (unanswered, no finding each).
  ProtoHarness h(redis_info(), 6379, false);
  h.client("lue\r\n" + cmd({"GET", "k"}) + "PING\r\n");
  h.server(":1\r\n");
  h.close();
  ASSERT_EQ(h.out.records.size(), 2u) << h.out.digest();
  EXPECT_EQ(h.out.records[0].fields[0].second, "\"GET\"");
  EXPECT_EQ(h.out.records[0].error_json, "\"unanswered (the capture started mid-connection)\"");
  EXPECT_EQ(h.out.records[1].fields[0].second, "\"PING\"");  // inline, once in step
  EXPECT_TRUE(h.out.findings.empty()) << h.out.digest();
}

TEST(Redis, NotRespIsReportedOnce) {
  ProtoHarness h(redis_info(), 6379);
  h.client(cmd({"PING"}));
  h.server("HTTP/1.1 400 Bad Request\r\n\r\n");
  h.close();
  ASSERT_EQ(h.out.findings.size(), 1u);
  EXPECT_EQ(h.out.findings[0].text,
            "redis: the server's bytes at offset 0 are not RESP (byte 0x48 where a RESP type was "
            "expected); its replies are not decoded from there on");
  ASSERT_EQ(h.out.records.size(), 1u);
  EXPECT_EQ(h.out.records[0].error_json, "\"unanswered (the server's replies could not be decoded)\"");
}

TEST(Redis, Probe) {
  auto p = [](Dir d, const std::string& s) {
    return probe_redis(d, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(p(kC2S, "*1\r\n$4\r\nPING\r\n"), ProbeResult::kYes);
  EXPECT_EQ(p(kC2S, "*1\r"), ProbeResult::kNeedMore);
  EXPECT_EQ(p(kC2S, "PING\r\n"), ProbeResult::kYes);
  EXPECT_EQ(p(kC2S, "hel"), ProbeResult::kNeedMore);
  EXPECT_EQ(p(kC2S, "GET / HTTP/1.1\r\n"), ProbeResult::kYes);  // the port decides which first
  EXPECT_EQ(p(kC2S, "\x16\x03\x01"), ProbeResult::kNo);
  EXPECT_EQ(p(kC2S, "*x"), ProbeResult::kNo);
  EXPECT_EQ(p(kS2C, "+OK\r\n"), ProbeResult::kNeedMore);
  EXPECT_EQ(p(kS2C, "SSH-2.0"), ProbeResult::kNo);
}

}  // namespace
}  // namespace tcpscribe
