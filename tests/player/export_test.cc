#include "player/export.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>

#include "player/web_assets.h"
#include "tests/player/test_sessions.h"

namespace podtape::player {
namespace {

using namespace podtape::testing;

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  store::SessionRow Row(const std::string& id) {
    auto r = store_->Find(id);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : store::SessionRow{};
  }
  std::string Export(const std::string& id, ExportOptions o) {
    std::string out;
    StringSink sink(&out);
    Status st = ExportSession(*store_, Row(id), o, &sink);
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
  std::string Typical() {
    return Record(*store_, SampleMeta(),
                  {Out(0, ""), Out(100, "$ "), In(1000, "l"), Out(1001, "l"), In(1200, "s\r"),
                   Out(1201, "s\r\nfile-\xC5"), Out(1300, "\xBC\r\n"), Err(1400, "warn\r\n"),
                   Resize(1500, "{\"Width\":100,\"Height\":30}\n"), Out(2000, "$ "),
                   StatusFrame(2100, R"({"metadata":{},"status":"Failure","message":"x",)"
                                     R"("reason":"NonZeroExitCode","details":{"causes":)"
                                     R"([{"reason":"ExitCode","message":"3"}]}})")},
                  3);
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(ExportTest, CastV2) {
  std::string id = Typical();
  std::vector<std::string> l = Lines(Export(id, {.format = ExportFormat::kCastV2}));
  ASSERT_EQ(l.size(), 10u);  // v2 has no exit event
  boost::json::value h = boost::json::parse(l[0]);
  EXPECT_EQ(h.at("version").as_int64(), 2);
  EXPECT_EQ(h.at("width").as_int64(), 80);
  EXPECT_EQ(h.at("timestamp").as_int64(), 1795680000);
  EXPECT_EQ(h.at("command").as_string(), "/bin/sh");
  EXPECT_EQ(h.at("env").at("TERM").as_string(), "xterm-256color");
  EXPECT_EQ(h.at("env").at("SHELL").as_string(), "/bin/sh");
  // The markers are the commands: the exec argv at the start, then each line the shell ran.
  EXPECT_EQ(l[1], R"([0.000000, "m", "/bin/sh"])");
  EXPECT_EQ(l[2], R"([0.100000, "o", "$ "])");
  EXPECT_EQ(l[3], R"([1.001000, "o", "l"])");
  EXPECT_EQ(l[4], R"([1.200000, "m", "ls"])");
  EXPECT_EQ(l[5], R"([1.201000, "o", "s\r\nfile-"])");
  EXPECT_EQ(l[6], "[1.300000, \"o\", \"\xC5\xBC\\r\\n\"]");
  EXPECT_EQ(l[7], R"([1.400000, "o", "warn\r\n"])");
  EXPECT_EQ(l[8], R"([1.500000, "r", "100x30"])");
  EXPECT_EQ(l[9], R"([2.000000, "o", "$ "])");
}

TEST_F(ExportTest, CastV3WithInputAndExitCode) {
  std::string id = Typical();
  std::vector<std::string> l =
      Lines(Export(id, {.format = ExportFormat::kCastV3, .input = true, .idle_time_limit = 2}));
  boost::json::value h = boost::json::parse(l[0]);
  EXPECT_EQ(h.at("version").as_int64(), 3);
  EXPECT_EQ(h.at("term").at("cols").as_int64(), 80);
  EXPECT_EQ(h.at("term").at("type").as_string(), "xterm-256color");
  EXPECT_DOUBLE_EQ(h.at("idle_time_limit").as_double(), 2.0);
  EXPECT_EQ(l[3], R"([0.900000, "i", "l"])");
  EXPECT_EQ(l.back(), R"([0.101000, "x", "3"])");  // ended 1 ms after the last frame
}

// The `m` events of an export, as (time, label).
std::vector<std::pair<std::string, std::string>> Markers(const std::string& cast) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(cast);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    boost::json::value v = boost::json::parse(line);
    const auto& a = v.as_array();
    if (a[1].as_string() != "m") continue;
    out.emplace_back(line.substr(1, line.find(',') - 1), std::string(a[2].as_string()));
  }
  return out;
}

TEST_F(ExportTest, MarkersAreTheCommandsAsTheTerminalShowedThem) {
  // A history recall (the up arrow; the shell redraws the line), a tab completion, and a
  // password typed without echo: the markers are "ls -l" twice and the completed path, never
  // the keystrokes and never the password.
  std::string id =
      Record(*store_, SampleMeta(),
             {Out(0, ""), Out(100, "$ "), In(1000, "ls -l\r"), Out(1001, "ls -l\r\n"),
              Out(1010, "total 0\r\n$ "), In(2000, "\x1b[A"), Out(2001, "ls -l"), In(2500, "\r"),
              Out(2501, "\r\ntotal 0\r\n$ "), In(3000, "cat /etc/ho\t"), Out(3001, "cat /etc/ho"),
              Out(3002, "sts"), In(3500, "\r"), Out(3501, "\r\n127.0.0.1 localhost\r\n$ "),
              In(4000, "read -s p\r"), Out(4001, "read -s p\r\n"), In(4500, "hunter2\r"),
              Out(4501, "\r\n$ ")},
             0);
  for (ExportFormat f : {ExportFormat::kCastV2, ExportFormat::kCastV3}) {
    std::string cast = Export(id, {.format = f});
    auto m = Markers(cast);
    ASSERT_EQ(m.size(), 5u) << cast;
    EXPECT_EQ(m[0].second, "/bin/sh");
    EXPECT_EQ(m[1].second, "ls -l");
    EXPECT_EQ(m[2].second, "ls -l");
    EXPECT_EQ(m[3].second, "cat /etc/hosts");
    EXPECT_EQ(m[4].second, "read -s p");
    EXPECT_EQ(cast.find("hunter2"), std::string::npos);
    if (f == ExportFormat::kCastV2) {
      EXPECT_EQ(m[1].first, "1.000000");  // at the Enter
      EXPECT_EQ(m[2].first, "2.500000");
      EXPECT_EQ(m[3].first, "3.500000");
    }
  }
}

TEST_F(ExportTest, MarkersWithoutATerminalAreTheLinesTyped) {
  store::SessionMeta meta = SampleMeta();
  meta.tty = false;
  meta.command = {"sh", "-c", "while read l; do eval \"$l\"; done"};
  std::string id = Record(*store_, meta,
                          {Out(0, ""), In(100, "echo one\n"), Out(110, "one\n"),
                           In(200, "date\r\nuname"), Out(210, "Thu\n"), In(300, " -a\n")},
                          0);
  using M = std::pair<std::string, std::string>;
  auto m = Markers(Export(id, {.format = ExportFormat::kCastV2}));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], (M{"0.000000", "sh -c 'while read l; do eval \"$l\"; done'"}));
  EXPECT_EQ(m[1], (M{"0.100000", "echo one"}));
  EXPECT_EQ(m[2], (M{"0.200000", "date"}));
  EXPECT_EQ(m[3], (M{"0.300000", "uname -a"}));
}

TEST_F(ExportTest, AnImportKeepsItsOwnMarkers) {
  store::SessionMeta meta = SampleMeta();
  meta.kind = "import";
  std::string id = Record(
      *store_, meta,
      {Out(100, "$ "), In(200, "ls\r"), {300, store::Direction::kFromServer, 255, "chapter 1"}},
      std::nullopt);
  auto m = Markers(Export(id, {.format = ExportFormat::kCastV2}));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].second, "chapter 1");
}

TEST_F(ExportTest, InterruptedSessionHasNoExitEvent) {
  std::string id = Record(*store_, SampleMeta(), {Out(0, ""), Out(10, "partial")}, std::nullopt,
                          /*finish=*/false);
  EXPECT_EQ(Row(id).end_reason, "interrupted");
  std::vector<std::string> l = Lines(Export(id, {.format = ExportFormat::kCastV3}));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1], R"([0.000000, "m", "/bin/sh"])");
  EXPECT_EQ(l[2], R"([0.010000, "o", "partial"])");
}

TEST_F(ExportTest, SessionWithoutStatusOrFrames) {
  store::SessionMeta m = SampleMeta();
  m.tty = false;
  m.term_cols = 0;
  m.term_rows = 0;
  std::string id = Record(*store_, m, {}, std::nullopt);
  std::vector<std::string> l = Lines(Export(id, {.format = ExportFormat::kCastV2}));
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[1], R"([0.000000, "m", "/bin/sh"])");  // the command ran, even with no output
  boost::json::value h = boost::json::parse(l[0]);
  EXPECT_EQ(h.at("width").as_int64(), 80);  // no terminal: asciinema's default size
  EXPECT_EQ(h.at("height").as_int64(), 24);
}

TEST_F(ExportTest, HtmlEmbedsThePlayerAndEscapesEverythingRecorded) {
  store::SessionMeta m = SampleMeta();
  m.title = "</title><script>alert('t')</script>";
  std::string id =
      Record(*store_, m, {Out(10, "</script><script>alert(1)</script><!-- \xE2\x80\xA8 & ]]>")}, 0);
  std::string html = Export(id, {.format = ExportFormat::kHtml});
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert('t')"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_EQ(html.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(html.find("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"), std::string::npos);
  EXPECT_NE(html.find("&lt;/title&gt;"), std::string::npos);
  ASSERT_GT(AsciinemaPlayerJs().size(), 100000u);
  EXPECT_NE(html.find(AsciinemaPlayerJs()), std::string::npos);
  EXPECT_NE(html.find(AsciinemaPlayerCss()), std::string::npos);
  // Exactly our three scripts: the cast, the player and the start-up.
  size_t count = 0;
  for (size_t p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3u);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
}

TEST_F(ExportTest, TxtRendersWhatTheScreenShowed) {
  std::string id = Record(*store_, SampleMeta(),
                          {Out(0, "$ ls\r\n"), Out(500, "a  b\r\nprogress 10%\rprogress 100%\r\n"),
                           Out(1000, "typo\b\b\b\bfixed\r\n"), Out(1500, "\x1b[31mred\x1b[0m\r\n")},
                          0);
  std::string txt = Export(id, {.format = ExportFormat::kTxt});
  EXPECT_EQ(txt, "$ ls\na  b\nprogress 100%\nfixed\nred\n");
  std::string stamped = Export(id, {.format = ExportFormat::kTxt, .timestamps = true});
  EXPECT_EQ(stamped,
            "[0:00.000] $ ls\n[0:00.500] a  b\n[0:00.500] progress 100%\n[0:01.000] fixed\n"
            "[0:01.500] red\n");
}

// Recorded terminal sizes a renderer cannot take as they are: a wide character on a 1-column
// screen (libvterm 0.1 crashed: a fuzzer finding) and 65535x65535 (gigabytes of cells) render
// at a clamped size (player/timeline.h ClampVtermSize).
TEST_F(ExportTest, TxtRendersHostileTerminalSizesClamped) {
  std::string id = Record(*store_, SampleMeta(),
                          {Out(0, "$ "), Resize(100, "{\"Width\":1,\"Height\":81}\n"),
                           Out(200, "\xe4\xb8\xad\xe6\x96\x87 wide\r\n"),
                           Resize(300, "{\"Width\":65535,\"Height\":65535}\n"), Out(400, "big\r\n"),
                           Resize(500, "{\"Width\":80,\"Height\":24}\n"), Out(600, "done\r\n")},
                          0);
  std::string txt = Export(id, {.format = ExportFormat::kTxt});
  EXPECT_NE(txt.find("big\n"), std::string::npos) << txt;
  EXPECT_NE(txt.find("done\n"), std::string::npos) << txt;
}

// REP (CSI Ps b: repeat the last glyph) before any glyph looped forever in libvterm 0.1 (a fuzzer
// finding): the renderer starts from a primed terminal (player/vterm_util.h PrimeVterm).
TEST_F(ExportTest, TxtRendersARepeatBeforeAnyCharacter) {
  std::string id =
      Record(*store_, SampleMeta(), {Out(0, "\x1b[5b\x1b[3;4b"), Out(100, "after\r\n")}, 0);
  std::string txt = Export(id, {.format = ExportFormat::kTxt});
  EXPECT_NE(txt.find("after\n"), std::string::npos) << txt;
}

TEST_F(ExportTest, TxtKeepsScrolledAndClearedScreens) {
  std::vector<TestFrame> frames;
  for (int i = 0; i < 30; ++i) frames.push_back(Out(i, "line " + std::to_string(i) + "\r\n"));
  frames.push_back(Out(100, "\x1b[H\x1b[2J"));
  frames.push_back(Out(200, "after clear\r\n"));
  std::string id = Record(*store_, SampleMeta(), frames, 0);
  std::string txt = Export(id, {.format = ExportFormat::kTxt});
  std::string want;
  for (int i = 0; i < 30; ++i) want += "line " + std::to_string(i) + "\n";
  want += "after clear\n";
  EXPECT_EQ(txt, want);
}

TEST_F(ExportTest, CatChoosesChannels) {
  std::string id = Typical();
  auto cat = [&](std::string_view channels) {
    std::string out;
    StringSink sink(&out);
    auto c = ParseCatChannels(channels);
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(CatSession(*store_, Row(id), *c, &sink).ok());
    return out;
  };
  EXPECT_EQ(cat("stdout,stderr"), "$ ls\r\nfile-\xC5\xBC\r\nwarn\r\n$ ");
  EXPECT_EQ(cat("stderr"), "warn\r\n");
  EXPECT_EQ(cat("stdin"), "ls\r");
  EXPECT_FALSE(ParseCatChannels("stdout,status").ok());
}

TEST(ExportFormat, FromNamesAndPaths) {
  EXPECT_EQ(*ParseExportFormat("cast"), ExportFormat::kCastV3);
  EXPECT_EQ(*ParseExportFormat("cast-v2"), ExportFormat::kCastV2);
  EXPECT_FALSE(ParseExportFormat("gif").ok());
  EXPECT_EQ(*ExportFormatFromPath("/tmp/a.cast"), ExportFormat::kCastV3);
  EXPECT_EQ(*ExportFormatFromPath("a.html"), ExportFormat::kHtml);
  EXPECT_EQ(*ExportFormatFromPath("a.txt"), ExportFormat::kTxt);
  EXPECT_FALSE(ExportFormatFromPath("a.json").ok());
}

}  // namespace
}  // namespace podtape::player
