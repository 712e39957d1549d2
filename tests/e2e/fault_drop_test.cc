// The server dropping mid-stream (podtape-sim killed with SIGKILL by its PID while output
// flows): the session ends within a second, exit 1 with the reason in one line on stderr, the
// terminal is restored, and the recording holds everything that was received.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;
using namespace std::chrono_literals;

const char kStream[] = "i=0; while :; do i=$((i+1)); echo \"line $i\"; sleep 0.005; done";

// Waits (bounded) until the running session in `db` has committed some stdout.
bool WaitForCommittedOutput(const std::string& db, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = store::Store::Open(db);
    if (s.ok()) {
      auto row = (*s)->Find("last");
      if (row.ok() && row->bytes > 0) return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(FaultDropTest, ServerKilledMidStreamEndsTheSessionWithEverythingReceivedRecorded) {
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  testing::Process p;
  ASSERT_TRUE(
      p.Start(sim.Argv({"exec", "-s", sim.url(), "box", "-c", "c1", "--", "sh", "-c", kStream}),
              sim.Env()));
  ASSERT_TRUE(p.WaitForStdout("line 20\n", 30s)) << p.Stderr();
  ASSERT_EQ(kill(sim.server().pid(), SIGKILL), 0);
  auto t0 = std::chrono::steady_clock::now();
  int code = p.Wait(30s);
  double secs = faults::SecondsSince(t0);
  std::printf("server killed mid-stream: the session ended %.3f s later\n", secs);
  EXPECT_EQ(code, 1);
  EXPECT_LT(secs, 5.0);  // about 10 ms when the machine is idle; the bound allows for load
  std::string err = p.Stderr();
  EXPECT_TRUE(faults::OneErrorLine(err)) << err;
  EXPECT_NE(err.find("connection to the server was lost"), std::string::npos) << err;

  faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
  EXPECT_EQ(rec.stdout_bytes, p.Stdout());  // every byte shown was recorded, and nothing else
  EXPECT_EQ(rec.row.end_reason, "error");
  EXPECT_NE(rec.row.end.error.find("connection to the server was lost"), std::string::npos);
  EXPECT_FALSE(rec.row.end.close_code.has_value());
  ASSERT_TRUE(rec.check.has_value());
  EXPECT_TRUE(rec.check->intact()) << rec.check->problem;  // ended and sealed
}

TEST(FaultDropTest, ServerKilledMidStreamRestoresTheTerminal) {
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  std::vector<std::string> argv = {
      "/usr/bin/python3",
      std::string(PODTAPE_SOURCE_DIR) + "/tests/e2e/exec_pty_driver.py",
      "100",
      "30",
      "60",
      "--"};
  for (const std::string& a :
       sim.Argv({"exec", "-it", "-s", sim.url(), "box", "-c", "c1", "--", "sh", "-c", kStream})) {
    argv.push_back(a);
  }
  testing::Process driver;
  ASSERT_TRUE(driver.Start(argv, sim.Env()));
  ASSERT_TRUE(WaitForCommittedOutput(sim.Db(), 30s)) << driver.Stderr();
  ASSERT_EQ(kill(sim.server().pid(), SIGKILL), 0);
  ASSERT_EQ(driver.Wait(60s), 0) << driver.Stderr();
  boost::json::value v = faults::ParseJson(driver.Stdout());
  ASSERT_TRUE(v.is_object());
  const boost::json::object& o = v.as_object();
  std::string shown(o.at("output").as_string());  // latin-1: byte for byte
  EXPECT_FALSE(o.at("timed_out").as_bool());
  EXPECT_TRUE(o.at("raw_seen").as_bool());
  EXPECT_EQ(o.at("exit_code").as_int64(), 1)
      << shown.substr(shown.size() > 300 ? shown.size() - 300 : 0);
  EXPECT_EQ(o.at("stty_before").as_string(), o.at("stty_after").as_string());

  // The terminal saw exactly what was recorded, then one error line (after the terminal was
  // restored, so its newline became CR LF).
  faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
  ASSERT_FALSE(rec.stdout_bytes.empty());
  ASSERT_EQ(shown.rfind(rec.stdout_bytes, 0), 0u)
      << "recorded " << rec.stdout_bytes.size() << " bytes, shown " << shown.size();
  std::string rest = shown.substr(rec.stdout_bytes.size());
  EXPECT_EQ(rest.rfind("error: ", 0), 0u) << rest;
  EXPECT_NE(rest.find("connection to the server was lost"), std::string::npos) << rest;
  EXPECT_EQ(rest.find('\n'), rest.size() - 1) << rest;
  EXPECT_EQ(rec.row.end_reason, "error");
  EXPECT_TRUE(rec.row.meta.tty);
}

}  // namespace
}  // namespace podtape
