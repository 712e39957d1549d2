#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cli/app.h"
#include "test_util.h"

namespace podtape::cli {
namespace {

// Resolves with a fake environment.
Result<std::string> Resolve(const std::string& flag, std::map<std::string, std::string> env) {
  return ResolveDbPath(flag, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(DbPath, FlagWinsOverEverything) {
  auto r = Resolve("/x/flag.db", {{"PODTAPE_DB", "/x/env.db"}, {"HOME", "/home/u"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/x/flag.db");
}

TEST(DbPath, EnvironmentVariableNext) {
  auto r = Resolve("", {{"PODTAPE_DB", "/x/env.db"}, {"XDG_DATA_HOME", "/xdg"}, {"HOME", "/h"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/x/env.db");
}

TEST(DbPath, XdgDataHomeThenHome) {
  auto xdg = Resolve("", {{"XDG_DATA_HOME", "/xdg"}, {"HOME", "/h"}});
  ASSERT_TRUE(xdg.ok());
  EXPECT_EQ(*xdg, "/xdg/podtape/podtape.db");
  auto home = Resolve("", {{"HOME", "/h"}});
  ASSERT_TRUE(home.ok());
  EXPECT_EQ(*home, "/h/.local/share/podtape/podtape.db");
}

TEST(DbPath, EmptyOrRelativeXdgIsIgnored) {
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  auto r = Resolve("", {{"PODTAPE_DB", ""}, {"XDG_DATA_HOME", "rel"}, {"HOME", "/h"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "/h/.local/share/podtape/podtape.db");
}

TEST(DbPath, NoHomeIsAClearError) {
  auto r = Resolve("", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot find the store: set --db, PODTAPE_DB or HOME");
}

TEST(Cli, VersionPrintsNameAndVersion) {
  testing::RunResult r = testing::Run({PODTAPE_BINARY, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("podtape 0.", 0), 0u) << r.out;
}

TEST(Cli, HelpListsGlobalFlags) {
  testing::RunResult r = testing::Run({PODTAPE_BINARY, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--db"), std::string::npos) << r.out;
}

TEST(Cli, UnknownSubcommandFailsWithOneLine) {
  testing::RunResult r = testing::Run({PODTAPE_BINARY, "no-such-command"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
}

}  // namespace
}  // namespace podtape::cli
