// podtape proxy operations end to end: SIGTERM's grace period, fail closed and --fail-open on
// store errors, kubectl cp, port-forward pass-through, --allow-anonymous and kubectl's view of a
// 401, /metrics, --sign-key and the search index of proxied sessions.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proxy_fixture.h"
#include "test_util.h"

namespace podtape {
namespace {

using proxytest::FixtureOptions;
using proxytest::Kubectl;
using proxytest::ProxyFixture;
using proxytest::Str;
using testing::RunResult;

// The proxy's /metrics as name -> value.
std::map<std::string, long long> Metrics(ProxyFixture& f) {
  RunResult m = testing::Run({"curl", "-s", "--max-time", "20", "--cacert", f.Tls("ca.crt"),
                              f.proxy().url() + "/metrics"});
  std::map<std::string, long long> out;
  size_t at = 0;
  while (at < m.out.size()) {
    size_t nl = m.out.find('\n', at);
    if (nl == std::string::npos) nl = m.out.size();
    std::string line = m.out.substr(at, nl - at);
    at = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stoll(line.substr(sp + 1));
  }
  return out;
}

// Whether `pid` has exited (a zombie not reaped yet, or gone).
bool Exited(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z';
}

// Waits (bounded) until `n` sessions are running with at least `frames` frames each.
bool WaitRunning(const ProxyFixture& f, size_t n, int64_t frames) {
  for (int i = 0; i < 300; ++i) {
    boost::json::array s = f.Sessions();
    size_t running = 0;
    for (const auto& v : s) {
      const auto& row = v.as_object();
      if (Str(row.at("end_reason")) == "running" && row.at("frames").as_int64() >= frames) {
        ++running;
      }
    }
    if (running >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(ProxyOps, SigtermLetsSessionsFinishWithinGraceThenLeavesTheRestInterrupted) {
  ProxyFixture f({.proxy_extra = {"--grace", "6"}});
  ASSERT_TRUE(f.ok()) << f.Why();
  RunResult quick, slow;
  std::thread tq([&] {
    quick =
        f.Kubectl(Kubectl("1.32"), "kc-token",
                  {"exec", "box", "--", "sh", "-c", "echo quick-start; sleep 2; echo quick-done"});
  });
  std::thread ts([&] {
    slow = f.Kubectl(Kubectl("1.32"), "kc-cert",
                     {"exec", "box", "--", "sh", "-c", "echo slow-start; sleep 60"});
  });
  bool both = WaitRunning(f, 2, 2);
  EXPECT_TRUE(both);
  auto t0 = std::chrono::steady_clock::now();
  kill(f.proxy().pid(), SIGTERM);
  // New connections are refused at once (the listening socket is shut).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  RunResult late =
      f.Kubectl(Kubectl("1.32"), "kc-token", {"get", "pods"}, "", std::chrono::seconds(30));
  EXPECT_NE(late.exit_code, 0) << late.out;
  tq.join();
  EXPECT_EQ(quick.exit_code, 0) << quick.err;
  EXPECT_EQ(quick.out, "quick-start\nquick-done\n");
  // The proxy leaves when the grace period is over, not before and not long after.
  bool exited = false;
  while (!exited && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(40)) {
    exited = Exited(f.proxy().pid());
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(exited);
  EXPECT_GE(took, 5.5);
  ts.join();
  EXPECT_NE(slow.exit_code, 0);
  EXPECT_EQ(slow.out, "slow-start\n");
  boost::json::array s = f.Sessions();
  ASSERT_EQ(s.size(), 2u);
  std::map<std::string, std::string> reason;  // first output line -> end_reason
  for (const auto& v : s) {
    const auto& row = v.as_object();
    RunResult cat = f.Podtape({"cat", Str(row.at("id"))});
    reason[cat.out.substr(0, cat.out.find('\n'))] = Str(row.at("end_reason"));
  }
  EXPECT_EQ(reason["quick-start"], "completed");
  EXPECT_EQ(reason["slow-start"], "interrupted");
  EXPECT_NE(f.proxy().Stderr().find("left interrupted"), std::string::npos) << f.proxy().Stderr();
}

TEST(ProxyOps, StoreThatCannotBeOpenedRefusesExecWith403AndKubectlShowsWhy) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  // The store goes away after start-up and a folder takes its place: no session can be opened.
  for (std::string suffix : {"", "-wal", "-shm"}) std::remove((f.Db() + suffix).c_str());
  ASSERT_EQ(mkdir(f.Db().c_str(), 0700), 0);
  for (std::string version : {"1.30", "1.33"}) {
    SCOPED_TRACE(version);
    RunResult r = f.Kubectl(Kubectl(version), "kc-token", {"exec", "box", "--", "echo", "ran"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");  // the command never ran
    // kubectl retries over SPDY after the refused WebSocket; that answer carries the reason.
    EXPECT_NE(r.err.find("Forbidden"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("cannot record this session, so it is refused"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("unable to open database file"), std::string::npos) << r.err;
  }
  auto m = Metrics(f);
  EXPECT_GE(m["podtape_proxy_store_errors_total"], 2);
  EXPECT_GE(m["podtape_proxy_refusals_total"], 2);
  EXPECT_EQ(m["podtape_proxy_sessions_total"], 0);
}

// The proxy under a 4 MiB file-size limit (SIGXFSZ ignored, so writes past it fail with EFBIG as
// on a full disk), and a session whose output does not compress below it.
FixtureOptions DiskLimit(bool fail_open) {
  FixtureOptions o;
  o.wrapper = {"sh", "-c", "trap '' XFSZ; exec prlimit --fsize=4194304 \"$0\" \"$@\""};
  if (fail_open) o.proxy_extra = {"--fail-open"};
  return o;
}
const std::vector<std::string> kBigOutput = {
    "exec", "box", "--", "sh", "-c", "head -c 24000000 /dev/urandom | base64 -w 100"};
// base64 text and newlines: 32 MB, which stores as about 24 MB, so the 4 MiB limit is met
// while most of the output is still to come (a failure found only after the last frame is
// committed would end the session as failed once everything had reached the client).
constexpr size_t kBigOutputBytes = 32000000 + 32000000 / 100;

// podtape_proxy_store_errors_total once it is not 0, or after 5 s: the proxy counts a session's
// failed writes right after writing its end, which the test sees first.
long long StoreErrors(ProxyFixture& f) {
  long long n = 0;
  for (int i = 0; i < 100 && n == 0; ++i) {
    n = Metrics(f)["podtape_proxy_store_errors_total"];
    if (n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return n;
}

TEST(ProxyOps, DiskFullEndsTheSessionFailClosed) {
  ProxyFixture f(DiskLimit(false));
  ASSERT_TRUE(f.ok()) << f.Why();
  RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token", kBigOutput, "", std::chrono::seconds(90));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.out.size(), kBigOutputBytes);
  EXPECT_NE(r.err.find("podtape: recording failed"), std::string::npos) << r.err;
  EXPECT_NE(f.proxy().Stderr().find("cannot record this session"), std::string::npos)
      << f.proxy().Stderr();
  boost::json::array s = f.EndedSessions();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(Str(s[0].as_object().at("end_reason")), "completed");
  EXPECT_GE(StoreErrors(f), 1);
}

TEST(ProxyOps, DiskFullWithFailOpenLetsTheSessionRunMarkedIncomplete) {
  ProxyFixture f(DiskLimit(true));
  ASSERT_TRUE(f.ok()) << f.Why();
  RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token", kBigOutput, "", std::chrono::seconds(90));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), kBigOutputBytes);
  boost::json::array s = f.EndedSessions();
  ASSERT_EQ(s.size(), 1u);
  const auto& row = s[0].as_object();
  EXPECT_EQ(Str(row.at("end_reason")), "completed");
  EXPECT_FALSE(row.at("recording_complete").as_bool());
  EXPECT_GE(StoreErrors(f), 1);  // counted though the writer failed open
}

TEST(ProxyOps, KubectlCpWorksAndIsRecordedAsTheExecItIs) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "line " + std::to_string(i) + " of the copied file\n";
  testing::WriteFile(f.File("local.txt"), content);
  RunResult up =
      f.Kubectl(Kubectl("1.32"), "kc-token", {"cp", f.File("local.txt"), "box:copied.txt"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  RunResult down =
      f.Kubectl(Kubectl("1.32"), "kc-cert", {"cp", "box:copied.txt", f.File("back.txt")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_TRUE(testing::ReadFile(f.File("back.txt")) == content);
  // kubectl 1.32's upload first asks whether the destination is a folder (`test -d`), then
  // runs tar: three execs, newest first: the download's tar, the upload's tar, the test.
  boost::json::array s = f.AllEnded(3);
  ASSERT_EQ(s.size(), 3u);
  for (const auto& v : s) {
    const auto& row = v.as_object();
    EXPECT_EQ(Str(row.at("kind")), "exec");
    EXPECT_EQ(Str(row.at("user")), "alice");
    EXPECT_EQ(Str(row.at("end_reason")), "completed") << boost::json::serialize(row);
    ASSERT_FALSE(row.at("command").as_array().empty());
  }
  EXPECT_EQ(Str(s[0].as_object().at("command").as_array()[0]), "tar");
  EXPECT_EQ(Str(s[1].as_object().at("command").as_array()[0]), "tar");
  EXPECT_EQ(Str(s[2].as_object().at("command").as_array()[0]), "test");
  // Both directions hold the file: the upload as stdin, the download inside tar's stdout.
  RunResult in = f.Podtape({"cat", Str(s[1].as_object().at("id")), "--channels", "stdin"});
  EXPECT_NE(in.out.find("line 19999 of the copied file"), std::string::npos);
  RunResult out = f.Podtape({"cat", Str(s[0].as_object().at("id"))});
  EXPECT_NE(out.out.find("line 19999 of the copied file"), std::string::npos);
}

// A WebSocket exec client that hangs up (a TCP reset, no close frame) as soon as the first
// output arrives, as kubectl cp does at the end of its tar archive. Prints what it read.
const char kHangUpClient[] = R"PY(
import socket, ssl, struct, sys, websocket
url, ca, token = sys.argv[1], sys.argv[2], sys.argv[3]
ws = websocket.create_connection(url, subprotocols=["v5.channel.k8s.io"],
                                 header=["Authorization: Bearer " + token],
                                 sslopt={"ca_certs": ca, "check_hostname": False}, timeout=30)
while True:
    op, data = ws.recv_data()
    if data[:1] == b"\x01" and len(data) > 1:
        sys.stdout.write(data[1:].decode())
        break
ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
ws.sock.close()
)PY";

// The server's last output and the exec's status, sent after such a client left, are still
// recorded: the session is the command's, completed with its exit code (kubectl cp hung up
// before the status now and then, and its session was recorded as an error).
TEST(ProxyOps, AClientThatHangsUpBeforeTheStatusLeavesTheRestRecorded) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  testing::WriteFile(f.File("hangup.py"), kHangUpClient);
  const std::string url = "wss" + f.proxy().url().substr(f.proxy().url().find(':')) +
                          "/api/v1/namespaces/default/pods/box/exec?command=sh&command=-c&"
                          "command=echo%20before%3B%20sleep%200.3%3B%20echo%20after%3B%20exit%203"
                          "&stdout=true&stderr=true";
  RunResult r =
      testing::Run({"/usr/bin/python3", f.File("hangup.py"), url, f.Tls("ca.crt"), "alice-token"},
                   {.timeout = std::chrono::seconds(60)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "before\n");
  boost::json::array s = f.AllEnded(1);
  ASSERT_EQ(s.size(), 1u);
  const auto& row = s[0].as_object();
  EXPECT_EQ(Str(row.at("end_reason")), "completed") << boost::json::serialize(row);
  ASSERT_TRUE(row.at("exit_code").is_int64()) << boost::json::serialize(row);
  EXPECT_EQ(row.at("exit_code").as_int64(), 3);
  RunResult out = f.Podtape({"cat", Str(row.at("id"))});
  EXPECT_EQ(out.out, "before\nafter\n");
}

// A client that sends a request header and the first 10 bytes of its body, then either the rest
// after 0.3 s ("slow") or nothing ("stall"). Prints the seconds until the proxy answered or
// closed, and the answer's status line ("-" for none).
const char kBodyClient[] = R"PY(
import socket, ssl, sys, time
port, ca, token, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30))
body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"stalled"}}'
c.sendall(("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "Content-Length: %d\r\n\r\n" % (token, len(body))).encode() + body[:10])
start = time.monotonic()
if mode == "slow":
    time.sleep(0.3)
    c.sendall(body[10:])
data = b""
try:
    while b"\r\n" not in data:
        more = c.recv(65536)
        if not more:
            break
        data += more
except OSError:
    pass
line = data.split(b"\r\n")[0].decode(errors="replace") if b"\r\n" in data else "-"
print("%.2f %s" % (time.monotonic() - start, line), flush=True)
)PY";

TEST(ProxyOps, AClientThatStallsInARequestBodyIsCutOffAndOneThatPausesIsNot) {
  ProxyFixture f({.proxy_extra = {"--client-timeout", "1"}});
  ASSERT_TRUE(f.ok()) << f.Why();
  testing::WriteFile(f.File("body.py"), kBodyClient);
  const std::string port = f.proxy().url().substr(f.proxy().url().rfind(':') + 1);
  auto run = [&](const std::string& mode) {
    RunResult r = testing::Run(
        {"/usr/bin/python3", f.File("body.py"), port, f.Tls("ca.crt"), "alice-token", mode},
        {.timeout = std::chrono::seconds(60)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    double seconds = 0;
    std::string line;
    std::istringstream in(r.out);
    in >> seconds;
    std::getline(in >> std::ws, line);
    return std::make_pair(seconds, line);
  };
  auto [stalled_s, stalled] = run("stall");
  EXPECT_EQ(stalled, "-");  // closed, unanswered
  EXPECT_GE(stalled_s, 0.9);
  EXPECT_LT(stalled_s, 20.0);  // 1 s, generously bounded
  auto [paused_s, paused] = run("slow");
  EXPECT_EQ(paused.rfind("HTTP/1.1 ", 0), 0u) << paused;  // whatever the API server answered
  // The proxy serves on: kubectl still works through it.
  RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token", {"exec", "box", "--", "echo", "still"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "still\n");
}

// A stand-in upstream for port-forward (podtape-sim serves none): it answers a SelfSubjectReview
// as alice, and any Upgrade request with 101, then echoes every byte until the client leaves.
const char kEchoUpstream[] = R"PY(
import socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print("listening on http://127.0.0.1:%d" % srv.getsockname()[1], flush=True)
def serve(c):
    c.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        more = c.recv(65536)
        if not more:
            return
        data += more
    head, rest = data.split(b"\r\n\r\n", 1)
    if b"selfsubjectreviews" in head.split(b"\r\n")[0]:
        body = b'{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"alice","groups":["dev"]}}}'
        c.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        c.close()
        return
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n")
    if rest:
        c.sendall(rest)
    while True:
        more = c.recv(65536)
        if not more:
            break
        c.sendall(more)
    c.close()
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
)PY";

// A client of the proxy: the upgrade request, then 2 MiB through the tunnel, read back.
const char kTunnelClient[] = R"PY(
import socket, sys
port, token = int(sys.argv[1]), sys.argv[2]
c = socket.create_connection(("127.0.0.1", port), timeout=30)
c.sendall(("GET /api/v1/namespaces/default/pods/box/portforward?ports=8080 HTTP/1.1\r\n"
           "Host: x\r\nAuthorization: Bearer %s\r\nConnection: Upgrade\r\n"
           "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n" % token).encode())
data = b""
while b"\r\n\r\n" not in data:
    more = c.recv(65536)
    if not more:
        sys.exit("connection closed before the upgrade answer: %r" % data)
    data += more
head, rest = data.split(b"\r\n\r\n", 1)
print(head.split(b"\r\n")[0].decode(), flush=True)
payload = bytes((i * 7 + i // 251) % 256 for i in range(2 << 20))
c.sendall(payload)
got = rest
while len(got) < len(payload):
    more = c.recv(65536)
    if not more:
        break
    got += more
print("echoed", len(got), "exact" if got == payload else "differs", flush=True)
)PY";

TEST(ProxyOps, PortForwardUpgradePassesThroughUnrecordedAndIsLogged) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("upstream.py"), kEchoUpstream);
  testing::WriteFile(dir.File("client.py"), kTunnelClient);
  testing::Server upstream;
  std::string up_url = upstream.Start({"python3", dir.File("upstream.py")});
  ASSERT_FALSE(up_url.empty()) << upstream.error();
  testing::Server proxy;
  testing::RunOptions o;
  o.env["PODTAPE_NO_INDEX"] = "1";
  o.unset_env = {"KUBECONFIG"};
  o.env["HOME"] = dir.path();
  std::string url = proxy.Start({PODTAPE_BINARY, "--db", dir.File("p.db"), "proxy", "--listen",
                                 "127.0.0.1:0", "--upstream", up_url, "--token", "proxy-token"},
                                o);
  ASSERT_FALSE(url.empty()) << proxy.error();
  std::string port = url.substr(url.rfind(':') + 1);
  RunResult r = testing::Run({"python3", dir.File("client.py"), port, "alice-token"},
                             {.timeout = std::chrono::seconds(60)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HTTP/1.1 101 Switching Protocols\nechoed 2097152 exact\n") << r.err;
  // Logged as an event with who and which pod; nothing recorded.
  std::string log;
  for (int i = 0; i < 100 && log.find("portforward") == std::string::npos; ++i) {
    log = proxy.Stderr();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(log.find("event: upgrade"), std::string::npos) << log;
  EXPECT_NE(log.find("pods/box/portforward"), std::string::npos) << log;
  EXPECT_NE(log.find("by alice"), std::string::npos) << log;
  EXPECT_EQ(log.find("alice-token"), std::string::npos) << log;
  RunResult ls = testing::Run({PODTAPE_BINARY, "--db", dir.File("p.db"), "ls", "-o", "json"},
                              {.env = {{"PODTAPE_NO_INDEX", "1"}}});
  EXPECT_EQ(ls.out.find("portforward"), std::string::npos);
  EXPECT_EQ(boost::json::parse(ls.out).as_array().size(), 0u) << ls.out;
}

// kubectl in front of a plain-HTTP proxy (loopback) sends no credentials at all: without
// --allow-anonymous it reads the 401 as kubectl does from an API server; with it the requests
// pass and the session is recorded with no user.
TEST(ProxyOps, AnonymousCallersGet401UnlessAllowed) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("cluster.yaml"), proxytest::kConfig);
  testing::Server sim;
  std::string sim_url = sim.Start(
      {PODTAPE_SIM_BINARY, "--config", dir.File("cluster.yaml"), "--listen", "127.0.0.1:0"});
  ASSERT_FALSE(sim_url.empty()) << sim.error();
  testing::RunOptions o;
  o.env["PODTAPE_NO_INDEX"] = "1";
  o.env["HOME"] = dir.path();
  o.unset_env = {"KUBECONFIG"};
  testing::Server strict, open;
  std::string strict_url = strict.Start({PODTAPE_BINARY, "--db", dir.File("p.db"), "proxy",
                                         "--listen", "127.0.0.1:0", "--upstream", sim_url},
                                        o);
  std::string open_url = open.Start({PODTAPE_BINARY, "--db", dir.File("p.db"), "proxy", "--listen",
                                     "127.0.0.1:0", "--upstream", sim_url, "--allow-anonymous"},
                                    o);
  ASSERT_FALSE(strict_url.empty()) << strict.error();
  ASSERT_FALSE(open_url.empty()) << open.error();
  auto kubectl = [&](const std::string& server, const std::vector<std::string>& args) {
    std::string kc =
        dir.File("kc-" + std::to_string(server.size()) + server.substr(server.rfind(':') + 1));
    testing::WriteFile(kc,
                       "apiVersion: v1\nkind: Config\nclusters:\n- name: p\n  cluster:\n"
                       "    server: " +
                           server +
                           "\ncontexts:\n- name: p\n  context:\n    cluster: p\n    user: u\n"
                           "    namespace: default\ncurrent-context: p\n"
                           "users:\n- name: u\n  user: {}\n");
    std::vector<std::string> argv = {Kubectl("1.32"), "--kubeconfig", kc, "--cache-dir",
                                     dir.File("kcache")};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions ko;
    ko.env["HOME"] = dir.path();
    ko.unset_env = {"KUBECONFIG", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS"};
    ko.timeout = std::chrono::seconds(60);
    return testing::Run(argv, ko);
  };
  for (auto args :
       std::vector<std::vector<std::string>>{{"get", "pods"}, {"exec", "box", "--", "echo", "x"}}) {
    RunResult r = kubectl(strict_url, args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("error: You must be logged in to the server"), std::string::npos) << r.err;
  }
  RunResult get = kubectl(open_url, {"get", "pods"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_NE(get.out.find("box"), std::string::npos);
  RunResult ex = kubectl(open_url, {"exec", "box", "--", "echo", "anonymous-ran"});
  EXPECT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(ex.out, "anonymous-ran\n");
  RunResult ls = testing::Run({PODTAPE_BINARY, "--db", dir.File("p.db"), "ls", "-o", "json"},
                              {.env = {{"PODTAPE_NO_INDEX", "1"}}});
  boost::json::array s = boost::json::parse(ls.out).as_array();
  ASSERT_EQ(s.size(), 1u) << ls.out;
  EXPECT_EQ(Str(s[0].as_object().at("user_source")), "none");
  EXPECT_EQ(Str(s[0].as_object().at("user")), "");
}

// kubectl's messages for rejected credentials are the same through the proxy as straight to the
// API server: a token it rejects, and a kubeconfig user with no credentials over HTTPS (kubectl
// then asks for a basic-auth user name on stdin before any API request and stops at EOF).
TEST(ProxyOps, KubectlShowsTheSameCredentialErrorsAsDirect) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  std::string direct = testing::ReadFile(f.File("kc-badtoken"));
  size_t at = direct.find(f.proxy().url());
  ASSERT_NE(at, std::string::npos);
  auto to_sim = [&](const std::string& name) {
    std::string kc = testing::ReadFile(f.File(name));
    kc.replace(kc.find(f.proxy().url()), f.proxy().url().size(), f.sim_url());
    testing::WriteFile(f.File(name + "-direct"), kc);
  };
  to_sim("kc-badtoken");
  to_sim("kc-none");
  auto last_line = [](const std::string& err) {
    std::string e = err;
    while (!e.empty() && e.back() == '\n') e.pop_back();
    return e.substr(e.rfind('\n') == std::string::npos ? 0 : e.rfind('\n') + 1);
  };
  for (auto args :
       std::vector<std::vector<std::string>>{{"get", "pods"}, {"exec", "box", "--", "echo", "x"}}) {
    for (std::string kc : {"kc-badtoken", "kc-none"}) {
      SCOPED_TRACE(kc + " " + args[0]);
      RunResult via = f.Kubectl(Kubectl("1.32"), kc, args);
      RunResult direct_r = f.Kubectl(Kubectl("1.32"), kc + "-direct", args);
      EXPECT_NE(via.exit_code, 0);
      EXPECT_EQ(via.exit_code, direct_r.exit_code);
      EXPECT_EQ(last_line(via.err), last_line(direct_r.err));
      if (kc == "kc-badtoken") {
        EXPECT_NE(via.err.find("error: You must be logged in to the server"), std::string::npos)
            << via.err;
      }
    }
  }
}

TEST(ProxyOps, MetricsCountSessionsBytesAndRequests) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  auto before = Metrics(f);
  EXPECT_EQ(before["podtape_proxy_sessions_active"], 0);
  EXPECT_EQ(before["podtape_proxy_sessions_total"], 0);
  EXPECT_EQ(before["podtape_proxy_bytes_recorded_total"], 0);
  EXPECT_EQ(before["podtape_proxy_store_errors_total"], 0);
  RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token", {"exec", "box", "--", "seq", "1", "10000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  f.EndedSessions();
  RunResult refused = f.Kubectl(Kubectl("1.27"), "kc-token", {"exec", "box", "--", "true"});
  EXPECT_NE(refused.exit_code, 0);
  auto after = Metrics(f);
  EXPECT_EQ(after["podtape_proxy_sessions_active"], 0);
  EXPECT_EQ(after["podtape_proxy_sessions_total"], 1);
  // stdout plus the status JSON.
  EXPECT_GE(after["podtape_proxy_bytes_recorded_total"], static_cast<long long>(r.out.size()));
  EXPECT_LT(after["podtape_proxy_bytes_recorded_total"],
            static_cast<long long>(r.out.size()) + 4096);
  EXPECT_GE(after["podtape_proxy_refusals_total"], 1);
  EXPECT_GT(after["podtape_proxy_requests_total"], before["podtape_proxy_requests_total"] + 2);
  RunResult h = testing::Run({"curl", "-s", "--max-time", "20", "--cacert", f.Tls("ca.crt"),
                              f.proxy().url() + "/healthz"});
  EXPECT_EQ(h.out, "ok");
}

TEST(ProxyOps, SignedSealsVerifyAndProxiedSessionsAreIndexedForSearch) {
  testing::TempDir keys;
  ASSERT_EQ(
      testing::Run({"openssl", "genpkey", "-algorithm", "ed25519", "-out", keys.File("k.pem")})
          .exit_code,
      0);
  ASSERT_EQ(testing::Run({"openssl", "pkey", "-in", keys.File("k.pem"), "-pubout", "-out",
                          keys.File("k.pub")})
                .exit_code,
            0);
  ASSERT_EQ(
      testing::Run({"openssl", "genpkey", "-algorithm", "ed25519", "-out", keys.File("o.pem")})
          .exit_code,
      0);
  ProxyFixture f({.proxy_extra = {"--sign-key", keys.File("k.pem")}, .index = true});
  ASSERT_TRUE(f.ok()) << f.Why();
  RunResult r =
      f.Kubectl(Kubectl("1.32"), "kc-token", {"exec", "-i", "pipe", "-c", "sh", "--", "sh"},
                "echo typed-needle-$((6*7))\nexit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "typed-needle-42\n");
  boost::json::array s = f.EndedSessions();
  ASSERT_EQ(s.size(), 1u);
  std::string id = Str(s[0].as_object().at("id"));
  // The proxy has the session indexed on its own (no search run yet): bounded wait.
  bool indexed = false;
  for (int i = 0; i < 300 && !indexed; ++i) {
    RunResult q = testing::Run(
        {"sqlite3", "-readonly", f.Db() + ".index", "SELECT count(*) FROM indexed_sessions;"});
    indexed = q.out == "1\n";
    if (!indexed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(indexed);
  RunResult search = f.Podtape({"search", "typed-needle-$((6*7))", "-o", "json"});
  EXPECT_EQ(search.exit_code, 0) << search.err;
  EXPECT_NE(search.out.find(id), std::string::npos) << search.out;
  RunResult good = f.Podtape({"verify", "--key", keys.File("k.pub")});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("signature verified"), std::string::npos) << good.out;
  RunResult other = f.Podtape({"verify", "--key", keys.File("o.pem")});
  EXPECT_EQ(other.exit_code, 3) << other.out << other.err;
}

// The indexer the proxy starts after a session does not inherit the proxy's blocked signals
// (its sigwait thread takes SIGTERM): it stops at once on SIGTERM, as any process should.
TEST(ProxyOps, TheIndexerItStartsHasNoSignalBlockedAndEndsOnSigterm) {
  ProxyFixture f({.index = true});
  ASSERT_TRUE(f.ok()) << f.Why();
  // About 20 MB of output lines: seconds of indexing, time enough to find the indexer.
  RunResult r = f.Kubectl(Kubectl("1.32"), "kc-token",
                          {"exec", "pipe", "-c", "sh", "--", "sh", "-c", "seq 1 2800000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> want = {"podtape", "--db", f.Db(), "index", "--background"};
  pid_t pid = -1;
  for (int i = 0; i < 100 && pid < 0; ++i) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      const std::string name = e.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = testing::ReadFile(e.path().string() + "/cmdline");
      std::vector<std::string> args;
      for (size_t at = 0; at < cmdline.size();) {
        size_t end = cmdline.find('\0', at);
        if (end == std::string::npos) end = cmdline.size();
        args.push_back(cmdline.substr(at, end - at));
        at = end + 1;
      }
      if (args == want) pid = std::stoi(name);
    }
    if (pid < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT(pid, 0) << "no indexer of " << f.Db() << " was seen";
  const std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("SigBlk:\t0000000000000000\n"), std::string::npos) << status;
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {  // 5 s; it takes milliseconds
    gone = kill(pid, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone) << "the indexer was still running 5 s after SIGTERM";
  if (!gone) kill(pid, SIGKILL);
}

}  // namespace
}  // namespace podtape
