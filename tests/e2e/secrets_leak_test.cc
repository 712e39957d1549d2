// Secrets never reach the store or a log line: the bearer token (given by flag or kubeconfig, in
// an Authorization header, or in a base64url.bearer.authorization.k8s.io.* subprotocol entry
// through the proxy, whose own kubeconfig carries the same token) appears in no byte of the
// database file, its -wal or -shm, and in nothing podtape prints, even at -v 9 (the highest level).
// The files podtape creates are private: database files 0600, created directories 0700, whatever
// the umask.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;
using namespace std::chrono_literals;

// base64url("alice-token") without padding, as a bearer subprotocol entry carries it.
const char kAliceToken[] = "alice-token";
const char kAliceTokenB64[] = "YWxpY2UtdG9rZW4";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Every byte of the store's files.
std::string StoreBytes(const std::string& db) {
  return testing::ReadFile(db) + testing::ReadFile(db + "-wal") + testing::ReadFile(db + "-shm");
}

// Names the first secret found in `text`, or "" when there is none.
std::string FindSecret(const std::string& text, const std::vector<std::string>& tokens) {
  for (const std::string& t : tokens) {
    if (text.find(t) != std::string::npos) return t;
  }
  // kubectl's -v 7 request log prints the header's name with the value masked, and so does
  // podtape's: that line holds no secret, so it is taken out before looking for the markers.
  std::string low = Lower(text);
  for (size_t at; (at = low.find("authorization: bearer <masked>")) != std::string::npos;) {
    low.erase(at, std::string_view("authorization: bearer <masked>").size());
  }
  for (const char* marker : {"bearer ", "authorization:", "base64url.bearer"}) {
    if (low.find(marker) != std::string::npos) return marker;
  }
  return "";
}

int Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

TEST(SecretsLeakTest, TheTokenReachesNeitherTheStoreNorAnyLogLine) {
  SimFixture sim(/*tls=*/true);
  PODTAPE_START_SIM(sim);
  const std::string ca = sim.TlsFile("ca.crt");
  std::string printed;
  auto run = [&](const std::vector<std::string>& args) {
    testing::RunResult r = sim.Podtape(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    printed += r.out + r.err;
    return r;
  };
  // The token by flag, then from a kubeconfig, each at -v 9, with stdin.
  testing::RunOptions env = sim.Env();
  env.stdin_data = "typed input\n";
  for (const auto& connection : std::vector<std::vector<std::string>>{
           {"--token", kAliceToken, "-s", sim.url(), "--certificate-authority", ca},
           {"--kubeconfig", sim.TlsFile("kubeconfig-alice")}}) {
    std::vector<std::string> args = {"-v", "9", "exec", "-i"};
    args.insert(args.end(), connection.begin(), connection.end());
    args.insert(args.end(), {"box", "-c", "c1", "--", "cat"});
    testing::RunResult r = testing::Run(sim.Argv(args), env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "typed input\n");
    printed += r.out + r.err;
  }
  // An offer with a bearer entry is refused without repeating the token.
  testing::RunResult refused = sim.Podtape(
      {"-v", "9", "exec", "--token", kAliceToken, "-s", sim.url(), "--certificate-authority", ca,
       "--protocols",
       std::string("v5.channel.k8s.io,base64url.bearer.authorization.k8s.io.") + kAliceTokenB64,
       "box", "-c", "c1", "--", "true"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(faults::OneErrorLine(refused.err)) << refused.err;
  EXPECT_EQ(FindSecret(refused.err, {kAliceToken, kAliceTokenB64}), "") << refused.err;
  EXPECT_EQ(refused.err.find(kAliceTokenB64), std::string::npos) << refused.err;

  // What reviewers run prints no secret either (it all comes from the store).
  run({"-v", "9", "ls", "-o", "json"});
  run({"-v", "9", "cat", "last", "--channels", "stdout,stderr,stdin"});
  run({"-v", "9", "export", "last", "--format", "cast"});
  run({"-v", "9", "verify"});
  // The identity was confirmed (the token worked), yet no byte of it was kept.
  faults::Recorded rec = faults::ReadSession(sim.Db(), "last");
  EXPECT_EQ(rec.row.meta.user, "alice");
  EXPECT_EQ(rec.row.meta.user_source, "selfsubjectreview");
  std::string found = FindSecret(StoreBytes(sim.Db()), {kAliceToken, kAliceTokenB64});
  EXPECT_EQ(found, "") << "the store holds a secret";
  found = FindSecret(printed, {kAliceToken, kAliceTokenB64});
  EXPECT_EQ(found, "") << "podtape printed a secret: " << printed;
}

TEST(SecretsLeakTest, TheProxyKeepsNoBearerSubprotocolEntryOrTokenEvenAtV9) {
  SimFixture sim(/*tls=*/true);
  PODTAPE_START_SIM(sim);
  testing::Server proxy;
  std::string proxy_url = proxy.Start(
      sim.Argv({"-v", "9", "proxy", "--listen", "127.0.0.1:0", "--kubeconfig",
                sim.TlsFile("kubeconfig-alice"), "--tls-cert", sim.TlsFile("server.crt"),
                "--tls-key", sim.TlsFile("server.key"), "--client-ca", sim.TlsFile("ca.crt")}),
      sim.Env());
  ASSERT_FALSE(proxy_url.empty()) << proxy.error();
  // A browser-style client: the token only in the subprotocol list.
  std::string wss = "wss" + proxy_url.substr(std::string("https").size()) +
                    "/api/v1/namespaces/default/pods/box/exec?container=c1&stdout=true&"
                    "command=echo&command=through-the-proxy";
  testing::RunOptions o = sim.Env();
  o.env["WEBSOCKET_CLIENT_CA_BUNDLE"] = sim.TlsFile("ca.crt");
  o.env["SSL_CERT_FILE"] = sim.TlsFile("ca.crt");
  testing::RunResult r = testing::Run(
      {"/usr/bin/python3", std::string(PODTAPE_SOURCE_DIR) + "/tests/clients/ws_probe.py", wss,
       "--protocols",
       std::string("v5.channel.k8s.io,base64url.bearer.authorization.k8s.io.") + kAliceTokenB64},
      o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value v = faults::ParseJson(r.out);
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("status").as_int64(), 101) << r.out;
  EXPECT_EQ(v.at("protocol").as_string(), "v5.channel.k8s.io");

  // The proxy ends its session just after the client leaves: bounded wait.
  faults::Recorded rec;
  for (int i = 0; i < 200; ++i) {
    rec = faults::ReadSession(sim.Db(), "last");
    if (rec.row.ended) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(rec.row.ended);
  EXPECT_EQ(rec.row.meta.user, "alice");
  EXPECT_EQ(rec.row.meta.protocol, "v5.channel.k8s.io");
  EXPECT_EQ(rec.stdout_bytes, "through-the-proxy\n");
  const std::vector<std::string> tokens = {kAliceToken, kAliceTokenB64};
  EXPECT_EQ(FindSecret(StoreBytes(sim.Db()), tokens), "") << "the store holds a secret";
  proxy.Stop();
  const std::string log = proxy.Stderr();
  EXPECT_FALSE(log.empty()) << "-v 9 logged nothing: the test proves little";
  EXPECT_EQ(FindSecret(log, tokens), "") << log;
}

TEST(SecretsLeakTest, CreatedStoreFilesArePrivateWhateverTheUmask) {
  SimFixture sim;
  PODTAPE_START_SIM(sim);
  const std::string db = sim.dir().File("new/deeper/podtape.db");
  testing::RunResult r =
      testing::Run({"sh", "-c", "umask 000; exec \"$@\"", "sh", PODTAPE_BINARY, "--db", db, "exec",
                    "-s", sim.url(), "box", "-c", "c1", "--", "echo", "private"},
                   sim.Env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Mode(sim.dir().File("new")), 0700);
  EXPECT_EQ(Mode(sim.dir().File("new/deeper")), 0700);
  EXPECT_EQ(Mode(db), 0600);
  EXPECT_EQ(Mode(db + ".live"), 0600);
  // SQLite removes -wal and -shm when the last connection closes; while they exist they are
  // private too.
  for (const char* suffix : {"-wal", "-shm"}) {
    int mode = Mode(db + suffix);
    EXPECT_TRUE(mode == -1 || mode == 0600) << suffix << " " << mode;
  }
}

}  // namespace
}  // namespace podtape
