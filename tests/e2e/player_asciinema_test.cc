// The v2 export is read by the asciinema CLI reviewers already have (Debian's asciinema 2.2):
// `asciinema cat` prints the same bytes as `podtape cat`. asciinema needs a controlling terminal,
// so it runs under a pseudo-terminal in raw mode (Debian's /usr/bin/python3 pty module).
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_util.h"
#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

constexpr char kPtyRun[] = R"(import os, pty, sys, tty
pid, fd = pty.fork()
if pid == 0:
    tty.setraw(0)
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

TEST(PlayerAsciinema, CatOfTheV2ExportEqualsPodtapeCat) {
  ASSERT_EQ(access("/usr/bin/asciinema", X_OK), 0)
      << "asciinema is missing: run scripts/install-deps.sh";
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    // UTF-8 split across frames (2-, 3- and 4-byte characters), stderr between, colours, a
    // resize and typed input, as a tty session produces them.
    Record(
        **st, SampleMeta(),
        {Out(0, ""), Out(100, "\x1b[1;32muser@pod\x1b[0m:~$ "), In(900, "l"), Out(901, "l"),
         In(1000, "s\r"), Out(1001, "s\r\nza\xC5"), Out(1002, "\xBC\xC3\xB3\xC5\x82\xC4\x87 \xE2"),
         Out(1003, "\x82\xAC \xF0\x9F"), Out(1004, "\x98\x80\r\n"),
         Err(1100, "warn: \xE2\x9C\x93\r\n"), Resize(1200, "{\"Width\":100,\"Height\":30}\n"),
         Out(1300, "\t tab \"quoted\" \\ done\r\n$ "),
         StatusFrame(1400, R"({"metadata":{},"status":"Success"})")},
        0);
  }
  RunResult cat = podtape::testing::Run({PODTAPE_BINARY, "--db", db, "cat", "last"});
  ASSERT_EQ(cat.exit_code, 0) << cat.err;
  RunResult exp = podtape::testing::Run(
      {PODTAPE_BINARY, "--db", db, "export", "last", dir.File("s.cast"), "--format", "cast-v2"});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  WriteFile(dir.File("ptyrun.py"), kPtyRun);
  RunOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  RunResult ac = podtape::testing::Run(
      {"/usr/bin/python3", dir.File("ptyrun.py"), "asciinema", "cat", dir.File("s.cast")}, o);
  ASSERT_EQ(ac.exit_code, 0) << ac.err;
  EXPECT_EQ(ac.out, cat.out);
  EXPECT_NE(ac.out.find("za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            std::string::npos);
}

}  // namespace
}  // namespace podtape::testing
