// The command index, search and audit on real bash and sh sessions recorded by `podtape exec -it`
// against podtape-sim, typed on a pseudo-terminal key by key (tests/e2e/audit_typist.py).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "schema/store.h"
#include "test_util.h"

namespace podtape {
namespace {

using testing::RunResult;

const char kCluster[] = R"(httpUser: alice
users:
  - name: alice
    token: alice-token
    groups: [dev, ops]
    exec: true
pods:
  - name: demo
    namespace: shop
    containers:
      - name: c1
)";

class IndexSim {
 public:
  IndexSim() {
    testing::WriteFile(dir_.File("cluster.yaml"), kCluster);
    url_ = server_.Start(
        {PODTAPE_SIM_BINARY, "--config", dir_.File("cluster.yaml"), "--listen", "127.0.0.1:0"});
  }
  const std::string& url() const { return url_; }
  std::string error() const { return server_.error(); }
  std::string Db() const { return dir_.File("podtape.db"); }

  RunResult Podtape(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", Db()};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions o;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "PODTAPE_DB", "KUBERNETES_MASTER"};
    o.timeout = std::chrono::seconds(60);
    return testing::Run(argv, o);
  }

  // `podtape exec -it` of `argv` on an 80x24 pseudo-terminal, typing `steps` ([expect, keys]).
  boost::json::object Type(const boost::json::array& steps, const std::vector<std::string>& argv) {
    std::vector<std::string> cmd = {"/usr/bin/python3",
                                    std::string(PODTAPE_SOURCE_DIR) + "/tests/e2e/audit_typist.py",
                                    "80",
                                    "24",
                                    "60",
                                    boost::json::serialize(steps),
                                    "--",
                                    PODTAPE_BINARY,
                                    "--db",
                                    Db(),
                                    "exec",
                                    "-it",
                                    "-s",
                                    url_,
                                    "-n",
                                    "shop",
                                    "demo",
                                    "--"};
    cmd.insert(cmd.end(), argv.begin(), argv.end());
    testing::RunOptions o;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "PODTAPE_DB"};
    o.timeout = std::chrono::seconds(90);
    RunResult r = testing::Run(cmd, o);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.out, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "typist output: " << r.out << r.err;
      return {};
    }
    return v.as_object();
  }

 private:
  testing::TempDir dir_;
  testing::Server server_;
  std::string url_;
};

std::vector<std::string> AuditCommands(const IndexSim& sim, const std::string& session) {
  RunResult r = sim.Podtape({"audit", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.out, ec);
  EXPECT_FALSE(ec) << r.out;
  if (ec) return out;
  for (const auto& row : v.as_array()) {
    if (row.at("session").as_string() == session) {
      out.emplace_back(row.at("command").as_string());
    }
  }
  return out;
}

std::string LastId(const IndexSim& sim) {
  auto st = store::Store::Open(sim.Db());
  if (!st.ok()) return "";
  auto row = (*st)->Find("last");
  return row.ok() ? row->meta.id : "";
}

#define START(sim) ASSERT_FALSE((sim).url().empty()) << (sim).error()

TEST(AuditIndexTest, BashHistoryTabCompletionAndAHiddenPassword) {
  IndexSim sim;
  START(sim);
  const std::string prompt = "alice@demo:~$ ";
  boost::json::array steps = {
      {prompt, "echo first-cmd\r"},
      {prompt, "touch unique-file-name.txt\r"},
      {prompt, "\x1b[A\x1b[A"},  // two up: echo first-cmd from the history
      {"first-cmd", "\r"},
      {prompt, "cat uniq"},
      {"uniq", "\t"},
      {"file-name.txt", "\r"},
      {prompt, "read -s -p \"Pass\"\"word: \" pw\r"},
      {"Password: ", "hunter2\r"},
      {prompt, "echo len=${#pw}\r"},
      {"len=7", ""},
      // Two lines typed at once, the second before the first one's echo came back.
      {prompt, "echo ahead-one\recho ahead-two\r"},
      {"ahead-two\r\n", ""},
      {prompt, "exit\r"},
  };
  boost::json::object v =
      sim.Type(steps, {"env", "PS1=" + prompt, "bash", "--norc", "--noprofile"});
  ASSERT_FALSE(v.empty());
  const std::string out(v.at("output").as_string());
  ASSERT_FALSE(v.at("timed_out").as_bool()) << "step " << v.at("failed_step") << ": " << out;
  EXPECT_EQ(v.at("exit_code").as_int64(), 0) << out;

  const std::string id = LastId(sim);
  std::vector<std::string> cmds = AuditCommands(sim, id);
  EXPECT_EQ(cmds, (std::vector<std::string>{"env 'PS1=alice@demo:~$ ' bash --norc --noprofile",
                                            "echo first-cmd", "touch unique-file-name.txt",
                                            "echo first-cmd", "cat unique-file-name.txt",
                                            "read -s -p \"Pass\"\"word: \" pw", "echo len=${#pw}",
                                            "echo ahead-one", "echo ahead-two", "exit"}))
      << out;
  // The password was never echoed: not in the index, not in search, not in exports. Only an
  // explicit request for the keystrokes shows it (export --input, cat --channels stdin).
  RunResult r = sim.Podtape({"search", "hunter2"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  for (const char* format : {"cast", "cast-v2", "txt", "html"}) {
    r = sim.Podtape({"export", id, "-", "--format", format});
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.err;
    EXPECT_NE(r.out.find("first-cmd"), std::string::npos) << format;
    EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << format;
  }
  r = sim.Podtape({"export", id, "-", "--format", "cast", "--input"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hunter2"), std::string::npos);

  // search finds the command and the output line, newest first, with an offset play accepts.
  r = sim.Podtape({"search", "-o", "json", "UNIQUE-file"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::array hits = boost::json::parse(r.out).as_array();
  ASSERT_GE(hits.size(), 2u) << r.out;
  bool command_hit = false;
  for (const auto& h : hits) {
    EXPECT_EQ(h.at("session").as_string(), id);
    EXPECT_EQ(h.at("namespace").as_string(), "shop");
    if (h.at("kind").as_string() == "command" &&
        h.at("text").as_string() == "cat unique-file-name.txt") {
      command_hit = true;
      EXPECT_GT(h.at("t_ns").as_int64(), 0);
    }
  }
  EXPECT_TRUE(command_hit) << r.out;
  EXPECT_GE(hits[0].at("t_ns").as_int64(), hits[hits.size() - 1].at("t_ns").as_int64());
  r = sim.Podtape({"search", "--commands", "--limit", "1", "first-cmd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // header + 1
  EXPECT_NE(r.out.find("$ echo first-cmd"), std::string::npos) << r.out;
  r = sim.Podtape({"search", "--pod", "other", "first-cmd"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = sim.Podtape({"search", "-o", "yaml", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;

  r = sim.Podtape({"audit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dev,ops"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shop"), std::string::npos) << r.out;
  std::printf("%s", r.out.c_str());
}

TEST(AuditIndexTest, ShWithAnUnechoedAnswer) {
  IndexSim sim;
  START(sim);
  boost::json::array steps = {
      {"$ ", "echo from-sh\r"},
      {"$ ", "stty -echo; printf 'p%s: ' w; read pw; stty echo\r"},
      {"pw: ", "s3cret\r"},
      {"$ ", "echo \"got ${#pw}\"\r"},
      {"got 6", ""},
      {"$ ", "exit\r"},
  };
  boost::json::object v = sim.Type(steps, {"env", "PS1=$ ", "sh"});
  ASSERT_FALSE(v.empty());
  const std::string out(v.at("output").as_string());
  ASSERT_FALSE(v.at("timed_out").as_bool()) << "step " << v.at("failed_step") << ": " << out;
  const std::string id = LastId(sim);
  EXPECT_EQ(AuditCommands(sim, id),
            (std::vector<std::string>{"env 'PS1=$ ' sh", "echo from-sh",
                                      "stty -echo; printf 'p%s: ' w; read pw; stty echo",
                                      "echo \"got ${#pw}\"", "exit"}))
      << out;
  RunResult r = sim.Podtape({"search", "s3cret"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST(AuditIndexTest, NonTtyStdinLinesAndControlCharactersEscaped) {
  IndexSim sim;
  START(sim);
  testing::RunOptions o;
  std::vector<std::string> argv = {PODTAPE_BINARY, "--db", sim.Db(), "exec", "-i", "-s",
                                   sim.url(),      "-n",   "shop",   "demo", "--", "sh"};
  o.stdin_data = "echo plain-one\nprintf 'x\\033[31my\\n'\necho \x1b[7mtyped-escape\n";
  o.env["HOME"] = "/nonexistent";
  o.unset_env = {"KUBECONFIG", "PODTAPE_DB"};
  RunResult r = testing::Run(argv, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string id = LastId(sim);
  EXPECT_EQ(AuditCommands(sim, id),
            (std::vector<std::string>{"sh", "echo plain-one", "printf 'x\\033[31my\\n'",
                                      "echo \x1b[7mtyped-escape"}));
  r = sim.Podtape({"search", "-o", "json", "--output-lines", "plain-one"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).as_array().size(), 1u) << r.out;
  // The escape the command printed is shown escaped in table output.
  r = sim.Podtape({"search", "--output-lines", "31my"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_NE(r.out.find("x\\e[31my"), std::string::npos) << r.out;
  r = sim.Podtape({"audit", "-o", "csv", "--no-headers"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find(",echo plain-one\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(",echo \x1b[7mtyped-escape\r\n"), std::string::npos) << r.out;
  // The audit table escapes a control character typed into a command; JSON and CSV keep it.
  r = sim.Podtape({"audit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("echo \\e[7mtyped-escape"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("COMMAND"), std::string::npos) << r.out;
  r = sim.Podtape({"audit", "-o", "json", "--pod", "demo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(boost::json::parse(r.out).as_array().back().at("command").as_string(),
            "echo \x1b[7mtyped-escape");
  r = sim.Podtape({"audit", "-o", "json", "--pod", "other"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[]\n");
}

// What search prints is an offset `play --from` takes, and playing from it starts at that moment:
// the output before it is drawn at once, the rest plays in time.
TEST(AuditIndexTest, PlayFromTheOffsetSearchPrintsStartsAtTheHit) {
  IndexSim sim;
  START(sim);
  testing::RunOptions o;
  o.stdin_data = "echo early-line; sleep 4; echo late-marker; sleep 1; echo tail-line\n";
  o.env["HOME"] = "/nonexistent";
  o.unset_env = {"KUBECONFIG", "PODTAPE_DB"};
  o.timeout = std::chrono::seconds(60);
  RunResult r = testing::Run({PODTAPE_BINARY, "--db", sim.Db(), "exec", "-i", "-s", sim.url(), "-n",
                              "shop", "demo", "--", "sh"},
                             o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = sim.Podtape({"search", "-o", "json", "late-marker", "--output-lines"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::array hits = boost::json::parse(r.out).as_array();
  ASSERT_EQ(hits.size(), 1u) << r.out;
  const std::string session(hits[0].at("short_id").as_string());
  const std::string offset(hits[0].at("offset").as_string());
  EXPECT_GE(hits[0].at("t_ns").as_int64(), 3'500'000'000) << r.out;
  // The table prints the same offset.
  r = sim.Podtape({"search", "late-marker", "--output-lines"});
  EXPECT_NE(r.out.find(" " + offset + " "), std::string::npos) << r.out << offset;

  auto start = std::chrono::steady_clock::now();
  r = sim.Podtape({"play", session, "--from", offset});
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t late = r.out.find("late-marker");
  ASSERT_NE(late, std::string::npos) << r.out;
  EXPECT_LT(r.out.find("early-line"), late) << r.out;
  EXPECT_GT(r.out.find("tail-line"), late) << r.out;
  // From the start it would take over 5 s; from the hit, about 1 s.
  EXPECT_LT(took, 4.0) << r.out;
  EXPECT_GE(took, 0.5) << r.out;
}

}  // namespace
}  // namespace podtape
