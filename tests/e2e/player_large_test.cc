// A session of a million frames exports in constant memory (peak RSS no higher than for a small
// session, give or take a generous margin), and the export speed is printed in MB/s. A progress
// bar appears on stderr when it is a terminal and the export takes over a second. play and
// export to a reader that reads slowly keep memory bounded too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "test_util.h"
#include "tests/player/test_sessions.h"

extern char** environ;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PODTAPE_HAS_ASAN 1
#endif
#endif
#ifndef PODTAPE_HAS_ASAN
#define PODTAPE_HAS_ASAN 0
#endif

namespace podtape::testing {
namespace {

struct Usage {
  int exit_code = -1;
  long max_rss_kb = 0;
  double seconds = 0;
};

// The peak RSS so far of a running process (VmHWM), 0 once it has exited. Read from /proc, since
// wait4's ru_maxrss of a posix_spawn child starts from the parent's own peak.
long PeakRssKb(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

// Runs argv with stdio on /dev/null; returns its exit code, peak RSS (sampled every 2 ms) and
// wall time. Killed by its PID after `timeout`.
Usage RunMeasured(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const auto start = std::chrono::steady_clock::now();
  Usage u;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) return u;
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  struct rusage ru {};
  while (true) {
    u.max_rss_kb = std::max(u.max_rss_kb, PeakRssKb(pid));
    pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() - start > timeout) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      ADD_FAILURE() << argv[0] << " timed out";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  u.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  u.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return u;
}

constexpr char kPtyStderr[] = R"(import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(st))
)";

// Sets ASAN_OPTIONS=quarantine_size_mb=0 for child processes while alive, in a sanitizer build
// only; restores the previous value.
class ScopedAsanQuarantineOff {
 public:
  ScopedAsanQuarantineOff() {
#if defined(__SANITIZE_ADDRESS__) || PODTAPE_HAS_ASAN
    const char* old = std::getenv("ASAN_OPTIONS");
    had_ = old != nullptr;
    if (had_) old_ = old;
    std::string opts = had_ ? old_ + ":" : "";
    setenv("ASAN_OPTIONS", (opts + "quarantine_size_mb=0").c_str(), 1);
    active_ = true;
#endif
  }
  ~ScopedAsanQuarantineOff() {
    if (!active_) return;
    if (had_) {
      setenv("ASAN_OPTIONS", old_.c_str(), 1);
    } else {
      unsetenv("ASAN_OPTIONS");
    }
  }
  ScopedAsanQuarantineOff(const ScopedAsanQuarantineOff&) = delete;
  ScopedAsanQuarantineOff& operator=(const ScopedAsanQuarantineOff&) = delete;

 private:
  bool active_ = false;
  bool had_ = false;
  std::string old_;
};

TEST(PlayerLarge, MillionFramesExportInConstantMemory) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  constexpr int kFrames = 1'000'000;
  std::string small_id;
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    small_id = Record(**st, SampleMeta(), {Out(0, ""), Out(1, "small\r\n")}, 0);
    store::SessionMeta meta = SampleMeta();
    meta.started_at_ns += 1'000'000'000;
    auto w = store::SessionWriter::Start(db, meta);
    ASSERT_TRUE(w.ok()) << w.status().message();
    char line[96];
    for (int i = 0; i < kFrames; ++i) {
      // ~60 bytes of output per frame, a UTF-8 character split across every pair of frames.
      int n = std::snprintf(
          line, sizeof line,
          i % 2 ? "\xBC line %07d of the long session, 10 ms apart\r\n" : "output %07d \xC5", i);
      ASSERT_TRUE((*w)->Append(int64_t{i} * 10'000'000, store::Direction::kFromServer, 1,
                               std::string_view(line, static_cast<size_t>(n)))
                      .ok());
    }
    store::SessionEnd end;
    end.exit_code = 0;
    ASSERT_TRUE((*w)->Finish(end).ok());
  }
  // Under AddressSanitizer the quarantine keeps freed memory (256 MB by default) and would read
  // as growth: the two measured runs go without it. This test measures memory; the other export
  // tests check the same code for memory errors with the quarantine on.
  ScopedAsanQuarantineOff no_quarantine;
  const Usage small = RunMeasured({PODTAPE_BINARY, "--db", db, "export", small_id,
                                   dir.File("small.cast"), "--format", "cast-v2"},
                                  std::chrono::seconds(60));
  ASSERT_EQ(small.exit_code, 0);
  const Usage big = RunMeasured(
      {PODTAPE_BINARY, "--db", db, "export", "last", dir.File("big.cast"), "--format", "cast-v2"},
      std::chrono::seconds(300));
  ASSERT_EQ(big.exit_code, 0);
  struct stat sb {};
  ASSERT_EQ(stat(dir.File("big.cast").c_str(), &sb), 0);
  const double mb = static_cast<double>(sb.st_size) / 1e6;
  std::printf(
      "[ figures  ] export cast-v2 of %d frames: %.1f MB in %.2f s = %.1f MB/s (%.0f "
      "frames/s); peak RSS %ld KB (small session: %ld KB)\n",
      kFrames, mb, big.seconds, mb / big.seconds, kFrames / big.seconds, big.max_rss_kb,
      small.max_rss_kb);
  EXPECT_LT(big.max_rss_kb, small.max_rss_kb + 32 * 1024) << "the export grew with the session";
  // Every frame made it: one "o" event per output frame (the export also holds the header and
  // the exec argv's marker).
  RunResult lines =
      podtape::testing::Run({"grep", "-c", "^\\[[0-9.]*, \"o\", ", dir.File("big.cast")});
  EXPECT_EQ(lines.out, std::to_string(kFrames) + "\n");

  // The progress bar: stderr on a pseudo-terminal, the txt export (libvterm) of a million frames
  // takes well over a second.
  WriteFile(dir.File("ptyrun.py"), kPtyStderr);
  RunOptions o;
  o.timeout = std::chrono::milliseconds(300000);
  const auto t0 = std::chrono::steady_clock::now();
  RunResult bar = podtape::testing::Run({"/usr/bin/python3", dir.File("ptyrun.py"), PODTAPE_BINARY,
                                         "--db", db, "export", "last", dir.File("big.txt")},
                                        o);
  const double txt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(bar.exit_code, 0) << bar.out << bar.err;
  ASSERT_GT(txt_s, 1.5) << "the export was too fast to show progress; make the session larger";
  EXPECT_NE(bar.out.find("exporting ["), std::string::npos);
  EXPECT_NE(bar.out.find("\r\x1b[K"), std::string::npos);  // erased at the end
  // Without a terminal, nothing on stderr.
  RunResult quiet = podtape::testing::Run(
      {PODTAPE_BINARY, "--db", db, "export", "last", dir.File("big2.cast")}, o);
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
}

// Runs argv with stdout on a pipe that this process reads slowly (`chunk` bytes every `pause`),
// as a reviewer's slow terminal or a stalled pager would; returns its exit code, peak RSS and
// wall time, and the bytes it wrote (counted, not kept). Killed by its PID after `timeout`.
Usage RunToSlowReader(const std::vector<std::string>& argv, size_t chunk,
                      std::chrono::microseconds pause, std::chrono::seconds timeout,
                      int64_t* bytes_read) {
  int fds[2];
  Usage u;
  if (pipe2(fds, O_CLOEXEC) != 0) return u;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const auto start = std::chrono::steady_clock::now();
  const int spawned = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    return u;
  }
  std::vector<char> buf(chunk);
  *bytes_read = 0;
  while (true) {
    u.max_rss_kb = std::max(u.max_rss_kb, PeakRssKb(pid));
    if (std::chrono::steady_clock::now() - start > timeout) {
      ADD_FAILURE() << argv[0] << " timed out";
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd p {
      fds[0], POLLIN, 0
    };
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(fds[0], buf.data(), buf.size());
    if (n <= 0) break;
    *bytes_read += n;
    std::this_thread::sleep_for(pause);
  }
  close(fds[0]);
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  u.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  u.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return u;
}

// play and export never hold a session's output: 48 MiB played to (and exported to) a reader
// that takes 32 KiB a millisecond at most peak no higher than a three-frame session's play,
// give or take a margin well under the session's size.
TEST(PlayerLarge, PlayAndExportToASlowReaderKeepMemoryBounded) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  constexpr int kFrames = 1536;  // of 32 KiB: 48 MiB
  std::string small_id;
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    // Its last frame at 400 ms keeps the process alive long enough to be measured.
    small_id =
        Record(**st, SampleMeta(), {Out(0, ""), Out(1, "small\r\n"), Out(400, "end\r\n")}, 0);
    store::SessionMeta meta = SampleMeta();
    meta.started_at_ns += 1'000'000'000;
    auto w = store::SessionWriter::Start(db, meta);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::string frame;
    for (int i = 0; i < kFrames; ++i) {
      frame.clear();
      while (frame.size() < 32 * 1024 - 64) {
        frame += "frame " + std::to_string(i) + " \"some\" output\tof a big session\r\n";
      }
      // 1 µs apart: playing at the recorded speed is bounded by the reader alone.
      ASSERT_TRUE((*w)->Append(int64_t{i} * 1000, store::Direction::kFromServer, 1, frame).ok());
    }
    store::SessionEnd end;
    end.exit_code = 0;
    ASSERT_TRUE((*w)->Finish(end).ok());
  }
  ScopedAsanQuarantineOff no_quarantine;  // see MillionFramesExportInConstantMemory
  const auto pause = std::chrono::microseconds(1000);
  int64_t small_bytes = 0;
  const Usage small = RunToSlowReader({PODTAPE_BINARY, "--db", db, "play", small_id}, 32 * 1024,
                                      pause, std::chrono::seconds(60), &small_bytes);
  ASSERT_EQ(small.exit_code, 0);
  EXPECT_EQ(small_bytes, 12);
  for (const char* command : {"play", "export"}) {
    int64_t bytes = 0;
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", db, command, "last"};
    if (std::string(command) == "export") argv.insert(argv.end(), {"--format", "cast-v2"});
    const Usage big = RunToSlowReader(argv, 32 * 1024, pause, std::chrono::seconds(240), &bytes);
    ASSERT_EQ(big.exit_code, 0) << command;
    std::printf(
        "[ figures  ] %s of 48 MiB to a slow reader: %.1f MB in %.2f s; peak RSS %ld KB (a "
        "three-frame session's play: %ld KB)\n",
        command, bytes / 1e6, big.seconds, big.max_rss_kb, small.max_rss_kb);
    EXPECT_GE(bytes, int64_t{kFrames} * (32 * 1024 - 64)) << command;
    EXPECT_LT(big.max_rss_kb, small.max_rss_kb + 16 * 1024)
        << command << " held the session's output in memory";
  }
}

}  // namespace
}  // namespace podtape::testing
