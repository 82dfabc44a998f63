#include "messages_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_files.h"

namespace tcpscribe {
namespace {

constexpr Timestamp kSecond = kNanosPerSecond;

Connection conn(uint64_t id) {
  Connection c;
  c.id = id;
  return c;
}

ExchangeRecord answered() {
  ExchangeRecord r;
  r.proto = "http";
  r.ts = 1712345678 * kSecond + 123456000;
  r.end = 1712345678 * kSecond + 130001900;  // rounds to .130002
  r.latency = 1445000;
  r.fields = {{"method", "\"GET\""},
              {"target", "\"/index.html\""},
              {"host", "\"localhost:8000\""},
              {"status", "200"},
              {"request_body_bytes", "0"},
              {"response_body_bytes", "1234"}};
  return r;
}

ExchangeRecord unanswered() {
  ExchangeRecord r;
  r.proto = "http";
  r.ts = 1712345679 * kSecond;
  r.end = 1712345679 * kSecond + 500;
  r.error_json = "\"no response before the connection closed\"";
  r.fields = {{"method", "\"POST\""}, {"target", "\"/up\""}, {"status", "null"}};
  return r;
}

TEST(MessagesWriter, RequestWithItsAnswer) {
  EXPECT_EQ(MessagesWriter::format(conn(3), answered()),
            "{\"conn\":3,\"proto\":\"http\",\"ts\":1712345678.123456,"
            "\"end\":1712345678.130002,\"latency\":0.001445,\"error\":null,"
            "\"method\":\"GET\",\"target\":\"/index.html\",\"host\":\"localhost:8000\","
            "\"status\":200,\"request_body_bytes\":0,\"response_body_bytes\":1234}");
}

TEST(MessagesWriter, UnansweredHasNullLatencyAndTheError) {
  EXPECT_EQ(MessagesWriter::format(conn(0), unanswered()),
            "{\"conn\":0,\"proto\":\"http\",\"ts\":1712345679.000000,"
            "\"end\":1712345679.000001,\"latency\":null,"
            "\"error\":\"no response before the connection closed\","
            "\"method\":\"POST\",\"target\":\"/up\",\"status\":null}");
}

TEST(MessagesWriter, AnAnswerBeforeTheRequestEndedHasANegativeLatency) {
  ExchangeRecord r = answered();
  r.latency = -2500000;  // a 413 sent while the upload was still arriving
  EXPECT_NE(MessagesWriter::format(conn(1), r).find("\"latency\":-0.002500,"), std::string::npos);
}

TEST(MessagesWriter, ErrorObjectIsWrittenVerbatim) {
  ExchangeRecord r = unanswered();
  r.error_json = "{\"code\":\"ERR\",\"text\":\"wrong type\"}";
  r.fields.clear();
  EXPECT_EQ(MessagesWriter::format(conn(1), r),
            "{\"conn\":1,\"proto\":\"http\",\"ts\":1712345679.000000,"
            "\"end\":1712345679.000001,\"latency\":null,"
            "\"error\":{\"code\":\"ERR\",\"text\":\"wrong type\"}}");
}

TEST(MessagesWriter, FieldsKeepTheirOrderAndKeysAreEscaped) {
  ExchangeRecord r;
  r.proto = "x";
  r.latency = 2 * kSecond + 1000;
  r.fields = {{"zeta", "1"}, {"alpha", "2"}, {"we\"ird\n", "[1,2]"}, {"empty", ""}};
  EXPECT_EQ(MessagesWriter::format(conn(7), r),
            "{\"conn\":7,\"proto\":\"x\",\"ts\":0.000000,\"end\":0.000000,"
            "\"latency\":2.000001,\"error\":null,"
            "\"zeta\":1,\"alpha\":2,\"we\\\"ird\\n\":[1,2],\"empty\":null}");
}

TEST(MessagesWriter, WritesOneLinePerExchangeAndTruncates) {
  testing::TempDir tmp("messages_writer_test");
  const std::string path = tmp.path() + "/m.jsonl";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("old content that must go\n", f);
    std::fclose(f);
  }
  MessagesWriter w(path);
  std::string error;
  ASSERT_TRUE(w.open(error)) << error;
  EXPECT_GE(w.fd(), 0);
  w.add(conn(3), answered());
  w.add(conn(0), unanswered());
  Sink& as_output = w;
  as_output.finish();
  EXPECT_EQ(as_output.failure(), "");
  EXPECT_EQ(w.fd(), -1);
  EXPECT_EQ(testing::slurp(path), MessagesWriter::format(conn(3), answered()) + "\n" +
                                      MessagesWriter::format(conn(0), unanswered()) + "\n");
}

TEST(MessagesWriter, FlatLinesSpreadTheErrorObjectAndArraysOfObjects) {
  testing::TempDir tmp("messages_writer_flat_test");
  const std::string path = tmp.path() + "/m.jsonl";
  MessagesWriter w(path);
  w.set_flat(true);
  std::string error;
  ASSERT_TRUE(w.open(error)) << error;
  ExchangeRecord pg = unanswered();
  pg.proto = "postgresql";
  pg.error_json = "{\"code\":\"42P01\",\"message\":\"no such table\"}";
  pg.fields = {{"query", "\"SELECT 1\""}, {"params", "[\"1\",null]"}};
  ExchangeRecord grpc = answered();
  grpc.fields = {{"grpc_request_messages_decoded", "[{\"size\":9,\"decoded\":\"1: 7\"},{\"size\":3}]"}};
  w.add(conn(0), pg);
  w.add(conn(3), answered());
  w.add(conn(4), grpc);
  w.finish();
  EXPECT_EQ(testing::slurp(path),
            "{\"conn\":0,\"proto\":\"postgresql\",\"ts\":1712345679.000000,"
            "\"end\":1712345679.000001,\"latency\":null,\"error.code\":\"42P01\","
            "\"error.message\":\"no such table\",\"query\":\"SELECT 1\",\"params\":[\"1\",null]}\n" +
                MessagesWriter::format(conn(3), answered()) + "\n" +  // nothing nested: the same
                "{\"conn\":4,\"proto\":\"http\",\"ts\":1712345678.123456,"
                "\"end\":1712345678.130002,\"latency\":0.001445,\"error\":null,"
                "\"grpc_request_messages_decoded.size\":[9,3],"
                "\"grpc_request_messages_decoded.decoded\":[\"1: 7\",null]}\n");
}

TEST(MessagesWriter, RegularFileIsBufferedUnlessFlushEach) {
  testing::TempDir tmp("messages_writer_test");
  const std::string buffered = tmp.path() + "/b.jsonl";
  const std::string flushed = tmp.path() + "/f.jsonl";
  MessagesWriter b(buffered), f(flushed, true);
  std::string error;
  ASSERT_TRUE(b.open(error)) << error;
  ASSERT_TRUE(f.open(error)) << error;
  b.add(conn(3), answered());
  f.add(conn(3), answered());
  const std::string line = MessagesWriter::format(conn(3), answered()) + "\n";
  EXPECT_EQ(testing::slurp(buffered), "");
  EXPECT_EQ(testing::slurp(flushed), line);
  b.finish();
  f.finish();
  EXPECT_EQ(testing::slurp(buffered), line);
}

TEST(MessagesWriter, DashIsStandardOutput) {
  MessagesWriter w("-");
  std::string error;
  ::testing::internal::CaptureStdout();
  ASSERT_TRUE(w.open(error)) << error;
  EXPECT_EQ(w.fd(), 1);
  w.add(conn(3), answered());
  w.finish();
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, MessagesWriter::format(conn(3), answered()) + "\n");
  EXPECT_EQ(w.failure(), "");
}

TEST(MessagesWriter, FullDeviceFailsAtTheFirstLine) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  MessagesWriter w("/dev/full");
  std::string error;
  ASSERT_TRUE(w.open(error)) << error;
  EXPECT_EQ(w.failure(), "");
  w.add(conn(3), answered());  // not a regular file: flushed at once
  EXPECT_EQ(w.failure(), "cannot write --messages /dev/full: No space left on device");
  w.add(conn(4), answered());
  w.finish();
  EXPECT_EQ(w.failure(), "cannot write --messages /dev/full: No space left on device");
}

TEST(MessagesWriter, UnwritablePathIsOneLine) {
  MessagesWriter w("/nonexistent-dir/m.jsonl");
  std::string error;
  EXPECT_FALSE(w.open(error));
  EXPECT_EQ(error,
            "cannot write --messages /nonexistent-dir/m.jsonl: No such file or directory");
  EXPECT_EQ(w.fd(), -1);
  w.add(conn(3), answered());  // ignored, no crash
  w.finish();
  EXPECT_EQ(w.failure(), error);
}

}  // namespace
}  // namespace tcpscribe
