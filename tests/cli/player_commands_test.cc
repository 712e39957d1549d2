// podtape ls, cat, export, import and play, run as a user runs them (the built binary).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "test_util.h"
#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

class PlayerCommandsTest : public ::testing::Test {
 protected:
  RunResult Podtape(std::vector<std::string> args, RunOptions o = {}) {
    args.insert(args.begin(), {PODTAPE_BINARY, "--db", db_});
    o.timeout = std::chrono::milliseconds(60000);
    return podtape::testing::Run(args, o);
  }
  std::string RecordSample(store::SessionMeta meta, std::optional<int> exit_code) {
    auto st = store::Store::Open(db_);
    EXPECT_TRUE(st.ok()) << st.status().message();
    return Record(**st, std::move(meta),
                  {Out(0, ""), Out(10, "$ "), In(500, "ls\r"), Out(510, "ls\r\nf\xC3"),
                   Out(520, "\xA9 \xFF\r\n"), Err(600, "oops\r\n"),
                   StatusFrame(700, R"({"metadata":{},"status":"Success"})")},
                  exit_code);
  }
  TempDir dir_;
  std::string db_ = dir_.File("podtape.db");
};

TEST_F(PlayerCommandsTest, LsFiltersAndFormats) {
  store::SessionMeta a = SampleMeta();
  std::string id_a = RecordSample(a, 0);
  store::SessionMeta b = SampleMeta();
  b.namespace_ = "prod";
  b.pod = "db-0\x1b[31m";
  b.user = "bob";
  b.started_at_ns += int64_t{3600} * 1'000'000'000;
  std::string id_b = RecordSample(b, 1);

  RunResult r = Podtape({"ls", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value v = boost::json::parse(r.out);
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.as_array()[0].at("id").as_string(), id_b);  // newest first
  EXPECT_EQ(v.as_array()[1].at("id").as_string(), id_a);

  r = Podtape({"ls", "-o", "json", "-n", "prod"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).as_array().size(), 1u);
  r = Podtape({"ls", "-o", "json", "--user", "alice"});
  EXPECT_EQ(boost::json::parse(r.out).as_array()[0].at("id").as_string(), id_a);
  r = Podtape({"ls", "-o", "json", "--until", "2026-11-26T08:30:00Z"});
  ASSERT_EQ(boost::json::parse(r.out).as_array().size(), 1u);
  r = Podtape({"ls", "-o", "json", "--since", "2026-11-26T08:30:00Z", "--limit", "5"});
  EXPECT_EQ(boost::json::parse(r.out).as_array()[0].at("id").as_string(), id_b);
  r = Podtape({"ls", "-o", "json", "--limit", "1"});
  EXPECT_EQ(boost::json::parse(r.out).as_array().size(), 1u);

  r = Podtape({"ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_NE(r.out.find("db-0\\e[31m"), std::string::npos);
  r = Podtape({"ls", "--no-headers", "-o", "csv"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);

  r = Podtape({"ls", "-o", "yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: unknown output format 'yaml': use table, json or csv\n");
  r = Podtape({"ls", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--since: invalid time 'yesterday'"), std::string::npos);
}

TEST_F(PlayerCommandsTest, CatAndExportBySessionReference) {
  std::string id = RecordSample(SampleMeta(), 0);
  RunResult r = Podtape({"cat", "last"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "$ ls\r\nf\xC3\xA9 \xFF\r\noops\r\n");
  r = Podtape({"cat", id, "--channels", "stdin"});
  EXPECT_EQ(r.out, "ls\r");
  r = Podtape({"cat", id.substr(id.size() - 12)});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Podtape({"export", "last"});  // v3 on stdout
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"version\":3,", 0), 0u);
  EXPECT_NE(r.out.find("\"\xC3\xA9 \xEF\xBF\xBD\\r\\n\""), std::string::npos);  // joined
  EXPECT_NE(r.out.find("\"x\", \"0\"]"), std::string::npos);

  r = Podtape({"export", "last", dir_.File("s.cast"), "--format", "cast-v2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.File("s.cast")).rfind("{\"version\":2,", 0), 0u);
  r = Podtape({"export", "last", dir_.File("s.html")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.File("s.html")).rfind("<!DOCTYPE html>", 0), 0u);
  r = Podtape({"export", "last", dir_.File("s.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_.File("s.txt")), "$ ls\nf\xC3\xA9 \xEF\xBF\xBD\noops\n");

  r = Podtape({"export", "last", dir_.File("s.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot tell the export format"), std::string::npos);
  r = Podtape({"export", "nosuchsession"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(PlayerCommandsTest, ImportThenExportKeepsEveryEvent) {
  const std::string events =
      "[0.100000, \"o\", \"$ \"]\n[0.400000, \"i\", \"x\\r\"]\n[0.500000, \"m\", \"x\"]\n"
      "[0.600000, \"o\", \"\\u001b[1mX\\u001b[0m\\r\\n\"]\n[0.700000, \"r\", \"90x30\"]\n";
  WriteFile(dir_.File("in.cast"),
            "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1795680000}\n" + events);
  RunResult r = Podtape({"import", dir_.File("in.cast")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("as session "), std::string::npos);
  r = Podtape({"export", "last", "--format", "cast-v2", "--input"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1), events);
  r = Podtape({"ls", "-o", "json"});
  EXPECT_EQ(boost::json::parse(r.out).as_array()[0].at("kind").as_string(), "import");
  r = Podtape({"import", dir_.File("missing.cast")});
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(PlayerCommandsTest, PlayWithoutATerminalWritesTheOutput) {
  RecordSample(SampleMeta(), 0);
  RunResult r = Podtape({"play", "last", "--speed", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "$ ls\r\nf\xC3\xA9 \xEF\xBF\xBD\r\noops\r\n");
  r = Podtape({"export", "last", dir_.File("p.cast")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Podtape({"play", dir_.File("p.cast"), "--from", "0:00.515", "--to", "0.55"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "$ ls\r\nf\xC3\xA9 \xEF\xBF\xBD\r\n");  // drawn at once up to --from, then to --to
  r = Podtape({"play", "last", "--from", "abc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--from: invalid offset 'abc'"), std::string::npos);
}

}  // namespace
}  // namespace podtape::testing
