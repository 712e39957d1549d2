// The command extractor on sessions built frame by frame as bash and sh draw them.
#include "player/command_index.h"

#include <gtest/gtest.h>

#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

std::vector<player::IndexedCommand> Extract(const store::SessionMeta& meta,
                                            const std::vector<TestFrame>& frames) {
  auto st = store::Store::Open(":memory:");
  EXPECT_TRUE(st.ok());
  std::string id = Record(**st, meta, frames, 0);
  auto row = (*st)->Find(id);
  EXPECT_TRUE(row.ok());
  auto cmds = player::ExtractCommands(**st, *row);
  EXPECT_TRUE(cmds.ok()) << cmds.status().message();
  return cmds.ok() ? *cmds : std::vector<player::IndexedCommand>{};
}

std::vector<std::string> Texts(const std::vector<player::IndexedCommand>& cmds) {
  std::vector<std::string> out;
  for (const auto& c : cmds) out.push_back(c.text);
  return out;
}

store::SessionMeta Tty(int cols = 80, int rows = 24) {
  store::SessionMeta m = SampleMeta();
  m.command = {"bash"};
  m.term_cols = cols;
  m.term_rows = rows;
  return m;
}

TEST(CommandIndexTest, BashLineEditingHistoryAndTabCompletionAreWhatTheScreenShows) {
  const std::vector<TestFrame> frames = {
      Out(0, ""), Out(10, "user@web-1:~$ "),
      // Typed and echoed key by key (readline echoes).
      In(100, "l"), Out(101, "l"), In(110, "s"), Out(111, "s"), In(120, " -l"), Out(121, " -l"),
      In(200, "\r"), Out(201, "\r\ntotal 0\r\nuser@web-1:~$ "),
      // Up arrow recalls the last line; Enter.
      In(300, "\x1b[A"), Out(301, "ls -l"), In(400, "\r"),
      Out(401, "\r\ntotal 0\r\nuser@web-1:~$ "),
      // A typo fixed with the left arrow and an insertion (readline redraws the tail).
      In(500, "echo helo"), Out(501, "echo helo"), In(510, "\x1b[D"), Out(511, "\b"), In(520, "l"),
      Out(521, "lo\b"), In(600, "\r"), Out(601, "\r\nhello\r\nuser@web-1:~$ "),
      // Tab completion of a path.
      In(700, "cat /etc/hostn"), Out(701, "cat /etc/hostn"), In(710, "\t"), Out(711, "ame "),
      In(800, "\r"), Out(801, "\r\nweb-1\r\nuser@web-1:~$ "),
      // A password typed without echo (read -s): the keystrokes never come back.
      In(900, "sudo -k true"), Out(901, "sudo -k true"), In(950, "\r"),
      Out(951, "\r\n[sudo] password for user: "), In(1000, "hunter2\r"), Out(1001, "\r\n"),
      Out(1002, "user@web-1:~$ "),
      // ^C abandons a line; the next line's prompt is taken afresh.
      In(1100, "oops"), Out(1101, "oops"), In(1110, "\x03"), Out(1111, "^C\r\nuser@web-1:~$ "),
      In(1200, "exit\r"), Out(1201, "exit\r\n")};
  auto cmds = Extract(Tty(), frames);
  EXPECT_EQ(Texts(cmds), (std::vector<std::string>{"bash", "ls -l", "ls -l", "echo hello",
                                                   "cat /etc/hostname", "sudo -k true", "exit"}));
  ASSERT_EQ(cmds.size(), 7u);
  EXPECT_EQ(cmds[0].t_ns, 0);
  EXPECT_EQ(cmds[1].t_ns, 200'000'000);  // the Enter, not the echo
  EXPECT_EQ(cmds[2].t_ns, 400'000'000);
  for (const auto& c : cmds) EXPECT_EQ(c.text.find("hunter2"), std::string::npos);
}

TEST(CommandIndexTest, ShEchoArrivingAfterTheEnterAndWrappedLines) {
  // dash in canonical mode: a whole line typed at once, echoed by the tty after the Enter.
  const std::vector<TestFrame> frames = {
      Out(0, "$ "), In(100, "echo hi\r"), Out(110, "echo hi\r\nhi\r\n$ "),
      // stty -echo; read x: the answer is not shown.
      In(200, "stty -echo; read pw; stty echo\r"), Out(210, "stty -echo; read pw; stty echo\r\n"),
      In(300, "s3cret\r"), Out(310, "\r\n$ "),
      // 20 columns: the command wraps onto a second row.
      In(400, "echo abcdefghijklmnopqrstuvwxyz\r"),
      Out(410, "echo abcdefghijklmnopqrstuvwxyz\r\nabcdefghijklmnopqrstuvwxyz\r\n$ "),
      // A resize to 40 columns, then a line that fits.
      Resize(500, R"({"Width":40,"Height":10})"), In(600, "true\r"), Out(610, "true\r\n$ ")};
  store::SessionMeta m = Tty(20, 10);
  m.command = {"sh"};
  auto cmds = Extract(m, frames);
  EXPECT_EQ(Texts(cmds),
            (std::vector<std::string>{"sh", "echo hi", "stty -echo; read pw; stty echo",
                                      "echo abcdefghijklmnopqrstuvwxyz", "true"}));
  for (const auto& c : cmds) EXPECT_EQ(c.text.find("s3cret"), std::string::npos);
}

TEST(CommandIndexTest, AnEnterTheOutputNeverEchoesIsTakenAtTheEnd) {
  auto cmds = Extract(Tty(), {Out(0, "# "), In(100, "whoami"), Out(101, "whoami"), In(200, "\r")});
  EXPECT_EQ(Texts(cmds), (std::vector<std::string>{"bash", "whoami"}));
}

TEST(CommandIndexTest, NonTtyStdinLinesAndTheArgv) {
  store::SessionMeta m = SampleMeta();
  m.tty = false;
  m.command = {"sh", "-c", "echo it's here; cat"};
  auto cmds = Extract(
      m, {Out(0, ""), In(100, "first line\r\nsec"), In(200, "ond\n\n  \n"), In(300, "no newline")});
  EXPECT_EQ(Texts(cmds), (std::vector<std::string>{"sh -c 'echo it'\\''s here; cat'", "first line",
                                                   "second", "no newline"}));
  EXPECT_EQ(cmds[2].t_ns, 200'000'000);
  // attach has no argv.
  m.kind = "attach";
  m.command.clear();
  cmds = Extract(m, {In(100, "ls\n")});
  EXPECT_EQ(Texts(cmds), (std::vector<std::string>{"ls"}));
}

TEST(CommandIndexTest, JoinArgvQuotesWhatAShellWouldSplit) {
  EXPECT_EQ(player::JoinArgv({"ls", "-la", "/tmp/a_b.c"}), "ls -la /tmp/a_b.c");
  EXPECT_EQ(player::JoinArgv({"echo", "a b", "", "$HOME"}), "echo 'a b' '' '$HOME'");
}

}  // namespace
}  // namespace podtape::testing
