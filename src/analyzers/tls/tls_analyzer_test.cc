#include "tls_analyzer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "dispatcher.h"
#include "http.h"
#include "packet_core.h"
#include "redact_rules.h"
#include "test_files.h"
#include "test_support.h"
#include "tls_test_support.h"

namespace tcpscribe {
namespace {

using testing::tls_dir;

std::string expected(const std::string& name, int conn, const char* dir) {
  return testing::slurp(tls_dir() + name + "." + std::to_string(conn) + "." + dir);
}

/// What the analyzers hand to the outputs.
struct Outputs : AnalyzerOutput {
  void finding(const Connection&, const Finding& f) override { findings.push_back(f.text); }
  void exchange(const Connection& c, const ExchangeRecord& r) override {
    std::string line = std::to_string(c.id) + " " + r.proto;
    for (const auto& [k, v] : r.fields) line += " " + k + "=" + v;
    exchanges.push_back(line);
  }
  void message(const Connection&, const DecodedMessage& m) override {
    messages.push_back(m.proto + ": " + m.summary);
  }
  void http_transaction(const HttpTransaction& t) override { urls.push_back(t.url()); }
  void inner_open(const Connection& c, const char* layer) override {
    opened.push_back(std::to_string(c.id) + " " + layer);
  }
  void inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                  std::span<const uint8_t> bytes, Timestamp) override {
    EXPECT_STREQ(layer, "TLS");
    std::string& s = plain[c.id][index_of(d)];
    EXPECT_EQ(offset, s.size());  // in order, no holes in these captures
    s.append(bytes.begin(), bytes.end());
  }
  void inner_gap(const Connection& c, const char*, Dir d, uint64_t, uint64_t length,
                 Timestamp) override {
    gaps.push_back(std::to_string(c.id) + (d == Dir::kClientToServer ? " c2s " : " s2c ") +
                   std::to_string(length));
  }
  void connection_info(const Connection& c, const std::string& key,
                       const std::string& json) override {
    info[c.id] = key + "=" + json;
  }
  std::vector<std::string> findings, exchanges, messages, urls, opened, gaps;
  std::map<uint64_t, std::array<std::string, 2>> plain;
  std::map<uint64_t, std::string> info;
};

struct Stack {
  explicit Stack(const TlsKeyLog* keys, bool hold = false, bool decode = true) {
    s.out = &out;
    s.decode_view = decode;
    s.tls_keylog = keys;
    s.tls_hold_for_keys = hold;
    dispatcher = std::make_unique<AnalyzerDispatcher>(
        std::vector<const AnalyzerInfo*>{find_analyzer("http"), find_analyzer("tls")}, s);
  }
  void read(const std::string& name, Sink* in_front = nullptr) {
    std::string error;
    std::vector<Sink*> sinks;
    if (in_front) sinks.push_back(in_front);
    sinks.push_back(dispatcher.get());
    PacketCore core(testing::core_config(), sinks);
    ASSERT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
    core.finish();
  }
  AnalyzerSettings s;
  Outputs out;
  std::unique_ptr<AnalyzerDispatcher> dispatcher;
};

TlsKeyLog keys_of(const std::string& name) {
  TlsKeyLog k;
  EXPECT_GT(k.add_text(testing::slurp(tls_dir() + name + ".keys")), 0u) << name;
  return k;
}

TEST(TlsAnalyzer, RegisteredWithItsProbeAndPorts) {
  const AnalyzerInfo* a = find_analyzer("tls");
  ASSERT_NE(a, nullptr);
  EXPECT_NE(std::find(a->ports.begin(), a->ports.end(), 443), a->ports.end());
  EXPECT_NE(std::find(a->ports.begin(), a->ports.end(), 993), a->ports.end());
  EXPECT_EQ(a->probe, probe_tls);
}

TEST(TlsAnalyzer, DecryptsCurlsHttpsAndHandsHttpInside) {
  const TlsKeyLog keys = keys_of("tls13_curl_www");
  Stack r(&keys);
  r.read("tls13_curl_www");
  EXPECT_EQ(r.out.opened, std::vector<std::string>{"0 TLS"});
  EXPECT_EQ(r.out.plain[0][0], expected("tls13_curl_www", 0, "c2s"));
  EXPECT_EQ(r.out.plain[0][1], expected("tls13_curl_www", 0, "s2c"));
  // The inner HTTP analyzer (chosen by ALPN http/1.1) saw one exchange, https.
  ASSERT_EQ(r.out.exchanges.size(), 1u);
  EXPECT_NE(r.out.exchanges[0].find("0 http method=\"GET\" target=\"/page.txt\""),
            std::string::npos) << r.out.exchanges[0];
  EXPECT_NE(r.out.exchanges[0].find("status=200"), std::string::npos);
  EXPECT_NE(r.out.exchanges[0].find("scheme=\"https\""), std::string::npos);
  ASSERT_EQ(r.out.urls.size(), 1u);
  EXPECT_EQ(r.out.urls[0].rfind("https://tcpscribe.test:", 0), 0u) << r.out.urls[0];
  // --decode: the handshake line first, then HTTP's messages.
  ASSERT_FALSE(r.out.messages.empty());
  EXPECT_EQ(r.out.messages.front(),
            "tls: TLS 1.3 TLS_AES_256_GCM_SHA384 sni=tcpscribe.test alpn=http/1.1: decrypted");
  const std::string& info = r.out.info[0];
  EXPECT_EQ(info.rfind("tls={\"version\":\"TLS 1.3\",\"cipher_suite\":\"TLS_AES_256_GCM_SHA384\","
                       "\"sni\":\"tcpscribe.test\",\"alpn\":\"http/1.1\",", 0),
            0u) << info;
  EXPECT_NE(info.find("\"decrypted\":true,\"why_not\":null"), std::string::npos) << info;
  const std::string s2c_bytes = std::to_string(expected("tls13_curl_www", 0, "s2c").size());
  EXPECT_NE(info.find("\"bytes_decrypted\":" + s2c_bytes + ","), std::string::npos) << info;
  EXPECT_TRUE(r.out.gaps.empty());
}

TEST(TlsAnalyzer, WithoutKeysTellsTheHandshakeAndWhyNot) {
  Stack r(nullptr);
  r.read("tls13_curl_www");
  EXPECT_TRUE(r.out.opened.empty());
  EXPECT_TRUE(r.out.plain.empty());
  EXPECT_TRUE(r.out.exchanges.empty());
  ASSERT_EQ(r.out.messages.size(), 1u);
  // TLS 1.3 sends the ALPN encrypted: without keys it is not known.
  EXPECT_EQ(r.out.messages[0],
            "tls: TLS 1.3 TLS_AES_256_GCM_SHA384 sni=tcpscribe.test: not decrypted (no key)");
  EXPECT_NE(r.out.info[0].find("\"decrypted\":false,\"why_not\":\"no key\""), std::string::npos)
      << r.out.info[0];
}

TEST(TlsAnalyzer, Tls12CertificateFactsWithoutKeys) {
  Stack r(nullptr);
  r.read("tls12_ecdhe_aes128gcm");
  const std::string& info = r.out.info[0];
  EXPECT_NE(info.find("\"version\":\"TLS 1.2\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"cert_subject\":"), std::string::npos) << info;
  EXPECT_NE(info.find("\"cert_issuer\":"), std::string::npos) << info;
}

TEST(TlsAnalyzer, AResumedSessionDecryptsWithTheFirstConnectionsKey) {
  // The key log keeps only the first connection's master secret; the
  // second resumes its session (by id): the analyzer's resumption cache,
  // shared by its connections, has the secret.
  TlsKeyLog keys;
  const std::string text = testing::slurp(tls_dir() + "tls12_resume_session_id.keys");
  const size_t at = text.find("CLIENT_RANDOM ");
  ASSERT_NE(at, std::string::npos);
  keys.add_text(text.substr(at, text.find('\n', at) + 1 - at));
  ASSERT_EQ(keys.size(), 1u);
  Stack r(&keys);
  r.read("tls12_resume_session_id");
  // 0 at its ClientHello (its random is in the key log), 1 at its first
  // plaintext (it is not: the secret came from the resumption cache).
  EXPECT_EQ(r.out.opened, (std::vector<std::string>{"0 TLS", "1 TLS"}));
  for (uint64_t id : {0, 1}) {
    EXPECT_EQ(r.out.plain[id][0], expected("tls12_resume_session_id", static_cast<int>(id), "c2s"));
    EXPECT_EQ(r.out.plain[id][1], expected("tls12_resume_session_id", static_cast<int>(id), "s2c"));
    EXPECT_NE(r.out.info[id].find("\"decrypted\":true,\"why_not\":null"), std::string::npos)
        << r.out.info[id];
  }
  EXPECT_NE(r.out.info[1].find("\"resumed\":true"), std::string::npos) << r.out.info[1];
}

TEST(TlsAnalyzer, KeysForOnlySomeConnections) {
  // Two captures through one analyzer; the key log has the second's keys only.
  const TlsKeyLog keys = keys_of("tls12_ecdhe_aes128gcm");
  Stack r(&keys);
  r.read("tls13_aes128gcm");
  const std::string first = r.out.info[0];
  r.read("tls12_ecdhe_aes128gcm");
  EXPECT_NE(first.find("\"decrypted\":false,\"why_not\":\"no key\""), std::string::npos)
      << first;
  EXPECT_NE(r.out.info[0].find("\"decrypted\":true,\"why_not\":null"), std::string::npos)
      << r.out.info[0];
  EXPECT_EQ(r.out.opened, std::vector<std::string>{"0 TLS"});  // the second only
  EXPECT_EQ(r.out.plain[0][1], expected("tls12_ecdhe_aes128gcm", 0, "s2c"));
}

/// Adds the key log's lines after `after` data events, as a live key log
/// written while the capture runs.
struct LateKeys : Sink {
  LateKeys(TlsKeyLog& k, std::string t, AnalyzerDispatcher& d, int after)
      : keys(k), text(std::move(t)), dispatcher(d), left(after) {}
  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {
    if (--left == 0) {
      keys.add_text(text);
      dispatcher.secrets_added();
    }
  }
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_close(const Connection&, CloseReason) override {}
  TlsKeyLog& keys;
  std::string text;
  AnalyzerDispatcher& dispatcher;
  int left;
};

TEST(TlsAnalyzer, LateKeysDecryptHeldRecords) {
  for (const char* name : {"tls13_curl_www", "tls12_ecdhe_aes128gcm"}) {
    TlsKeyLog keys;  // empty: the client has not written it yet
    Stack r(&keys, /*hold=*/true);
    // The keys come after the sixth data event, once records wait for them
    // (the late-keys sink is behind the analyzers: the event went in first).
    LateKeys late(keys, testing::slurp(tls_dir() + name + ".keys"), *r.dispatcher, 6);
    std::string error;
    PacketCore core(testing::core_config(), {r.dispatcher.get(), &late});
    ASSERT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
    core.finish();
    EXPECT_EQ(late.left < 0, true) << name;
    EXPECT_EQ(r.out.opened, std::vector<std::string>{"0 TLS"}) << name;  // at the ClientHello
    EXPECT_EQ(r.out.plain[0][0], expected(name, 0, "c2s")) << name;
    EXPECT_EQ(r.out.plain[0][1], expected(name, 0, "s2c")) << name;
    EXPECT_NE(r.out.info[0].find("\"decrypted\":true,\"why_not\":null"), std::string::npos)
        << name << " " << r.out.info[0];
  }
}

TEST(TlsAnalyzer, AlpnNamesTheInnerAnalyzer) {
  EXPECT_EQ(TlsAnalyzer::inner_for_alpn("http/1.1"), "http");
  EXPECT_EQ(TlsAnalyzer::inner_for_alpn("h2"), "http2");
  EXPECT_EQ(TlsAnalyzer::inner_for_alpn("imap"), "");
  EXPECT_EQ(TlsAnalyzer::inner_for_alpn(""), "");
}

TEST(TlsAnalyzer, WithoutAnInnerAnalyzerOnlyThePlaintextGoesOut) {
  const TlsKeyLog keys = keys_of("tls13_aes128gcm");
  AnalyzerSettings s;
  Outputs out;
  s.out = &out;
  s.tls_keylog = &keys;
  AnalyzerDispatcher d({find_analyzer("tls")}, s);
  std::string error;
  PacketCore core(testing::core_config(), {&d});
  ASSERT_TRUE(testing::feed_capture(tls_dir() + "tls13_aes128gcm.pcap", core, error)) << error;
  core.finish();
  EXPECT_EQ(out.plain[0][0], expected("tls13_aes128gcm", 0, "c2s"));
  EXPECT_EQ(out.plain[0][1], expected("tls13_aes128gcm", 0, "s2c"));
  EXPECT_TRUE(out.exchanges.empty());
  EXPECT_TRUE(out.messages.empty());  // no --decode
}

}  // namespace
}  // namespace tcpscribe

namespace tcpscribe {
namespace {

/// `s` with every match of `re` replaced by '*', the whole buffer at once.
std::string blank_whole(std::string s, const std::string& re) {
  const std::regex r(re);
  std::string out = s;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), r); it != std::sregex_iterator(); ++it) {
    std::fill(out.begin() + it->position(), out.begin() + it->position() + it->length(), '*');
  }
  return out;
}

// --redact reaches TLS's plaintext: blanked by the same rules before the
// inner analyzers and the outputs see it, whatever the record boundaries
// (the response's 21 KB come in two records at least; a line straddles
// them).
TEST(TlsAnalyzer, RedactBlanksThePlaintextBeforeTheInnerAnalyzers) {
  const TlsKeyLog keys = keys_of("tls13_curl_www");
  RedactRules rules;
  std::string error;
  ASSERT_TRUE(rules.add("User-Agent: [^\\r]*", error)) << error;
  ASSERT_TRUE(rules.add("line \\d{4} of the", error)) << error;
  Stack r(&keys);
  r.s.redact = &rules;
  r.dispatcher = std::make_unique<AnalyzerDispatcher>(
      std::vector<const AnalyzerInfo*>{find_analyzer("http"), find_analyzer("tls")}, r.s);
  r.read("tls13_curl_www");
  const std::string c2s = expected("tls13_curl_www", 0, "c2s");
  const std::string s2c = expected("tls13_curl_www", 0, "s2c");
  EXPECT_EQ(r.out.plain[0][0], blank_whole(c2s, "User-Agent: [^\\r]*"));
  EXPECT_EQ(r.out.plain[0][1], blank_whole(s2c, "line \\d{4} of the"));
  EXPECT_NE(r.out.plain[0][1], s2c);
  EXPECT_EQ(r.out.plain[0][1].find("line 0"), std::string::npos);
  // The inner HTTP analyzer still parsed the exchange, from blanked bytes.
  ASSERT_EQ(r.out.exchanges.size(), 1u);
  EXPECT_NE(r.out.exchanges[0].find("target=\"/page.txt\""), std::string::npos);
  for (const std::string& m : r.out.messages) EXPECT_EQ(m.find("curl/7.88.1"), std::string::npos) << m;
}

}  // namespace
}  // namespace tcpscribe
