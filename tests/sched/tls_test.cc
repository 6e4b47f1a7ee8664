// ogai-sched over TLS, against a real daemon and self-signed certificates made here with OpenSSL:
//   * the dashboard (`--http ... --http-cert CERT --http-key KEY`, cpp-httplib's SSLServer): a
//     client that trusts the certificate gets the API's answers; a plain-HTTP client gets none;
//     a client that trusts another certificate refuses the server; the banner says https://;
//   * the gRPC API (`--listen HOST:PORT --listen-cert CERT --listen-key KEY`): the CLI with
//     `--ca CERT` is answered; without it, or trusting another certificate, it says what to do;
//   * bad TLS flags are one line each and start nothing.
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/sched/sched_util.h"
#include "tests/util/child.h"

namespace ogai::sched_testing {
namespace {

constexpr const char* kTenants = "tenants:\n  alice: {quota: 2, token: tok-alice}\n";

// A self-signed certificate for 127.0.0.1 (subjectAltName IP) with a P-256 key, as PEM files.
void MakeCertificate(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  ASSERT_NE(x, nullptr);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  ASSERT_NE(san, nullptr);
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  FILE* k = std::fopen(key_path.c_str(), "w");
  ASSERT_TRUE(c && k);
  EXPECT_EQ(PEM_write_X509(c, x), 1);
  EXPECT_EQ(PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(c);
  std::fclose(k);
  X509_free(x);
  EVP_PKEY_free(key);
}

// The server's certificate and key, and another certificate, in a folder of the test.
struct Certificates {
  explicit Certificates(const std::string& tag) : dir(tag) {
    MakeCertificate(cert, key);
    MakeCertificate(other, other_key);
  }
  ogai::testing::TempDir dir;
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  const std::string other = dir / "other.pem", other_key = dir / "other-key.pem";
};

TEST(SchedHttps, ServesTheApiOnlyOverTlsWithItsCertificate) {
  const Certificates certs("sched_https_keys");
  const std::string &cert = certs.cert, &other = certs.other;
  Daemon d("https", "localhost slots=2\n", kTenants, {},
           {"--http", "127.0.0.1:0", "--http-cert", cert, "--http-key", certs.key});
  d.Start();
  EXPECT_NE(d.daemon_log().find("ogai-sched: dashboard at https://127.0.0.1:"), std::string::npos) << d.daemon_log();
  const int port = std::atoi(ogai::testing::ReadText(d.state() + "/http.port").c_str());
  ASSERT_GT(port, 0);
  const httplib::Headers auth = {{"Authorization", "Bearer tok-alice"}};

  httplib::SSLClient trusting("127.0.0.1", port);
  trusting.set_ca_cert_path(cert.c_str());
  trusting.enable_server_certificate_verification(true);
  trusting.set_connection_timeout(5, 0);
  auto r = trusting.Get("/api/whoami", auth);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body, nullptr, false).value("tenant", ""), "alice") << r->body;
  r = trusting.Get("/api/whoami");  // TLS does not replace the token
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = trusting.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("<html"), std::string::npos);

  httplib::Client plain("127.0.0.1", port);
  plain.set_connection_timeout(5, 0);
  plain.set_read_timeout(5, 0);
  auto p = plain.Get("/api/whoami", auth);
  EXPECT_TRUE(!p || p->status != 200) << "plain HTTP was answered on the HTTPS port";

  httplib::SSLClient wary("127.0.0.1", port);
  wary.set_ca_cert_path(other.c_str());
  wary.enable_server_certificate_verification(true);
  wary.set_connection_timeout(5, 0);
  auto w = wary.Get("/api/whoami", auth);
  EXPECT_FALSE(w) << "a client trusting another certificate accepted the server";
  if (!w) {
    EXPECT_EQ(w.error(), httplib::Error::SSLServerVerification) << httplib::to_string(w.error());
  }
}

TEST(SchedTls, TheCliTalksTlsToTheGrpcApiWithItsCa) {
  const Certificates certs("sched_tls_keys");
  const std::string &cert = certs.cert, &key = certs.key, &other = certs.other;
  Daemon d("grpc_tls", "localhost slots=2\n", kTenants, {},
           {"--listen", "127.0.0.1:0", "--listen-cert", cert, "--listen-key", key});
  d.Start();
  // "ogai-sched: listening on 127.0.0.1:PORT (TLS) (state ...)"
  const std::string log = d.daemon_log();
  const std::string head = "listening on 127.0.0.1:";
  const size_t at = log.find(head);
  ASSERT_NE(at, std::string::npos) << log;
  const std::string port = log.substr(at + head.size(), log.find(' ', at + head.size()) - at - head.size());
  ASSERT_GT(std::atoi(port.c_str()), 0) << log;
  EXPECT_NE(log.find("(TLS)"), std::string::npos) << log;
  auto ogai = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {launch::testing::BinDir() + "/ogai", "--sched", "127.0.0.1:" + port, "--token",
                                     "tok-alice"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("quota");
    return ogai::testing::RunChild(argv, 60, {"OGAI_SCHED_CA="});
  };
  auto r = ogai({"--ca", cert});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("alice"), std::string::npos) << r.output;
  r = ogai({});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("give its CA with --ca"), std::string::npos) << r.output;
  r = ogai({"--ca", other});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("vouches for"), std::string::npos) << r.output;
  r = ogai({"--ca", key});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a PEM certificate"), std::string::npos) << r.output;
}

TEST(SchedHttps, BadTlsFlagsAreOneLine) {
  ogai::testing::TempDir dir("sched_https_flags");
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  MakeCertificate(cert, key);
  ogai::testing::WriteFile(dir / "tenants.yaml", kTenants);
  ogai::testing::WriteFile(dir / "pool", "localhost slots=2\n");
  auto run = [&](std::vector<std::string> flags) {
    std::vector<std::string> argv = {launch::testing::BinDir() + "/ogai-sched",
                                     "--state",
                                     dir / "state",
                                     "--pool",
                                     dir / "pool",
                                     "--tenants",
                                     dir / "tenants.yaml"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return ogai::testing::RunChild(argv, 30);
  };
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  } cases[] = {
      {{"--listen-cert", cert, "--listen-key", key}, "are for --listen HOST:PORT"},
      {{"--listen", "127.0.0.1:0", "--listen-cert", cert}, "--listen-cert without the other"},
      {{"--listen", "127.0.0.1:0", "--listen-cert", dir / "missing.pem", "--listen-key", key},
       "--listen-cert " + (dir / "missing.pem") + ": cannot read it"},
      {{"--listen", "127.0.0.1:0", "--listen-cert", key, "--listen-key", key}, "not a PEM certificate"},
      {{"--http", "127.0.0.1:0", "--http-cert", cert}, "--http-cert without the other"},
      {{"--http", "127.0.0.1:0", "--http-key", key}, "--http-key without the other"},
      {{"--http-cert", cert, "--http-key", key}, "add --http HOST:PORT"},
      {{"--http", "127.0.0.1:0", "--http-cert", dir / "missing.pem", "--http-key", key},
       "--http-cert " + (dir / "missing.pem") + ": cannot read it"},
      {{"--http", "127.0.0.1:0", "--http-cert", key, "--http-key", key}, "OpenSSL cannot serve with them"},
  };
  for (const auto& c : cases) {
    auto r = run(c.flags);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(c.says), std::string::npos) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "state/http.port"));
}

}  // namespace
}  // namespace ogai::sched_testing
