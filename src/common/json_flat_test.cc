#include "json_flat.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

TEST(JsonFlat, ObjectsBecomeDottedKeysScalarsKeepTheirText) {
  EXPECT_EQ(flatten_json_object(R"({"id":0,"rtt":0.000025,"c2s":{"vlan":null,"fin":true},"s":"a\"b"})"),
            R"({"id":0,"rtt":0.000025,"c2s.vlan":null,"c2s.fin":true,"s":"a\"b"})");
  EXPECT_EQ(flatten_json_object(R"({"run":{"packets":11,"skipped":{"not_ip":0},"kernel_drops":null}})"),
            R"({"run.packets":11,"run.skipped.not_ip":0,"run.kernel_drops":null})");
  EXPECT_EQ(flatten_json_object(R"({"tls":{"client":{"records":5}},"exchanges":{"redis":{"count":2}}})"),
            R"({"tls.client.records":5,"exchanges.redis.count":2})");
}

TEST(JsonFlat, ArraysOfObjectsBecomeOneArrayPerKeyOfEqualLength) {
  EXPECT_EQ(flatten_json_object(
                R"({"findings":[{"kind":"a","ts":1.5,"at":{"x":1}},{"kind":"b","text":"t"},null]})"),
            R"({"findings.kind":["a","b",null],"findings.ts":[1.5,null,null],)"
            R"("findings.at.x":[1,null,null],"findings.text":[null,"t",null]})");
}

TEST(JsonFlat, OtherArraysAndEmptyOnesStayAsTheyAre) {
  EXPECT_EQ(flatten_json_object(R"({"args":["SET","k"],"findings":[],"m":[1,{"a":2}],"n":[[1],[2]]})"),
            R"({"args":["SET","k"],"findings":[],"m":[1,{"a":2}],"n":[[1],[2]]})");
}

TEST(JsonFlat, AnErrorObjectAndAnErrorStringGetDifferentKeys) {
  EXPECT_EQ(flatten_json_object(R"({"error":{"code":1146,"message":"no table"}})"),
            R"({"error.code":1146,"error.message":"no table"})");
  EXPECT_EQ(flatten_json_object(R"({"error":"404 Not Found"})"), R"({"error":"404 Not Found"})");
}

TEST(JsonFlat, WhatIsNotOneObjectComesBackUnchanged) {
  for (const char* s : {"", "[1,2]", "{\"a\":", "{\"a\":1} x", "{\"a\":\"open}", "{\"a\" 1}", "{\"a\":}"}) {
    EXPECT_EQ(flatten_json_object(s), s) << s;
  }
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 70; ++i) deep += "}";
  EXPECT_EQ(flatten_json_object(deep), deep);
  EXPECT_EQ(flatten_json_object(" {} "), "{}");
}

}  // namespace
}  // namespace tcpscribe
