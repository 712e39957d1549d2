// podtape exec / attach end to end against podtape-sim: every subprotocol, TLS with a token, a
// client certificate and an exec plugin, exit codes, the server's errors, a TTY under a
// pseudo-terminal, signals, the hostile modes and a store that cannot write.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "schema/store.h"
#include "test_util.h"

namespace podtape {
namespace {

using testing::RunOptions;
using testing::RunResult;

const char kConfig[] = R"(httpUser: alice
users:
  - name: alice
    token: alice-token
    groups: [dev]
    exec: true
  - name: bob
    token: bob-token
    exec: false
  - name: ops
    token: ops-token
    exec: true
    impersonate: true
pods:
  - name: demo
    containers:
      - name: c1
      - name: c2
  - name: web
    annotations:
      kubectl.kubernetes.io/default-container: c2
    containers:
      - name: c1
      - name: c2
  - name: single
    containers:
      - name: main
  - name: done
    phase: Succeeded
    containers:
      - name: c1
  - name: shell
    containers:
      - name: c1
        stdin: true
        tty: true
        command: [sh]
)";

class Sim {
 public:
  explicit Sim(bool tls = false, const std::string& extra_pods = "",
               const std::string& header = "") {
    testing::WriteFile(dir_.File("cluster.yaml"), header + kConfig + extra_pods);
    std::vector<std::string> argv = {PODTAPE_SIM_BINARY, "--config", dir_.File("cluster.yaml"),
                                     "--listen", "127.0.0.1:0"};
    if (tls) {
      argv.push_back("--tls-dir");
      argv.push_back(dir_.File("tls"));
    }
    url_ = server_.Start(argv);
  }
  const std::string& url() const { return url_; }
  std::string error() const { return server_.error(); }
  std::string TlsFile(const std::string& name) const { return dir_.File("tls/" + name); }
  std::string Db() const { return dir_.File("podtape.db"); }
  const std::string& dir() const { return dir_.path(); }

  // podtape --db DB ARGS..., with a private HOME (no ~/.kube/config) and no KUBECONFIG.
  RunResult Podtape(const std::vector<std::string>& args, const std::string& stdin_data = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", Db()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.stdin_data = stdin_data;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "PODTAPE_DB", "KUBERNETES_MASTER"};
    o.timeout = timeout;
    return testing::Run(argv, o);
  }

  store::SessionRow Last() const {
    auto s = store::Store::Open(Db());
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (!s.ok()) return {};
    auto row = (*s)->Find("last");
    EXPECT_TRUE(row.ok()) << row.status().message();
    return row.ok() ? *row : store::SessionRow{};
  }

  struct Frame {
    store::Direction direction;
    int channel;
    std::string payload;
  };
  std::vector<Frame> Frames(const std::string& id) const {
    std::vector<Frame> out;
    auto s = store::Store::Open(Db());
    if (!s.ok()) return out;
    Status st = (*s)->ReadFrames(id, [&](const store::FrameView& f) {
      out.push_back({f.direction, f.channel, std::string(f.payload)});
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }

 private:
  testing::TempDir dir_;
  testing::Server server_;
  std::string url_;
};

std::string Channel(const std::vector<Sim::Frame>& frames, store::Direction d, int ch) {
  std::string out;
  for (const auto& f : frames) {
    if (f.direction == d && f.channel == ch) out += f.payload;
  }
  return out;
}

#define START_SIM(sim) ASSERT_FALSE((sim).url().empty()) << (sim).error()

TEST(ExecSimTest, EverySubprotocolEndToEnd) {
  Sim sim;
  START_SIM(sim);
  for (const char* proto : {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io",
                            "v4.base64.channel.k8s.io", "base64.channel.k8s.io"}) {
    SCOPED_TRACE(proto);
    RunResult r = sim.Podtape({"exec", "-s", sim.url(), "--protocols", proto, "demo", "-c", "c1",
                               "--", "sh", "-c", "echo out; echo err >&2"});
    ASSERT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    store::SessionRow row = sim.Last();
    EXPECT_EQ(row.meta.protocol, proto);
    EXPECT_EQ(row.end_reason, "completed");
    EXPECT_EQ(row.meta.pod, "demo");
    EXPECT_EQ(row.meta.container, "c1");
    EXPECT_EQ(row.meta.command, (std::vector<std::string>{"sh", "-c", "echo out; echo err >&2"}));
    auto frames = sim.Frames(row.meta.id);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(frames[0].direction, store::Direction::kFromServer);  // the ready frame
    EXPECT_EQ(frames[0].payload, "");
    EXPECT_EQ(Channel(frames, store::Direction::kFromServer, 1), "out\n");
    EXPECT_EQ(Channel(frames, store::Direction::kFromServer, 2), "err\n");
  }
}

TEST(ExecSimTest, StdinAndTheV5CloseSignal) {
  Sim sim;
  START_SIM(sim);
  RunResult r = sim.Podtape({"exec", "-i", "-s", sim.url(), "demo", "-c", "c1", "--", "cat"},
                            "hello\nworld\n");
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nworld\n");
  store::SessionRow row = sim.Last();
  EXPECT_EQ(row.meta.protocol, "v5.channel.k8s.io");
  EXPECT_TRUE(row.meta.stdin_);
  EXPECT_EQ(row.end.exit_code, 0);
  auto frames = sim.Frames(row.meta.id);
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 0), "hello\nworld\n");
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 255), std::string("\0", 1));
  EXPECT_EQ(Channel(frames, store::Direction::kFromServer, 3),
            R"({"metadata":{},"status":"Success"})");
}

TEST(ExecSimTest, ExitCodes) {
  Sim sim;
  START_SIM(sim);
  for (int code : {0, 3, 255}) {
    SCOPED_TRACE(code);
    RunResult r = sim.Podtape({"exec", "-s", sim.url(), "demo", "-c", "c1", "--", "sh", "-c",
                               "exit " + std::to_string(code)});
    EXPECT_EQ(r.exit_code, code) << r.err;
    if (code != 0) {
      EXPECT_EQ(r.err, "command terminated with exit code " + std::to_string(code) + "\n");
    } else {
      EXPECT_EQ(r.err, "");
    }
    store::SessionRow row = sim.Last();
    EXPECT_EQ(row.end.exit_code, code);
    EXPECT_EQ(row.end_reason, "completed");
  }
}

TEST(ExecSimTest, AnApiServerWithoutV5GetsV4AndStdinEndsByClosing) {
  Sim sim(false, "", "apiServer:\n  websocketV5: false\n");
  START_SIM(sim);
  RunResult r = sim.Podtape({"exec", "-i", "-s", sim.url(), "demo", "-c", "c1", "--", "sh", "-c",
                             "cat >/dev/null; echo stdin ended"},
                            "some input\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  store::SessionRow row = sim.Last();
  EXPECT_EQ(row.meta.protocol, "v4.channel.k8s.io");
  auto frames = sim.Frames(row.meta.id);
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 0), "some input\n");
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 255), "");  // no close signal on v4
  // Offering only v5 to such a server: 403 with an empty body, explained.
  r = sim.Podtape({"exec", "-s", sim.url(), "--protocols", "v5.channel.k8s.io", "demo", "-c", "c1",
                   "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none of the offered subprotocols"), std::string::npos) << r.err;
}

TEST(ExecSimTest, DefaultContainerAsKubectl) {
  Sim sim;
  START_SIM(sim);
  RunResult r = sim.Podtape({"exec", "-s", sim.url(), "demo", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Defaulted container \"c1\" out of: c1, c2\n");
  EXPECT_EQ(sim.Last().meta.container, "c1");
  r = sim.Podtape({"exec", "-q", "-s", sim.url(), "demo", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  r = sim.Podtape({"exec", "-s", sim.url(), "web", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // the annotation chose silently
  EXPECT_EQ(sim.Last().meta.container, "c2");
  r = sim.Podtape({"exec", "-s", sim.url(), "single", "--", "true"});
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(sim.Last().meta.container, "main");
}

TEST(ExecSimTest, KubectlsUsageErrors) {
  Sim sim;
  START_SIM(sim);
  RunResult r = sim.Podtape({"exec", "-s", sim.url(), "demo", "-c", "c1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: you must specify at least one command for the container\n");
  r = sim.Podtape({"exec", "-s", sim.url(), "demo", "-c", "c1", "ls"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] "
            "instead\n");
  r = sim.Podtape({"exec", "-s", sim.url(), "done", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: cannot exec into a container in a completed pod; current phase is "
            "Succeeded\n");
}

TEST(ExecSimTest, ServerErrorsShowTheServersMessage) {
  Sim sim;
  START_SIM(sim);
  RunResult r = sim.Podtape({"exec", "-s", sim.url(), "nope", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: pods \"nope\" not found\n");
  r = sim.Podtape({"exec", "-s", sim.url(), "nope", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: pods \"nope\" not found\n");
  store::SessionRow row = sim.Last();  // the refused upgrade is on record
  EXPECT_EQ(row.end_reason, "error");
  EXPECT_EQ(row.end.error, "pods \"nope\" not found");
  r = sim.Podtape({"exec", "-s", sim.url(), "demo", "-c", "c9", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: container c9 is not valid for pod demo\n");
}

TEST(ExecSimTest, HttpsWithTokenCertificateAndExecPlugin) {
  Sim sim(/*tls=*/true);
  START_SIM(sim);
  ASSERT_EQ(sim.url().rfind("https://", 0), 0u) << sim.url();
  struct Case {
    std::string name;
    std::vector<std::string> flags;
    std::string user_source;
  };
  std::string kubeconfig_plugin = sim.dir() + "/kubeconfig-plugin";
  testing::WriteFile(kubeconfig_plugin, R"(apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: )" + sim.url() + R"(
    certificate-authority: )" + sim.TlsFile("ca.crt") +
                                            R"(
users:
- name: plugin-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: )" + std::string(PODTAPE_SOURCE_DIR) +
                                            R"(/tests/e2e/exec_credential_plugin.sh
      args: [alice-token]
      interactiveMode: Never
contexts:
- name: sim
  context: {cluster: sim, user: plugin-user}
current-context: sim
)");
  std::vector<Case> cases = {
      {"token", {"--kubeconfig", sim.TlsFile("kubeconfig-alice")}, "selfsubjectreview"},
      {"certificate", {"--kubeconfig", sim.TlsFile("kubeconfig-alice-cert")}, "selfsubjectreview"},
      {"exec plugin", {"--kubeconfig", kubeconfig_plugin}, "selfsubjectreview"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> args = {"exec"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.insert(args.end(), {"demo", "-c", "c1", "--", "echo", "over tls"});
    RunResult r = sim.Podtape(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "over tls\n");
    store::SessionRow row = sim.Last();
    EXPECT_EQ(row.meta.user, "alice");
    EXPECT_EQ(row.meta.user_source, c.user_source);
    EXPECT_NE(std::find(row.meta.groups.begin(), row.meta.groups.end(), "dev"),
              row.meta.groups.end());
    EXPECT_EQ(row.meta.server, sim.url());
    std::printf("identity over %s: user=%s groups=%s user_source=%s kube_user=%s local_user=%s\n",
                c.name.c_str(), row.meta.user.c_str(),
                boost::json::serialize(boost::json::value_from(row.meta.groups)).c_str(),
                row.meta.user_source.c_str(), row.meta.kube_user.c_str(),
                row.meta.local_user.c_str());
  }
  // The token never reaches the store.
  std::string db = testing::ReadFile(sim.Db()) + testing::ReadFile(sim.Db() + "-wal");
  EXPECT_EQ(db.find("alice-token"), std::string::npos);
}

// kubectl's -v request logging: 6 gives one line per request with its status and time, 7 the
// request headers (the token masked), 8 the response bodies; no level ever prints the token.
TEST(ExecSimTest, VerboseLevelsLogRequestsWithoutTheToken) {
  Sim sim(/*tls=*/true);
  START_SIM(sim);
  const std::string kubeconfig = sim.TlsFile("kubeconfig-alice");
  for (const char* level : {"6", "7", "8", "9"}) {
    SCOPED_TRACE(level);
    // Without -c the pod is read first (a GET with a JSON reply), then the upgrade.
    RunResult r = sim.Podtape(
        {"-v", level, "exec", "--kubeconfig", kubeconfig, "web", "--", "echo", "logged"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "logged\n");
    EXPECT_EQ(r.err.find("alice-token"), std::string::npos) << r.err;
    const std::string pod_url = sim.url() + "/api/v1/namespaces/default/pods/web";
    const std::string level_s(level);
    if (level_s == "6") {
      EXPECT_NE(r.err.find("GET " + pod_url + " 200 OK in "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("GET " + pod_url + "/exec?"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find(" 101 Switching Protocols in "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("The subprotocol is v5.channel.k8s.io"), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("Request Headers:"), std::string::npos) << r.err;
    } else {
      EXPECT_NE(r.err.find("Request Headers:"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("    Authorization: Bearer <masked>"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("    Sec-WebSocket-Protocol: v5.channel.k8s.io"), std::string::npos)
          << r.err;
      EXPECT_NE(r.err.find("Response Status: 200 OK in "), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("Response Status: 101 Switching Protocols in "), std::string::npos)
          << r.err;
      bool body = r.err.find("Response Body: {") != std::string::npos;
      EXPECT_EQ(body, level_s != "7") << r.err;
    }
  }
  // Below 6 nothing is logged.
  RunResult quiet = sim.Podtape(
      {"-v", "5", "exec", "--kubeconfig", kubeconfig, "web", "-c", "c1", "--", "echo", "quiet"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
}

TEST(ExecSimTest, HttpsErrors) {
  Sim sim(/*tls=*/true);
  START_SIM(sim);
  std::string ca = sim.TlsFile("ca.crt");
  RunResult r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", ca, "--token",
                             "wrong", "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: You must be logged in to the server (Unauthorized)\n");
  r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", ca, "--token", "bob-token",
                   "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is forbidden: User \"bob\" cannot"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  // A wrong CA: the server's own certificate as the authority it is not.
  r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", sim.TlsFile("alice.crt"),
                   "--token", "alice-token", "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: tls: certificate signed by unknown authority (server " + sim.url() +
                       "); pass --certificate-authority or fix the kubeconfig\n");
  // The name the certificate does not carry.
  r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", ca, "--tls-server-name",
                   "other.example", "--token", "alice-token", "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not valid for other.example"), std::string::npos) << r.err;
}

TEST(ExecSimTest, ImpersonationIsSentAndRecorded) {
  Sim sim(/*tls=*/true);
  START_SIM(sim);
  std::string ca = sim.TlsFile("ca.crt");
  RunResult r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", ca, "--token",
                             "ops-token", "--as", "alice", "--as-group", "dev", "--as-group",
                             "oncall", "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  store::SessionRow row = sim.Last();
  EXPECT_EQ(row.meta.as_user, "alice");
  EXPECT_EQ(row.meta.as_groups, (std::vector<std::string>{"dev", "oncall"}));
  EXPECT_EQ(row.meta.user, "alice");  // the API server's answer under impersonation
  EXPECT_EQ(row.meta.user_source, "selfsubjectreview");
  r = sim.Podtape({"exec", "-s", sim.url(), "--certificate-authority", ca, "--token", "alice-token",
                   "--as", "ops", "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: users \"ops\" is forbidden: User \"alice\" cannot impersonate resource "
            "\"users\" in API group \"\" at the cluster scope\n");
}

TEST(ExecSimTest, SixtyFourMebibytesThroughCatBitExact) {
  Sim sim;
  START_SIM(sim);
  std::string data(64u << 20, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  auto t0 = std::chrono::steady_clock::now();
  RunResult r = sim.Podtape({"exec", "-i", "-s", sim.url(), "demo", "-c", "c1", "--", "cat"}, data,
                            std::chrono::seconds(120));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
  std::printf("podtape exec -i -- cat: 64 MiB in %.2f s (%.1f MiB/s)\n", secs, 64 / secs);
  store::SessionRow row = sim.Last();
  auto frames = sim.Frames(row.meta.id);
  EXPECT_TRUE(Channel(frames, store::Direction::kToServer, 0) == data);
  EXPECT_TRUE(Channel(frames, store::Direction::kFromServer, 1) == data);
  EXPECT_EQ(row.bytes, static_cast<int64_t>(data.size()));
  for (const auto& f : frames) {
    if (f.direction == store::Direction::kToServer) {
      EXPECT_LE(f.payload.size(), 32u * 1024) << "stdin chunks must stay <= 32 KiB";
    }
  }
}

// Runs podtape ARGS on a fresh COLSxROWS pseudo-terminal through tests/e2e/exec_pty_driver.py.
boost::json::object OnPty(const Sim& sim, const std::vector<std::string>& driver_opts,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "/usr/bin/python3", std::string(PODTAPE_SOURCE_DIR) + "/tests/e2e/exec_pty_driver.py"};
  argv.insert(argv.end(), driver_opts.begin(), driver_opts.end());
  argv.insert(argv.end(), {"--", PODTAPE_BINARY, "--db", sim.Db()});
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o;
  o.env["HOME"] = sim.dir();
  o.unset_env = {"KUBECONFIG", "PODTAPE_DB"};
  o.timeout = std::chrono::seconds(90);
  RunResult r = testing::Run(argv, o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.out, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "driver output: " << r.out << r.err;
    return {};
  }
  return v.as_object();
}

TEST(ExecSimTest, TtyUnderAPseudoTerminalRecordsItsSize) {
  Sim sim;
  START_SIM(sim);
  boost::json::object v = OnPty(sim, {"100", "30", "60", "--type", "hi\r"},
                                {"exec", "-it", "-s", sim.url(), "demo", "-c", "c1", "--", "sh",
                                 "-c", "read line; stty size; echo got:$line"});
  ASSERT_FALSE(v.empty());
  std::string out(v.at("output").as_string());
  EXPECT_FALSE(v.at("timed_out").as_bool()) << out;
  EXPECT_EQ(v.at("exit_code").as_int64(), 0) << out;
  EXPECT_TRUE(v.at("raw_seen").as_bool());
  EXPECT_NE(out.find("30 100"), std::string::npos) << out;
  EXPECT_NE(out.find("got:hi"), std::string::npos) << out;
  EXPECT_EQ(v.at("stty_before").as_string(), v.at("stty_after").as_string());
  store::SessionRow row = sim.Last();
  EXPECT_TRUE(row.meta.tty);
  EXPECT_EQ(row.meta.term_cols, 100);
  EXPECT_EQ(row.meta.term_rows, 30);
  auto frames = sim.Frames(row.meta.id);
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 4), "{\"Width\":100,\"Height\":30}\n");
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 0), "hi\r");
  EXPECT_EQ(Channel(frames, store::Direction::kFromServer, 2), "");  // no stderr with a TTY
}

TEST(ExecSimTest, WindowChangesAreSentAndRecorded) {
  Sim sim;
  START_SIM(sim);
  boost::json::object v =
      OnPty(sim, {"80", "24", "60", "--resize-after", "0.3", "120x40", "--type", "go\r"},
            {"exec", "-it", "-s", sim.url(), "demo", "-c", "c1", "--", "sh", "-c",
             "sleep 1; read line; stty size"});
  ASSERT_FALSE(v.empty());
  std::string out(v.at("output").as_string());
  EXPECT_FALSE(v.at("timed_out").as_bool()) << out;
  EXPECT_EQ(v.at("exit_code").as_int64(), 0) << out;
  EXPECT_NE(out.find("40 120"), std::string::npos) << out;
  auto frames = sim.Frames(sim.Last().meta.id);
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 4),
            "{\"Width\":80,\"Height\":24}\n{\"Width\":120,\"Height\":40}\n");
}

TEST(ExecSimTest, AttachSendsKubectlsTwoResizes) {
  Sim sim;
  START_SIM(sim);
  boost::json::object v = OnPty(sim, {"80", "24", "60", "--type", "exit 7\r"},
                                {"attach", "-it", "-s", sim.url(), "shell", "-c", "c1"});
  ASSERT_FALSE(v.empty());
  std::string out(v.at("output").as_string());
  EXPECT_FALSE(v.at("timed_out").as_bool()) << out;
  EXPECT_NE(out.find("If you don't see a command prompt, try pressing enter."), std::string::npos)
      << out;
  EXPECT_EQ(v.at("stty_before").as_string(), v.at("stty_after").as_string());
  store::SessionRow row = sim.Last();
  EXPECT_EQ(row.meta.kind, "attach");
  EXPECT_TRUE(row.meta.command.empty());
  auto frames = sim.Frames(row.meta.id);
  EXPECT_EQ(Channel(frames, store::Direction::kToServer, 4),
            "{\"Width\":81,\"Height\":25}\n{\"Width\":80,\"Height\":24}\n");
}

TEST(ExecSimTest, SigtermMidSessionRestoresTheTerminal) {
  Sim sim;
  START_SIM(sim);
  boost::json::object v = OnPty(sim, {"90", "20", "60", "--sigterm-after", "0.5"},
                                {"exec", "-it", "-s", sim.url(), "demo", "-c", "c1", "--", "sh",
                                 "-c", "echo started; sleep 30"});
  ASSERT_FALSE(v.empty());
  std::string out(v.at("output").as_string());
  EXPECT_FALSE(v.at("timed_out").as_bool()) << out;
  EXPECT_TRUE(v.at("raw_seen").as_bool());
  EXPECT_EQ(v.at("exit_code").as_int64(), 1) << out;
  EXPECT_NE(out.find("error: interrupted by SIGTERM"), std::string::npos) << out;
  EXPECT_EQ(v.at("stty_before").as_string(), v.at("stty_after").as_string());
  store::SessionRow row = sim.Last();
  EXPECT_EQ(row.end_reason, "error");
  EXPECT_EQ(row.end.error, "interrupted by SIGTERM");
}

TEST(ExecSimTest, TtyWithoutATerminalWarnsAsKubectl) {
  Sim sim;
  START_SIM(sim);
  RunResult r =
      sim.Podtape({"exec", "-it", "-s", sim.url(), "demo", "-c", "c1", "--", "echo", "x"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
  EXPECT_EQ(r.out, "x\n");
  EXPECT_FALSE(sim.Last().meta.tty);
  r = sim.Podtape({"exec", "-it", "-q", "-s", sim.url(), "demo", "-c", "c1", "--", "true"});
  EXPECT_EQ(r.err, "");
  // As kubectl 1.32: -t without -i means no TTY, silently.
  r = sim.Podtape({"exec", "-t", "-s", sim.url(), "demo", "-c", "c1", "--", "echo", "y"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "y\n");
  EXPECT_FALSE(sim.Last().meta.tty);
}

// kubectl attach takes the TTY setting from the container: -t on a container without one is
// dropped with kubectl's notice, and a container with one gets a TTY without -t. Both clients
// run against twin pods (an attached main process restarts a second after it ends) and must
// print the same bytes.
TEST(ExecSimTest, AttachFollowsTheContainersTtyAsKubectl) {
  const std::string pods = R"(  - name: piped
    containers:
      - name: c1
        stdin: true
        command: [sh]
  - name: piped-kubectl
    containers:
      - name: c1
        stdin: true
        command: [sh]
  - name: shell-kubectl
    containers:
      - name: c1
        stdin: true
        tty: true
        command: [sh]
  - name: shell-pty
    containers:
      - name: c1
        stdin: true
        tty: true
        command: [sh]
)";
  Sim sim(/*tls=*/false, pods);
  START_SIM(sim);
  auto kubectl = [&](const std::vector<std::string>& args, const std::string& in) {
    std::vector<std::string> argv = {"kubectl", "--cache-dir", sim.dir() + "/kcache", "-s",
                                     sim.url()};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions o;
    o.stdin_data = in;
    o.env["HOME"] = sim.dir();
    o.unset_env = {"KUBECONFIG"};
    o.timeout = std::chrono::seconds(60);
    return testing::Run(argv, o);
  };

  // -t on a container without a TTY.
  RunResult r =
      sim.Podtape({"attach", "-it", "-s", sim.url(), "piped", "-c", "c1"}, "echo hi; exit\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err,
            "error: Unable to use a TTY - container c1 did not allocate one\n"
            "If you don't see a command prompt, try pressing enter.\n");
  EXPECT_FALSE(sim.Last().meta.tty);
  RunResult k = kubectl({"attach", "-it", "piped-kubectl", "-c", "c1"}, "echo hi; exit\n");
  EXPECT_EQ(k.exit_code, r.exit_code) << k.err;
  EXPECT_EQ(k.out, r.out);
  EXPECT_EQ(k.err, r.err);

  // A container with a TTY, without -t: the TTY is forced, then dropped because stdin is a pipe.
  r = sim.Podtape({"attach", "-i", "-s", sim.url(), "shell", "-c", "c1"}, "exit\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(sim.Last().meta.tty);
  k = kubectl({"attach", "-i", "shell-kubectl", "-c", "c1"}, "exit\n");
  EXPECT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(r.err,
            "Unable to use a TTY - input is not a terminal or the right kind of file\n"
            "If you don't see a command prompt, try pressing enter.\n");
  EXPECT_EQ(k.err, r.err);

  // Under a terminal the forced TTY holds: raw mode, kubectl's two resizes, tty recorded.
  boost::json::object v = OnPty(sim, {"80", "24", "60", "--type", "exit 7\r"},
                                {"attach", "-i", "-s", sim.url(), "shell-pty", "-c", "c1"});
  ASSERT_FALSE(v.empty());
  EXPECT_FALSE(v.at("timed_out").as_bool()) << v.at("output").as_string();
  store::SessionRow row = sim.Last();
  EXPECT_TRUE(row.meta.tty);
  EXPECT_EQ(Channel(sim.Frames(row.meta.id), store::Direction::kToServer, 4),
            "{\"Width\":81,\"Height\":25}\n{\"Width\":80,\"Height\":24}\n");
}

TEST(ExecSimTest, HostileServersEndTheSessionWithAMessage) {
  std::string pods;
  for (const char* mode : {"garbage", "unknown-channel", "oversize", "bad-base64", "bad-status",
                           "text-frame", "drop", "no-close"}) {
    pods += std::string("  - name: h-") + mode + "\n    hostile: " + mode +
            "\n    containers:\n      - name: c1\n";
  }
  Sim sim(false, pods);
  START_SIM(sim);
  struct Case {
    std::string mode;
    std::string protocols;
    int exit_code;
    std::string err_part;
  };
  std::vector<Case> cases = {
      {"garbage", "", 1, "empty message"},
      {"unknown-channel", "", 1, "unknown channel 7"},
      {"bad-base64", "v4.base64.channel.k8s.io", 1, "invalid base64"},
      {"bad-status", "", 1, "unparseable status"},
      {"text-frame", "", 1, "text frame on binary protocol"},
      {"text-frame", "base64.channel.k8s.io", 1, "binary frame on base64 protocol"},
      {"drop", "", 1, "lost before the session ended"},
      {"no-close", "", 0, ""},
      {"oversize", "", 0, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode + " " + c.protocols);
    std::vector<std::string> args = {"exec", "-s", sim.url(), "h-" + c.mode, "-c", "c1"};
    if (!c.protocols.empty()) args.insert(args.end(), {"--protocols", c.protocols});
    args.insert(args.end(), {"--", "true"});
    auto t0 = std::chrono::steady_clock::now();
    RunResult r = sim.Podtape(args, "", std::chrono::seconds(60));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r.timed_out);
    EXPECT_LT(secs, 20);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    if (c.exit_code != 0) {
      EXPECT_NE(r.err.find(c.err_part), std::string::npos) << r.err;
      EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;  // one line
      store::SessionRow row = sim.Last();
      EXPECT_EQ(row.end_reason, "error");
      EXPECT_NE(row.end.error.find(c.err_part), std::string::npos) << row.end.error;
    }
  }
}

TEST(ExecSimTest, StalledServerEndsOnSigint) {
  Sim sim(false, "  - name: h-stall\n    hostile: stall\n    containers:\n      - name: c1\n");
  START_SIM(sim);
  RunResult r = testing::Run(
      {"sh", "-c",
       std::string("\"$0\" --db \"$1\" exec -s \"$2\" h-stall -c c1 -- true & pid=$!; sleep 1; "
                   "kill -INT $pid; wait $pid"),
       PODTAPE_BINARY, sim.Db(), sim.url()},
      {.env = {{"HOME", sim.dir()}}, .timeout = std::chrono::seconds(30)});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "stalling\n");
  EXPECT_EQ(r.err, "error: interrupted by SIGINT\n");
}

TEST(ExecSimTest, AStoreThatCannotWriteEndsTheSession) {
  Sim sim;
  START_SIM(sim);
  // The store's files may not grow past 2 MiB: SQLite's writes fail with EFBIG (SIGXFSZ is
  // ignored) while 16 MiB of random (incompressible) output arrive.
  RunResult r = testing::Run(
      {"sh", "-c",
       "trap '' XFSZ; ulimit -f 4096; exec \"$0\" --db \"$1\" exec -s \"$2\" demo -c c1 -- "
       "head -c 16777216 /dev/urandom",
       PODTAPE_BINARY, sim.Db(), sim.url()},
      {.env = {{"HOME", sim.dir()}}, .timeout = std::chrono::seconds(60)});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("recording failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--fail-open"), std::string::npos) << r.err;
  EXPECT_LT(r.out.size(), 16u << 20);  // the session did not go on unrecorded
  store::SessionRow row = sim.Last();
  EXPECT_NE(row.end_reason, "completed");
  EXPECT_NE(row.end_reason, "running");

  // --fail-open: the session goes on, the recording is marked incomplete.
  r = testing::Run(
      {"sh", "-c",
       "trap '' XFSZ; ulimit -f 4096; exec \"$0\" --db \"$1\" exec --fail-open -s \"$2\" demo -c "
       "c1 -- head -c 16777216 /dev/urandom",
       PODTAPE_BINARY, sim.Db(), sim.url()},
      {.env = {{"HOME", sim.dir()}}, .timeout = std::chrono::seconds(60)});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 16u << 20);
}

}  // namespace
}  // namespace podtape
