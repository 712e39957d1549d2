// The command extractor on sessions built frame by frame as bash and sh draw them.
#include "player/command_index.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "player/search.h"
#include "schema/index_store.h"
#include "schema/prune.h"
#include "test_util.h"
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

TEST(CommandIndexTest, LinesTypedAheadAreTakenWhenTheirEchoShows) {
  const std::vector<TestFrame> frames = {
      Out(0, "$ "),
      // Two lines typed (pasted) before any output came back.
      In(100, "echo one\recho two\r"), Out(110, "echo one\r\none\r\n$ echo two\r\ntwo\r\n$ "),
      // A password typed ahead of its prompt: never echoed, so never a command.
      In(200, "sudo -k true\rhunter2\r"),
      Out(210, "sudo -k true\r\n[sudo] password for user: \r\n$ "),
      // A typed-ahead line with editing keys cannot be recognised: missed, as documented.
      In(300, "true\rls\x7f\x7fpwd\r"), Out(310, "true\r\n$ pwd\r\n/\r\n$ "),
      // A typed-ahead line an output line merely ends with is not taken for its echo.
      In(400, "make\rls\r"), Out(410, "make\r\nbuilt tools\r\n$ ls\r\nMakefile\r\n$ "),
      In(500, "exit\r"), Out(510, "exit\r\n")};
  auto cmds = Extract(Tty(), frames);
  EXPECT_EQ(Texts(cmds), (std::vector<std::string>{"bash", "echo one", "echo two", "sudo -k true",
                                                   "true", "make", "ls", "exit"}));
  ASSERT_EQ(cmds.size(), 8u);
  EXPECT_EQ(cmds[1].t_ns, 100'000'000);
  EXPECT_EQ(cmds[2].t_ns, 100'000'000);
  EXPECT_EQ(cmds[6].t_ns, 400'000'000);
  for (const auto& c : cmds) EXPECT_EQ(c.text.find("hunter2"), std::string::npos);
}

// Lines typed all at once while the first one runs: the terminal echoes them at once, each alone
// on its line, before the shell prints a prompt for them (what scripts/demo.sh types).
TEST(CommandIndexTest, LinesTypedAheadAreTakenFromTheTerminalsOwnEcho) {
  const std::vector<TestFrame> frames = {
      Out(0, "demo$ "), In(100, "echo hello from a tty\rstty size\rexit 3\r"),
      Out(110, "echo hello from a tty\r\nstty size\r\nexit 3\r\n"),
      Out(120, "hello from a tty\r\ndemo$ 30 100\r\ndemo$ ")};
  auto cmds = Extract(Tty(), frames);
  EXPECT_EQ(Texts(cmds),
            (std::vector<std::string>{"bash", "echo hello from a tty", "stty size", "exit 3"}));
  for (const auto& c : cmds) {
    if (c.text != "bash") {
      EXPECT_EQ(c.t_ns, 100'000'000) << c.text;
    }
  }
}

TEST(CommandIndexTest, IndexEntriesComeInSessionTimeOrder) {
  auto st = store::Store::Open(":memory:");
  ASSERT_TRUE(st.ok());
  const std::vector<TestFrame> frames = {Out(0, "$ "),
                                         In(100, "ls\r"),
                                         Out(110, "ls\r\nfile-a\r\nfile-b\r\n$ "),
                                         In(200, "cat file-a\r"),
                                         Out(210, "cat file-a\r\ncontent\r\n$ "),
                                         In(300, "exit\r"),
                                         Out(310, "exit\r\n")};
  std::string id = Record(**st, Tty(), frames, 0);
  auto row = (*st)->Find(id);
  ASSERT_TRUE(row.ok());
  std::vector<store::IndexEntry> entries;
  Status s = player::BuildIndexEntries(**st, *row, [&](const store::IndexEntry& e) {
    entries.push_back(e);
    return Status::OK();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  int commands = 0, lines = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    (entries[i].kind == store::IndexKind::kCommand ? commands : lines)++;
    if (i > 0) {
      EXPECT_LE(entries[i - 1].t_ns, entries[i].t_ns) << entries[i].text;
    }
  }
  EXPECT_EQ(commands, 4);  // bash, ls, cat file-a, exit
  EXPECT_GE(lines, 3);
}

int64_t CountRows(const std::string& db, const std::string& sql) {
  RunResult r = Run({"sqlite3", db, sql});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? std::stoll(r.out) : -1;
}

size_t Hits(store::Store& st, const std::string& text) {
  store::IndexQuery q;
  q.text = text;
  q.limit = 0;
  auto hits = store::QueryIndex(st, q);
  EXPECT_TRUE(hits.ok()) << hits.status().message();
  return hits.ok() ? hits->size() : 0;
}

TEST(CommandIndexTest, IndexIsWrittenInBatchesVisibleOnlyWhenCompleteAndOneIndexerAtATime) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok()) << st.status().message();
  store::SessionMeta m = SampleMeta();
  m.tty = false;
  std::string big;
  const int kLines = static_cast<int>(store::kIndexBatchEntries) * 2 + 100;  // three batches
  for (int i = 0; i < kLines; ++i) big += "output-line " + std::to_string(i) + "\n";
  const std::string a = Record(**st, m, {Out(0, ""), Out(10, big)}, 0);
  const std::string b = Record(**st, m, {Out(0, ""), Out(10, "session-b says hi\n")}, 0);

  // An indexer that dies part-way through b leaves rows nobody can find.
  {
    auto lock = store::IndexerLock::Acquire(**st, std::chrono::milliseconds(0));
    ASSERT_TRUE(lock.ok() && lock->held());
    auto w = store::SessionIndexWriter::Begin(**st, b);
    ASSERT_TRUE(w.ok() && *w != nullptr) << w.status().message();
    for (size_t i = 0; i < store::kIndexBatchEntries + 10; ++i) {
      ASSERT_TRUE((*w)->Add(1, store::IndexKind::kOutput, "leftover-row").ok());
    }
    // While it holds the lock, another indexer does not wait past its bound.
    auto run = player::IndexPendingSessions(**st, std::chrono::milliseconds(50));
    ASSERT_TRUE(run.ok()) << run.status().message();
    EXPECT_TRUE(run->busy);
    EXPECT_EQ(run->indexed, 0);
  }  // the writer and the lock go without Finish
  EXPECT_GE(CountRows(db + ".index", "SELECT count(*) FROM index_lines"),
            static_cast<int64_t>(store::kIndexBatchEntries));
  EXPECT_EQ(Hits(**st, "leftover-row"), 0u);

  auto run = player::IndexPendingSessions(**st, std::chrono::milliseconds(0));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_FALSE(run->busy);
  EXPECT_EQ(run->indexed, 2);
  EXPECT_EQ(Hits(**st, "leftover-row"), 0u);
  EXPECT_EQ(
      CountRows(db + ".index", "SELECT count(*) FROM index_lines WHERE text = 'leftover-row'"), 0);
  EXPECT_EQ(Hits(**st, "output-line"), static_cast<size_t>(kLines));
  EXPECT_EQ(Hits(**st, "session-b"), 1u);
  // Entries in time order: the newest hit of a is its last line.
  store::IndexQuery q;
  q.text = "output-line";
  q.limit = 1;
  auto newest = store::QueryIndex(**st, q);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].text, "output-line " + std::to_string(kLines - 1));
  // Nothing left to index.
  run = player::IndexPendingSessions(**st, std::chrono::milliseconds(0));
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->indexed, 0);
}

// Commands are found by any substring; output lines by whole words, then the whole text; hits of
// both kinds come merged, newest first, cut to the limit.
TEST(CommandIndexTest, CommandsBySubstringOutputByWords) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok()) << st.status().message();
  store::SessionMeta m = SampleMeta();
  m.tty = false;
  m.command = {"kubectl-like", "--token-file=/etc/zanzibar-quokka.conf"};
  Record(**st, m,
         {Out(0, ""), In(10, "grep quokka-zanzibar /var/log\n"),
          Out(20, "found /etc/zanzibar-quokka.conf here\nZANZIBAR quokka apart\n$$ ## !!\n")},
         0);
  auto run = player::IndexPendingSessions(**st, std::chrono::milliseconds(0));
  ASSERT_TRUE(run.ok()) << run.status().message();
  ASSERT_EQ(run->indexed, 1);

  auto query = [&](const std::string& text, std::optional<store::IndexKind> kind, int limit) {
    store::IndexQuery q;
    q.text = text;
    q.kind = kind;
    q.limit = limit;
    auto hits = store::QueryIndex(**st, q);
    EXPECT_TRUE(hits.ok()) << hits.status().message();
    std::vector<std::string> out;
    if (hits.ok()) {
      for (const auto& h : *hits) {
        out.push_back((h.kind == store::IndexKind::kCommand ? "$ " : "") + h.text);
      }
    }
    return out;
  };
  using V = std::vector<std::string>;
  const auto kCmd = store::IndexKind::kCommand;
  const auto kOut = store::IndexKind::kOutput;
  // A substring inside a word: commands only.
  EXPECT_EQ(query("anzibar-quok", std::nullopt, 0),
            (V{"$ kubectl-like --token-file=/etc/zanzibar-quokka.conf"}));
  // Whole words: both kinds, newest first (the argv is entry 1, the stdin line 2, the output
  // lines after), the output line must hold the text itself, not only its words.
  EXPECT_EQ(query("zanzibar-quokka", std::nullopt, 0),
            (V{"found /etc/zanzibar-quokka.conf here",
               "$ kubectl-like --token-file=/etc/zanzibar-quokka.conf"}));
  EXPECT_EQ(query("zanzibar quokka", kOut, 0), (V{"ZANZIBAR quokka apart"}));
  EXPECT_EQ(query("quokka", std::nullopt, 2),
            (V{"ZANZIBAR quokka apart", "found /etc/zanzibar-quokka.conf here"}));
  EXPECT_EQ(query("quokka", kCmd, 0), (V{"$ grep quokka-zanzibar /var/log",
                                         "$ kubectl-like --token-file=/etc/zanzibar-quokka.conf"}));
  // Oldest first.
  store::IndexQuery q;
  q.text = "quokka";
  q.newest_first = false;
  q.limit = 1;
  auto oldest = store::QueryIndex(**st, q);
  ASSERT_TRUE(oldest.ok());
  ASSERT_EQ(oldest->size(), 1u);
  EXPECT_EQ((*oldest)[0].text, "kubectl-like --token-file=/etc/zanzibar-quokka.conf");
  // Text with no letter or digit: scanned. Part of a word: no output line.
  EXPECT_EQ(query("## !", kOut, 0), (V{"$$ ## !!"}));
  EXPECT_EQ(query("apar", kOut, 0), V{});
  EXPECT_EQ(query("apart", kOut, 0), (V{"ZANZIBAR quokka apart"}));
  // Query syntax is never interpreted.
  EXPECT_EQ(query("quokka OR found", std::nullopt, 0), V{});
  EXPECT_EQ(query("\"quokka", std::nullopt, 0), V{});
}

// A store written by schema version 2 (the index inside the store file) is migrated on open: its
// index tables are dropped, and the index is built again in the index file beside it, output
// lines in the word index.
TEST(CommandIndexTest, AVersion2IndexIsDroppedAndBuiltAgainInItsOwnFile) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    store::SessionMeta m = SampleMeta();
    m.tty = false;
    Record(**st, m, {Out(0, ""), Out(10, "migrated-output line\n")}, 0);
  }
  // Back to version 2: its index in the store file, holding a row of that session.
  RunResult r = podtape::testing::Run(
      {"sqlite3", db,
       "CREATE TABLE index_lines (id INTEGER PRIMARY KEY, session_key INTEGER NOT NULL, "
       "t_ns INTEGER NOT NULL, kind INTEGER NOT NULL, text TEXT NOT NULL); "
       "CREATE INDEX index_lines_session ON index_lines(session_key, kind, t_ns); "
       "CREATE VIRTUAL TABLE index_fts USING fts5(text, content='index_lines', "
       "content_rowid='id', tokenize='trigram'); "
       "CREATE TRIGGER index_lines_ai AFTER INSERT ON index_lines BEGIN INSERT INTO "
       "index_fts(rowid, text) VALUES (new.id, new.text); END; "
       "CREATE TRIGGER index_lines_ad AFTER DELETE ON index_lines BEGIN INSERT INTO "
       "index_fts(index_fts, rowid, text) VALUES ('delete', old.id, old.text); END; "
       "CREATE TABLE indexed_sessions (session_key INTEGER PRIMARY KEY, "
       "indexed_at_ns INTEGER NOT NULL); "
       "INSERT INTO index_lines (session_key, t_ns, kind, text) VALUES (1, 5, 1, 'v2-row'); "
       "INSERT INTO indexed_sessions VALUES (1, 1); PRAGMA user_version = 2;"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(CountRows(db, "SELECT count(*) FROM index_fts WHERE index_fts MATCH '\"v2-row\"'"), 1);

  auto st = store::Store::Open(db);  // migrates
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(CountRows(db, "PRAGMA user_version"), store::kSchemaVersion);
  EXPECT_EQ(CountRows(db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'index%'"), 0);
  auto run = player::IndexPendingSessions(**st, std::chrono::milliseconds(0));
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->indexed, 1);
  EXPECT_EQ(Hits(**st, "migrated-output"), 1u);
  EXPECT_EQ(Hits(**st, "v2-row"), 0u);
  EXPECT_EQ(
      CountRows(db + ".index", "SELECT count(*) FROM output_fts WHERE output_fts MATCH 'migrated'"),
      1);
  // Made private, as the store is.
  struct stat sb;
  ASSERT_EQ(stat((db + ".index").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
}

// What the background indexer yields to: a session being recorded in the store, by any writer.
TEST(CommandIndexTest, AnySessionRecordingSeesALiveWriterOnly) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_FALSE(store::AnySessionRecording(**st));  // no writer ever ran here
  auto w = store::SessionWriter::Start(db, SampleMeta());
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_TRUE(store::AnySessionRecording(**st));
  ASSERT_TRUE((*w)->Finish({}).ok());
  EXPECT_FALSE(store::AnySessionRecording(**st));
}

TEST(CommandIndexTest, ASessionPrunedWhileItIsIndexedLeavesNoRows) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok()) << st.status().message();
  store::SessionMeta m = SampleMeta();
  m.tty = false;
  const std::string id = Record(**st, m, {Out(0, ""), Out(10, "x\n")}, 0);
  auto lock = store::IndexerLock::Acquire(**st, std::chrono::milliseconds(0));
  ASSERT_TRUE(lock.ok() && lock->held());
  auto w = store::SessionIndexWriter::Begin(**st, id);
  ASSERT_TRUE(w.ok() && *w != nullptr) << w.status().message();
  for (size_t i = 0; i < store::kIndexBatchEntries; ++i) {  // exactly one batch: committed
    ASSERT_TRUE((*w)->Add(1, store::IndexKind::kOutput, "pruned-row").ok());
  }
  ASSERT_EQ(CountRows(db + ".index", "SELECT count(*) FROM index_lines"),
            static_cast<int64_t>(store::kIndexBatchEntries));
  ASSERT_TRUE(store::DeleteSession(**st, id).ok());
  ASSERT_TRUE((*w)->Add(2, store::IndexKind::kOutput, "pruned-row").ok());  // gathered only
  Status s = (*w)->Finish();
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.message();
  EXPECT_EQ(CountRows(db + ".index", "SELECT count(*) FROM index_lines"), 0);
  // Writing more of an unknown session is refused up front.
  EXPECT_EQ(store::SessionIndexWriter::Begin(**st, id).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace podtape::testing
