#include "proxy_tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "exit_codes.h"

namespace tcpscribe {
namespace {

namespace fs = std::filesystem;

/// A self-signed certificate for `name` (DNS) and 127.0.0.1, with its key,
/// written as PEM files.
void make_cert(const fs::path& cert, const fs::path& key, const char* name) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name),
                             -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  const std::string san = std::string("DNS:") + name + ",IP:127.0.0.1";
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  ASSERT_NE(ext, nullptr);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  ASSERT_GT(X509_sign(x, pkey, EVP_sha256()), 0);
  FILE* f = std::fopen(cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

class ProxyTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("proxy_tls_test." + std::to_string(::getpid()) + "." +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    make_cert(dir_ / "cert.pem", dir_ / "key.pem", "localhost");
    make_cert(dir_ / "other.pem", dir_ / "other.key", "localhost");
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0);
  }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
    fs::remove_all(dir_);
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  /// The proxy as a TLS server (holding ClientHellos, as with a TLS
  /// upstream, when `hold`).
  ProxyOptions server_opts(bool hold) const {
    ProxyOptions o;
    o.tls_cert = path("cert.pem");
    o.tls_key = path("key.pem");
    o.tls_upstream = hold;
    o.tls_insecure = hold;
    return o;
  }
  ProxyOptions client_opts(const char* ca) const {
    ProxyOptions o;
    o.tls_upstream = true;
    o.tls_ca = path(ca);
    return o;
  }

  /// Runs both handshakes until neither moves; the server's last result.
  TlsIo shake(TlsConn& server, TlsConn& client, TlsIo* client_result = nullptr) {
    TlsIo s = TlsIo::kWantRead, c = TlsIo::kWantRead;
    for (int i = 0; i < 100; ++i) {
      c = client.handshake();
      s = server.handshake();
      if ((s == TlsIo::kOk && c == TlsIo::kOk) || s == TlsIo::kError || c == TlsIo::kError ||
          s == TlsIo::kPaused) {
        break;
      }
    }
    if (client_result) *client_result = c;
    return s;
  }

  /// Reads what `conn` has, until it would wait.
  static std::string drain(TlsConn& conn, TlsIo* last = nullptr) {
    std::string out;
    uint8_t buf[64];
    for (;;) {
      size_t n = 0;
      const TlsIo r = conn.read(buf, sizeof buf, n);
      if (r != TlsIo::kOk) {
        if (last) *last = r;
        return out;
      }
      out.append(reinterpret_cast<char*>(buf), n);
    }
  }

  fs::path dir_;
  int fds_[2] = {-1, -1};
};

TEST_F(ProxyTlsTest, HoldsTheClientHelloPassesSniAndAlpnAndCarriesBytes) {
  ProxyTls server_side, client_side;
  std::string error;
  ProxyOptions so = server_opts(true);
  so.tls_keylog = path("keys.log");
  ASSERT_EQ(server_side.setup(so, error), kExitOk) << error;
  ProxyOptions co = client_opts("cert.pem");
  co.tls_keylog = path("keys.log");
  ASSERT_EQ(client_side.setup(co, error), kExitOk) << error;
  auto server = server_side.accept(fds_[0], error);
  auto client = client_side.connect(fds_[1], "localhost", "localhost", {"h2", "http/1.1"}, error);
  ASSERT_TRUE(server && client) << error;

  // Held at the ClientHello: what the client asked for is known.
  ASSERT_EQ(shake(*server, *client), TlsIo::kPaused);
  EXPECT_TRUE(server->hello_seen());
  EXPECT_FALSE(server->done());
  EXPECT_EQ(server->client_sni(), "localhost");
  EXPECT_EQ(server->client_alpn(), (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(server->handshake(), TlsIo::kPaused);  // still held

  server->release_hello("http/1.1");
  TlsIo c = TlsIo::kError;
  ASSERT_EQ(shake(*server, *client, &c), TlsIo::kOk) << server->error();
  ASSERT_EQ(c, TlsIo::kOk) << client->error();
  EXPECT_EQ(client->alpn(), "http/1.1");
  EXPECT_EQ(server->alpn(), "http/1.1");
  EXPECT_NE(server->summary().find("sni=localhost alpn=http/1.1"), std::string::npos)
      << server->summary();

  size_t n = 0;
  const std::string hello = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(client->write(reinterpret_cast<const uint8_t*>(hello.data()), hello.size(), n),
            TlsIo::kOk);
  EXPECT_EQ(n, hello.size());
  EXPECT_EQ(drain(*server), hello);
  const std::string answer(40000, 'x');  // more than one record
  size_t sent = 0;
  while (sent < answer.size()) {
    ASSERT_EQ(server->write(reinterpret_cast<const uint8_t*>(answer.data()) + sent,
                            answer.size() - sent, n),
              TlsIo::kOk);
    sent += n;
  }
  EXPECT_EQ(drain(*client), answer);

  ASSERT_EQ(client->shutdown(), TlsIo::kOk);
  TlsIo last = TlsIo::kOk;
  EXPECT_EQ(drain(*server, &last), "");
  EXPECT_EQ(last, TlsIo::kEof);

  // Both ends logged their keys: every TLS 1.3 secret twice, equal.
  std::ifstream in(path("keys.log"));
  std::map<std::string, int> count;
  for (std::string line; std::getline(in, line);) ++count[line];
  ASSERT_FALSE(count.empty());
  for (const auto& [line, k] : count) {
    EXPECT_EQ(k, 2) << line;
    EXPECT_TRUE(line.rfind("CLIENT_", 0) == 0 || line.rfind("SERVER_", 0) == 0 ||
                line.rfind("EXPORTER_", 0) == 0)
        << line;
  }
  EXPECT_EQ(server_side.keylog_failures(), 0u);
}

TEST_F(ProxyTlsTest, NoAlpnAnswerWithoutATlsUpstream) {
  ProxyTls server_side, client_side;
  std::string error;
  ASSERT_EQ(server_side.setup(server_opts(false), error), kExitOk) << error;
  ASSERT_EQ(client_side.setup(client_opts("cert.pem"), error), kExitOk) << error;
  auto server = server_side.accept(fds_[0], error);
  auto client = client_side.connect(fds_[1], "127.0.0.1", "127.0.0.1", {"h2"}, error);
  ASSERT_TRUE(server && client) << error;
  TlsIo c = TlsIo::kError;
  ASSERT_EQ(shake(*server, *client, &c), TlsIo::kOk) << server->error();  // never held
  ASSERT_EQ(c, TlsIo::kOk) << client->error();
  EXPECT_EQ(client->alpn(), "");
  EXPECT_EQ(server->client_sni(), "");  // an address gets no SNI
}

TEST_F(ProxyTlsTest, AnUntrustedOrMisnamedUpstreamFails) {
  for (const auto& [ca, name] : {std::pair{"other.pem", "localhost"},
                                 std::pair{"cert.pem", "example.com"}}) {
    ProxyTls server_side, client_side;
    std::string error;
    ASSERT_EQ(server_side.setup(server_opts(false), error), kExitOk) << error;
    ASSERT_EQ(client_side.setup(client_opts(ca), error), kExitOk) << error;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    auto server = server_side.accept(fds[0], error);
    auto client = client_side.connect(fds[1], name, name, {}, error);
    ASSERT_TRUE(server && client) << error;
    TlsIo c = TlsIo::kOk;
    shake(*server, *client, &c);
    EXPECT_EQ(c, TlsIo::kError) << ca << " " << name;
    EXPECT_NE(client->error().find("certificate verify failed"), std::string::npos)
        << client->error();
    // The server's handshake fails too (the client's alert, or its close).
    EXPECT_EQ(server->handshake(), TlsIo::kError);
    EXPECT_FALSE(server->error().empty());
    ::close(fds[0]);
    ::close(fds[1]);
  }
}

TEST_F(ProxyTlsTest, InsecureSkipsTheCheck) {
  ProxyTls server_side, client_side;
  std::string error;
  ASSERT_EQ(server_side.setup(server_opts(false), error), kExitOk) << error;
  ProxyOptions co;
  co.tls_upstream = true;
  co.tls_insecure = true;
  ASSERT_EQ(client_side.setup(co, error), kExitOk) << error;
  auto server = server_side.accept(fds_[0], error);
  auto client = client_side.connect(fds_[1], "example.com", "example.com", {}, error);
  TlsIo c = TlsIo::kError;
  ASSERT_EQ(shake(*server, *client, &c), TlsIo::kOk) << server->error();
  EXPECT_EQ(c, TlsIo::kOk) << client->error();
  EXPECT_EQ(server->client_sni(), "example.com");
}

TEST_F(ProxyTlsTest, FilesThatCannotBeLoaded) {
  std::ofstream(path("junk.pem")) << "not a key\n";
  struct Case {
    std::string cert, key, ca, keylog;
    int rc;
    std::string says;
  };
  const std::vector<Case> cases = {
      {path("missing.pem"), path("key.pem"), "", "", kExitInput, "cannot read --tls-cert"},
      {path("cert.pem"), path("missing.key"), "", "", kExitInput, "cannot read --tls-key"},
      {path("cert.pem"), path("junk.pem"), "", "", kExitInput, "holds no usable PEM private key"},
      {path("junk.pem"), path("key.pem"), "", "", kExitInput, "holds no usable PEM certificate"},
      {path("cert.pem"), path("other.key"), "", "", kExitInput, "is not the key of --tls-cert"},
      {"", "", path("junk.pem"), "", kExitInput, "--tls-ca"},
      {"", "", path("missing.pem"), "", kExitInput, "cannot read --tls-ca"},
      {path("cert.pem"), path("key.pem"), "", path("no/such/dir/keys"), kExitOutput,
       "cannot open the key log"},
  };
  for (const Case& k : cases) {
    ProxyOptions o;
    o.tls_cert = k.cert;
    o.tls_key = k.key;
    o.tls_upstream = !k.ca.empty();
    o.tls_ca = k.ca;
    o.tls_keylog = k.keylog;
    ProxyTls tls;
    std::string error;
    EXPECT_EQ(tls.setup(o, error), k.rc) << k.says;
    EXPECT_NE(error.find(k.says), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// The --tls-* flags (parse_proxy_options): what goes together.
TEST(ProxyTlsOptions, Combinations) {
  auto parse = [](std::vector<std::string> more, ProxyOptions& o, std::string& err) {
    std::vector<std::string> args = {"proxy", "--listen", ":0", "--forward", "h:1"};
    args.insert(args.end(), more.begin(), more.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream e;
    o = ProxyOptions{};
    const int rc = parse_proxy_options(static_cast<int>(argv.size()), argv.data(), o, e);
    err = e.str();
    return rc;
  };
  ProxyOptions o;
  std::string err;
  ASSERT_EQ(parse({"--tls-cert", "c", "--tls-key", "k", "--tls-upstream", "--tls-ca", "ca",
                   "--tls-keylog", "kl"},
                  o, err),
            0)
      << err;
  EXPECT_EQ(o.tls_cert, "c");
  EXPECT_EQ(o.tls_key, "k");
  EXPECT_TRUE(o.tls_upstream);
  EXPECT_EQ(o.tls_ca, "ca");
  EXPECT_EQ(o.tls_keylog, "kl");
  ASSERT_EQ(parse({"--tls-upstream", "--tls-insecure"}, o, err), 0) << err;
  EXPECT_TRUE(o.tls_insecure);
  ASSERT_EQ(parse({}, o, err), 0) << err;
  EXPECT_TRUE(o.tls_cert.empty() && !o.tls_upstream);

  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--tls-cert", "c"}, "tcpscribe proxy: --tls-cert needs --tls-key"},
      {{"--tls-key", "k"}, "tcpscribe proxy: --tls-key needs --tls-cert"},
      {{"--tls-ca", "ca"}, "tcpscribe proxy: --tls-ca goes with --tls-upstream"},
      {{"--tls-insecure"}, "tcpscribe proxy: --tls-insecure goes with --tls-upstream"},
      {{"--tls-upstream", "--tls-ca", "ca", "--tls-insecure"},
       "tcpscribe proxy: --tls-ca and --tls-insecure contradict each other"},
      {{"--tls-keylog", "kl"}, "tcpscribe proxy: --tls-keylog needs a TLS side"},
      {{"--tls-upstream", "--tls-ca", ""}, "tcpscribe proxy: --tls-ca is empty"},
  };
  for (const auto& [args, says] : refused) {
    EXPECT_EQ(parse(args, o, err), 1) << says;
    EXPECT_EQ(err.rfind(says, 0), 0u) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
}

TEST(ProxyTlsNames, IpLiterals) {
  EXPECT_TRUE(is_ip_literal("127.0.0.1"));
  EXPECT_TRUE(is_ip_literal("::1"));
  EXPECT_FALSE(is_ip_literal("localhost"));
  EXPECT_FALSE(is_ip_literal("1.2.3"));
}

}  // namespace
}  // namespace tcpscribe
