// What a recorded session controls (its pod's name, its command, its title, its output) cannot
// reach the reviewer's terminal as escape sequences through `ls`, `audit`, `search` or `verify`
// (tables; JSON escapes C0 controls), and cannot inject script into an html export: the page keeps
// exactly its own three script elements, and headless Chromium running the page shows no injected
// effect (a control page with the same payload unescaped shows that the check can see one).
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;

// ESC and BEL sequences: an OSC window title, clear screen, a colour; a C1 CSI (U+009B) in UTF-8.
const char kEscapes[] =
    "\x1b]0;pwned-title\x07\x1b[2J\x1b[31m\xc2\x9b"
    "31m";

// Names the first byte sequence in `text` a terminal would act on: a C0 control other than
// newline, DEL, a C1 control (U+0080-U+009F; unless `allow_c1`) or bytes that are not UTF-8.
// Empty when none.
std::string FirstControl(const std::string& text, bool allow_c1 = false) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    auto at = [&](const char* what) {
      return std::string(what) + " at byte " + std::to_string(i) + ": ..." +
             text.substr(i > 20 ? i - 20 : 0, 40);
    };
    if (c < 0x20 && c != '\n') return at("C0 control");
    if (c == 0x7f) return at("DEL");
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || i + len > n) return at("not UTF-8");
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return at("not UTF-8");
    }
    if (!allow_c1 && len == 2 && c == 0xC2 && p[i + 1] < 0xA0) return at("C1 control");
    i += len;
  }
  return "";
}

TEST(SecretsEscapeTest, RecordedEscapeSequencesNeverReachTheReviewersTerminal) {
  const std::string evil_pod = std::string("evil") + kEscapes;
  // YAML double quotes: \e is ESC, \a BEL, \x9b the C1 CSI.
  SimFixture sim(false,
                 "  - name: \"evil\\e]0;pwned-title\\a\\e[2J\\e[31m\\x9b31m\"\n"
                 "    containers:\n      - name: c1\n");
  PODTAPE_START_SIM(sim);
  testing::RunResult r =
      sim.Podtape({"exec", "--title", std::string("title") + kEscapes, "-s", sim.url(), evil_pod,
                   "-c", "c1", "--", "echo", std::string("pwn") + kEscapes + "ed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
  ASSERT_EQ(rec.row.meta.pod, evil_pod);  // stored as it is: the escaping is on output
  ASSERT_NE(rec.stdout_bytes.find("\x1b]0;"), std::string::npos);

  const std::vector<std::vector<std::string>> views = {
      {"ls"},
      {"ls", "--pod", evil_pod},
      {"ls", "-o", "json"},
      {"audit"},
      {"audit", "-o", "json"},
      {"search", "pwn"},
      {"search", "pwn", "-o", "json"},
      {"verify"},
  };
  for (const auto& args : views) {
    std::string name;
    for (const std::string& a : args) name += a + " ";
    SCOPED_TRACE(name);
    testing::RunResult v = sim.Podtape(args);
    EXPECT_EQ(v.exit_code, 0) << v.err;
    EXPECT_FALSE(v.out.empty());
    // JSON escapes C0 controls; Boost.JSON writes U+0080-U+009F as the characters they are
    // (UTF-8 terminals do not act on them), so only tables are held to C1 as well.
    const bool json = std::find(args.begin(), args.end(), "json") != args.end();
    EXPECT_EQ(FirstControl(v.out, json), "");
    EXPECT_EQ(FirstControl(v.err), "");
  }
  // The pod and the command are still told apart from others: shown escaped, not dropped.
  testing::RunResult ls = sim.Podtape({"ls"});
  EXPECT_NE(ls.out.find("evil\\e]0;pwned-title"), std::string::npos) << ls.out;
}

int CountCaseless(const std::string& hay, const std::string& needle) {
  std::string h = hay;
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int n = 0;
  for (size_t pos = h.find(needle); pos != std::string::npos; pos = h.find(needle, pos + 1)) ++n;
  return n;
}

// The page's DOM after its scripts ran (headless Chromium, no network, a private profile).
std::string DumpDom(const testing::TempDir& dir, const std::string& file) {
  testing::RunOptions o;
  o.env["HOME"] = dir.path();
  o.timeout = std::chrono::seconds(120);
  testing::RunResult r =
      testing::Run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--user-data-dir=" + dir.File("chromium-profile"), "--virtual-time-budget=5000",
                    "--dump-dom", "file://" + file},
                   o);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(SecretsEscapeTest, NothingRecordedInjectsScriptIntoAnHtmlExport) {
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0)
      << "chromium is missing: run scripts/install-deps.sh";
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  const std::string p1 =
      "</script><script>document.body.setAttribute('data-'+'pwned1','y')</script>";
  const std::string p2 =
      "<img src=x onerror=\"document.body.setAttribute('data-'+'pwned2','y')\"><!--<script>";
  const std::string p3 = "</SCRIPT ><script>document.body.setAttribute('data-'+'pwned3','y')//";
  const std::string title =
      "</title><script>document.body.setAttribute('data-'+'pwned4','y')</script>";
  testing::RunResult r =
      sim.Podtape({"exec", "--title", title, "-s", sim.url(), "box", "-c", "c1", "--", "sh", "-c",
                   "echo \"$1\"; echo \"$2\"; echo \"$3\"; echo visible-marker", "sh", p1, p2, p3});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = sim.dir().File("session.html");
  testing::RunResult e = sim.Podtape({"export", "last", html});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const std::string page = testing::ReadFile(html);

  // Statically: the page's own three script elements, no more; the cast block (JSON) holds no
  // "<!--", "<script" or "</script" that could end or bend it.
  EXPECT_EQ(CountCaseless(page, "<script"), 3);
  EXPECT_EQ(CountCaseless(page, "</script"), 3);
  const std::string open = "<script type=\"application/json\" id=\"podtape-cast\">";
  size_t start = page.find(open);
  ASSERT_NE(start, std::string::npos);
  start += open.size();
  size_t end = page.find("</script>", start);
  ASSERT_NE(end, std::string::npos);
  const std::string cast = page.substr(start, end - start);
  EXPECT_NE(cast.find("visible-marker"), std::string::npos);
  EXPECT_EQ(cast.find("<!--"), std::string::npos);
  EXPECT_EQ(CountCaseless(cast, "<script"), 0);
  EXPECT_EQ(CountCaseless(cast, "</script"), 0);
  EXPECT_EQ(page.find("<title></title><script>"), std::string::npos);

  // Dynamically: Chromium runs the page; none of the payloads ran, and the player did.
  std::string dom = DumpDom(sim.dir(), html);
  ASSERT_FALSE(dom.empty());
  EXPECT_NE(dom.find("ap-"), std::string::npos)
      << "the player did not start: " << dom.substr(0, 500);
  for (const char* marker : {"data-pwned1", "data-pwned2", "data-pwned3", "data-pwned4"}) {
    EXPECT_EQ(dom.find(marker), std::string::npos) << marker << " ran";
  }
  // The control: the same payload placed raw in a page does run, so the check can see it.
  const std::string control = sim.dir().File("control.html");
  testing::WriteFile(control, "<!DOCTYPE html><html><body><script>x=1" + p1 + "</body></html>");
  EXPECT_NE(DumpDom(sim.dir(), control).find("data-pwned1"), std::string::npos);
}

}  // namespace
}  // namespace podtape
