// Every hostile mode of podtape-sim (samples/README.md) against `podtape exec`, over every
// subprotocol the mode means something on: no crash (the exit code is 0 or 1, never a signal),
// no hang (every run is bounded; a stalled server ends on SIGTERM), one clear error line, and the
// frames that did arrive recorded: output as output, a message that does not decode kept as
// received on channel 255, the status as received. Every session ends sealed and verifies.
// (tests/e2e/exec_sim_test.cc checks the messages over v5; this file adds the other protocols,
// what is stored, stall and verify.)
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;
using namespace std::chrono_literals;

const std::vector<std::string> kModes = {"garbage",    "unknown-channel", "oversize",
                                         "bad-base64", "bad-status",      "text-frame",
                                         "drop",       "stall",           "no-close"};
const std::vector<std::string> kProtocols = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                             "channel.k8s.io", "v4.base64.channel.k8s.io",
                                             "base64.channel.k8s.io"};

std::string HostilePods() {
  std::string pods;
  for (const std::string& m : kModes) {
    pods += "  - name: h-" + m + "\n    hostile: " + m + "\n    containers:\n      - name: c1\n";
  }
  return pods;
}

bool IsBase64(const std::string& proto) { return proto.find("base64") != std::string::npos; }
bool HasJsonStatus(const std::string& proto) { return proto.rfind("v", 0) == 0; }

struct Expect {
  int exit_code;
  std::string err_part;     // in the one error line (exit 1)
  std::string stdout_part;  // recorded on channel 1 (and shown)
  bool undecoded = false;   // a message kept as received on channel 255
};

// What each mode must end as, per protocol.
Expect ExpectFor(const std::string& mode, const std::string& proto) {
  const bool b64 = IsBase64(proto);
  if (mode == "garbage") return {1, "protocol error from the server", "", true};
  if (mode == "unknown-channel") return {1, "unknown channel 7", "", true};
  if (mode == "oversize") return {0, "", std::string(40u << 20, 'x')};
  if (mode == "bad-base64") {
    if (b64) return {1, "invalid base64", "", true};
    return {0, "", "bad-base64 needs a base64 subprotocol\n"};
  }
  if (mode == "bad-status") return {1, "status", "before a malformed status\n"};
  if (mode == "text-frame") {
    return {1, b64 ? "binary frame on base64 protocol" : "text frame on binary protocol", "", true};
  }
  if (mode == "drop") return {1, "lost", "partial output, then the connection drops\n"};
  if (mode == "no-close") return {0, "", "no close frame follows\n"};
  return {1, "interrupted by SIGTERM", "stalling\n"};  // stall
}

TEST(HostileExecTest, EveryModeOverEveryProtocolEndsCleanlyAndRecordsWhatArrived) {
  SimFixture sim(false, HostilePods());
  PODTAPE_START_SIM(sim);
  int runs = 0;
  double slowest = 0;
  for (const std::string& mode : kModes) {
    for (const std::string& proto : kProtocols) {
      // 40 MiB twice is enough; without a JSON status (v1) a server that never closes is a
      // session still open: that is the stall case, covered.
      if (mode == "oversize" && proto != "v5.channel.k8s.io" &&
          proto != "v4.base64.channel.k8s.io") {
        continue;
      }
      if (mode == "no-close" && !HasJsonStatus(proto)) continue;
      if (mode == "stall" && proto != "v5.channel.k8s.io" && proto != "base64.channel.k8s.io") {
        continue;
      }
      SCOPED_TRACE(mode + " over " + proto);
      const Expect want = ExpectFor(mode, proto);
      testing::Process p;
      auto t0 = std::chrono::steady_clock::now();
      ASSERT_TRUE(p.Start(sim.Argv({"exec", "-s", sim.url(), "--protocols", proto, "h-" + mode,
                                    "-c", "c1", "--", "true"}),
                          sim.Env()));
      if (mode == "stall") {
        // Nothing more comes and pings are answered: the user ends it.
        ASSERT_TRUE(p.WaitForStdout("stalling\n", 30s)) << p.Stderr();
        p.Signal(SIGTERM);
      }
      int code = p.Wait(60s);
      double secs = faults::SecondsSince(t0);
      slowest = std::max(slowest, secs);
      ++runs;
      ASSERT_NE(code, -1) << "no end within 60 s";
      EXPECT_LT(code, 128) << "podtape died of a signal";
      EXPECT_EQ(code, want.exit_code) << p.Stderr();
      const std::string err = p.Stderr();
      if (want.exit_code == 1) {
        EXPECT_TRUE(faults::OneErrorLine(err)) << err;
        EXPECT_NE(err.find(want.err_part), std::string::npos) << err;
      } else {
        EXPECT_EQ(err, "");
      }

      faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
      EXPECT_EQ(rec.row.meta.pod, "h-" + mode);
      EXPECT_EQ(rec.row.meta.protocol, proto);
      EXPECT_TRUE(rec.row.ended);
      EXPECT_EQ(rec.row.end_reason, want.exit_code == 0 ? "completed" : "error");
      if (want.exit_code == 1) {
        EXPECT_NE(rec.row.end.error.find(want.err_part), std::string::npos) << rec.row.end.error;
      }
      EXPECT_TRUE(rec.stdout_bytes == p.Stdout()) << "recorded output differs from the shown";
      EXPECT_TRUE(rec.stdout_bytes.rfind(want.stdout_part, 0) == 0)
          << rec.stdout_bytes.substr(0, 200);
      if (want.undecoded) {
        EXPECT_GE(rec.undecoded_frames, 1);
      }
      if (mode == "unknown-channel") {
        EXPECT_EQ(rec.undecoded.substr(0, 1), IsBase64(proto) ? "7" : "\x07");
      }
      if (mode == "bad-base64" && IsBase64(proto)) {
        EXPECT_EQ(rec.undecoded, "1!!!not base64!!!");
      }
      if (mode == "bad-status") {
        EXPECT_EQ(rec.status_bytes, R"({"metadata":{},"status":"Fail)");
      }
      ASSERT_TRUE(rec.check.has_value());
      EXPECT_TRUE(rec.check->intact()) << rec.check->problem;
    }
  }
  std::printf("hostile modes: %d runs, the slowest took %.2f s\n", runs, slowest);
  faults::VerifyResult v = faults::Verify(sim);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(v.state.size(), static_cast<size_t>(runs));
}

}  // namespace
}  // namespace podtape
