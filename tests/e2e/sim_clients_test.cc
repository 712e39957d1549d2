// podtape-sim checked with the official Python and JavaScript Kubernetes clients, and on the
// wire with a raw WebSocket client: subprotocol choice, the ready frame, status formats, errors
// before the upgrade, 100 concurrent sessions, no process left behind, the hostile pods.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace podtape {
namespace {

namespace json = boost::json;
using testing::RunOptions;
using testing::RunResult;

std::string ClientScript(const std::string& name) {
  return std::string(PODTAPE_SOURCE_DIR) + "/tests/clients/" + name;
}

class SimClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = server_.Start({PODTAPE_SIM_BINARY, "--config",
                          std::string(PODTAPE_SOURCE_DIR) + "/samples/cluster.yaml", "--listen",
                          "127.0.0.1:0"});
    ASSERT_FALSE(url_.empty()) << server_.error();
    ws_url_ = "ws" + url_.substr(4);
  }
  std::string Pod(const std::string& pod) const {
    return ws_url_ + "/api/v1/namespaces/default/pods/" + pod;
  }
  // Runs a client script and parses the one JSON object it prints.
  json::object RunJson(const std::vector<std::string>& argv, RunResult* raw = nullptr) {
    RunOptions o;
    o.timeout = std::chrono::seconds(90);
    RunResult r = testing::Run(argv, o);
    if (raw) *raw = r;
    EXPECT_EQ(r.exit_code, 0) << r.err << "\nsim: " << server_.Stderr();
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << r.out << "\nstderr: " << r.err;
      return {};
    }
    return v.as_object();
  }
  json::object Probe(const std::string& url, const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv = {"/usr/bin/python3", ClientScript("ws_probe.py"), url};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunJson(argv);
  }
  // The frames a probe saw, as (op, bytes).
  static std::vector<std::pair<std::string, std::string>> Frames(const json::object& probe) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!probe.contains("frames")) return out;
    for (const auto& f : probe.at("frames").as_array()) {
      const std::string hex(f.at("hex").as_string());
      std::string bytes;
      for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      out.emplace_back(std::string(f.at("op").as_string()), bytes);
    }
    return out;
  }
  // Processes whose parent is the simulator and whose argv is `argv`.
  std::vector<pid_t> SimChildren(const std::vector<std::string>& argv) {
    std::string want;
    for (const auto& a : argv) want += a + '\0';
    std::vector<pid_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      std::getline(stat, line);
      size_t paren = line.rfind(')');
      if (paren == std::string::npos) continue;
      char state = 0;
      int ppid = 0;
      if (std::sscanf(line.c_str() + paren + 1, " %c %d", &state, &ppid) != 2) continue;
      if (ppid != server_.pid() || state == 'Z') continue;
      std::ifstream cmdline(entry.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      if (cmd == want) out.push_back(std::stoi(name));
    }
    return out;
  }

  testing::Server server_;
  std::string url_, ws_url_;
};

TEST_F(SimClientsTest, OfficialPythonClientExecWithExitCode) {
  RunResult raw;
  json::object r = RunJson({"/usr/bin/python3", ClientScript("python_exec.py"), url_, "demo",
                            "main", "sh", "-c", "echo py-out; echo py-err >&2; exit 7"},
                           &raw);
  ASSERT_NE(raw.exit_code, 3) << "install Debian's python3-kubernetes: " << raw.err;
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("stdout").as_string(), "py-out\n");
  EXPECT_EQ(r.at("stderr").as_string(), "py-err\n");
  EXPECT_EQ(r.at("returncode").as_int64(), 7);
  r = RunJson({"/usr/bin/python3", ClientScript("python_exec.py"), url_, "demo", "main", "echo",
               "hello python"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("stdout").as_string(), "hello python\n");
  EXPECT_EQ(r.at("returncode").as_int64(), 0);
}

TEST_F(SimClientsTest, OfficialJavaScriptClientExecWithExitStatus) {
  ASSERT_TRUE(std::filesystem::exists(std::string(PODTAPE_SOURCE_DIR) +
                                      "/tests/clients/node_modules/@kubernetes/client-node"))
      << "@kubernetes/client-node is missing: run scripts/install-deps.sh (npm ci in "
         "tests/clients)";
  RunResult raw;
  json::object r = RunJson({"node", ClientScript("node_exec.mjs"), url_, "demo", "main", "sh", "-c",
                            "echo js-out; echo js-err >&2; exit 5"},
                           &raw);
  ASSERT_FALSE(r.empty()) << raw.err;
  EXPECT_EQ(r.at("stdout").as_string(), "js-out\n");
  EXPECT_EQ(r.at("stderr").as_string(), "js-err\n");
  const json::object& status = r.at("status").as_object();
  EXPECT_EQ(status.at("status").as_string(), "Failure");
  EXPECT_EQ(status.at("reason").as_string(), "NonZeroExitCode");
  EXPECT_EQ(status.at("details").at("causes").at(0).at("message").as_string(), "5");
  r = RunJson({"node", ClientScript("node_exec.mjs"), url_, "demo", "main", "echo", "hello js"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("stdout").as_string(), "hello js\n");
  EXPECT_EQ(r.at("status").at("status").as_string(), "Success");
}

TEST_F(SimClientsTest, SubprotocolsAreChosenAsTheServersChoose) {
  const std::string exec = Pod("demo") + "/exec?command=sh&command=-c&command=exit+4&stdout=true";
  struct Case {
    std::vector<std::string> args;
    std::string chosen;
  };
  const std::vector<Case> cases = {
      {{"--protocols", "v4.channel.k8s.io,v5.channel.k8s.io"}, "v5.channel.k8s.io"},
      {{"--protocols", "v3.channel.k8s.io,v4.base64.channel.k8s.io,v4.channel.k8s.io"},
       "v4.base64.channel.k8s.io"},
      {{"--protocols", "v2.channel.k8s.io,channel.k8s.io"}, "channel.k8s.io"},
      {{"--protocols", "base64.channel.k8s.io"}, "base64.channel.k8s.io"},
  };
  for (const auto& c : cases) {
    json::object r = Probe(exec, c.args);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(r.at("status").as_int64(), 101);
    EXPECT_EQ(r.at("protocol").as_string(), c.chosen);
    EXPECT_EQ(r.at("close").as_int64(), 1000) << c.chosen;
    auto frames = Frames(r);
    ASSERT_EQ(frames.size(), 2u) << c.chosen << ": " << json::serialize(r);
    const bool base64 = c.chosen.find("base64") != std::string::npos;
    // The ready frame: one empty message on stdout (the lowest writable channel).
    EXPECT_EQ(frames[0], std::make_pair(std::string(base64 ? "text" : "binary"),
                                        std::string(base64 ? "1" : "\x01")));
    std::string status = frames[1].second;
    EXPECT_EQ(status[0], base64 ? '3' : '\x03');
    if (c.chosen == "v5.channel.k8s.io") {
      EXPECT_EQ(
          status.substr(1),
          R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 4","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"4"}]}})");
    } else if (c.chosen == "v4.base64.channel.k8s.io") {
      // base64 of the runtime's JSON, with the argv in the message.
      EXPECT_EQ(status.substr(1, 20), "eyJtZXRhZGF0YSI6e30s");
    } else if (c.chosen == "channel.k8s.io") {
      EXPECT_EQ(status.substr(1),
                "command terminated with non-zero exit code: error executing command [sh -c exit "
                "4], exit code 4");
    }
  }
  // No header: binary, like channel.k8s.io; success writes nothing on channel 3.
  json::object r = Probe(Pod("demo") + "/exec?command=true&stdout=1", {"--no-protocol"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("status").as_int64(), 101);
  EXPECT_EQ(Frames(r).size(), 1u) << json::serialize(r);
  // Nothing acceptable: 403 with an empty body.
  r = Probe(Pod("demo") + "/exec?command=true&stdout=1", {"--protocols", "v3.channel.k8s.io"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("status").as_int64(), 403);
}

TEST_F(SimClientsTest, StdinEndsOnTheV5CloseSignal) {
  // "hi" on stdin, then FF 00: cat sees EOF and exits 0.
  json::object r = Probe(Pod("demo") + "/exec?command=cat&stdin=true&stdout=true",
                         {"--send", "006869", "--send", "ff00"});
  ASSERT_FALSE(r.empty());
  auto frames = Frames(r);
  ASSERT_EQ(frames.size(), 3u) << json::serialize(r);
  EXPECT_EQ(frames[1].second, "\x01hi");
  EXPECT_EQ(frames[2].second, std::string("\x03") + R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(r.at("close").as_int64(), 1000);
}

TEST_F(SimClientsTest, Base64ProtocolCarriesStdinAndOutputAsText) {
  // "hi" as a text frame '0' + base64; head reads two bytes and exits.
  json::object r = Probe(Pod("demo") + "/exec?command=head&command=-c&command=2&stdin=1&stdout=1",
                         {"--protocols", "v4.base64.channel.k8s.io", "--send-text", "0aGk="});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("protocol").as_string(), "v4.base64.channel.k8s.io");
  auto frames = Frames(r);
  ASSERT_EQ(frames.size(), 3u) << json::serialize(r);
  EXPECT_EQ(frames[0], std::make_pair(std::string("text"), std::string("1")));
  EXPECT_EQ(frames[1], std::make_pair(std::string("text"), std::string("1aGk=")));
  // base64 of {"metadata":{},"status":"Success"}
  EXPECT_EQ(frames[2].second, "3eyJtZXRhZGF0YSI6e30sInN0YXR1cyI6IlN1Y2Nlc3MifQ==");
}

TEST_F(SimClientsTest, ResizeSplitAcrossFramesSizesTheTty) {
  // {"Width":50,"Height":20}\n in two messages on channel 4: one JSON stream, not one per frame.
  const std::string part1 =
      "04"
      "7b22576964";  // {"Wid
  const std::string part2 =
      "04"
      "7468223a35302c22486569676874223a32307d0a";  // th":50,"Height":20}\n
  json::object r = Probe(Pod("demo") + "/exec?command=stty&command=size&stdin=1&stdout=1&tty=1",
                         {"--send", part1, "--send", part2});
  ASSERT_FALSE(r.empty());
  auto frames = Frames(r);
  ASSERT_GE(frames.size(), 3u) << json::serialize(r);
  std::string out;
  for (size_t i = 1; i + 1 < frames.size(); ++i) out += frames[i].second.substr(1);
  EXPECT_EQ(out, "20 50\r\n") << json::serialize(r);
}

TEST_F(SimClientsTest, ErrorsBeforeTheUpgradeAreStatusJson) {
  const std::string http = url_ + "/api/v1/namespaces/default/pods/";
  struct Case {
    std::string path, method, code, message;
  };
  const std::vector<Case> cases = {
      {"nope/exec?command=true&stdout=true", "GET", "404",
       R"("message":"pods \"nope\" not found")"},
      {"multi/exec?command=true&stdout=true", "GET", "400",
       R"("message":"a container name must be specified for pod multi, choose one of: [a b]")"},
      {"demo/exec?command=true&stdout=true&container=c9", "GET", "400",
       R"("message":"container c9 is not valid for pod demo")"},
      {"demo/exec?command=true&stdout=true", "GET", "400",
       R"("message":"Upgrade request required")"},
  };
  for (const auto& c : cases) {
    RunResult r =
        testing::Run({"curl", "-s", "-X", c.method, "-w", "\n%{http_code}", http + c.path});
    ASSERT_EQ(r.exit_code, 0) << "curl: " << r.err;
    EXPECT_TRUE(r.out.ends_with("\n" + c.code)) << c.path << ": " << r.out;
    EXPECT_NE(r.out.find(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << r.out;
  }
  // A SPDY upgrade: the same checks, then a 400 saying only WebSocket is served.
  RunResult r = testing::Run({"curl", "-s", "-X", "POST", "-H", "Connection: Upgrade", "-H",
                              "Upgrade: SPDY/3.1", "-w", "\n%{http_code}",
                              http + "demo/exec?command=true&stdout=true"});
  EXPECT_TRUE(r.out.ends_with("\n400")) << r.out;
  EXPECT_NE(r.out.find("WebSocket only"), std::string::npos) << r.out;
  // Bad or missing credentials are 401 even over plain HTTP when a token is sent.
  r = testing::Run(
      {"curl", "-s", "-H", "Authorization: Bearer wrong", "-w", "\n%{http_code}", http + "demo"});
  EXPECT_TRUE(r.out.ends_with("\n401")) << r.out;
  // bob may read pods but not exec: 403 with the API server's words.
  r = testing::Run({"curl", "-s", "-H", "Authorization: Bearer bob-token", "-w", "\n%{http_code}",
                    http + "demo/exec?command=true&stdout=true"});
  EXPECT_TRUE(r.out.ends_with("\n403")) << r.out;
  EXPECT_NE(r.out.find(R"(User \"bob\" cannot get resource \"pods/exec\")"), std::string::npos)
      << r.out;
}

TEST_F(SimClientsTest, AHundredConcurrentSessions) {
  // 100 sessions that each sleep 1 s: served together, they end in a few seconds.
  json::object r = RunJson(
      {"/usr/bin/python3", ClientScript("concurrent_exec.py"), Pod("demo") + "/exec", "100", "1"});
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.at("ok").as_int64(), 100) << json::serialize(r.at("failures"));
  EXPECT_LT(r.at("elapsed").to_number<double>(), 20.0);
  std::printf("100 concurrent 1 s sessions took %.2f s\n", r.at("elapsed").to_number<double>());
}

// The sim's close frame is written below Beast; a pong Beast writes at the same moment (or its
// reply to the client's close) must not interleave with it. Under a ping flood every session
// ends and the sim lives on. (What reaches the client varies: closing a socket with unread pings
// resets the connection, and the reset may discard the last frames, as with the real servers.)
TEST_F(SimClientsTest, APingFloodWhileTheSessionEndsLeavesTheSimWhole) {
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    json::object r =
        Probe(Pod("demo") + "/exec?command=echo&command=hi&stdout=true", {"--ping-flood"});
    ASSERT_FALSE(r.empty());
    EXPECT_TRUE(r.at("eof").as_bool() || r.at("close") == json::value(1000)) << json::serialize(r);
    std::string out;
    for (const auto& [op, bytes] : Frames(r)) {
      if (!bytes.empty() && bytes[0] == '\x01') out += bytes.substr(1);
    }
    EXPECT_TRUE(out.empty() || out == "hi\n") << json::serialize(r);
  }
  EXPECT_EQ(server_.Stderr().find("Assertion"), std::string::npos) << server_.Stderr();
  json::object after = Probe(Pod("demo") + "/exec?command=echo&command=alive&stdout=true");
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.at("close"), json::value(1000)) << json::serialize(after);
}

TEST_F(SimClientsTest, AClientThatDisconnectsLeavesNoProcessBehind) {
  const std::vector<std::string> sleeper = {"sleep", "4242"};
  std::thread client([&] {
    Probe(Pod("demo") + "/exec?command=sleep&command=4242&stdout=true",
          {"--hold", "1500", "--drop"});
  });
  bool seen = false;
  for (int i = 0; i < 400 && !seen; ++i) {
    seen = !SimChildren(sleeper).empty();
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  client.join();
  EXPECT_TRUE(seen) << "the exec'd process never ran";
  bool gone = false;
  for (int i = 0; i < 400 && !gone; ++i) {
    gone = SimChildren(sleeper).empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "the exec'd process outlived its client";
}

TEST_F(SimClientsTest, AttachFansOutToEveryClient) {
  // Container a of multi prints "tick N" every second; two clients attached at once both see it.
  const std::string attach = Pod("multi") + "/attach?container=a&stdout=true&stderr=true";
  json::object first;
  std::thread other([&] { first = Probe(attach, {"--for", "3500"}); });
  json::object second = Probe(attach, {"--for", "3500"});
  other.join();
  for (const json::object* r : {&first, &second}) {
    auto frames = Frames(*r);
    ASSERT_GE(frames.size(), 3u) << json::serialize(*r);
    EXPECT_EQ(frames[0].second, "\x01");  // the ready frame
    for (size_t i = 1; i < frames.size(); ++i) {
      EXPECT_TRUE(frames[i].second.starts_with("\x01tick ")) << json::serialize(*r);
    }
  }
}

TEST_F(SimClientsTest, HostilePodsMisbehaveAsDocumented) {
  json::object r = Probe(Pod("hostile-unknown-channel") + "/exec?command=x&stdout=1");
  auto frames = Frames(r);
  ASSERT_EQ(frames.size(), 4u) << json::serialize(r);
  EXPECT_EQ(frames[1].second, std::string("\x07unknown channel"));
  EXPECT_EQ(frames[2].second,
            "\x01"
            "after unknown channel\n");

  r = Probe(Pod("hostile-drop") + "/exec?command=x&stdout=1");
  EXPECT_TRUE(r.at("close").is_null()) << json::serialize(r);
  EXPECT_TRUE(r.at("eof").as_bool());
  EXPECT_EQ(Frames(r).size(), 2u);

  r = Probe(Pod("hostile-text-frame") + "/exec?command=x&stdout=1");
  frames = Frames(r);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[1],
            std::make_pair(std::string("text"), std::string("1text frame on a binary protocol")));

  r = Probe(Pod("hostile-bad-base64") + "/exec?command=x&stdout=1",
            {"--protocols", "v4.base64.channel.k8s.io"});
  frames = Frames(r);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[1].second, "1!!!not base64!!!");

  r = Probe(Pod("hostile-oversize") + "/exec?command=x&stdout=1");
  ASSERT_EQ(Frames(r).size(), 3u);
  EXPECT_EQ(r.at("frames").at(1).at("size").as_int64(), (40 << 20) + 1);
}

}  // namespace
}  // namespace podtape
