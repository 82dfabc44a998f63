// The build links zlib (CMake: ZLIB::ZLIB on tcpscribe_core, with
// TCPSCRIBE_HAVE_ZLIB defined); without it this file only says so.
#ifndef TCPSCRIBE_HAVE_ZLIB
#include <gtest/gtest.h>

TEST(HarSetup, NeedsZlib) {
  GTEST_SKIP() << "built without TCPSCRIBE_HAVE_ZLIB: add find_package(ZLIB REQUIRED), "
                  "link ZLIB::ZLIB to tcpscribe_core and define TCPSCRIBE_HAVE_ZLIB";
}
#else
#include "har.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "http_test_support.h"

namespace tcpscribe {
namespace {

using testing::compress;
using testing::HttpHarness;
using testing::TempDir;

std::string json(std::string_view s) {
  std::string out;
  append_har_string(out, s);
  return out;
}

TEST(HarJson, EscapesWhatJsonRequires) {
  EXPECT_EQ(json("plain"), "\"plain\"");
  EXPECT_EQ(json("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
  EXPECT_EQ(json(std::string("\n\r\t\b\f\x01\x1f\x7f", 8)),
            "\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(json(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
}

TEST(HarJson, Utf8PassesInvalidBytesBecomeCodePoints) {
  EXPECT_EQ(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // Latin-1 bytes, a lone continuation byte, a truncated sequence, an
  // overlong encoding and a UTF-16 surrogate: each byte on its own.
  EXPECT_EQ(json("caf\xe9"), "\"caf\\u00e9\"");
  EXPECT_EQ(json("\x80"), "\"\\u0080\"");
  EXPECT_EQ(json("\xe2\x82"), "\"\\u00e2\\u0082\"");
  EXPECT_EQ(json("\xc0\xaf"), "\"\\u00c0\\u00af\"");
  EXPECT_EQ(json("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
  // Line and paragraph separators are valid JSON but break JavaScript.
  EXPECT_EQ(json("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "\"a\\u2028b\\u2029\"");
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9"));
  EXPECT_FALSE(valid_utf8("caf\xe9"));
}

TEST(HarJson, Base64AndTimes) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\xfe", 3)), "/wD+");
  EXPECT_EQ(iso8601(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00.000Z");
}

TEST(HarEntry, TimingsComeFromPacketTimes) {
  HttpHarness h;
  h.client("GET /t?a=1&b=x%20y HTTP/1.1\r\nHost: example.test\r\nCookie: s=1; t=2\r\n\r\n");
  h.server("HTTP/1.1 302 Found\r\nLocation: /next\r\nSet-Cookie: id=9; Path=/; HttpOnly\r\n"
           "Content-Length: 3\r\n\r\n");
  h.server("abc");
  h.client("GET /next HTTP/1.1\r\nHost: example.test\r\n\r\n");
  h.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.close();
  ASSERT_EQ(h.txns.size(), 2u);
  const std::string first = har_entry(h.txns[0]);
  // Handshake 0.25 ms; request in one packet; response head 1 ms later,
  // its body 1 ms after that.
  EXPECT_NE(first.find("\"time\":2.250,"), std::string::npos) << first;
  EXPECT_NE(first.find("\"timings\":{\"blocked\":-1,\"dns\":-1,\"connect\":0.250,\"send\":0.000,"
                       "\"wait\":1.000,\"receive\":1.000,\"ssl\":-1}"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("\"startedDateTime\":\"2023-11-14T22:13:20.002Z\""), std::string::npos);
  EXPECT_NE(first.find("\"url\":\"http://example.test/t?a=1&b=x%20y\""), std::string::npos);
  EXPECT_NE(first.find("\"queryString\":[{\"name\":\"a\",\"value\":\"1\"},{\"name\":\"b\","
                       "\"value\":\"x%20y\"}]"),
            std::string::npos);
  EXPECT_NE(first.find("\"cookies\":[{\"name\":\"s\",\"value\":\"1\"},{\"name\":\"t\","
                       "\"value\":\"2\"}]"),
            std::string::npos);
  EXPECT_NE(first.find("\"cookies\":[{\"name\":\"id\",\"value\":\"9\",\"path\":\"/\","
                       "\"httpOnly\":true}]"),
            std::string::npos);
  EXPECT_NE(first.find("\"redirectURL\":\"/next\""), std::string::npos);
  const std::string second = har_entry(h.txns[1]);
  // The connection was already open: no connect time.
  EXPECT_NE(second.find("\"connect\":-1,"), std::string::npos) << second;
}

/// Checks a HAR file against the HAR 1.2 structure (required fields and
/// their types) and prints a summary the test compares.
constexpr const char* kHarCheck = R"PY(
import base64, json, sys
har = json.load(open(sys.argv[1], encoding="utf-8"))
def need(obj, key, types, where):
    assert key in obj, f"{where}: no {key}"
    assert isinstance(obj[key], types), f"{where}.{key}: {type(obj[key]).__name__}"
    if types in (int, float, (int, float)):
        assert not isinstance(obj[key], bool), f"{where}.{key} is a bool"
    return obj[key]
num = (int, float)
log = need(har, "log", dict, "")
assert need(log, "version", str, "log") == "1.2"
creator = need(log, "creator", dict, "log")
assert need(creator, "name", str, "creator") == "tcpscribe"
need(creator, "version", str, "creator")
need(log, "pages", list, "log")
out = []
for i, e in enumerate(need(log, "entries", list, "log")):
    w = f"entries[{i}]"
    need(e, "startedDateTime", str, w)
    t = need(e, "time", num, w)
    for part in ("request", "response"):
        m = need(e, part, dict, w)
        need(m, "httpVersion", str, part)
        for k in ("cookies", "headers"):
            for c in need(m, k, list, part):
                need(c, "name", str, k); need(c, "value", str, k)
        need(m, "headersSize", int, part); need(m, "bodySize", int, part)
    rq, rs = e["request"], e["response"]
    need(rq, "method", str, "request"); need(rq, "url", str, "request")
    for q in need(rq, "queryString", list, "request"):
        need(q, "name", str, "queryString"); need(q, "value", str, "queryString")
    if "postData" in rq:
        need(rq["postData"], "mimeType", str, "postData"); need(rq["postData"], "text", str, "postData")
    need(rs, "status", int, "response"); need(rs, "statusText", str, "response")
    need(rs, "redirectURL", str, "response")
    c = need(rs, "content", dict, "response")
    need(c, "size", int, "content"); need(c, "mimeType", str, "content")
    body = None
    if "text" in c:
        body = base64.b64decode(c["text"]) if c.get("encoding") == "base64" else c["text"].encode("utf-8")
    need(e, "cache", dict, w)
    tm = need(e, "timings", dict, w)
    for k in ("send", "wait", "receive"):
        assert need(tm, k, num, "timings") >= 0, k
    for k in ("blocked", "dns", "connect", "ssl"):
        if k in tm:
            assert need(tm, k, num, "timings") >= 0 or tm[k] == -1, k
    total = sum(v for k, v in tm.items() if k != "comment" and v != -1)
    assert abs(total - t) < 0.002, f"{w}: time {t} != sum {total}"
    hdr = "|".join(h["name"] + "=" + h["value"] for h in rs["headers"])
    out.append(f"{rq['method']} {rq['url']} {rs['status']} {c['size']} {body!r} {hdr}")
print("\n".join(out))
)PY";

TEST(HarWriter, OutputIsHar12) {
  HttpOptions o;
  o.max_text_bytes = 1024;
  HttpHarness h(o);
  const std::string binary("\x89PNG\r\n\x1a\n\x00\xff", 10);
  h.client("GET /text HTTP/1.1\r\nHost: h\r\n\r\nGET /bin HTTP/1.1\r\nHost: h\r\n\r\n"
           "GET /gz HTTP/1.1\r\nHost: h\r\n\r\nPOST /form HTTP/1.1\r\nHost: h\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2"
           "GET /never HTTP/1.1\r\nHost: h\r\n\r\n");
  h.server("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Odd: caf\xe9\r\n"
           "Content-Length: 9\r\n\r\n\"caf\xc3\xa9\"\n\t");
  h.server("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 10\r\n\r\n" + binary);
  const std::string packed = compress("zipped text", 31);
  h.server("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
           std::to_string(packed.size()) + "\r\n\r\n" + packed);
  h.server("HTTP/1.1 204 No Content\r\n\r\n");
  h.close(CloseReason::kEndOfInput);
  ASSERT_EQ(h.txns.size(), 5u);

  TempDir dir;
  const std::string path = dir.path() + "/out.har";
  HarWriter w;
  std::string error;
  ASSERT_TRUE(w.open(path, error)) << error;
  for (const HttpTransaction& t : h.txns) w.add(t);
  HttpTransaction orphan = h.txns[0];
  orphan.request = HttpMessage();
  w.add(orphan);  // a response without request is not an entry
  ASSERT_TRUE(w.finish(error)) << error;
  EXPECT_EQ(w.entries(), 5u);

  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  std::ofstream(dir.path() + "/check.py") << kHarCheck;
  const std::string cmd = "python3 " + dir.path() + "/check.py " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(out,
            "GET http://h/text 200 9 b'\"caf\\xc3\\xa9\"\\n\\t' "
            "Content-Type=text/plain; charset=utf-8|X-Odd=caf\xc3\xa9|Content-Length=9\n"
            "GET http://h/bin 200 10 b'\\x89PNG\\r\\n\\x1a\\n\\x00\\xff' "
            "Content-Type=image/png|Content-Length=10\n"
            "GET http://h/gz 200 11 b'zipped text' Content-Encoding=gzip|Content-Length=" +
                std::to_string(packed.size()) +
                "\n"
                "POST http://h/form 204 0 None \n"
                "GET http://h/never 0 0 None \n");
}

TEST(HarWriter, ReportsAnUnwritableFile) {
  HarWriter w;
  std::string error;
  EXPECT_FALSE(w.open("/nonexistent-dir/x.har", error));
  EXPECT_EQ(error, "cannot create /nonexistent-dir/x.har.tmp: No such file or directory");
}

}  // namespace
}  // namespace tcpscribe

#endif  // TCPSCRIBE_HAVE_ZLIB
