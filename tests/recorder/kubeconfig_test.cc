#include "recorder/kubeconfig.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>

#include "recorder/credentials.h"
#include "test_util.h"

namespace podtape::kube {
namespace {

using podtape::testing::TempDir;
using podtape::testing::WriteFile;

const char* const kPlugin = PODTAPE_SOURCE_DIR "/tests/recorder/data/exec-plugin.sh";

class KubeconfigTest : public ::testing::Test {
 protected:
  KubeconfigTest() {
    env_.vars["HOME"] = dir_.File("home");
    env_.vars["PATH"] = "/usr/bin:/bin";
    env_.service_account_dir = dir_.File("no-service-account");
    std::filesystem::create_directories(dir_.File("home"));
  }

  // Writes `yaml` to dir/name (creating folders) and returns the path.
  std::string Write(const std::string& name, const std::string& yaml) {
    std::string path = dir_.File(name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    WriteFile(path, yaml);
    return path;
  }

  Result<Connection> Load(const std::string& kubeconfig) {
    flags_.kubeconfig = kubeconfig;
    return LoadConnection(flags_, env_);
  }

  // The message of a load that must fail.
  std::string LoadError(const std::string& kubeconfig) {
    Result<Connection> c = Load(kubeconfig);
    EXPECT_FALSE(c.ok()) << "loaded: " << c->DebugString();
    return c.ok() ? std::string() : c.status().message();
  }

  TempDir dir_;
  Environment env_;
  KubeFlags flags_;
};

constexpr const char* kBasic = R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://api.example.com:6443/
    certificate-authority-data: Q0EtUEVN
- name: plain
  cluster:
    server: http://127.0.0.1:8001
contexts:
- name: prod-alice
  context:
    cluster: prod
    user: alice
    namespace: team-a
- name: plain-alice
  context:
    cluster: plain
    user: alice
- name: prod-bob
  context:
    cluster: prod
    user: bob
users:
- name: alice
  user:
    token: alice-token
- name: bob
  user:
    client-certificate-data: Qk9CLUNFUlQ=
    client-key-data: Qk9CLUtFWQ==
current-context: prod-alice
)";

TEST_F(KubeconfigTest, LoadsCurrentContext) {
  Result<Connection> c = Load(Write("config", kBasic));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://api.example.com:6443");
  EXPECT_TRUE(c->is_tls);
  EXPECT_EQ(c->host, "api.example.com");
  EXPECT_FALSE(c->host_is_ip);
  EXPECT_EQ(c->port, 6443);
  EXPECT_EQ(c->host_header, "api.example.com:6443");
  EXPECT_EQ(c->path_prefix, "");
  EXPECT_EQ(c->context_name, "prod-alice");
  EXPECT_EQ(c->cluster_name, "prod");
  EXPECT_EQ(c->user_name, "alice");
  EXPECT_EQ(c->namespace_, "team-a");
  EXPECT_EQ(c->ca_pem, "CA-PEM");
  EXPECT_EQ(c->token, "alice-token");
  EXPECT_EQ(c->credential_source, "token");
  EXPECT_FALSE(c->server_defaulted);
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->request_timeout.count(), 0);
}

TEST_F(KubeconfigTest, ContextFlagAndClientCertificateData) {
  flags_.context = "prod-bob";
  Result<Connection> c = Load(Write("config", kBasic));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->user_name, "bob");
  EXPECT_EQ(c->namespace_, "default");
  EXPECT_EQ(c->client_cert_pem, "BOB-CERT");
  EXPECT_EQ(c->client_key_pem, "BOB-KEY");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->credential_source, "client certificate");
}

TEST_F(KubeconfigTest, PlainHttpDropsEveryUserCredential) {
  const std::string marker = dir_.File("plugin-ran");
  // A user with a token, a certificate and an exec plugin that would leave a marker file.
  std::string yaml = R"(apiVersion: v1
clusters:
- name: plain
  cluster: {server: "http://127.0.0.1:8001"}
contexts:
- name: c
  context: {cluster: plain, user: u, namespace: ns1}
users:
- name: u
  user:
    token: secret
    client-certificate-data: Qk9CLUNFUlQ=
    client-key-data: Qk9CLUtFWQ==
    as: carol
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: )" + std::string(kPlugin) +
                     R"(
      args: [token, client.authentication.k8s.io/v1beta1, from-plugin]
      env: [{name: PLUGIN_INFO_OUT, value: )" +
                     marker + R"(}]
current-context: c
)";
  flags_.as_groups = {"g1"};
  Result<Connection> c = Load(Write("http.yaml", yaml));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->is_tls);
  EXPECT_EQ(c->port, 8001);
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->client_cert_pem, "");
  EXPECT_EQ(c->client_key_pem, "");
  EXPECT_EQ(c->credential_source, "");
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the exec plugin ran over http";
  // Impersonation is not a credential: kubectl keeps it over http.
  EXPECT_EQ(c->as_user, "carol");
  EXPECT_EQ(c->as_groups, std::vector<std::string>{"g1"});
  // --token is dropped too.
  flags_.token = "flag-token";
  c = Load(dir_.File("http.yaml"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeconfigTest, ServerWithoutSchemeIsPlainHttp) {
  flags_.server = "10.0.0.1:6443";
  flags_.token = "t";
  Result<Connection> c = Load(Write("config", kBasic));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://10.0.0.1:6443");
  EXPECT_TRUE(c->host_is_ip);
  EXPECT_EQ(c->token, "");
}

TEST_F(KubeconfigTest, MissingNamesGiveKubectlMessages) {
  std::string path = Write("config", kBasic);
  flags_.context = "nope";
  EXPECT_EQ(LoadError(path), "context was not found for specified context: nope");
  flags_.context.clear();
  flags_.cluster = "nope";
  EXPECT_EQ(LoadError(path), "no server found for cluster \"nope\"");
  flags_.server = "https://127.0.0.1:1";  // -s does not rescue an unknown --cluster
  EXPECT_EQ(LoadError(path), "no server found for cluster \"nope\"");
  flags_.cluster.clear();
  flags_.server.clear();
  flags_.user = "nope";
  EXPECT_EQ(LoadError(path), "auth info \"nope\" does not exist");
  std::string current_missing = Write("cur.yaml", "current-context: gone\n");
  flags_.user.clear();
  EXPECT_EQ(LoadError(current_missing), "context was not found for specified context: gone");
}

TEST_F(KubeconfigTest, KubeconfigFlagMustExist) {
  std::string path = dir_.File("missing.yaml");
  EXPECT_EQ(LoadError(path), "stat " + path + ": no such file or directory");
}

TEST_F(KubeconfigTest, NoConfigurationFallsBackToLocalhost8080) {
  // No --kubeconfig, no KUBECONFIG, no ~/.kube/config: kubectl's default server.
  Result<Connection> c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->server_defaulted);
  EXPECT_EQ(c->server, "http://localhost:8080");
  EXPECT_EQ(c->namespace_, "default");
  EXPECT_EQ(c->context_name, "");
  env_.vars["KUBERNETES_MASTER"] = "http://127.0.0.1:9";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://127.0.0.1:9");
  // A context whose cluster does not exist also falls back, as kubectl does.
  c = Load(Write("c.yaml",
                 "contexts:\n- name: x\n  context: {cluster: zz, user: zz}\n"
                 "current-context: x\n"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->server_defaulted);
  EXPECT_EQ(c->cluster_name, "zz");
}

TEST_F(KubeconfigTest, HomeKubeConfigIsTheDefault) {
  Write("home/.kube/config", kBasic);
  Result<Connection> c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->context_name, "prod-alice");
  // An empty KUBECONFIG counts as unset.
  env_.vars["KUBECONFIG"] = "";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->context_name, "prod-alice");
}

TEST_F(KubeconfigTest, KubeconfigListMergesFirstWins) {
  std::string first = Write("a/one.yaml", R"(clusters:
- name: shared
  cluster: {server: "https://first:1", certificate-authority: ca.pem}
users:
- name: alice
  user: {tokenFile: token.txt}
contexts:
- name: ctx
  context: {cluster: shared, user: alice, namespace: from-first}
)");
  Write("a/ca.pem", "CA FROM A");
  Write("a/token.txt", "  first-token\n");
  std::string second = Write("b/two.yaml", R"(clusters:
- name: shared
  cluster: {server: "https://second:2"}
- name: only-second
  cluster: {server: "https://only-second:3", certificate-authority: ca.pem}
users:
- name: alice
  user: {token: second-token}
contexts:
- name: ctx
  context: {cluster: only-second, user: alice}
- name: ctx2
  context: {cluster: only-second, user: alice}
current-context: ctx
)");
  Write("b/ca.pem", "CA FROM B");
  std::string third = Write("c/three.yaml", "current-context: ctx2\n");
  env_.vars["KUBECONFIG"] = first + "::" + dir_.File("missing.yaml") + ":" + second + ":" + third;
  Result<Connection> c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  // current-context from the first file that sets it (the second), "ctx" from the first file.
  EXPECT_EQ(c->context_name, "ctx");
  EXPECT_EQ(c->cluster_name, "shared");
  EXPECT_EQ(c->server, "https://first:1");
  EXPECT_EQ(c->namespace_, "from-first");
  // Relative paths resolve against the folder of the file that holds them.
  EXPECT_EQ(c->ca_pem, "CA FROM A");
  EXPECT_EQ(c->token, "first-token");
  EXPECT_EQ(c->credential_source, "token file " + dir_.File("a/token.txt"));
  // An entry only the second file has.
  flags_.context = "ctx2";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://only-second:3");
  EXPECT_EQ(c->ca_pem, "CA FROM B");
  EXPECT_EQ(c->token, "first-token");  // user "alice" still comes from the first file
  // --kubeconfig replaces the list entirely.
  flags_.context.clear();
  c = Load(second);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://only-second:3");
  EXPECT_EQ(c->token, "second-token");
}

TEST_F(KubeconfigTest, FlagsOverrideTheKubeconfig) {
  Write("flags/ca.pem", "FLAG CA");
  Write("flags/cert.pem", "FLAG CERT");
  Write("flags/key.pem", "FLAG KEY");
  Write("cert.pem", "KUBECONFIG CERT");
  Write("key.pem", "KUBECONFIG KEY");
  std::string path = Write("config", R"(clusters:
- name: c
  cluster:
    server: https://kube:6443
    tls-server-name: kube.internal
    certificate-authority-data: S1VCRUNPTkZJRyBDQQ==
users:
- name: u
  user:
    token: kubeconfig-token
    client-certificate: cert.pem
    client-key: key.pem
    as: carol
    as-groups: [g1, g2]
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ns-x}
current-context: x
)");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->tls_server_name, "kube.internal");
  EXPECT_EQ(c->ca_pem, "KUBECONFIG CA");
  EXPECT_EQ(c->client_cert_pem, "KUBECONFIG CERT");
  EXPECT_EQ(c->token, "kubeconfig-token");
  EXPECT_EQ(c->as_user, "carol");
  EXPECT_EQ(c->as_groups, (std::vector<std::string>{"g1", "g2"}));

  flags_.server = "https://10.1.2.3:443/prefix/";
  flags_.certificate_authority = dir_.File("flags/ca.pem");
  flags_.client_certificate = dir_.File("flags/cert.pem");
  flags_.client_key = dir_.File("flags/key.pem");
  flags_.token = "flag-token";
  flags_.namespace_ = "ns-flag";
  flags_.as_user = "dave";
  flags_.request_timeout = "1m30s";
  c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.1.2.3:443/prefix");
  EXPECT_EQ(c->path_prefix, "/prefix");
  EXPECT_EQ(c->port, 443);
  EXPECT_TRUE(c->host_is_ip);
  EXPECT_EQ(c->tls_server_name, "");  // -s clears the kubeconfig's tls-server-name
  EXPECT_EQ(c->ca_pem, "FLAG CA");
  EXPECT_EQ(c->client_cert_pem, "FLAG CERT");
  EXPECT_EQ(c->client_key_pem, "FLAG KEY");
  EXPECT_EQ(c->token, "flag-token");
  EXPECT_EQ(c->namespace_, "ns-flag");
  EXPECT_EQ(c->as_user, "dave");
  EXPECT_EQ(c->as_groups, (std::vector<std::string>{"g1", "g2"}));  // no --as-group given
  EXPECT_EQ(c->request_timeout.count(), 90000);

  flags_.tls_server_name = "flag.internal";
  c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->tls_server_name, "flag.internal");
}

// kubectl v1.32 refuses a file and inline data for the same thing, even when the file comes
// from a flag (--client-certificate does not replace client-certificate-data).
TEST_F(KubeconfigTest, FileAndDataForTheSameFieldAreRefused) {
  Write("ca.pem", "CA");
  Write("cert.pem", "CERT");
  std::string path = Write("config", R"(clusters:
- name: both
  cluster: {server: "https://kube:6443", certificate-authority: ca.pem,
            certificate-authority-data: Q0E=}
- name: ok
  cluster: {server: "https://kube:6443"}
users:
- name: u
  user: {client-certificate-data: Qk9CLUNFUlQ=, client-key-data: Qk9CLUtFWQ==}
contexts:
- name: both
  context: {cluster: both}
- name: user
  context: {cluster: ok, user: u}
current-context: both
)");
  EXPECT_EQ(LoadError(path),
            "certificate-authority-data and certificate-authority are both specified for both. "
            "certificate-authority-data will override.");
  // A --certificate-authority replaces both.
  flags_.certificate_authority = dir_.File("ca.pem");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, "CA");
  flags_ = {};
  flags_.context = "user";
  flags_.client_certificate = dir_.File("cert.pem");
  EXPECT_EQ(LoadError(path),
            "client-cert-data and client-cert are both specified for u. client-cert-data will "
            "override.");
  flags_.client_certificate.clear();
  flags_.client_key = dir_.File("cert.pem");
  EXPECT_EQ(LoadError(path),
            "client-key-data and client-key are both specified for u; client-key-data will "
            "override");
}

TEST_F(KubeconfigTest, InsecureAndCertificateAuthorityRules) {
  std::string with_ca = Write("ca.yaml", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority-data: Q0E=}
contexts:
- name: x
  context: {cluster: c}
current-context: x
)");
  // --insecure-skip-tls-verify clears the kubeconfig's CA.
  flags_.insecure_skip_tls_verify = true;
  Result<Connection> c = Load(with_ca);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->ca_pem, "");
  // ... but not a CA given on the command line too.
  Write("ca.pem", "x");
  flags_.certificate_authority = dir_.File("ca.pem");
  EXPECT_EQ(LoadError(with_ca),
            "specifying a root certificates file with the insecure flag is not allowed");
  // Both in the kubeconfig.
  flags_ = {};
  std::string both = Write("both.yaml", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority-data: Q0E=,
            insecure-skip-tls-verify: true}
contexts:
- name: x
  context: {cluster: c}
current-context: x
)");
  EXPECT_EQ(LoadError(both),
            "specifying a root certificates file with the insecure flag is not allowed");
  // A --certificate-authority turns the kubeconfig's insecure flag off.
  flags_.certificate_authority = dir_.File("ca.pem");
  c = Load(both);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->insecure_skip_tls_verify);
  EXPECT_EQ(c->ca_pem, "x");
}

TEST_F(KubeconfigTest, RelativePathsResolveAgainstTheKubeconfigFolder) {
  Write("cfg/pki/ca.crt", "RELATIVE CA");
  Write("cfg/pki/user.crt", "RELATIVE CERT");
  Write("cfg/pki/user.key", "RELATIVE KEY");
  std::string path = Write("cfg/config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {client-certificate: pki/user.crt, client-key: ./pki/user.key}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_pem, "RELATIVE CA");
  EXPECT_EQ(c->client_cert_pem, "RELATIVE CERT");
  EXPECT_EQ(c->client_key_pem, "RELATIVE KEY");
}

TEST_F(KubeconfigTest, UnreadableFilesGiveKubectlMessages) {
  std::string path = Write("config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority: nofile.pem}
- name: ok
  cluster: {server: "https://kube:6443"}
users:
- name: tf
  user: {tokenFile: notoken}
- name: half
  user: {client-certificate: cert.pem}
- name: halfkey
  user: {client-key-data: S0VZ}
- name: nocert
  user: {client-certificate: nocert.pem, client-key: nokey.pem}
contexts:
- name: x
  context: {cluster: c}
- name: tf
  context: {cluster: ok, user: tf}
- name: half
  context: {cluster: ok, user: half}
- name: halfkey
  context: {cluster: ok, user: halfkey}
- name: nocert
  context: {cluster: ok, user: nocert}
current-context: x
)");
  const std::string d = dir_.path();
  EXPECT_EQ(LoadError(path), "unable to read certificate-authority " + d +
                                 "/nofile.pem for c due to open " + d +
                                 "/nofile.pem: no such file or directory");
  flags_.context = "tf";
  EXPECT_EQ(LoadError(path), "open " + d + "/notoken: no such file or directory");
  std::filesystem::create_directories(d + "/notoken");
  EXPECT_EQ(LoadError(path), "read " + d + "/notoken: is a directory");
  flags_.context = "half";
  EXPECT_EQ(LoadError(path),
            "client-key-data or client-key must be specified for half to use the clientCert "
            "authentication method.");
  flags_.context = "halfkey";
  EXPECT_EQ(LoadError(path),
            "client-cert-data or client-cert must be specified for halfkey to use the clientCert "
            "authentication method.");
  flags_.context = "nocert";
  EXPECT_EQ(LoadError(path), "unable to read client-cert " + d +
                                 "/nocert.pem for nocert due to open " + d +
                                 "/nocert.pem: no such file or directory");
}

TEST_F(KubeconfigTest, BadBase64DataIsAnErrorNamingTheKey) {
  std::string path = Write("config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority-data: "!!!notbase64"}
users:
- name: u
  user: {client-certificate-data: aGVsbG8, client-key-data: S0VZ}
contexts:
- name: x
  context: {cluster: c}
- name: y
  context: {cluster: ok, user: u}
current-context: x
)");
  EXPECT_EQ(LoadError(path), "error loading config file \"" + path +
                                 "\": certificate-authority-data of cluster \"c\": illegal "
                                 "base64 data at input byte 0");
  // Unpadded base64 is refused too (yaml-cpp's decoder would silently drop the tail).
  flags_.context = "y";
  flags_.server = "https://kube:6443";
  EXPECT_EQ(LoadError(path), "error loading config file \"" + path +
                                 "\": client-certificate-data of user \"u\": illegal base64 data "
                                 "at input byte 7");
}

TEST_F(KubeconfigTest, MalformedFilesAndFieldsAreNamed) {
  std::string bad = Write("bad.yaml", "foo: [\n");
  std::string msg = LoadError(bad);
  EXPECT_EQ(msg.rfind("error loading config file \"" + bad + "\": ", 0), 0u) << msg;
  std::string wrong_type = Write("type.yaml", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", insecure-skip-tls-verify: maybe}
contexts:
- name: x
  context: {cluster: c}
current-context: x
)");
  EXPECT_EQ(LoadError(wrong_type), "error loading config file \"" + wrong_type +
                                       "\": insecure-skip-tls-verify of cluster \"c\": must be "
                                       "true or false");
  std::string no_name = Write("noname.yaml", "clusters:\n- cluster: {server: x}\n");
  EXPECT_EQ(LoadError(no_name),
            "error loading config file \"" + no_name + "\": an entry of clusters has no name");
  std::string dup = Write("dup.yaml", "users:\n- name: a\n  user: {}\n- name: a\n  user: {}\n");
  EXPECT_EQ(LoadError(dup),
            "error loading config file \"" + dup + "\": duplicate name \"a\" in users");
  std::string server_map = Write("srv.yaml", R"(clusters:
- name: c
  cluster: {server: {a: b}}
contexts:
- name: x
  context: {cluster: c}
current-context: x
)");
  EXPECT_EQ(LoadError(server_map), "error loading config file \"" + server_map +
                                       "\": server of cluster \"c\": must be a string");
  std::filesystem::create_directories(dir_.File("adir"));
  EXPECT_EQ(LoadError(dir_.File("adir")), "error loading config file \"" + dir_.File("adir") +
                                              "\": read " + dir_.File("adir") + ": is a directory");
  // An empty file is an empty configuration.
  Result<Connection> c = Load(Write("empty.yaml", ""));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->server_defaulted);
}

TEST_F(KubeconfigTest, UnsupportedAuthAndProxyAreRefusedClearly) {
  std::string path = Write("config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443"}
- name: p
  cluster: {server: "https://kube:6443", proxy-url: "http://proxy:3128"}
users:
- name: basic
  user: {username: a, password: b}
- name: gcp
  user: {auth-provider: {name: gcp}}
contexts:
- name: basic
  context: {cluster: c, user: basic}
- name: gcp
  context: {cluster: c, user: gcp}
- name: proxy
  context: {cluster: p}
current-context: basic
)");
  EXPECT_NE(LoadError(path).find("basic authentication is not supported"), std::string::npos);
  flags_.context = "gcp";
  EXPECT_NE(LoadError(path).find("auth-provider plugins are not supported"), std::string::npos);
  flags_.context = "proxy";
  EXPECT_NE(LoadError(path).find("proxy-url of cluster \"p\""), std::string::npos);
}

TEST_F(KubeconfigTest, ServerUrlForms) {
  std::string path = Write("config", kBasic);
  struct Case {
    std::string server, normalised, host, host_header, prefix;
    uint16_t port;
    bool ip, tls;
  } cases[] = {
      {"https://[::1]:9", "https://[::1]:9", "::1", "[::1]:9", "", 9, true, true},
      {"https://127.0.0.1", "https://127.0.0.1", "127.0.0.1", "127.0.0.1", "", 443, true, true},
      {"HTTP://Kube.Example", "http://Kube.Example", "Kube.Example", "Kube.Example", "", 80, false,
       false},
      {"https://k:1/a%20b/c/", "https://k:1/a%20b/c", "k", "k:1", "/a%20b/c", 1, false, true},
      {"https://k:1?x=1", "https://k:1", "k", "k:1", "", 1, false, true},
  };
  for (const Case& k : cases) {
    flags_.server = k.server;
    Result<Connection> c = Load(path);
    ASSERT_TRUE(c.ok()) << k.server << ": " << c.status().message();
    EXPECT_EQ(c->server, k.normalised) << k.server;
    EXPECT_EQ(c->host, k.host) << k.server;
    EXPECT_EQ(c->host_header, k.host_header) << k.server;
    EXPECT_EQ(c->path_prefix, k.prefix) << k.server;
    EXPECT_EQ(c->port, k.port) << k.server;
    EXPECT_EQ(c->host_is_ip, k.ip) << k.server;
    EXPECT_EQ(c->is_tls, k.tls) << k.server;
  }
  flags_.server = "ftp://127.0.0.1:9/";
  EXPECT_EQ(LoadError(path), "unsupported protocol scheme \"ftp\"");
  flags_.server = "https://:9";
  EXPECT_NE(LoadError(path).find("no host"), std::string::npos);
}

TEST_F(KubeconfigTest, DebugStringHidesSecrets) {
  flags_.context = "prod-bob";
  flags_.token = "super-secret-token";
  Result<Connection> c = Load(Write("config", kBasic));
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::string s = c->DebugString();
  EXPECT_EQ(s.find("super-secret-token"), std::string::npos) << s;
  EXPECT_EQ(s.find("BOB-KEY"), std::string::npos) << s;
  EXPECT_NE(s.find("token=<redacted, 18 bytes>"), std::string::npos) << s;
  EXPECT_NE(s.find("server=https://api.example.com:6443"), std::string::npos) << s;
}

TEST_F(KubeconfigTest, ExecPluginSuppliesTheToken) {
  const std::string info = dir_.File("info.json");
  const std::string env_out = dir_.File("env.txt");
  std::string path = Write("config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443", certificate-authority-data: Q0E=}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: )" + std::string(kPlugin) +
                                         R"(
      args: [token, client.authentication.k8s.io/v1, plugin-token, "2999-01-01T00:00:00Z"]
      env:
      - {name: PLUGIN_INFO_OUT, value: )" +
                                         info + R"(}
      - {name: PLUGIN_ENV_OUT, value: )" +
                                         env_out + R"(}
      - {name: PLUGIN_TEST_VAR, value: from-kubeconfig}
      interactiveMode: Never
      provideClusterInfo: true
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "plugin-token");
  EXPECT_EQ(c->credential_source, "exec plugin exec-plugin.sh");
  EXPECT_EQ(podtape::testing::ReadFile(env_out), "from-kubeconfig");
  EXPECT_EQ(
      podtape::testing::ReadFile(info),
      R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
      R"("spec":{"cluster":{"server":"https://kube:6443","certificate-authority-data":"Q0E=",)"
      R"("config":null},"interactive":false}})");
  // A static token wins: the plugin does not run.
  std::filesystem::remove(info);
  flags_.token = "flag-token";
  c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "flag-token");
  EXPECT_FALSE(std::filesystem::exists(info));
}

TEST_F(KubeconfigTest, ExecPluginCommandResolvesAgainstTheKubeconfigFolder) {
  std::filesystem::create_directories(dir_.File("cfg/bin"));
  std::filesystem::copy_file(kPlugin, dir_.File("cfg/bin/plugin.sh"));
  std::string path = Write("cfg/config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443"}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ./bin/plugin.sh
      args: [token, client.authentication.k8s.io/v1beta1, relative-token]
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "relative-token");
}

TEST(KubeRequestTimeout, ParsesKubectlSyntax) {
  auto ms = [](std::string_view s) {
    Result<std::chrono::milliseconds> r = ParseRequestTimeout(s);
    return r.ok() ? r->count() : -1;
  };
  EXPECT_EQ(ms(""), 0);
  EXPECT_EQ(ms("0"), 0);
  EXPECT_EQ(ms("5"), 5000);
  EXPECT_EQ(ms("1.5s"), 1500);
  EXPECT_EQ(ms("1m30s"), 90000);
  EXPECT_EQ(ms("300ms"), 300);
  EXPECT_EQ(ms("2h"), 7200000);
  EXPECT_EQ(ms("10us"), 1);  // under a millisecond is still a timeout
  EXPECT_EQ(ms("0s"), 0);
  EXPECT_EQ(ms("1d"), -1);
  EXPECT_EQ(ms("1x"), -1);
  EXPECT_EQ(ms("-1s"), -1);
  EXPECT_EQ(ms("s"), -1);
  EXPECT_EQ(ms("1.2.3s"), -1);
  Result<std::chrono::milliseconds> r = ParseRequestTimeout("abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Invalid timeout value. Timeout must be a single integer in seconds, or an integer "
            "followed by a corresponding time unit (e.g. 1s | 2m | 3h)");
}

// The real kubectl resolves the same merged files to the same cluster, user and namespace:
// `kubectl config view --minify --flatten` prints what kubectl selected from the merged
// KUBECONFIG list (first file wins per name, current-context from the first file that sets
// it), with relative files inlined as *-data.
TEST_F(KubeconfigTest, MergedSelectionMatchesKubectlConfigView) {
  Write("one/pki/ca.crt", "CA ONE\n");
  Write("one/pki/alice.crt", "ALICE CERT\n");
  Write("one/pki/alice.key", "ALICE KEY\n");
  Write("two/ca.crt", "CA TWO\n");
  std::string one = Write("one/config", R"(apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: "https://one.example:6443", certificate-authority: pki/ca.crt}
users:
- name: alice
  user: {client-certificate: pki/alice.crt, client-key: pki/alice.key}
contexts:
- name: main
  context: {cluster: shared, user: alice, namespace: ns-one}
)");
  std::string two = Write("two/config", R"(apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster: {server: "https://two.example:6443"}
- name: second
  cluster: {server: "https://second.example:443/prefix", certificate-authority: ca.crt}
users:
- name: alice
  user: {token: never-used}
- name: bob
  user: {token: bob-token}
contexts:
- name: main
  context: {cluster: second, user: bob}
- name: second
  context: {cluster: second, user: bob, namespace: ns-two}
- name: mixed
  context: {cluster: second, user: alice}
current-context: main
)");
  std::string three =
      Write("three/config", "apiVersion: v1\nkind: Config\ncurrent-context: mixed\n");
  const std::string list = one + ":" + two + ":" + three;
  env_.vars["KUBECONFIG"] = list;

  for (std::string context : {"", "main", "second", "mixed"}) {
    SCOPED_TRACE("context " + context);
    std::vector<std::string> argv = {"kubectl",   "config", "view", "--minify",
                                     "--flatten", "-o",     "json"};
    if (!context.empty()) argv.push_back("--context=" + context);
    podtape::testing::RunOptions options;
    options.env = {{"KUBECONFIG", list}, {"HOME", dir_.File("home")}};
    options.timeout = std::chrono::seconds(60);
    podtape::testing::RunResult kubectl = podtape::testing::Run(argv, options);
    ASSERT_EQ(kubectl.exit_code, 0) << "kubectl (v1.32 on the PATH) is required: " << kubectl.err;
    boost::json::value view = boost::json::parse(kubectl.out);
    const boost::json::object& cluster = view.at("clusters").at(0).as_object();
    const boost::json::object& user = view.at("users").at(0).as_object();
    const boost::json::object& ctx = view.at("contexts").at(0).as_object();

    flags_ = {};
    flags_.context = context;
    Result<Connection> c = LoadConnection(flags_, env_);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->context_name, std::string(ctx.at("name").as_string()));
    EXPECT_EQ(c->cluster_name, std::string(cluster.at("name").as_string()));
    EXPECT_EQ(c->user_name, std::string(user.at("name").as_string()));
    EXPECT_EQ(c->server, std::string(cluster.at("cluster").at("server").as_string()));
    const boost::json::object& ctx_body = ctx.at("context").as_object();
    EXPECT_EQ(c->namespace_, ctx_body.contains("namespace")
                                 ? std::string(ctx_body.at("namespace").as_string())
                                 : std::string("default"));
    auto data = [](const boost::json::object& o, const char* key) {
      if (!o.contains(key)) return std::string();
      return DecodeBase64(std::string(o.at(key).as_string())).value();
    };
    auto text = [](const boost::json::object& o, const char* key) {
      return o.contains(key) ? std::string(o.at(key).as_string()) : std::string();
    };
    const boost::json::object& cluster_body = cluster.at("cluster").as_object();
    const boost::json::object& user_body = user.at("user").as_object();
    EXPECT_EQ(c->ca_pem, data(cluster_body, "certificate-authority-data"));
    EXPECT_EQ(c->client_cert_pem, data(user_body, "client-certificate-data"));
    EXPECT_EQ(c->client_key_pem, data(user_body, "client-key-data"));
    EXPECT_EQ(c->token, text(user_body, "token"));
  }
}

TEST_F(KubeconfigTest, InClusterConfigInsideAPod) {
  Write("sa/token", "sa-token\n");
  Write("sa/ca.crt", "CLUSTER CA");
  Write("sa/namespace", "team-pod");
  env_.service_account_dir = dir_.File("sa");
  env_.vars["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
  env_.vars["KUBERNETES_SERVICE_PORT"] = "443";
  Result<Connection> c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->server_defaulted);
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_TRUE(c->is_tls);
  EXPECT_EQ(c->token, "sa-token");
  EXPECT_EQ(c->credential_source, "service account token " + dir_.File("sa/token"));
  EXPECT_EQ(c->ca_pem, "CLUSTER CA");
  EXPECT_EQ(c->namespace_, "team-pod");
  EXPECT_EQ(c->context_name, "");
  env_.vars["POD_NAMESPACE"] = "from-env";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->namespace_, "from-env");
  flags_.namespace_ = "from-flag";
  env_.vars["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->namespace_, "from-flag");
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  // A kubeconfig that names a server wins over the pod's config, and so does -s.
  c = Load(Write("config", kBasic));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://api.example.com:6443");
  flags_ = {};
  flags_.server = "http://127.0.0.1:9";
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://127.0.0.1:9");
  // Without the token file this is not a pod: kubectl's fallback.
  flags_ = {};
  std::filesystem::remove(dir_.File("sa/token"));
  c = LoadConnection(flags_, env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "http://localhost:8080");
}

TEST_F(KubeconfigTest, ExecPluginClientCertificateAndMissingKeys) {
  WriteFile(dir_.File("answer.json"),
            R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",)"
            R"("status":{"clientCertificateData":"PLUGIN CERT","clientKeyData":"PLUGIN KEY"}})");
  std::string path = Write("config", R"(clusters:
- name: c
  cluster: {server: "https://kube:6443"}
users:
- name: plugin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: )" + std::string(kPlugin) +
                                         R"(
      args: [file, )" + dir_.File("answer.json") +
                                         R"(]
      interactiveMode: IfAvailable
- name: static
  user:
    client-certificate-data: U1RBVElDIENFUlQ=
    client-key-data: U1RBVElDIEtFWQ==
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: )" + std::string(kPlugin) +
                                         R"(
      args: [file, )" + dir_.File("answer.json") +
                                         R"(]
      interactiveMode: Never
- name: nocommand
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}
- name: noversion
  user:
    exec: {command: x}
- name: notmap
  user:
    exec: [x]
contexts:
- {name: plugin, context: {cluster: c, user: plugin}}
- {name: static, context: {cluster: c, user: static}}
- {name: nocommand, context: {cluster: c, user: nocommand}}
- {name: noversion, context: {cluster: c, user: noversion}}
- {name: notmap, context: {cluster: c, user: notmap}}
current-context: plugin
)");
  Result<Connection> c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->client_cert_pem, "PLUGIN CERT");
  EXPECT_EQ(c->client_key_pem, "PLUGIN KEY");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->credential_source, "exec plugin exec-plugin.sh (client certificate)");
  // A static certificate wins over the plugin's.
  flags_.context = "static";
  c = Load(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->client_cert_pem, "STATIC CERT");
  EXPECT_EQ(c->client_key_pem, "STATIC KEY");
  // Missing keys are named, not a vague conversion error.
  const std::string prefix = "error loading config file \"" + path + "\": ";
  flags_.context = "nocommand";
  EXPECT_EQ(LoadError(path), prefix + "exec.command of user \"nocommand\": is missing");
  flags_.context = "noversion";
  EXPECT_EQ(LoadError(path), prefix + "exec.apiVersion of user \"noversion\": is missing");
  flags_.context = "notmap";
  EXPECT_EQ(LoadError(path), prefix + "exec of user \"notmap\": must be a map");
}

}  // namespace
}  // namespace podtape::kube
