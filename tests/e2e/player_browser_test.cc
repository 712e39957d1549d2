// The exports play in asciinema-player 3.18 inside headless Chromium (Debian's /usr/bin/chromium
// driven by npm's playwright-core; player/web/check_player.mjs): the v2 cast, the v3 cast and the
// self-contained html page each load, play to the end, and the player's terminal shows the
// session's output, including bytes that would break out of the page if they were not escaped.
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "test_util.h"
#include "tests/player/test_sessions.h"

namespace podtape::testing {
namespace {

class PlayerBrowserTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PlayerBrowserTest, PlaysToTheEndAndShowsTheOutput) {
  const std::string script = std::string(PODTAPE_SOURCE_DIR) + "/player/web/check_player.mjs";
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0)
      << "chromium is missing: run scripts/install-deps.sh";
  ASSERT_EQ(
      access((std::string(PODTAPE_SOURCE_DIR) + "/player/web/node_modules/playwright-core").c_str(),
             R_OK),
      0)
      << "run scripts/install-deps.sh (npm ci in player/web)";
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  {
    auto st = store::Store::Open(db);
    ASSERT_TRUE(st.ok()) << st.status().message();
    Record(**st, SampleMeta(),
           {Out(0, ""), Out(100, "$ "), In(300, "cat notes\r"), Out(310, "cat notes\r\n"),
            Out(400, "podtape-browser-check za\xC5"), Out(410, "\xBC\xC3\xB3\xC5\x82\xC4\x87\r\n"),
            Out(500, "</script><script>document.title='pwned'</script>\r\n"),
            Err(600, "stderr-line\r\n"), Out(700, "$ ")},
           0);
  }
  const std::string format = GetParam();
  const std::string file = dir.File(format == "html" ? "s.html" : "s.cast");
  RunResult exp = podtape::testing::Run(
      {PODTAPE_BINARY, "--db", db, "export", "last", file, "--format", format});
  ASSERT_EQ(exp.exit_code, 0) << exp.err;
  RunOptions o;
  o.timeout = std::chrono::milliseconds(120000);
  o.env["HOME"] = dir.path();  // chromium writes nothing outside the test's folder
  RunResult r =
      podtape::testing::Run({"node", script, format == "html" ? "page" : "cast", file}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value v = boost::json::parse(r.out);
  EXPECT_TRUE(v.at("ended").as_bool()) << r.out;
  EXPECT_TRUE(v.at("errors").as_array().empty()) << r.out;
  const std::string text(v.at("text").as_string());
  EXPECT_NE(text.find("podtape-browser-check za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("</script><script>document.title='pwned'</script>"), std::string::npos);
  EXPECT_NE(text.find("stderr-line"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Formats, PlayerBrowserTest,
                         ::testing::Values("cast-v2", "cast-v3", "html"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

}  // namespace
}  // namespace podtape::testing
