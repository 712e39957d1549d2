// podtape prune: whole sessions go (frames included), a running one stays, the rest still verify.
#include <gtest/gtest.h>

#include <string>

#include "schema/prune.h"
#include "schema/store.h"
#include "test_util.h"
#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

constexpr int64_t kNsPerDay = int64_t{86400} * 1'000'000'000;

RunResult Podtape(const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {PODTAPE_BINARY, "--db", db});
  RunOptions o;
  o.timeout = std::chrono::seconds(60);
  return Run(args, o);
}

int64_t FrameRows(const std::string& db) {
  RunResult r = Run({"sqlite3", db, "SELECT count(*) FROM frames"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? std::stoll(r.out) : -1;
}

TEST(PruneTest, RemovesOldSessionsKeepsRunningAndTheRestVerify) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok()) << st.status().message();
  const std::vector<TestFrame> frames = {Out(0, ""), Out(10, "$ "), In(500, "ls\r"),
                                         Out(510, "ls\r\nfile\r\n")};
  store::SessionMeta old_meta = SampleMeta();  // 2026-11-26T08:00:00Z
  old_meta.started_at_ns -= 60 * kNsPerDay;
  std::string old1 = Record(**st, old_meta, frames, 0);
  old_meta.started_at_ns += 1'000'000'000;
  std::string old2 = Record(**st, old_meta, frames, 1);
  old_meta.started_at_ns += 1'000'000'000;
  std::string interrupted = Record(**st, old_meta, frames, std::nullopt, /*finish=*/false);
  std::string recent = Record(**st, SampleMeta(), frames, 0);
  // A long-running session that started long ago: its writer is alive while prune runs.
  old_meta.started_at_ns += 1'000'000'000;
  auto live = store::SessionWriter::Start(db, old_meta);
  ASSERT_TRUE(live.ok()) << live.status().message();
  ASSERT_TRUE((*live)->Append(0, store::Direction::kFromServer, 1, "still here").ok());
  const std::string running = (*live)->id();

  // Index the ended sessions, so prune has index rows to remove too.
  RunResult r = Podtape(db, {"index"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "indexed 4 sessions\n");

  r = Podtape(db, {"prune", "--before", "2026-10-01T00:00:00Z", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // the running one is skipped
  EXPECT_NE(r.out.find("would remove"), std::string::npos) << r.out;
  EXPECT_TRUE((*st)->Find(old1).ok());

  r = Podtape(db, {"prune", "--before", "2026-10-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("still running"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("removed 3 sessions (12 frames)"), std::string::npos) << r.out;
  st = store::Store::Open(db);  // a fresh read connection sees the other process's deletes
  ASSERT_TRUE(st.ok());
  for (const std::string& gone : {old1, old2, interrupted}) {
    EXPECT_EQ((*st)->Find(gone).status().code(), Status::Code::kNotFound) << gone;
  }
  EXPECT_TRUE((*st)->Find(recent).ok());
  EXPECT_TRUE((*st)->Find(running).ok());
  ASSERT_TRUE((*live)->Finish({}).ok());
  EXPECT_EQ(FrameRows(db), 4 + 1);  // no orphaned frames
  // No orphaned index rows either (in the index file beside the store); the session left is
  // still found.
  auto count = [&](const std::string& sql) {
    RunResult c =
        podtape::testing::Run({"sqlite3", db + ".index", "ATTACH '" + db + "' AS store; " + sql});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    return c.out;
  };
  EXPECT_EQ(count("SELECT count(*) FROM index_lines WHERE session_key NOT IN "
                  "(SELECT session_key FROM store.sessions)"),
            "0\n");
  EXPECT_EQ(count("SELECT count(*) FROM indexed_sessions WHERE session_key NOT IN "
                  "(SELECT session_key FROM store.sessions)"),
            "0\n");
  // Both full-text indexes lost the pruned rows with them: every id they return is a row left,
  // of their own kind.
  EXPECT_EQ(count("SELECT (SELECT count(*) FROM index_fts WHERE index_fts MATCH '\"bin\"') = "
                  "(SELECT count(*) FROM index_lines WHERE kind = 0 AND text LIKE '%bin%') AND "
                  "(SELECT count(*) FROM index_lines WHERE kind = 0 AND text LIKE '%bin%') > 0"),
            "1\n");
  EXPECT_EQ(count("SELECT count(*) FROM output_fts WHERE output_fts MATCH 'file OR ok OR hello' "
                  "AND rowid NOT IN (SELECT id FROM index_lines WHERE kind = 1)"),
            "0\n");
  EXPECT_GT(std::stoi(count("SELECT count(*) FROM output_fts WHERE output_fts MATCH 'file OR "
                            "ok OR hello'")),
            0);
  r = Podtape(db, {"search", "-o", "json", "file"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(recent), std::string::npos) << r.out;
  r = Podtape(db, {"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // Now that it ended, the old one goes too; a duration ago works as --before.
  r = Podtape(db, {"prune", "--before", "2026-10-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("removed 1 session (1 frames)"), std::string::npos) << r.out;
  r = Podtape(db, {"prune", "--before", "36500d"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("removed 0 sessions"), std::string::npos) << r.out;
  EXPECT_TRUE((*st)->Find(recent).ok());
  r = Podtape(db, {"verify", recent});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  r = Podtape(db, {"prune", "--before", "yesterday"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--before"), std::string::npos) << r.err;
  r = Podtape(db, {"prune"});
  EXPECT_NE(r.exit_code, 0);
}

TEST(PruneTest, DeleteSessionRefusesALiveWriterAndUnknownIds) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok());
  auto live = store::SessionWriter::Start(db, SampleMeta());
  ASSERT_TRUE(live.ok());
  Result<int64_t> n = store::DeleteSession(**st, (*live)->id());
  EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(n.status().message().find("still running"), std::string::npos);
  ASSERT_TRUE((*live)->Finish({}).ok());
  n = store::DeleteSession(**st, (*live)->id());
  ASSERT_TRUE(n.ok()) << n.status().message();
  n = store::DeleteSession(**st, (*live)->id());
  EXPECT_EQ(n.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace podtape::testing
