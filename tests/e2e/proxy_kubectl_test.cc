// podtape proxy end to end: podtape-sim (HTTPS) behind a podtape proxy (HTTPS, client CA), real
// kubectl 1.27 and 1.30-1.33 in front (tests/e2e/proxy_fixture.h).
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "proxy_fixture.h"
#include "test_util.h"

namespace podtape {
namespace {

using proxytest::Kubectl;
using proxytest::ProxyFixture;
using proxytest::Str;
using testing::RunResult;

TEST(ProxyKubectl, ExecAndAttachRecordedWithIdentityOverTokenAndCertificate) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  int expected = 0;
  for (std::string version : {"1.30", "1.31", "1.32", "1.33"}) {
    for (std::string kc : {"kc-token", "kc-cert"}) {
      SCOPED_TRACE(version + " " + kc);
      RunResult r =
          f.Kubectl(Kubectl(version), kc,
                    {"exec", "box", "--", "sh", "-c", "echo out-" + version + "; exit 3"});
      EXPECT_EQ(r.exit_code, 3) << r.err;
      EXPECT_EQ(r.out, "out-" + version + "\n");
      ++expected;
      boost::json::array s = f.EndedSessions();
      ASSERT_EQ(s.size(), static_cast<size_t>(expected));
      const boost::json::object& row = s[0].as_object();
      EXPECT_EQ(Str(row.at("user")), "alice");
      EXPECT_EQ(Str(row.at("user_source")), kc == "kc-token" ? "selfsubjectreview" : "certificate");
      EXPECT_EQ(Str(row.at("pod")), "box");
      EXPECT_EQ(Str(row.at("kind")), "exec");
      EXPECT_EQ(Str(row.at("end_reason")), "completed");
      EXPECT_EQ(Str(row.at("protocol")), "v5.channel.k8s.io");
      ASSERT_TRUE(row.at("exit_code").is_int64());
      EXPECT_EQ(row.at("exit_code").as_int64(), 3);
      const boost::json::array& cmd = row.at("command").as_array();
      ASSERT_EQ(cmd.size(), 3u);
      EXPECT_EQ(Str(cmd[2]), "echo out-" + version + "; exit 3");
      RunResult cat = f.Podtape({"cat", Str(row.at("id"))});
      EXPECT_EQ(cat.out, "out-" + version + "\n") << cat.err;
    }
  }
  for (std::string kc : {"kc-token", "kc-cert"}) {
    SCOPED_TRACE("attach " + kc);
    // A fresh shell per attach (an exited one restarts only a second later).
    std::string pod = kc == "kc-token" ? "pipe" : "pipe2";
    RunResult r =
        f.Kubectl(Kubectl("1.32"), kc, {"attach", "-i", pod}, "echo attached-" + kc + "\nexit\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("attached-" + kc), std::string::npos) << r.out;
    boost::json::array s = f.EndedSessions();
    ASSERT_FALSE(s.empty());
    const boost::json::object& row = s[0].as_object();
    EXPECT_EQ(Str(row.at("kind")), "attach");
    EXPECT_EQ(Str(row.at("user")), "alice");
    EXPECT_EQ(Str(row.at("pod")), pod);
    EXPECT_EQ(Str(row.at("user_source")), kc == "kc-token" ? "selfsubjectreview" : "certificate");
    RunResult cat = f.Podtape({"cat", Str(row.at("id")), "--channels", "stdin,stdout"});
    EXPECT_NE(cat.out.find("echo attached-" + kc), std::string::npos) << cat.out << cat.err;
  }
  // No secret reaches the store.
  std::string db = testing::ReadFile(f.Db()) + testing::ReadFile(f.Db() + "-wal");
  EXPECT_EQ(db.find("alice-token"), std::string::npos);
  EXPECT_EQ(db.find("podtape-proxy-token"), std::string::npos);
}

TEST(ProxyKubectl, GetAndWatchPassThroughAndStream) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  for (std::string kc : {"kc-token", "kc-cert"}) {
    RunResult r = f.Kubectl(Kubectl("1.32"), kc, {"get", "pods"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("box"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pipe"), std::string::npos) << r.out;
  }
  // The watch stays open for 60 s upstream; its events must come through long before.
  auto start = std::chrono::steady_clock::now();
  RunResult w =
      f.Kubectl(Kubectl("1.32"), "kc-token",
                {"get", "--raw", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=60"},
                "", std::chrono::seconds(8));
  EXPECT_TRUE(w.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_NE(w.out.find("\"ADDED\""), std::string::npos) << w.out << w.err;
  EXPECT_NE(w.out.find("\"pipe2\""), std::string::npos) << w.out << w.err;
  // kubectl get -w: the pod, then a watch that stays open.
  RunResult gw = f.Kubectl(Kubectl("1.32"), "kc-cert", {"get", "pod", "box", "-w"}, "",
                           std::chrono::seconds(6));
  EXPECT_TRUE(gw.timed_out);
  EXPECT_NE(gw.out.find("box"), std::string::npos) << gw.out << gw.err;
  EXPECT_EQ(gw.err.find("error"), std::string::npos) << gw.err;
  EXPECT_TRUE(f.Sessions().empty());
}

TEST(ProxyKubectl, RefusesAnonymousForeignCertificatesSpdyAndNodeProxy) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  // Neither token nor certificate: 401.
  RunResult curl =
      testing::Run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                    f.Tls("ca.crt"), f.proxy().url() + "/api/v1/namespaces/default/pods"});
  EXPECT_EQ(curl.out, "401");

  // A certificate for alice from another CA: the TLS handshake fails.
  RunResult gen =
      testing::Run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", f.File("other.key"), "-out",
                    f.File("other.crt"), "-days", "1", "-subj", "/CN=alice/O=dev"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  std::string kc = testing::ReadFile(f.File("kc-cert"));
  size_t at = kc.find("users:");
  testing::WriteFile(f.File("kc-other"),
                     kc.substr(0, at) + "users:\n- name: u\n  user:\n    client-certificate: " +
                         f.File("other.crt") + "\n    client-key: " + f.File("other.key") + "\n");
  RunResult other = f.Kubectl(Kubectl("1.32"), "kc-other", {"exec", "box", "--", "echo", "x"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_EQ(other.out, "");

  // kubectl 1.27 speaks SPDY only: refused with what to do.
  RunResult old = f.Kubectl(Kubectl("1.27"), "kc-token", {"exec", "box", "--", "echo", "x"});
  EXPECT_NE(old.exit_code, 0);
  EXPECT_NE(old.err.find("kubectl 1.30 or newer"), std::string::npos) << old.err;
  EXPECT_EQ(old.out, "");

  // The kubelet's exec through the nodes proxy would bypass recording.
  RunResult node =
      f.Kubectl(Kubectl("1.32"), "kc-token",
                {"get", "--raw", "/api/v1/nodes/n1/proxy/exec/default/box/c1?command=id"});
  EXPECT_NE(node.exit_code, 0);
  EXPECT_NE(node.err.find("bypass recording"), std::string::npos) << node.err;
  EXPECT_TRUE(f.Sessions().empty());

  // Metrics count the refusals.
  RunResult m =
      testing::Run({"curl", "-s", "--cacert", f.Tls("ca.crt"), f.proxy().url() + "/metrics"});
  EXPECT_NE(m.out.find("podtape_proxy_refusals_total "), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("podtape_proxy_refusals_total 0\n"), std::string::npos) << m.out;
}

TEST(ProxyKubectl, ConcurrentSessionsRecordedBitExact) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  constexpr int kSessions = 20;
  // seq 1 500000 is about 3.4 MiB.
  RunResult expect = testing::Run({"seq", "1", "500000"});
  ASSERT_EQ(expect.exit_code, 0);
  // The same load straight to the sim, then through the proxy; both figures are printed.
  auto run_all = [&](bool through_proxy, std::vector<RunResult>* results) {
    std::vector<std::thread> threads;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kSessions; ++i) {
      threads.emplace_back([&f, results, i, through_proxy] {
        std::string kc = !through_proxy ? "tls/kubeconfig-alice" : i % 2 ? "kc-cert" : "kc-token";
        (*results)[i] = f.Kubectl(Kubectl("1.32"), kc, {"exec", "box", "--", "seq", "1", "500000"},
                                  "", std::chrono::seconds(240));
      });
    }
    for (auto& t : threads) t.join();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<RunResult> direct(kSessions);
  double direct_s = run_all(false, &direct);
  for (int i = 0; i < kSessions; ++i) ASSERT_EQ(direct[i].exit_code, 0) << direct[i].err;
  std::vector<RunResult> results(kSessions);
  double secs = run_all(true, &results);
  std::printf("direct: %d concurrent sessions x %zu bytes in %.2f s (%.1f MB/s)\n", kSessions,
              expect.out.size(), direct_s, kSessions * expect.out.size() / direct_s / 1e6);
  std::printf("proxy:  %d concurrent sessions x %zu bytes in %.2f s (%.1f MB/s)\n", kSessions,
              expect.out.size(), secs, kSessions * expect.out.size() / secs / 1e6);
  for (int i = 0; i < kSessions; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << results[i].err;
    EXPECT_TRUE(results[i].out == expect.out) << "session " << i << " output differs";
  }
  boost::json::array s = f.AllEnded(kSessions);
  ASSERT_EQ(s.size(), static_cast<size_t>(kSessions));
  for (const auto& v : s) {
    const boost::json::object& row = v.as_object();
    EXPECT_EQ(Str(row.at("end_reason")), "completed");
    RunResult cat = f.Podtape({"cat", Str(row.at("id"))});
    EXPECT_TRUE(cat.out == expect.out) << "recording " << Str(row.at("id")) << " differs";
  }
}

TEST(ProxyKubectl, KilledProxyLeavesSessionInterrupted) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  RunResult r;
  std::thread t([&] {
    r = f.Kubectl(Kubectl("1.32"), "kc-token",
                  {"exec", "box", "--", "sh", "-c", "echo started; sleep 30"}, "",
                  std::chrono::seconds(60));
  });
  bool running = false;
  for (int i = 0; i < 200 && !running; ++i) {
    boost::json::array s = f.Sessions();
    running = !s.empty() && Str(s[0].as_object().at("end_reason")) == "running" &&
              s[0].as_object().at("frames").as_int64() >= 2;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(running);
  kill(f.proxy().pid(), SIGKILL);
  t.join();
  EXPECT_NE(r.exit_code, 0);
  boost::json::array s = f.Sessions();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(Str(s[0].as_object().at("end_reason")), "interrupted");
  RunResult cat = f.Podtape({"cat", Str(s[0].as_object().at("id"))});
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out, "started\n");
}

}  // namespace
}  // namespace podtape
