// podtape-sim checked with real kubectl binaries (the one on the PATH, and kubectl.1.30 and
// kubectl.1.33 beside the real file behind it): exec, exit codes, stdout/stderr, 8 MiB of stdin,
// a TTY of a set size, attach, HTTPS with a token and a client certificate, RBAC refusals, and
// an API server without the v5 translator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace podtape {
namespace {

using testing::RunOptions;
using testing::RunResult;

std::string SampleConfig() { return std::string(PODTAPE_SOURCE_DIR) + "/samples/cluster.yaml"; }
std::string ClientScript(const std::string& name) {
  return std::string(PODTAPE_SOURCE_DIR) + "/tests/clients/" + name;
}

// A podtape-sim on 127.0.0.1:0 with the sample cluster (or `config` text), stopped by PID.
class SimProcess {
 public:
  explicit SimProcess(const std::string& config_text = "", const std::string& tls_dir = "") {
    std::string config = SampleConfig();
    if (!config_text.empty()) {
      config = dir_.File("cluster.yaml");
      testing::WriteFile(config, config_text);
    }
    std::vector<std::string> argv = {PODTAPE_SIM_BINARY, "--config", config, "--listen",
                                     "127.0.0.1:0"};
    if (!tls_dir.empty()) {
      argv.push_back("--tls-dir");
      argv.push_back(tls_dir);
    }
    url_ = server_.Start(argv);
    testing::WriteFile(dir_.File("kubeconfig"),
                       "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n"
                       "    server: " +
                           url_ +
                           "\nusers:\n- name: anonymous\n  user: {}\n"
                           "contexts:\n- name: sim\n  context:\n    cluster: sim\n"
                           "    user: anonymous\n    namespace: default\ncurrent-context: sim\n");
  }
  const std::string& url() const { return url_; }
  std::string error() const { return server_.error() + " " + server_.Stderr(); }
  pid_t pid() const { return server_.pid(); }
  std::string PlainKubeconfig() const { return dir_.File("kubeconfig"); }
  std::string CacheDir() const { return dir_.File("kube-cache"); }

 private:
  testing::TempDir dir_;
  testing::Server server_;
  std::string url_;
};

// Path of a kubectl binary by name: "kubectl" (the PATH) or "kubectl.1.30" (beside the real one).
std::string KubectlPath(const std::string& name) {
  if (name == "kubectl") return name;
  const std::string dir = testing::KubectlDir();
  if (dir.empty()) return "";
  const std::string path = dir + "/" + name;
  return std::filesystem::exists(path) ? path : "";
}

RunResult Kubectl(const std::string& kubectl, const std::string& kubeconfig,
                  const std::string& cache_dir, const std::vector<std::string>& args,
                  const std::string& stdin_data = "") {
  std::vector<std::string> argv = {kubectl, "--kubeconfig", kubeconfig, "--cache-dir", cache_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o;
  o.stdin_data = stdin_data;
  o.unset_env = {"KUBECONFIG", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS"};
  o.timeout = std::chrono::seconds(60);
  return testing::Run(argv, o);
}

RunOptions LongRun() {
  RunOptions o;
  o.timeout = std::chrono::seconds(60);
  return o;
}

class SimKubectlTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    kubectl_ = KubectlPath(GetParam());
    ASSERT_FALSE(kubectl_.empty())
        << GetParam() << " is not installed (kubectl on the PATH, with kubectl.1.27 ... "
        << "kubectl.1.33 beside the real binary, from the Google Cloud SDK)";
    ASSERT_FALSE(sim_.url().empty()) << sim_.error();
  }
  RunResult Run(const std::vector<std::string>& args, const std::string& stdin_data = "") {
    return Kubectl(kubectl_, sim_.PlainKubeconfig(), sim_.CacheDir(), args, stdin_data);
  }
  std::string Describe(const RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
           "\nstdout: " + r.out.substr(0, 2000) + "\nstderr: " + r.err.substr(0, 2000) +
           "\nsim: " + sim_.error();
  }

  SimProcess sim_;
  std::string kubectl_;
};

TEST_P(SimKubectlTest, ExecEcho) {
  RunResult r = Run({"exec", "demo", "--", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "hi\n") << Describe(r);
}

TEST_P(SimKubectlTest, ExecRunsInTheContainersDirectoryWithItsEnvironment) {
  RunResult r = Run({"exec", "multi", "-c", "a", "--", "sh", "-c", "echo $CONTAINER; pwd"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.out.starts_with("a\n")) << Describe(r);
  EXPECT_NE(r.out.find("/default/multi/a\n"), std::string::npos) << Describe(r);
}

TEST_P(SimKubectlTest, DefaultContainerFromTheAnnotation) {
  RunResult r = Run({"exec", "multi", "--", "sh", "-c", "echo $CONTAINER"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "b\n") << Describe(r);
}

TEST_P(SimKubectlTest, ExitCodeIsKubectlsExitCode) {
  RunResult r = Run({"exec", "demo", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("command terminated with exit code 3"), std::string::npos) << Describe(r);
}

TEST_P(SimKubectlTest, StdoutAndStderrStayApart) {
  RunResult r = Run({"exec", "demo", "--", "sh", "-c", "echo to-out; echo to-err >&2"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "to-out\n") << Describe(r);
  EXPECT_NE(r.err.find("to-err\n"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find("to-out"), std::string::npos) << Describe(r);
}

TEST_P(SimKubectlTest, EightMebibytesOfStdinThroughCatBitExact) {
  std::string data(8u << 20, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  RunResult r = Run({"exec", "-i", "demo", "--", "cat"}, data);
  EXPECT_EQ(r.exit_code, 0) << Describe(r).substr(0, 300);
  ASSERT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data) << "stdout differs from stdin";
}

TEST_P(SimKubectlTest, TtyExecSeesTheTerminalSize) {
  RunResult r = testing::Run({"/usr/bin/python3", ClientScript("pty_run.py"), "37", "113", "--",
                              kubectl_, "--kubeconfig", sim_.PlainKubeconfig(), "--cache-dir",
                              sim_.CacheDir(), "exec", "-it", "demo", "--", "stty", "size"},
                             LongRun());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("37 113\r\n"), std::string::npos) << Describe(r);
}

TEST_P(SimKubectlTest, AttachWithStdinReachesTheMainProcess) {
  RunResult r = Run({"attach", "-i", "pipe"}, "echo attached-$((6*7)); exit\n");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "attached-42\n") << Describe(r);
}

TEST_P(SimKubectlTest, AttachToATtyShell) {
  RunResult r = testing::Run(
      {"/usr/bin/python3", ClientScript("pty_run.py"), "30", "90", "--input",
       "echo tty-$((6*7)) $(stty size); exit\r", "--", kubectl_, "--kubeconfig",
       sim_.PlainKubeconfig(), "--cache-dir", sim_.CacheDir(), "attach", "-it", "demo"},
      LongRun());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("tty-42 30 90"), std::string::npos) << Describe(r);
}

TEST_P(SimKubectlTest, GetWaitAndLogs) {
  RunResult r = Run({"get", "pods"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("demo "), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("Running"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("Completed"), std::string::npos) << Describe(r);
  // wait lists, then watches from the list's resourceVersion.
  r = Run({"wait", "--for=condition=Ready", "pod/demo", "--timeout=20s"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "pod/demo condition met\n") << Describe(r);
  // Container a of multi prints "tick N" every second from the simulator's start.
  for (int i = 0; i < 50; ++i) {
    r = Run({"logs", "multi", "-c", "a", "--tail=1"});
    if (r.exit_code != 0 || r.out.starts_with("tick ")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.out.starts_with("tick ")) << Describe(r);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << Describe(r);
}

TEST_P(SimKubectlTest, ServerErrorsReachTheUser) {
  RunResult r = Run({"exec", "nope", "--", "true"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("pods \"nope\" not found"), std::string::npos) << Describe(r);
  r = Run({"exec", "demo", "-c", "zz", "--", "true"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("container zz is not valid for pod demo"), std::string::npos) << Describe(r);
  r = Run({"exec", "done", "--", "true"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("completed pod"), std::string::npos) << Describe(r);
}

INSTANTIATE_TEST_SUITE_P(SimKubectl, SimKubectlTest,
                         ::testing::Values("kubectl", "kubectl.1.30", "kubectl.1.33"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

// --- HTTPS, users and RBAC (kubectl on the PATH) ---

class SimTlsTest : public ::testing::Test {
 protected:
  std::string TlsDir() const { return dir_.File("tls"); }
  RunResult Run(const std::string& kubeconfig, const std::vector<std::string>& args) {
    return Kubectl("kubectl", TlsDir() + "/" + kubeconfig, dir_.File("cache"), args);
  }
  testing::TempDir dir_;
};

TEST_F(SimTlsTest, TokenAndCertificateUsersAndRefusals) {
  SimProcess sim("", TlsDir());
  ASSERT_TRUE(sim.url().starts_with("https://127.0.0.1:")) << sim.error();
  for (const char* kc : {"kubeconfig-alice", "kubeconfig-alice-cert"}) {
    RunResult r = Run(kc, {"exec", "demo", "--", "echo", "over-tls"});
    EXPECT_EQ(r.exit_code, 0) << kc << ": " << r.err;
    EXPECT_EQ(r.out, "over-tls\n") << kc << ": " << r.err;
    r = Run(kc, {"auth", "whoami", "-o",
                 "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"});
    EXPECT_EQ(r.exit_code, 0) << kc << ": " << r.err;
    EXPECT_EQ(r.out, "alice [\"dev\",\"system:authenticated\"]") << kc << ": " << r.err;
  }
  for (const char* kc : {"kubeconfig-bob", "kubeconfig-bob-cert"}) {
    RunResult r = Run(kc, {"get", "pod", "demo", "-o", "name"});
    EXPECT_EQ(r.exit_code, 0) << kc << ": " << r.err;
    EXPECT_EQ(r.out, "pod/demo\n");
    r = Run(kc, {"exec", "demo", "--", "echo", "no"});
    EXPECT_EQ(r.exit_code, 1) << kc << ": " << r.err;
    EXPECT_EQ(r.out, "");
    // kubectl retries over SPDY (POST, verb create) after the refused WebSocket upgrade.
    EXPECT_NE(r.err.find("pods \"demo\" is forbidden: User \"bob\" cannot create resource "
                         "\"pods/exec\" in API group \"\" in the namespace \"default\""),
              std::string::npos)
        << kc << ": " << r.err;
  }
  // Impersonation: refused for alice, honoured for podtape-proxy.
  RunResult r = Run("kubeconfig-alice", {"get", "pods", "--as", "carol"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("users \"carol\" is forbidden: User \"alice\" cannot impersonate resource "
                       "\"users\" in API group \"\" at the cluster scope"),
            std::string::npos)
      << r.err;
  r = Run("kubeconfig-podtape-proxy",
          {"auth", "whoami", "--as", "alice", "--as-group", "dev", "-o",
           "jsonpath={.status.userInfo.username} {.status.userInfo.groups}"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "alice [\"dev\",\"system:authenticated\"]");

  // An unknown token: 401, whatever else the kubeconfig holds.
  r = Run("kubeconfig-alice", {"get", "pods", "--token", "not-a-known-token"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Unauthorized"), std::string::npos) << r.err;
}

TEST_F(SimTlsTest, ARestartReusesTheCertificatesAndRewritesTheKubeconfigs) {
  std::string first_url, ca;
  {
    SimProcess sim("", TlsDir());
    ASSERT_FALSE(sim.url().empty()) << sim.error();
    first_url = sim.url();
    ca = testing::ReadFile(TlsDir() + "/ca.crt");
  }
  SimProcess sim("", TlsDir());
  ASSERT_FALSE(sim.url().empty()) << sim.error();
  EXPECT_EQ(testing::ReadFile(TlsDir() + "/ca.crt"), ca);
  EXPECT_NE(testing::ReadFile(TlsDir() + "/kubeconfig-alice").find("server: " + sim.url()),
            std::string::npos);
  RunResult r = Run("kubeconfig-alice-cert", {"exec", "demo", "--", "echo", "again"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "again\n");
}

// --- an API server without the v5 translator ---

TEST(SimOlderApiServerTest, KubectlFallsBackToSpdyAndReadsWhyItIsRefused) {
  std::string config = testing::ReadFile(SampleConfig());
  size_t v5 = config.find("websocketV5: true");
  ASSERT_NE(v5, std::string::npos);
  config.replace(v5, 17, "websocketV5: false");
  SimProcess sim(config);
  ASSERT_FALSE(sim.url().empty()) << sim.error();
  RunResult r = Kubectl("kubectl", sim.PlainKubeconfig(), sim.CacheDir(),
                        {"exec", "demo", "--", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("WebSocket only"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace podtape
