#include "player/session_list.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tests/player/test_sessions.h"

namespace podtape::player {
namespace {

using namespace podtape::testing;

TEST(SessionList, EscapesEverythingATerminalWouldObey) {
  EXPECT_EQ(EscapeForTerminal("web-1"), "web-1");
  EXPECT_EQ(EscapeForTerminal("a\x1b[2Jb"), "a\\e[2Jb");
  EXPECT_EQ(EscapeForTerminal("x\r\ny\t\x07\x7f"), "x\\r\\ny\\t\\x07\\x7f");
  EXPECT_EQ(EscapeForTerminal("\xC2\x9B"
                              "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(EscapeForTerminal("\xFF\xC3"), "\\xff\\xc3");
  EXPECT_EQ(EscapeForTerminal("za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87"),
            "za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87");
  EXPECT_EQ(EscapeForTerminal("back\\e"), "back\\\\e");
}

TEST(SessionList, Durations) {
  EXPECT_EQ(FormatDuration(12'345'000'000), "12.3s");
  EXPECT_EQ(FormatDuration(245'000'000'000), "4m05s");
  EXPECT_EQ(FormatDuration(int64_t{3723} * 1'000'000'000), "1h02m03s");
}

class SessionListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(":memory:");
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    store::SessionMeta m = SampleMeta();
    m.pod = "evil\x1b]0;pwned\x07\x1b[2J";
    m.command = {"sh", "-c", "echo \"a,b\""};
    m.groups = {"dev", "ops"};
    done_ = Record(*store_, m, {Out(0, ""), Out(10, "hello"), In(20, "x")}, 0);
    m.started_at_ns += 5'000'000'000;
    m.pod = "web-2";
    interrupted_ = Record(*store_, m, {Out(10, "hi")}, std::nullopt, false);
    auto rows = store_->List({});
    ASSERT_TRUE(rows.ok());
    rows_ = *rows;
  }
  std::unique_ptr<store::Store> store_;
  std::string done_, interrupted_;
  std::vector<store::SessionRow> rows_;
};

TEST_F(SessionListTest, JsonHasTheDocumentedFields) {
  boost::json::value v = boost::json::parse(FormatSessions(rows_, ListFormat::kJson, true, 0));
  ASSERT_EQ(v.as_array().size(), 2u);
  const boost::json::object& newest = v.as_array()[0].as_object();
  const boost::json::object& done = v.as_array()[1].as_object();
  for (const char* key : {"id",          "short_id",   "kind",
                          "namespace",   "pod",        "container",
                          "command",     "user",       "groups",
                          "user_source", "kube_user",  "local_user",
                          "host",        "cluster",    "started_at",
                          "ended_at",    "duration_s", "exit_code",
                          "end_reason",  "error",      "recording_complete",
                          "protocol",    "tty",        "frames",
                          "bytes"}) {
    EXPECT_TRUE(done.contains(key)) << key;
  }
  EXPECT_EQ(newest.at("id").as_string(), interrupted_);
  EXPECT_EQ(newest.at("end_reason").as_string(), "interrupted");
  EXPECT_TRUE(newest.at("ended_at").is_null());
  EXPECT_TRUE(newest.at("exit_code").is_null());
  EXPECT_EQ(done.at("id").as_string(), done_);
  EXPECT_EQ(done.at("kind").as_string(), "exec");
  EXPECT_EQ(done.at("end_reason").as_string(), "completed");
  EXPECT_EQ(done.at("exit_code").as_int64(), 0);
  EXPECT_EQ(done.at("started_at").as_string(), "2026-11-26T08:00:00Z");
  EXPECT_EQ(done.at("ended_at").as_string(), "2026-11-26T08:00:00.021Z");
  EXPECT_DOUBLE_EQ(done.at("duration_s").as_double(), 0.021);
  EXPECT_EQ(done.at("command").as_array().size(), 3u);
  EXPECT_EQ(done.at("groups").as_array()[1].as_string(), "ops");
  EXPECT_EQ(done.at("frames").as_int64(), 3);
  EXPECT_EQ(done.at("bytes").as_int64(), 5);
  EXPECT_TRUE(done.at("error").is_null());
  EXPECT_TRUE(done.at("recording_complete").as_bool());
  EXPECT_TRUE(done.at("tty").as_bool());
  EXPECT_EQ(done.at("pod").as_string(), "evil\x1b]0;pwned\x07\x1b[2J");  // JSON keeps the bytes
}

TEST_F(SessionListTest, TableEscapesRecordedFields) {
  std::string table = FormatSessions(rows_, ListFormat::kTable, true, 0);
  EXPECT_EQ(table.find('\x1b'), std::string::npos);
  EXPECT_EQ(table.find('\x07'), std::string::npos);
  EXPECT_NE(table.find("evil\\e]0;pwned\\x07\\e[2J"), std::string::npos);
  EXPECT_EQ(table.rfind("SESSION", 0), 0u);
  EXPECT_NE(table.find(rows_[1].short_id), std::string::npos);
  EXPECT_NE(table.find("interrupted"), std::string::npos);
  std::string bare = FormatSessions(rows_, ListFormat::kTable, false, 0);
  EXPECT_EQ(bare.find("SESSION"), std::string::npos);
  EXPECT_EQ(std::count(bare.begin(), bare.end(), '\n'), 2);
}

TEST_F(SessionListTest, CsvQuotes) {
  std::string csv = FormatSessions(rows_, ListFormat::kCsv, true, 0);
  EXPECT_NE(csv.find("\"sh -c echo \"\"a,b\"\"\""), std::string::npos);
  EXPECT_EQ(
      csv.rfind("SESSION,STARTED,DURATION,USER,NAMESPACE,POD,CONTAINER,COMMAND,EXIT,STATUS\n", 0),
      0u);
}

}  // namespace
}  // namespace podtape::player
