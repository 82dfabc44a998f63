#include "json_text.h"

#include <gtest/gtest.h>

namespace tcpscribe {
namespace {

std::string quote(std::string_view s, JsonStringStyle style = {}) {
  std::string out;
  append_json_string(out, s, style);
  return out;
}

TEST(JsonText, EscapesControlsQuotesAndBackslashes) {
  EXPECT_EQ(quote("a\"b\\c\n\r\t\b\f\x01\x7f"), R"("a\"b\\c\n\r\t\b\f\u0001\u007f")");
}

TEST(JsonText, Utf8PassesInvalidBytesAreReplacedOrLatin1) {
  EXPECT_EQ(quote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(quote("caf\xe9"), R"("caf\ufffd")");
  JsonStringStyle latin1;
  latin1.invalid_as_replacement = false;
  EXPECT_EQ(quote("caf\xe9", latin1), R"("caf\u00e9")");
  EXPECT_EQ(quote("\xc0\xaf"), R"("\ufffd\ufffd")");          // overlong '/'
  EXPECT_EQ(quote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
}

TEST(JsonText, HtmlSafeAndLineSeparators) {
  JsonStringStyle html;
  html.html_safe = true;
  EXPECT_EQ(quote("</script>&", html), R"("\u003c/script\u003e\u0026")");
  EXPECT_EQ(quote("</script>&"), R"("</script>&")");
  JsonStringStyle js;
  js.escape_line_separators = true;
  EXPECT_EQ(quote("a\xe2\x80\xa8z\xe2\x80\xa9", js), R"("a\u2028z\u2029")");
  EXPECT_EQ(quote("a\xe2\x80\xa8"), "\"a\xe2\x80\xa8\"");
}

TEST(JsonText, BytesAsLatin1) {
  JsonStringStyle raw;
  raw.bytes_as_latin1 = true;
  EXPECT_EQ(quote("caf\xc3\xa9\xff\x7f\n", raw), R"("caf\u00c3\u00a9\u00ff\u007f\n")");
}

TEST(JsonText, ValidUtf8) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // cut short
}

}  // namespace
}  // namespace tcpscribe
