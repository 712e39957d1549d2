// The store locked by another process past SQLite's busy timeout (5 s): the sqlite3 shell holds
// BEGIN EXCLUSIVE for 7 s.
// - Mid-session: the recorder's writer waits (frames stay queued, the session goes on, readers
//   such as `podtape ls` are not blocked), then commits everything: nothing is lost.
// - A new session: `podtape exec` waits for the lock before it runs the command (it gives up,
//   with a one-line error and without running the command, after 60 s), then records normally.
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;
using namespace std::chrono_literals;

// The sqlite3 shell takes the write lock (waiting up to 20 s for a writer of ours), creates the
// file DB.locked (its stdout is a pipe, so printed text would come only at its exit), holds the
// lock for `hold_s` seconds, runs `before_release` (a shell command), then commits.
bool StartLockHolder(testing::Process* p, const std::string& db, int hold_s,
                     const std::string& before_release = "true") {
  const std::string marker = db + ".locked";
  if (!p->Start({"sqlite3", "-bail", db, ".timeout 20000", "BEGIN EXCLUSIVE;",
                 ".shell touch '" + marker + "'",
                 ".shell sleep " + std::to_string(hold_s) + "; " + before_release, "COMMIT;"})) {
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (access(marker.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

int64_t CommittedFrames(const std::string& db) {
  auto s = store::Store::Open(db);
  if (!s.ok()) return -1;
  auto row = (*s)->Find("last");
  return row.ok() ? row->frames : -1;
}

TEST(FaultLockTest, MidSessionLockPastTheBusyTimeoutLosesNothing) {
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  const std::string stop = sim.dir().File("stop");
  testing::Process p;
  ASSERT_TRUE(p.Start(sim.Argv({"exec", "-s", sim.url(), "box", "-c", "c1", "--", "sh", "-c",
                                "i=0; while [ ! -e '" + stop +
                                    "' ]; do i=$((i+1)); echo \"line $i\"; sleep 0.01; done; "
                                    "echo done"}),
                      sim.Env()));
  ASSERT_TRUE(p.WaitForStdout("line 10\n", 30s)) << p.Stderr();

  testing::Process lock;
  ASSERT_TRUE(StartLockHolder(&lock, sim.Db(), 7)) << lock.Stderr();
  auto locked_at = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);
  int64_t frames_early = CommittedFrames(sim.Db());
  size_t shown_early = p.Stdout().size();
  std::this_thread::sleep_until(locked_at + 6s);
  // Past the busy timeout: readers still work, the writer has committed nothing meanwhile, and
  // the session goes on (its frames wait in the queue).
  testing::RunResult ls = sim.Podtape({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  int64_t frames_late = CommittedFrames(sim.Db());
  EXPECT_GT(frames_early, 0);
  EXPECT_EQ(frames_early, frames_late)
      << "the lock did not hold the writer: the test proves nothing";
  EXPECT_GT(p.Stdout().size(), shown_early) << "the session stalled while the store was locked";

  ASSERT_EQ(lock.Wait(30s), 0) << lock.Stderr();
  std::this_thread::sleep_for(300ms);
  testing::WriteFile(stop, "");
  ASSERT_EQ(p.Wait(60s), 0) << p.Stderr();
  const std::string shown = p.Stdout();
  ASSERT_NE(shown.find("done\n"), std::string::npos);
  faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
  EXPECT_EQ(rec.stdout_bytes, shown);  // nothing lost
  EXPECT_EQ(rec.row.end_reason, "completed");
  ASSERT_TRUE(rec.check.has_value());
  EXPECT_TRUE(rec.check->intact()) << rec.check->problem;
}

TEST(FaultLockTest, NewSessionWaitsForTheLockBeforeRunningTheCommand) {
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  testing::RunResult before =
      sim.Podtape({"exec", "-s", sim.url(), "box", "-c", "c1", "--", "echo", "before"});
  ASSERT_EQ(before.exit_code, 0) << before.err;

  // The lock holder creates `released` just before it commits: a command that ran while the
  // store was locked would not see it.
  const std::string released = sim.dir().File("released");
  testing::Process lock;
  ASSERT_TRUE(StartLockHolder(&lock, sim.Db(), 7, "touch '" + released + "'")) << lock.Stderr();
  auto t0 = std::chrono::steady_clock::now();
  testing::RunResult r = sim.Podtape(
      {"exec", "-s", sim.url(), "box", "-c", "c1", "--", "sh", "-c",
       "if [ -e '" + released + "' ]; then echo after the lock; else echo under the lock; fi"});
  double secs = faults::SecondsSince(t0);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "after the lock\n");
  EXPECT_GE(secs, 5.0);
  EXPECT_EQ(lock.Wait(30s), 0) << lock.Stderr();
  std::printf("a new session waited %.2f s for another process's write lock\n", secs);

  // Both sessions are whole.
  faults::VerifyResult v = faults::Verify(sim);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  ASSERT_EQ(v.state.size(), 2u) << v.out;
  for (const auto& [id, state] : v.state) EXPECT_EQ(state, "intact") << id;
}

}  // namespace
}  // namespace podtape
