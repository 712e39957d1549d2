// podtape play on a real (pseudo-)terminal: warns when the terminal is smaller than the
// recording, obeys keys, and leaves the terminal's mode as it found it.
#include <gtest/gtest.h>

#include "test_util.h"
#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

// Runs `sh -c 'stty -g; COMMAND; echo rc=$?; stty -g'` on a 60x24 pseudo-terminal and presses
// `q` once "first" has been shown.
constexpr char kDrive[] = R"(import fcntl, os, pty, select, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 60, 0, 0))
    os.execvp('sh', ['sh', '-c', 'stty -g; "$@"; echo "rc=$?"; stty -g', 'sh'] + sys.argv[1:])
out = b''
sent = False
deadline = time.time() + 60
while time.time() < deadline:
    if not sent and b'first' in out:
        os.write(fd, b'q')
        sent = True
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            d = os.read(fd, 65536)
        except OSError:
            break
        if not d:
            break
        out += d
_, st = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
)";

TEST(PlayerTerminal, WarnsQuitsOnQAndRestoresTheTerminal) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    Record(**st, SampleMeta(), {Out(0, ""), Out(100, "first\r\n"), Out(30000, "never\r\n")}, 0);
  }
  WriteFile(dir.File("drive.py"), kDrive);
  RunOptions o;
  o.timeout = std::chrono::milliseconds(90000);
  const auto start = std::chrono::steady_clock::now();
  RunResult r = podtape::testing::Run(
      {"/usr/bin/python3", dir.File("drive.py"), PODTAPE_BINARY, "--db", db, "play", "last"}, o);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(seconds, 20.0) << "q did not stop the replay";
  EXPECT_NE(r.out.find("this terminal is 60x24 but the recording uses 80x24"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("first"), std::string::npos);
  EXPECT_EQ(r.out.find("never"), std::string::npos);
  EXPECT_NE(r.out.find("rc=0"), std::string::npos) << r.out;
  // `stty -g` before and after: the same mode.
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    std::string line = r.out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find(':') != std::string::npos && line.find(' ') == std::string::npos) {
      lines.push_back(line);
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0], lines[1]);
}

}  // namespace
}  // namespace podtape::testing
