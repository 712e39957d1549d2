// The podtape proxy end-to-end fixture shared by tests/e2e/proxy_*_test.cc: podtape-sim (HTTPS)
// behind a podtape proxy (HTTPS, client CA), with kubeconfigs for kubectl in front. Each fixture
// starts its own sim and proxy on port 0 and stops both by PID when it goes.
#ifndef PODTAPE_TESTS_E2E_PROXY_FIXTURE_H_
#define PODTAPE_TESTS_E2E_PROXY_FIXTURE_H_

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace podtape::proxytest {

inline const char kConfig[] = R"(httpUser: alice
users:
  - name: alice
    token: alice-token
    groups: [dev]
    exec: true
  - name: bob
    token: bob-token
    groups: [viewers]
    exec: false
  - name: podtape-proxy
    token: podtape-proxy-token
    groups: [podtape]
    exec: true
    impersonate: true
pods:
  - name: box
    containers:
      - name: c1
  - name: pipe
    containers:
      - name: sh
        stdin: true
        command: [/bin/sh]
  - name: pipe2
    containers:
      - name: sh
        stdin: true
        command: [/bin/sh]
  - {name: hostile-garbage, hostile: garbage, containers: [{name: main}]}
  - {name: hostile-unknown-channel, hostile: unknown-channel, containers: [{name: main}]}
  - {name: hostile-oversize, hostile: oversize, containers: [{name: main}]}
  - {name: hostile-bad-base64, hostile: bad-base64, containers: [{name: main}]}
  - {name: hostile-bad-status, hostile: bad-status, containers: [{name: main}]}
  - {name: hostile-text-frame, hostile: text-frame, containers: [{name: main}]}
  - {name: hostile-drop, hostile: drop, containers: [{name: main}]}
  - {name: hostile-stall, hostile: stall, containers: [{name: main}]}
  - {name: hostile-no-close, hostile: no-close, containers: [{name: main}]}
)";

struct FixtureOptions {
  std::vector<std::string> proxy_extra;  // more proxy flags
  // Put before the podtape binary in the proxy's argv (a wrapper that execs the rest).
  std::vector<std::string> wrapper;
  bool index = false;  // false: PODTAPE_NO_INDEX=1 (no background indexer)
};

class ProxyFixture {
 public:
  explicit ProxyFixture(FixtureOptions options = {}) {
    testing::WriteFile(dir_.File("cluster.yaml"), kConfig);
    sim_url_ = sim_.Start({PODTAPE_SIM_BINARY, "--config", dir_.File("cluster.yaml"), "--listen",
                           "127.0.0.1:0", "--tls-dir", dir_.File("tls")});
    if (sim_url_.empty()) return;
    std::vector<std::string> argv = options.wrapper;
    std::vector<std::string> proxy = {PODTAPE_BINARY, "--db",
                                      Db(),           "proxy",
                                      "--listen",     "127.0.0.1:0",
                                      "--kubeconfig", Tls("kubeconfig-podtape-proxy"),
                                      "--tls-cert",   Tls("server.crt"),
                                      "--tls-key",    Tls("server.key"),
                                      "--client-ca",  Tls("ca.crt")};
    argv.insert(argv.end(), proxy.begin(), proxy.end());
    argv.insert(argv.end(), options.proxy_extra.begin(), options.proxy_extra.end());
    testing::RunOptions o;
    o.env["HOME"] = dir_.path();
    if (!options.index) o.env["PODTAPE_NO_INDEX"] = "1";
    o.unset_env = {"KUBECONFIG"};
    proxy_url_ = proxy_.Start(argv, o);
    // kubectl's kubeconfigs for the proxy: alice by token, alice by certificate, nobody.
    std::string cluster =
        "apiVersion: v1\nkind: Config\nclusters:\n- name: p\n  cluster:\n"
        "    server: " +
        proxy_url_ + "\n    certificate-authority: " + Tls("ca.crt") +
        "\ncontexts:\n- name: p\n  context:\n    cluster: p\n"
        "    user: u\n    namespace: default\ncurrent-context: p\n";
    testing::WriteFile(dir_.File("kc-token"),
                       cluster + "users:\n- name: u\n  user:\n    token: alice-token\n");
    testing::WriteFile(dir_.File("kc-cert"), cluster +
                                                 "users:\n- name: u\n  user:\n"
                                                 "    client-certificate: " +
                                                 Tls("alice.crt") +
                                                 "\n    client-key: " + Tls("alice.key") + "\n");
    testing::WriteFile(dir_.File("kc-none"), cluster + "users:\n- name: u\n  user: {}\n");
    testing::WriteFile(dir_.File("kc-badtoken"),
                       cluster + "users:\n- name: u\n  user:\n    token: wrong-token\n");
  }

  bool ok() const { return !sim_url_.empty() && !proxy_url_.empty(); }
  std::string Why() const { return sim_.error() + " / " + proxy_.error(); }
  std::string Tls(const std::string& name) const { return dir_.File("tls/" + name); }
  std::string Db() const { return dir_.File("podtape.db"); }
  std::string File(const std::string& name) const { return dir_.File(name); }
  const std::string& dir() const { return dir_.path(); }
  testing::Server& proxy() { return proxy_; }
  testing::Server& sim() { return sim_; }
  const std::string& sim_url() const { return sim_url_; }

  // kubectl with a private cache folder; `kubeconfig` is a file name in the fixture's folder.
  testing::RunResult Kubectl(const std::string& binary, const std::string& kubeconfig,
                             const std::vector<std::string>& args,
                             const std::string& stdin_data = "",
                             std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    std::vector<std::string> argv = {binary, "--kubeconfig", dir_.File(kubeconfig), "--cache-dir",
                                     dir_.File("kcache")};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions o;
    o.stdin_data = stdin_data;
    o.timeout = timeout;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS"};
    return testing::Run(argv, o);
  }

  testing::RunResult Podtape(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", Db()};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions o;
    o.timeout = std::chrono::seconds(60);
    o.env["PODTAPE_NO_INDEX"] = "1";
    return testing::Run(argv, o);
  }

  // Every session, newest first, once the newest one has ended (the proxy finishes a session
  // just after kubectl exits); bounded at 20 s.
  boost::json::array EndedSessions() const {
    boost::json::array s;
    for (int i = 0; i < 200; ++i) {
      s = Sessions();
      if (!s.empty() && s[0].as_object().at("end_reason") != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

  // Every session once `count` exist and none is running; bounded at `limit`.
  boost::json::array AllEnded(size_t count,
                              std::chrono::milliseconds limit = std::chrono::seconds(30)) const {
    boost::json::array s;
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      s = Sessions();
      bool running = false;
      for (const auto& v : s) running |= v.as_object().at("end_reason") == "running";
      if (s.size() >= count && !running) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

  // Every session, newest first (ls -o json).
  boost::json::array Sessions() const {
    testing::RunResult r = Podtape({"ls", "-o", "json"});
    if (r.exit_code != 0) return {};
    return boost::json::parse(r.out).as_array();
  }

 private:
  testing::TempDir dir_;
  testing::Server sim_;
  testing::Server proxy_;
  std::string sim_url_;
  std::string proxy_url_;
};

inline std::string Kubectl(const std::string& version) {
  return testing::KubectlDir() + "/kubectl." + version;
}

inline std::string Str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : std::string();
}

}  // namespace podtape::proxytest

#endif  // PODTAPE_TESTS_E2E_PROXY_FIXTURE_H_
