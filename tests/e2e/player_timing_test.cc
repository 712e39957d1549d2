// podtape play writes each frame at its recorded time: measured from outside, through a pipe,
// as a viewer's terminal would receive it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "test_util.h"
#include "tests/player/test_sessions.h"

extern char** environ;

namespace podtape::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Arrival {
  int frame;
  Clock::time_point at;
};

// Runs argv with stdout on a pipe and timestamps each frame marker "F0042\n" as it arrives.
// Bounded by `timeout`; the child is killed by its PID if it overruns.
std::vector<Arrival> RunAndTimestamp(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout, Clock::time_point* spawned,
                                     int* exit_code) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  *spawned = Clock::now();
  EXPECT_EQ(posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::vector<Arrival> arrivals;
  std::string pending;
  const Clock::time_point deadline = *spawned + timeout;
  char buf[4096];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "play did not finish in time";
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd p {
      fds[0], POLLIN, 0
    };
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    const Clock::time_point now = Clock::now();
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (line.size() == 5 && line[0] == 'F') arrivals.push_back({std::stoi(line.substr(1)), now});
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return arrivals;
}

TEST(PlayerTiming, FramesArriveOnTimeWithoutDrift) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  // 150 frames over 3 s, with uneven gaps (5-35 ms), as a session's output comes.
  std::vector<TestFrame> frames;
  std::vector<int64_t> t_ms;
  int64_t t = 200;
  for (int i = 0; i < 150; ++i) {
    char line[16];
    std::snprintf(line, sizeof line, "F%04d\n", i);
    frames.push_back(Out(t, line));
    t_ms.push_back(t);
    t += 5 + (i * 7) % 31;
  }
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    Record(**st, SampleMeta(), frames, 0);
  }
  Clock::time_point spawned;
  int rc = -1;
  std::vector<Arrival> got = RunAndTimestamp({PODTAPE_BINARY, "--db", db, "play", "last"},
                                             std::chrono::seconds(60), &spawned, &rc);
  EXPECT_EQ(rc, 0);
  ASSERT_EQ(got.size(), frames.size());
  // Lateness of each frame against the recorded schedule, anchored at the earliest start that
  // no frame contradicts (the process's start-up is not replay timing, and a late first frame
  // must not make the rest look early).
  std::vector<double> offset_ms;
  for (const Arrival& a : got) {
    offset_ms.push_back(std::chrono::duration<double, std::milli>(a.at - spawned).count() -
                        static_cast<double>(t_ms[a.frame]));
  }
  const double anchor = *std::min_element(offset_ms.begin(), offset_ms.end());
  std::vector<double> late_ms;
  for (double o : offset_ms) late_ms.push_back(o - anchor);
  std::vector<double> sorted = late_ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const double p95 = sorted[sorted.size() * 95 / 100];
  const double first_ms = std::chrono::duration<double, std::milli>(got[0].at - spawned).count();
  std::printf(
      "[ figures  ] play lateness over %zu frames: median %.3f ms, p95 %.3f ms, max %.3f ms, "
      "last %.3f ms; first frame %.1f ms after spawn (recorded at %lld ms)\n",
      got.size(), median, p95, sorted.back(), late_ms.back(), first_ms,
      static_cast<long long>(t_ms[0]));
  EXPECT_LT(median, 5.0);
  EXPECT_LT(late_ms.back(), 50.0);
}

}  // namespace
}  // namespace podtape::testing
