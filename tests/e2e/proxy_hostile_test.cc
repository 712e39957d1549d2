// Hostile peers through the podtape proxy (issue 9.4): every hostile mode of podtape-sim as the
// upstream of a kubectl exec through the proxy. Each wait is bounded; the proxy must not crash.
#include <gtest/gtest.h>

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

bool Alive(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

struct Mode {
  std::string pod;
  std::string output;  // output the upstream sent before its hostile act (the recording holds it)
  bool client_leaves;  // the upstream never ends: kubectl is stopped by the test's timeout
};

TEST(ProxyHostile, EveryHostileUpstreamModeEndsBoundedAndRecordsWhatArrived) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  const std::vector<Mode> modes = {
      {"hostile-garbage", "after garbage\n", false},
      {"hostile-unknown-channel", "after unknown channel\n", false},
      {"hostile-bad-base64", "bad-base64 needs a base64 subprotocol\n", false},
      {"hostile-bad-status", "before a malformed status\n", false},
      {"hostile-text-frame", "after the text frame\n", false},
      {"hostile-drop", "partial output, then the connection drops\n", false},
      // kubectl waits for the close frame directly against the simulator too: it leaves when
      // the test stops it, and the proxy must then let go.
      {"hostile-no-close", "no close frame follows\n", true},
      {"hostile-stall", "stalling\n", true},
  };
  size_t sessions = 0;
  for (const Mode& m : modes) {
    SCOPED_TRACE(m.pod);
    auto start = std::chrono::steady_clock::now();
    RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token", {"exec", m.pod, "--", "x"}, "",
                            std::chrono::seconds(m.client_leaves ? 5 : 60));
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.timed_out, m.client_leaves) << took << " s: " << r.err;
    // What kubectl itself prints of a hostile stream is kubectl's business (it may stop at the
    // first bad message); the proxy's promise is the bounded end and the recording below.
    ++sessions;
    // The session ends (the proxy lets go of both sides) and holds what arrived.
    boost::json::array s = f.AllEnded(sessions, std::chrono::seconds(30));
    ASSERT_EQ(s.size(), sessions);
    const auto& row = s[0].as_object();
    EXPECT_NE(Str(row.at("end_reason")), "running");
    EXPECT_EQ(Str(row.at("pod")), m.pod);
    RunResult cat = f.Podtape({"cat", Str(row.at("id"))});
    EXPECT_NE(cat.out.find(m.output), std::string::npos) << cat.out << cat.err;
    EXPECT_TRUE(Alive(f.proxy().pid()));
  }
  // 40 MiB in one message passes and is recorded whole.
  RunResult big = f.Kubectl(Kubectl("1.32"), "kc-token", {"exec", "hostile-oversize", "--", "x"},
                            "", std::chrono::seconds(120));
  EXPECT_EQ(big.out.size(), 40u << 20) << big.err;
  boost::json::array s = f.AllEnded(sessions + 1, std::chrono::seconds(60));
  ASSERT_EQ(s.size(), sessions + 1);
  EXPECT_EQ(s[0].as_object().at("bytes").as_int64(), int64_t{40} << 20);
  EXPECT_TRUE(Alive(f.proxy().pid()));
}

}  // namespace
}  // namespace podtape
