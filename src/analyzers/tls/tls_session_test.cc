// TlsSession on real captures (tests/pcaps/make_tls_captures.sh: openssl
// s_server / s_client and curl on loopback, with their key logs), through
// the real pipeline; the expected plaintext was written from the programs'
// own inputs.
#include "tls_session.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tls_test_support.h"

namespace tcpscribe {
namespace {

using testing::TlsCaptureSink;
using testing::TlsCollected;
using testing::tls_dir;

std::string expected(const std::string& name, int conn, const char* dir) {
  return testing::slurp(tls_dir() + name + "." + std::to_string(conn) + "." + dir);
}

TlsKeyLog keys_of(const std::string& name) {
  TlsKeyLog k;
  EXPECT_GT(k.add_text(testing::slurp(tls_dir() + name + ".keys")), 0u) << name;
  return k;
}

std::map<uint64_t, TlsCollected> run(const std::string& name, TlsCaptureSink& sink) {
  std::string error;
  PacketCore core({}, {&sink});
  EXPECT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
  core.finish();
  return std::move(sink.results);
}

std::map<uint64_t, TlsCollected> run(const std::string& name, const TlsKeyLog* keys,
                                     size_t piece = 0, TlsResumptionCache* cache = nullptr) {
  TlsSessionOptions o;
  o.keylog = keys;
  o.resumption = cache;
  TlsCaptureSink sink(o);
  sink.piece = piece;
  return run(name, sink);
}

struct SuiteCase {
  const char* capture;
  uint16_t version;
  uint16_t suite;
  const char* suite_name;
  const char* alpn;
  bool etm;
};

class TlsSuites : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(TlsSuites, DecryptsBothDirectionsByteExact) {
  const SuiteCase& c = GetParam();
  const TlsKeyLog keys = keys_of(c.capture);
  auto conns = run(c.capture, &keys);
  ASSERT_EQ(conns.size(), 1u);
  const TlsCollected& r = conns.begin()->second;
  EXPECT_EQ(r.plain[0], expected(c.capture, 0, "c2s"));
  EXPECT_EQ(r.plain[1], expected(c.capture, 0, "s2c"));
  EXPECT_FALSE(r.plain[1].empty());
  EXPECT_EQ(r.info.version, c.version);
  EXPECT_EQ(r.info.cipher_suite, c.suite);
  EXPECT_EQ(r.info.cipher_suite_name, c.suite_name);
  EXPECT_EQ(r.info.sni, "tcpscribe.test");
  EXPECT_EQ(r.info.alpn, c.alpn);
  EXPECT_EQ(r.info.encrypt_then_mac, c.etm);
  EXPECT_EQ(r.info.cert_subject, "O=tcpscribe tests,CN=tcpscribe.test");
  EXPECT_EQ(r.info.cert_issuer, "O=tcpscribe tests,CN=tcpscribe.test");
  EXPECT_FALSE(r.info.resumed);
  EXPECT_TRUE(r.decrypted);
  EXPECT_EQ(r.why_not, "");
  EXPECT_EQ(r.problems, std::vector<std::string>{});
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(r.counts[d].bad_records, 0u);
    EXPECT_EQ(r.counts[d].undecrypted_records, 0u);
    EXPECT_EQ(r.counts[d].lost_records, 0u);
    EXPECT_EQ(r.counts[d].plaintext_bytes, r.plain[d].size());
    EXPECT_GT(r.counts[d].decrypted_records, 0u);
  }
  EXPECT_EQ(r.handshakes, 1);
  // Both sides ended with close_notify... at least the client's.
  ASSERT_FALSE(r.alerts[0].empty());
  EXPECT_EQ(r.alerts[0].back(), std::make_pair(1, 0));

  // Byte by byte: records and handshake messages cut everywhere.
  auto bytewise = run(c.capture, &keys, 1);
  ASSERT_EQ(bytewise.size(), 1u);
  EXPECT_EQ(bytewise.begin()->second.plain[0], r.plain[0]);
  EXPECT_EQ(bytewise.begin()->second.plain[1], r.plain[1]);
  EXPECT_EQ(bytewise.begin()->second.info.cert_subject, r.info.cert_subject);
}

INSTANTIATE_TEST_SUITE_P(
    Captures, TlsSuites,
    ::testing::Values(
        SuiteCase{"tls13_aes128gcm", 0x0304, 0x1301, "TLS_AES_128_GCM_SHA256", "http/1.1", false},
        SuiteCase{"tls13_aes256gcm", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false},
        SuiteCase{"tls13_chacha20", 0x0304, 0x1303, "TLS_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_ecdhe_aes128gcm", 0x0303, 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                  "http/1.1", false},
        SuiteCase{"tls12_ecdhe_aes256gcm", 0x0303, 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                  "", false},
        SuiteCase{"tls12_ecdhe_chacha20", 0x0303, 0xCCA8,
                  "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_dhe_aes128gcm", 0x0303, 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "",
                  false},
        SuiteCase{"tls12_dhe_chacha20", 0x0303, 0xCCAA,
                  "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "", false},
        SuiteCase{"tls12_rsa_aes256gcm", 0x0303, 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "",
                  false},
        SuiteCase{"tls12_ecdhe_aes128cbc_sha", 0x0303, 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                  "", true},
        SuiteCase{"tls12_ecdhe_aes256cbc_sha384", 0x0303, 0xC028,
                  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "", true},
        SuiteCase{"tls12_dhe_aes256cbc_sha256", 0x0303, 0x006B,
                  "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "", true},
        SuiteCase{"tls12_rsa_aes128cbc_sha", 0x0303, 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "",
                  true},
        SuiteCase{"tls12_rsa_aes256cbc_sha_noetm", 0x0303, 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA",
                  "", false},
        SuiteCase{"tls12_rsa_aes128cbc_sha256_noetm", 0x0303, 0x003C,
                  "TLS_RSA_WITH_AES_128_CBC_SHA256", "", false},
        SuiteCase{"tls12_ecdhe_aes256cbc_sha384_noetm", 0x0303, 0xC028,
                  "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "", false},
        SuiteCase{"tls13_hrr", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false},
        SuiteCase{"tls13_keyupdate", 0x0304, 0x1302, "TLS_AES_256_GCM_SHA384", "", false}),
    [](const auto& p) { return std::string(p.param.capture); });

// The key log's lines for some client randoms only (by line number among
// the secret lines, in file order), or with one hex digit of every secret
// changed.
std::string keys_text(const std::string& name) { return testing::slurp(tls_dir() + name + ".keys"); }

std::string only_lines(const std::string& text, const std::string& label_prefix, int keep_nth) {
  std::istringstream in(text);
  std::string line, out;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.rfind(label_prefix, 0) == 0 && n++ != keep_nth) continue;
    out += line + "\n";
  }
  return out;
}

std::string flip_secrets(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      char& last = line.back();
      last = last == '0' ? '1' : '0';
    }
    out += line + "\n";
  }
  return out;
}

TEST(TlsSession, HelloRetryRequestIsReported) {
  const TlsKeyLog keys = keys_of("tls13_hrr");
  auto conns = run("tls13_hrr", &keys);
  ASSERT_EQ(conns.size(), 1u);
  EXPECT_TRUE(conns[0].info.hello_retry);
  auto plain = run("tls13_aes256gcm", nullptr);
  EXPECT_FALSE(plain[0].info.hello_retry);
}

TEST(TlsSession, WrongKeyCountsBadTagsAndEmitsNothing) {
  for (const char* name : {"tls13_aes128gcm", "tls12_ecdhe_aes128gcm", "tls12_ecdhe_chacha20",
                           "tls12_ecdhe_aes128cbc_sha", "tls12_rsa_aes256cbc_sha_noetm"}) {
    TlsKeyLog keys;
    ASSERT_GT(keys.add_text(flip_secrets(keys_text(name))), 0u);
    auto conns = run(name, &keys);
    ASSERT_EQ(conns.size(), 1u) << name;
    const TlsCollected& r = conns[0];
    EXPECT_EQ(r.plain[0], "") << name;
    EXPECT_EQ(r.plain[1], "") << name;
    EXPECT_FALSE(r.decrypted) << name;
    EXPECT_EQ(r.why_not, "bad tag") << name;
    EXPECT_GT(r.counts[0].bad_records, 0u) << name;
    EXPECT_GT(r.counts[1].bad_records, 0u) << name;
    EXPECT_EQ(r.counts[0].decrypted_records + r.counts[1].decrypted_records, 0u) << name;
    // What the handshake said in clear is still there.
    EXPECT_EQ(r.info.sni, "tcpscribe.test") << name;
  }
}

TEST(TlsSession, WithoutKeysTheHandshakeIsStillReported) {
  auto conns = run("tls12_ecdhe_aes128gcm", nullptr);
  ASSERT_EQ(conns.size(), 1u);
  const TlsCollected& r = conns[0];
  EXPECT_EQ(r.info.version, 0x0303);
  EXPECT_EQ(r.info.cipher_suite_name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(r.info.sni, "tcpscribe.test");
  EXPECT_EQ(r.info.alpn, "http/1.1");
  EXPECT_EQ(r.info.cert_subject, "O=tcpscribe tests,CN=tcpscribe.test");
  EXPECT_FALSE(r.decrypted);
  EXPECT_EQ(r.why_not, "no key");
  EXPECT_EQ(r.handshakes, 1);
  EXPECT_EQ(r.plain[0] + r.plain[1], "");
  // Finished and the application data of each side, never opened.
  EXPECT_EQ(r.counts[0].undecrypted_records, 3u);
  EXPECT_EQ(r.counts[1].undecrypted_records, 4u);  // and its close_notify
  // TLS 1.3 without keys: ALPN and the certificate are encrypted.
  auto t13 = run("tls13_aes128gcm", nullptr);
  EXPECT_EQ(t13[0].info.cipher_suite_name, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(t13[0].info.alpn, "");
  EXPECT_EQ(t13[0].info.cert_subject, "");
  EXPECT_EQ(t13[0].why_not, "no key");
}

TEST(TlsSession, KeysForOneOfTwoConnections) {
  // Two connections; the key log keeps only the first one's master secret.
  TlsKeyLog keys;
  keys.add_text(only_lines(keys_text("tls12_resume_session_id"), "CLIENT_RANDOM", 0));
  ASSERT_EQ(keys.size(), 1u);
  auto conns = run("tls12_resume_session_id", &keys);
  ASSERT_EQ(conns.size(), 2u);
  EXPECT_EQ(conns[0].plain[0], expected("tls12_resume_session_id", 0, "c2s"));
  EXPECT_EQ(conns[0].plain[1], expected("tls12_resume_session_id", 0, "s2c"));
  EXPECT_EQ(conns[0].why_not, "");
  EXPECT_EQ(conns[1].plain[0] + conns[1].plain[1], "");
  EXPECT_EQ(conns[1].why_not, "no key");
  EXPECT_TRUE(conns[1].info.resumed);
  EXPECT_EQ(conns[1].problems, (std::vector<std::string>{"s2c no key", "c2s no key"}));
}

TEST(TlsSession, Tls12ResumptionDecryptsWithoutItsOwnKeyLine) {
  for (const char* name : {"tls12_resume_session_id", "tls12_resume_ticket"}) {
    TlsKeyLog keys;
    keys.add_text(only_lines(keys_text(name), "CLIENT_RANDOM", 0));
    ASSERT_EQ(keys.size(), 1u) << name;
    TlsResumptionCache cache;
    auto conns = run(name, &keys, 0, &cache);
    ASSERT_EQ(conns.size(), 2u) << name;
    EXPECT_FALSE(conns[0].info.resumed) << name;
    EXPECT_TRUE(conns[1].info.resumed) << name;
    for (int k = 0; k < 2; ++k) {
      EXPECT_EQ(conns[k].plain[0], expected(name, k, "c2s")) << name << k;
      EXPECT_EQ(conns[k].plain[1], expected(name, k, "s2c")) << name << k;
      EXPECT_EQ(conns[k].why_not, "") << name << k;
    }
  }
  // What the first connection left in the cache: its session id, and with
  // tickets on, the ticket the server issued (the second connection
  // offers it, and it is looked up first).
  for (auto [name, entries] : {std::pair{"tls12_resume_session_id", 1u},
                               std::pair{"tls12_resume_ticket", 2u}}) {
    TlsKeyLog keys;
    keys.add_text(only_lines(keys_text(name), "CLIENT_RANDOM", 0));
    TlsResumptionCache cache;
    TlsSessionOptions o;
    o.keylog = &keys;
    o.resumption = &cache;
    TlsCaptureSink sink(o);
    std::string error;
    PacketCore core({}, {&sink});
    ASSERT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
    core.finish();
    EXPECT_EQ(cache.size(), entries) << name;
  }
}

TEST(TlsSession, EarlyDataAcceptedAndRejected) {
  const TlsKeyLog acc_keys = keys_of("tls13_early_accepted");
  auto acc = run("tls13_early_accepted", &acc_keys);
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_EQ(acc[0].info.early_data, TlsHandshakeInfo::EarlyData::kNone);
  EXPECT_EQ(acc[1].info.early_data, TlsHandshakeInfo::EarlyData::kAccepted);
  EXPECT_TRUE(acc[1].info.resumed);
  for (int k = 0; k < 2; ++k) {
    EXPECT_EQ(acc[k].plain[0], expected("tls13_early_accepted", k, "c2s")) << k;
    EXPECT_EQ(acc[k].why_not, "") << k;
  }
  // The 0-RTT request and the line after the handshake are separate records.
  ASSERT_EQ(acc[1].pieces[0].size(), 2u);
  EXPECT_EQ(acc[1].pieces[0][0], "GET /early HTTP/1.0\r\n");

  const TlsKeyLog rej_keys = keys_of("tls13_early_rejected");
  auto rej = run("tls13_early_rejected", &rej_keys);
  ASSERT_EQ(rej.size(), 2u);
  EXPECT_EQ(rej[1].info.early_data, TlsHandshakeInfo::EarlyData::kRejected);
  EXPECT_FALSE(rej[1].info.resumed);
  EXPECT_EQ(rej[1].plain[0], expected("tls13_early_rejected", 1, "c2s"));
  EXPECT_EQ(rej[1].counts[0].early_records_skipped, 1u);
  EXPECT_EQ(rej[1].counts[0].bad_records, 0u);
  EXPECT_EQ(rej[1].why_not, "");
}

TEST(TlsSession, EarlyDataWithoutItsKeyLeavesTheRestDecrypted) {
  // The server took the 0-RTT request, the key log lacks only
  // CLIENT_EARLY_TRAFFIC_SECRET: that request (and the EndOfEarlyData after
  // it) cannot be read, the client's records after them still can.
  const std::string name = "tls13_early_accepted";
  const TlsKeyLog all = keys_of(name);
  auto full = run(name, &all);
  ASSERT_EQ(full.size(), 2u);
  ASSERT_EQ(full[1].pieces[0].size(), 2u);
  TlsKeyLog keys;
  keys.add_text(only_lines(keys_text(name), "CLIENT_EARLY_TRAFFIC_SECRET", -1));
  ASSERT_EQ(keys.size(), all.size());
  auto conns = run(name, &keys);
  ASSERT_EQ(conns.size(), 2u);
  const TlsCollected& r = conns[1];
  EXPECT_EQ(r.info.early_data, TlsHandshakeInfo::EarlyData::kAccepted);
  EXPECT_EQ(r.pieces[0], std::vector<std::string>{full[1].pieces[0][1]});
  EXPECT_EQ(r.plain[1], expected(name, 1, "s2c"));
  EXPECT_EQ(r.counts[0].undecrypted_records, 2u);  // the request and EndOfEarlyData
  EXPECT_EQ(r.counts[0].bad_records, 0u);
  EXPECT_EQ(r.counts[0].early_records_skipped, 0u);
  EXPECT_TRUE(r.decrypted);
  EXPECT_EQ(r.why_not, "no key");
  EXPECT_EQ(r.problems, std::vector<std::string>{
                            "c2s no key: no CLIENT_EARLY_TRAFFIC_SECRET for the 0-RTT data"});
}

TEST(TlsSession, CurlFetchOverManyRecords) {
  const TlsKeyLog keys = keys_of("tls13_curl_www");
  auto conns = run("tls13_curl_www", &keys);
  ASSERT_EQ(conns.size(), 1u);
  const TlsCollected& r = conns[0];
  EXPECT_EQ(r.plain[0], expected("tls13_curl_www", 0, "c2s"));
  EXPECT_EQ(r.plain[1], expected("tls13_curl_www", 0, "s2c"));
  EXPECT_GE(r.pieces[1].size(), 2u);
  EXPECT_EQ(r.info.alpn, "http/1.1");
  EXPECT_EQ(r.info.sni, "tcpscribe.test");
  auto bytewise = run("tls13_curl_www", &keys, 7);
  EXPECT_EQ(bytewise[0].plain[1], r.plain[1]);
}

struct WireRecord {
  uint64_t offset;
  uint8_t type;
  size_t length;
};

/// The records of one direction of a capture's only connection.
std::vector<WireRecord> wire_records(const std::string& name, Dir d) {
  testing::RecordingSink rec;
  std::string error;
  PacketCore core({}, {&rec});
  EXPECT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
  core.finish();
  EXPECT_EQ(rec.conns.size(), 1u);
  const std::string& bytes = rec.conns.begin()->second.dir[index_of(d)].bytes;
  std::vector<WireRecord> out;
  TlsRecordFramer framer([&](const TlsRecord& r) {
    out.push_back({r.offset, r.type, r.fragment.size()});
  });
  framer.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, 0, 0);
  return out;
}

class TlsGap : public ::testing::TestWithParam<const char*> {};

TEST_P(TlsGap, ResyncsAndFindsTheSequenceNumber) {
  const std::string name = GetParam();
  const TlsKeyLog keys = keys_of(name);
  const auto whole = run(name, &keys);
  ASSERT_EQ(whole.at(0).pieces[1].size(), 2u);  // the server's two answers
  const std::vector<std::string>& answers = whole.at(0).pieces[1];
  // The server's last three records: answer 1, answer 2, close_notify.
  const auto recs = wire_records(name, Dir::kServerToClient);
  ASSERT_GE(recs.size(), 3u);
  const WireRecord& first = recs[recs.size() - 3];
  const WireRecord& second = recs[recs.size() - 2];
  ASSERT_EQ(second.offset, first.offset + kTlsHeader + first.length);

  TlsSessionOptions o;
  o.keylog = &keys;
  {  // Exactly the first answer's record missing.
    TlsCaptureSink sink(o);
    sink.drops.push_back({0, Dir::kServerToClient, first.offset, second.offset});
    auto conns = run(name, sink);
    const TlsCollected& r = conns.at(0);
    EXPECT_EQ(r.plain[1], answers[1]);
    EXPECT_EQ(r.plain[0], expected(name, 0, "c2s"));
    EXPECT_EQ(r.counts[1].lost_records, 1u);
    EXPECT_EQ(r.counts[1].gap_bytes, second.offset - first.offset);
    EXPECT_EQ(r.counts[1].bad_records, 0u);
    EXPECT_EQ(r.counts[1].skipped_bytes, 0u);
    EXPECT_EQ(r.why_not, "gap");
    EXPECT_EQ(r.alerts[1].back(), std::make_pair(1, 0));
  }
  {  // From inside answer 1 to inside answer 2's header: both lost, the
     // rest of answer 2 skipped, close_notify found and opened.
    TlsCaptureSink sink(o);
    sink.drops.push_back({0, Dir::kServerToClient, first.offset + 7, second.offset + 3});
    auto conns = run(name, sink);
    const TlsCollected& r = conns.at(0);
    EXPECT_EQ(r.plain[1], "");
    EXPECT_EQ(r.counts[1].lost_records, 2u);
    EXPECT_EQ(r.counts[1].skipped_bytes, 7 + (kTlsHeader + second.length - 3));
    EXPECT_EQ(r.counts[1].bad_records, 0u);
    ASSERT_FALSE(r.alerts[1].empty());
    EXPECT_EQ(r.alerts[1].back(), std::make_pair(1, 0));
  }
}

TEST(TlsSession, PlaintextAfterAGapHasItsRecordsTime) {
  // The server's first answer lost but for its last 3 bytes; the rest fed
  // byte by byte, each byte captured at its own time (1000 + offset): the
  // second answer, found by the resync, carries its first byte's time (its
  // record's header), not that of the leftover bytes before it.
  const std::string name = "tls13_aes128gcm";
  const TlsKeyLog keys = keys_of(name);
  const auto whole = run(name, &keys);
  ASSERT_EQ(whole.at(0).pieces[1].size(), 2u);
  const auto recs = wire_records(name, Dir::kServerToClient);
  ASSERT_GE(recs.size(), 3u);
  const WireRecord& first = recs[recs.size() - 3];
  const WireRecord& second = recs[recs.size() - 2];
  testing::RecordingSink rec;
  std::string error;
  PacketCore core({}, {&rec});
  ASSERT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
  core.finish();
  ASSERT_EQ(rec.conns.size(), 1u);
  const std::string& c2s = rec.conns.begin()->second.dir[0].bytes;
  const std::string& s2c = rec.conns.begin()->second.dir[1].bytes;
  auto bytes = [](const std::string& b, size_t from, size_t n) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.data()) + from, n);
  };
  struct Times : TlsEvents {
    std::vector<std::pair<std::string, Timestamp>> server;
    void tls_plaintext(Dir d, uint64_t, std::span<const uint8_t> b, Timestamp ts) override {
      if (d == Dir::kServerToClient) server.emplace_back(std::string(b.begin(), b.end()), ts);
    }
  } events;
  TlsSessionOptions o;
  o.keylog = &keys;
  TlsSession s(events, o);
  s.data(Dir::kClientToServer, 0, bytes(c2s, 0, c2s.size()), 1);
  s.data(Dir::kServerToClient, 0, bytes(s2c, 0, first.offset), 2);
  const uint64_t resume = second.offset - 3;
  s.gap(Dir::kServerToClient, first.offset, resume - first.offset, 3);
  for (uint64_t i = resume; i < s2c.size(); ++i) {
    s.data(Dir::kServerToClient, i, bytes(s2c, i, 1), static_cast<Timestamp>(1000 + i));
  }
  s.finish();
  ASSERT_EQ(events.server.size(), 1u);
  EXPECT_EQ(events.server[0].first, whole.at(0).pieces[1][1]);
  EXPECT_EQ(events.server[0].second, static_cast<Timestamp>(1000 + second.offset));
  EXPECT_EQ(s.counts(Dir::kServerToClient).lost_records, 1u);
}

INSTANTIATE_TEST_SUITE_P(Captures, TlsGap,
                         ::testing::Values("tls13_aes128gcm", "tls13_chacha20",
                                           "tls12_ecdhe_aes128gcm", "tls12_ecdhe_chacha20",
                                           "tls12_ecdhe_aes128cbc_sha",
                                           "tls12_rsa_aes256cbc_sha_noetm"));

TEST(TlsSession, RecordsWaitForALateKey) {
  for (const char* name : {"tls13_aes128gcm", "tls12_ecdhe_aes128gcm", "tls13_keyupdate"}) {
    TlsKeyLog keys;  // empty for now: a live key log not written yet
    TlsSessionOptions o;
    o.keylog = &keys;
    o.hold_for_keys = true;
    TlsCaptureSink sink(o);
    std::string error;
    PacketCore core(testing::core_config(), {&sink});
    ASSERT_TRUE(testing::feed_capture(tls_dir() + name + ".pcap", core, error)) << error;
    EXPECT_GT(sink.held_bytes(), 0u) << name;
    keys.add_text(keys_text(name));
    sink.retry_all();
    EXPECT_EQ(sink.held_bytes(), 0u) << name;
    core.finish();
    ASSERT_EQ(sink.results.size(), 1u) << name;
    const TlsCollected& r = sink.results.at(0);
    EXPECT_EQ(r.plain[0], expected(name, 0, "c2s")) << name;
    EXPECT_EQ(r.plain[1], expected(name, 0, "s2c")) << name;
    EXPECT_EQ(r.why_not, "") << name;
  }
}

TEST(TlsSession, HeldRecordsAreBoundedAndNeverKeyedOnesCounted) {
  TlsKeyLog keys;
  TlsSessionOptions o;
  o.keylog = &keys;
  o.hold_for_keys = true;
  o.max_held_bytes = 400;
  auto conns = [&] {
    TlsCaptureSink sink(o);
    return run("tls12_ecdhe_aes128gcm", sink);
  }();
  const TlsCollected& r = conns.at(0);
  EXPECT_GT(r.counts[0].held_dropped_records + r.counts[1].held_dropped_records, 0u);
  EXPECT_GT(r.counts[0].undecrypted_records + r.counts[1].undecrypted_records, 0u);
  EXPECT_EQ(r.why_not, "held records overflow");
  EXPECT_EQ(r.plain[0] + r.plain[1], "");
}

// The bound shared by every session of an analyzer: each connection may
// hold 8 MiB, all of them together 64 MiB (here 400 bytes), and what a
// session held is given back when it ends.
TEST(TlsSession, HeldRecordsShareABoundAcrossConnections) {
  TlsKeyLog keys;
  size_t total = 0;
  TlsSessionOptions o;
  o.keylog = &keys;
  o.hold_for_keys = true;
  o.total_held = &total;
  o.max_total_held_bytes = 400;
  EXPECT_EQ(o.max_held_bytes, 8u << 20);
  auto conns = [&] {
    TlsCaptureSink sink(o);
    return run("tls12_ecdhe_aes128gcm", sink);
  }();
  const TlsCollected& r = conns.at(0);
  EXPECT_GT(r.counts[0].held_dropped_records + r.counts[1].held_dropped_records, 0u);
  EXPECT_EQ(r.why_not, "held records overflow");
  EXPECT_EQ(total, 0u);
}

}  // namespace
}  // namespace tcpscribe
