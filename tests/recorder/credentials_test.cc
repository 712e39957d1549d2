#include "recorder/credentials.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json.hpp>
#include <memory>

#include "test_util.h"

namespace podtape::kube {
namespace {

using podtape::testing::TempDir;
using podtape::testing::WriteFile;

const char* const kPlugin = PODTAPE_SOURCE_DIR "/tests/recorder/data/exec-plugin.sh";
constexpr const char* kV1 = "client.authentication.k8s.io/v1";
constexpr const char* kV1beta1 = "client.authentication.k8s.io/v1beta1";

// A fresh self-signed certificate (EC P-256) with the given subject, as PEM; the key goes to
// *key_pem when given. Made in the test so no private key is ever committed.
std::string MakeCertificate(const std::vector<std::pair<std::string, std::string>>& subject,
                            std::string* key_pem = nullptr) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(x.get(), name);
  X509_sign(x.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), x.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<size_t>(n));
  if (key_pem != nullptr) {
    std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    n = BIO_get_mem_data(kb.get(), &data);
    key_pem->assign(data, static_cast<size_t>(n));
  }
  return pem;
}

std::string Base64Url(std::string_view bytes) {
  std::string s = EncodeBase64(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& ch : s) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return s;
}

// An unsigned-looking JWT with the given claims (the signature is not checked).
std::string Jwt(const boost::json::object& claims) {
  return Base64Url(R"({"alg":"RS256","kid":"k"})") + "." +
         Base64Url(boost::json::serialize(claims)) + ".c2lnbmF0dXJl";
}

TEST(CredentialBase64, DecodesStrictlyLikeGo) {
  EXPECT_EQ(*DecodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(*DecodeBase64("aGVs\nbG8=\r\n"), "hello");
  EXPECT_EQ(*DecodeBase64("YQ=="), "a");
  EXPECT_EQ(*DecodeBase64(""), "");
  EXPECT_EQ(DecodeBase64("aGVsbG8").status().message(), "illegal base64 data at input byte 7");
  EXPECT_EQ(DecodeBase64("!!!!").status().message(), "illegal base64 data at input byte 0");
  EXPECT_EQ(DecodeBase64("aGV=sbG8").status().message(), "illegal base64 data at input byte 3");
  EXPECT_EQ(DecodeBase64("aGVs bG8=").status().message(), "illegal base64 data at input byte 4");
  EXPECT_EQ(DecodeBase64("a===").status().message(), "illegal base64 data at input byte 1");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*DecodeBase64(EncodeBase64(all)), all);
}

TEST(CredentialBase64, DecodesUrlAlphabetWithoutPadding) {
  EXPECT_EQ(*DecodeBase64Url("aGVsbG8"), "hello");
  EXPECT_EQ(*DecodeBase64Url("-_8"), "\xFB\xFF");
  EXPECT_FALSE(DecodeBase64Url("aGVsbG8=").ok());
  EXPECT_FALSE(DecodeBase64Url("a+b/").ok());
  EXPECT_FALSE(DecodeBase64Url("abcde").ok());
}

TEST(CredentialIdentity, FromCertificateSubject) {
  std::string pem = MakeCertificate({{"O", "dev"}, {"O", "system:masters"}, {"CN", "alice"}});
  Result<CredentialIdentity> id = IdentityFromCertificatePem(pem);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->user, "alice");
  EXPECT_EQ(id->groups, (std::vector<std::string>{"dev", "system:masters"}));
  EXPECT_EQ(id->user_source, "certificate");
  // UTF-8 names survive; a chain uses its first (leaf) certificate.
  std::string chain = MakeCertificate({{"CN", "j\xC3\xBCrgen"}}) + pem;
  id = IdentityFromCertificatePem(chain);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->user, "j\xC3\xBCrgen");
  EXPECT_TRUE(id->groups.empty());
  EXPECT_FALSE(IdentityFromCertificatePem("not a certificate").ok());
}

TEST(CredentialIdentity, FromServiceAccountJwt) {
  boost::json::object bound = {
      {"iss", "https://kubernetes.default.svc"},
      {"sub", "system:serviceaccount:team-a:deployer"},
      {"kubernetes.io",
       {{"namespace", "team-a"}, {"serviceaccount", {{"name", "deployer"}, {"uid", "u-1"}}}}}};
  std::optional<CredentialIdentity> id = IdentityFromJwt(Jwt(bound));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->user, "system:serviceaccount:team-a:deployer");
  EXPECT_EQ(id->groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:team-a"}));
  EXPECT_EQ(id->user_source, "token");

  boost::json::object legacy = {{"iss", "kubernetes/serviceaccount"},
                                {"kubernetes.io/serviceaccount/namespace", "kube-system"},
                                {"kubernetes.io/serviceaccount/service-account.name", "builder"}};
  id = IdentityFromJwt(Jwt(legacy));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->user, "system:serviceaccount:kube-system:builder");
}

TEST(CredentialIdentity, FromOidcStyleJwt) {
  boost::json::object claims = {{"sub", "alice@example.com"}, {"groups", {"dev", "ops", 3}}};
  std::optional<CredentialIdentity> id = IdentityFromJwt(Jwt(claims));
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->user, "alice@example.com");
  EXPECT_EQ(id->groups, (std::vector<std::string>{"dev", "ops"}));
  // Not JWTs, or no usable claim.
  EXPECT_FALSE(IdentityFromJwt("plain-static-token").has_value());
  EXPECT_FALSE(IdentityFromJwt("a.b").has_value());
  EXPECT_FALSE(IdentityFromJwt("a.!!!.c").has_value());
  EXPECT_FALSE(IdentityFromJwt(Jwt({{"iss", "x"}})).has_value());
  EXPECT_FALSE(IdentityFromJwt(Base64Url("{}") + "." + Base64Url("[1]") + ".s").has_value());
}

TEST(CredentialIdentity, FromConnectionPrefersCertificateThenTokenThenKubeconfigName) {
  Connection c;
  c.user_name = "kube-alice";
  c.token = Jwt({{"sub", "token-user"}});
  c.client_cert_pem = MakeCertificate({{"CN", "cert-user"}, {"O", "g"}});
  CredentialIdentity id = IdentityFromConnection(c);
  EXPECT_EQ(id.user, "cert-user");
  EXPECT_EQ(id.user_source, "certificate");
  c.client_cert_pem.clear();
  id = IdentityFromConnection(c);
  EXPECT_EQ(id.user, "token-user");
  EXPECT_EQ(id.user_source, "token");
  c.token = "opaque-token-abc";
  id = IdentityFromConnection(c);
  EXPECT_EQ(id.user, "kube-alice");
  EXPECT_EQ(id.user_source, "kubeconfig");
  EXPECT_TRUE(id.groups.empty());
  c.user_name.clear();
  id = IdentityFromConnection(c);
  EXPECT_EQ(id.user, "");
  EXPECT_EQ(id.user_source, "none");
}

class CredentialExecTest : public ::testing::Test {
 protected:
  CredentialExecTest() {
    env_.vars["PATH"] = "/usr/bin:/bin";
    env_.vars["HOME"] = dir_.path();
    // A fixed clock: 2026-01-01T00:00:00Z.
    env_.now = [] {
      return std::chrono::sys_days(std::chrono::year(2026) / 1 / 1) + std::chrono::seconds(0);
    };
  }

  ExecPluginConfig Config(std::string api_version, std::vector<std::string> args) {
    ExecPluginConfig config;
    config.user_name = "alice";
    config.api_version = std::move(api_version);
    config.command = kPlugin;
    config.args = std::move(args);
    config.interactive_mode = "Never";
    return config;
  }

  // A plugin answer read from a file the test writes.
  ExecPluginConfig FileConfig(const std::string& json, int exit_code = 0) {
    WriteFile(dir_.File("answer.json"), json);
    return Config(kV1, {"file", dir_.File("answer.json"), std::to_string(exit_code)});
  }

  std::string Error(const ExecPluginConfig& config) {
    Result<ExecCredential> r = RunExecPlugin(config, nullptr, env_);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  }

  TempDir dir_;
  Environment env_;
};

TEST_F(CredentialExecTest, TokenFromV1AndV1beta1) {
  for (const char* version : {kV1, kV1beta1}) {
    Result<ExecCredential> r = RunExecPlugin(
        Config(version, {"token", version, "tok-123", "2026-01-01T00:00:01Z"}), nullptr, env_);
    ASSERT_TRUE(r.ok()) << version << ": " << r.status().message();
    EXPECT_EQ(r->token, "tok-123");
    ASSERT_TRUE(r->expiration.has_value());
    EXPECT_EQ(*r->expiration, env_.Now() + std::chrono::seconds(1));
    EXPECT_TRUE(r->client_cert_pem.empty());
  }
}

TEST_F(CredentialExecTest, ClientCertificateFromPlugin) {
  std::string key;
  std::string cert = MakeCertificate({{"CN", "plugin-user"}}, &key);
  boost::json::object answer = {
      {"kind", "ExecCredential"},
      {"apiVersion", kV1},
      {"status",
       {{"clientCertificateData", cert},
        {"clientKeyData", key},
        {"expirationTimestamp", "2026-01-01T01:00:00+01:00"}}}};  // == 00:00Z: expired
  EXPECT_EQ(Error(FileConfig(boost::json::serialize(answer))),
            "exec plugin exec-plugin.sh returned an expired credential (expirationTimestamp "
            "2026-01-01T01:00:00+01:00); check the plugin's login");
  answer["status"].as_object()["expirationTimestamp"] = "2026-01-01T00:30:00.5-01:00";
  Result<ExecCredential> r =
      RunExecPlugin(FileConfig(boost::json::serialize(answer)), nullptr, env_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->client_cert_pem, cert);
  EXPECT_EQ(r->client_key_pem, key);
  EXPECT_EQ(r->token, "");
  EXPECT_EQ(*r->expiration, env_.Now() + std::chrono::minutes(90) + std::chrono::milliseconds(500));
}

TEST_F(CredentialExecTest, ExpiredTokenIsAnErrorNamingThePlugin) {
  EXPECT_EQ(Error(Config(kV1beta1, {"token", kV1beta1, "old", "2020-05-01T10:00:00Z"})),
            "exec plugin exec-plugin.sh returned an expired credential (expirationTimestamp "
            "2020-05-01T10:00:00Z); check the plugin's login");
  EXPECT_EQ(Error(Config(kV1beta1, {"token", kV1beta1, "old", "yesterday"})),
            "exec plugin exec-plugin.sh returned an invalid expirationTimestamp \"yesterday\"");
}

TEST_F(CredentialExecTest, PassesExecInfoAndEnvironment) {
  ExecPluginConfig config = Config(kV1beta1, {"token", kV1beta1, "t"});
  config.interactive_mode = "";  // v1beta1 defaults to IfAvailable
  config.env = {{"PLUGIN_INFO_OUT", dir_.File("info")},
                {"PLUGIN_ENV_OUT", dir_.File("env")},
                {"PLUGIN_TEST_VAR", "set-by-config"}};
  env_.vars["PLUGIN_TEST_VAR"] = "from-process";
  ExecClusterInfo cluster{"https://10.0.0.1:6443", "kube.internal", false, "PEM"};
  Result<ExecCredential> r = RunExecPlugin(config, &cluster, env_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(podtape::testing::ReadFile(dir_.File("env")), "set-by-config");
  EXPECT_EQ(
      podtape::testing::ReadFile(dir_.File("info")),
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",)"
      R"("spec":{"cluster":{"server":"https://10.0.0.1:6443","tls-server-name":"kube.internal",)"
      R"("certificate-authority-data":"UEVN","config":null},"interactive":false}})");
}

TEST_F(CredentialExecTest, ConfigurationErrors) {
  ExecPluginConfig config = Config(kV1, {"token", kV1, "t"});
  config.interactive_mode = "";
  EXPECT_EQ(Error(config),
            "interactiveMode must be specified for alice to use exec authentication plugin");
  config.interactive_mode = "Always";
  EXPECT_EQ(Error(config),
            "exec plugin cannot support interactive mode: standard input is not a terminal");
  config.interactive_mode = "Sometimes";
  EXPECT_EQ(Error(config), "invalid interactiveMode for alice: \"Sometimes\"");
  config = Config("client.authentication.k8s.io/v1alpha1", {});
  EXPECT_NE(Error(config).find("exec plugin: invalid apiVersion"), std::string::npos);
  config = Config(kV1, {});
  config.command = "podtape-no-such-plugin";
  config.install_hint = "install it with:\n  brew install it";
  EXPECT_EQ(Error(config),
            "exec plugin: executable podtape-no-such-plugin not found; install it with:   brew "
            "install it");
}

TEST_F(CredentialExecTest, BadAnswers) {
  EXPECT_EQ(Error(FileConfig("{}", 3)),
            std::string("exec: executable ") + kPlugin + " failed with exit code 3");
  EXPECT_NE(Error(FileConfig("not json")).find("exec plugin exec-plugin.sh: decoding stdout"),
            std::string::npos);
  EXPECT_EQ(
      Error(FileConfig(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"x"}})")),
      "exec plugin is configured to use API version client.authentication.k8s.io/v1, plugin "
      "returned version client.authentication.k8s.io/v1beta1");
  EXPECT_EQ(Error(FileConfig(
                R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})")),
            "exec plugin exec-plugin.sh didn't return a status field");
  EXPECT_EQ(
      Error(FileConfig(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})")),
      "exec plugin exec-plugin.sh didn't return a token or cert/key pair");
  EXPECT_EQ(
      Error(FileConfig(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"x"}})")),
      "exec plugin exec-plugin.sh returned only certificate or key, not both");
  EXPECT_EQ(
      Error(FileConfig(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":5}})")),
      "exec plugin exec-plugin.sh returned a non-string token");
}

#ifdef PODTAPE_SIM_BINARY
// The kubeconfigs podtape-sim writes for alice (a token, and a client certificate with subject
// O=dev, CN=alice) load, and give the identity a session records when the API server allows
// no SelfSubjectReview.
TEST(CredentialIdentitySim, AliceOverCertificateAndToken) {
  TempDir dir;
  {
    podtape::testing::Server sim;
    const std::string url =
        sim.Start({PODTAPE_SIM_BINARY, "--config", PODTAPE_SOURCE_DIR "/samples/cluster.yaml",
                   "--listen", "127.0.0.1:0", "--tls-dir", dir.File("tls")});
    ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << sim.error();
  }
  Environment env;
  env.vars["HOME"] = dir.path();
  KubeFlags flags;
  flags.kubeconfig = dir.File("tls/kubeconfig-alice-cert");
  Result<Connection> c = LoadConnection(flags, env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->is_tls);
  EXPECT_TRUE(c->host_is_ip);
  EXPECT_EQ(c->ca_pem, podtape::testing::ReadFile(dir.File("tls/ca.crt")));
  EXPECT_TRUE(c->token.empty());
  CredentialIdentity id = IdentityFromConnection(*c);
  EXPECT_EQ(id.user, "alice");
  EXPECT_EQ(id.groups, std::vector<std::string>{"dev"});
  EXPECT_EQ(id.user_source, "certificate");

  flags.kubeconfig = dir.File("tls/kubeconfig-alice");
  c = LoadConnection(flags, env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "alice-token");
  id = IdentityFromConnection(*c);
  // An opaque token says nothing about its user: only the kubeconfig user name is known.
  EXPECT_EQ(id.user, "alice");
  EXPECT_TRUE(id.groups.empty());
  EXPECT_EQ(id.user_source, "kubeconfig");
}
#endif

}  // namespace
}  // namespace podtape::kube
