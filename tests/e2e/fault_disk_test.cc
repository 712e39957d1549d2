// The disk filling under a running `podtape exec`. The store lives on a small tmpfs of its own
// (we run as root in CI; where mounting is not allowed the test falls back to a file-size limit,
// RLIMIT_FSIZE, which fails the same writes with EFBIG). The test fills the rest of the tmpfs
// while output flows:
// - fail closed (the default): the session ends within a second, exit 1 with a one-line message
//   naming --fail-open, and the store file stays intact (verify, PRAGMA integrity_check);
// - --fail-open: the session goes on to its end (exit 0, all output shown); once space is back
//   the session is sealed and marked incomplete (ls shows it, verify says intact).
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;
using namespace std::chrono_literals;

// A tmpfs mounted at `path` for the test's lifetime (lazily unmounted on destruction).
class Tmpfs {
 public:
  Tmpfs(const std::string& path, const std::string& size) : path_(path) {
    mkdir(path.c_str(), 0700);
    std::string opts = "size=" + size + ",mode=0700";
    mounted_ = mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `path` until the file system is full. Returns the bytes written.
size_t FillDisk(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  std::string chunk(64 << 10, 'f');
  size_t total = 0;
  for (;;) {
    ssize_t n = write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  // The last pages: byte by byte chunks of 4 KiB would still fit; the loop above stops at the
  // first short or failed write, so finish with small writes.
  std::string small(512, 'f');
  while (write(fd, small.data(), small.size()) > 0) total += small.size();
  close(fd);
  return total;
}

// Lines of about 4 KiB of base64 (compresses poorly, so the store grows), `n` lines (0: without
// end), 10 ms apart, each ending " N".
std::string StreamCommand(int n) {
  std::string cond = n > 0 ? "[ $i -lt " + std::to_string(n) + " ]" : ":";
  return "i=0; while " + cond +
         "; do i=$((i+1)); head -c 3000 /dev/urandom | base64 -w0; echo \" $i\"; sleep 0.01; "
         "done";
}

int IntegrityCheck(const std::string& db, std::string* out) {
  testing::RunResult r = testing::Run({"sqlite3", "-readonly", db, "PRAGMA integrity_check;"});
  *out = r.out + r.err;
  return r.exit_code;
}

class FaultDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = std::make_unique<Tmpfs>(sim_.dir().File("fs"), "8m");
    if (fs_->mounted()) {
      sim_.SetDb(sim_.dir().File("fs/podtape.db"));
    } else {
      std::printf("cannot mount a tmpfs (%s): using a file-size limit instead\n",
                  fs_->error().c_str());
    }
  }
  std::vector<std::string> Argv(const std::vector<std::string>& args) {
    std::vector<std::string> argv = sim_.Argv(args);
    if (fs_->mounted()) return argv;
    // The fallback: the store's files may not grow past 512 KiB (EFBIG; SIGXFSZ ignored).
    std::vector<std::string> wrapped = {"sh", "-c", "trap '' XFSZ; ulimit -f 1024; exec \"$@\"",
                                        "sh"};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
  }
  std::string Filler() const { return sim_.dir().File("fs/filler"); }

  SimFixture sim_;
  std::unique_ptr<Tmpfs> fs_;
};

TEST_F(FaultDiskTest, FailClosedEndsTheSessionWithinASecondAndTheFileStaysIntact) {
  PODTAPE_START_SIM(sim_);
  testing::Process p;
  ASSERT_TRUE(p.Start(
      Argv({"exec", "-s", sim_.url(), "box", "-c", "c1", "--", "sh", "-c", StreamCommand(0)}),
      sim_.Env()));
  ASSERT_TRUE(p.WaitForStdout(" 5\n", 30s)) << p.Stderr();
  auto t0 = std::chrono::steady_clock::now();
  if (fs_->mounted()) {
    size_t filled = FillDisk(Filler());
    ASSERT_GT(filled, 0u);
    t0 = std::chrono::steady_clock::now();
  }
  int code = p.Wait(120s);
  double secs = faults::SecondsSince(t0);
  std::string err = p.Stderr();
  EXPECT_EQ(code, 1) << err;
  EXPECT_TRUE(faults::OneErrorLine(err)) << err;
  EXPECT_NE(err.find("recording failed"), std::string::npos) << err;
  EXPECT_NE(err.find("--fail-open"), std::string::npos) << err;
  if (fs_->mounted()) {
    std::printf("disk full: the session ended %.3f s after the disk filled\n", secs);
    EXPECT_LT(secs, 5.0);  // within a second when idle; the bound allows for a loaded machine
  }

  // Still full: the file opens, every committed frame verifies, the database is sound.
  std::string integrity;
  EXPECT_EQ(IntegrityCheck(sim_.Db(), &integrity), 0);
  EXPECT_EQ(integrity, "ok\n");
  faults::Recorded rec = faults::ReadSession(sim_.Db(), "last");
  ASSERT_TRUE(rec.check.has_value());
  EXPECT_FALSE(rec.check->first_bad_seq.has_value()) << rec.check->problem;
  EXPECT_TRUE(rec.check->count_matches) << rec.check->problem;
  EXPECT_TRUE(rec.row.end_reason == "error" || rec.row.end_reason == "interrupted")
      << rec.row.end_reason;  // "error" when the end still fit on the disk
  // What is stored is the start of what was shown, and nothing was shown for long unrecorded.
  const std::string shown = p.Stdout();
  EXPECT_EQ(shown.rfind(rec.stdout_bytes, 0), 0u);
  faults::VerifyResult v = faults::Verify(sim_);
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  const std::string& state = v.state[rec.row.meta.id];
  EXPECT_TRUE(state == "intact" || state == "unsealed") << v.out;

  // With room again, the same file records the next session.
  unlink(Filler().c_str());
  testing::RunResult r = testing::Run(
      Argv({"exec", "-s", sim_.url(), "box", "-c", "c1", "--", "echo", "room again"}), sim_.Env());
  if (fs_->mounted()) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(faults::ReadSession(sim_.Db(), "last").row.end_reason, "completed");
  }
}

TEST_F(FaultDiskTest, FailOpenGoesOnAndMarksTheRecordingIncomplete) {
  PODTAPE_START_SIM(sim_);
  constexpr int kLines = 250;
  testing::Process p;
  ASSERT_TRUE(p.Start(Argv({"exec", "--fail-open", "-s", sim_.url(), "box", "-c", "c1", "--", "sh",
                            "-c", StreamCommand(kLines)}),
                      sim_.Env()));
  ASSERT_TRUE(p.WaitForStdout(" 5\n", 30s)) << p.Stderr();
  if (fs_->mounted()) {
    ASSERT_GT(FillDisk(Filler()), 0u);
    std::this_thread::sleep_for(800ms);  // batches fail and are dropped meanwhile
    unlink(Filler().c_str());            // space is back: later batches and the end are stored
  }
  int code = p.Wait(120s);
  EXPECT_EQ(code, 0) << p.Stderr();
  const std::string shown = p.Stdout();
  EXPECT_NE(shown.find(" " + std::to_string(kLines) + "\n"), std::string::npos)
      << "the session did not run to its end";

  faults::Recorded rec = faults::ReadSession(sim_.Db(), "last");
  EXPECT_LT(rec.stdout_bytes.size(), shown.size());  // a gap: frames were dropped
  if (!fs_->mounted()) return;  // under a file-size limit the end cannot be stored
  EXPECT_EQ(rec.row.end_reason, "completed");
  EXPECT_FALSE(rec.row.end.recording_complete);
  ASSERT_TRUE(rec.check.has_value());
  EXPECT_TRUE(rec.check->intact()) << rec.check->problem;
  boost::json::array ls = faults::Ls(sim_);
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_FALSE(ls[0].at("recording_complete").as_bool());
  testing::RunResult table = sim_.Podtape({"ls"});
  EXPECT_NE(table.out.find("completed (incomplete)"), std::string::npos) << table.out;
  faults::VerifyResult v = faults::Verify(sim_);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_EQ(v.state[rec.row.meta.id], "intact") << v.out;
}

}  // namespace
}  // namespace podtape
