// Shared by the fault, hostile-peer and secrets tests (tests/e2e/fault_*_test.cc,
// hostile_exec_test.cc, secrets_*_test.cc): a podtape-sim on 127.0.0.1:0 with a private folder
// (its runtime directory too, so a simulator killed by a test leaves nothing behind), the podtape
// command line against it, and readers of what the store holds.
#ifndef PODTAPE_TESTS_E2E_FAULT_UTIL_H_
#define PODTAPE_TESTS_E2E_FAULT_UTIL_H_

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "schema/store.h"
#include "test_util.h"

namespace podtape::faults {

// Users alice (exec) and bob (no exec); pod `box` with container c1. `extra` is appended to the
// pods list; `header` goes before everything (apiServer keys).
inline std::string ClusterYaml(const std::string& runtime_dir, const std::string& extra = "",
                               const std::string& header = "") {
  return header + "httpUser: alice\nruntimeDir: " + runtime_dir + R"(
users:
  - name: alice
    token: alice-token
    groups: [dev]
    exec: true
  - name: bob
    token: bob-token
    exec: false
pods:
  - name: box
    containers:
      - name: c1
)" + extra;
}

class SimFixture {
 public:
  explicit SimFixture(bool tls = false, const std::string& extra_pods = "",
                      const std::string& header = "") {
    testing::WriteFile(dir_.File("cluster.yaml"),
                       ClusterYaml(dir_.File("runtime"), extra_pods, header));
    std::vector<std::string> argv = {PODTAPE_SIM_BINARY, "--config", dir_.File("cluster.yaml"),
                                     "--listen", "127.0.0.1:0"};
    if (tls) argv.insert(argv.end(), {"--tls-dir", dir_.File("tls")});
    url_ = server_.Start(argv);
  }
  const std::string& url() const { return url_; }
  std::string error() const { return server_.error(); }
  testing::Server& server() { return server_; }
  const testing::TempDir& dir() const { return dir_; }
  std::string TlsFile(const std::string& name) const { return dir_.File("tls/" + name); }
  std::string Db() const { return db_.empty() ? dir_.File("podtape.db") : db_; }
  void SetDb(const std::string& path) { db_ = path; }

  // The environment podtape runs in: a private HOME, no KUBECONFIG or PODTAPE_DB.
  testing::RunOptions Env(std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    testing::RunOptions o;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "PODTAPE_DB", "KUBERNETES_MASTER"};
    o.timeout = timeout;
    return o;
  }
  // podtape --db DB ARGS...
  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", Db()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  testing::RunResult Podtape(const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    return testing::Run(Argv(args), Env(timeout));
  }

 private:
  testing::TempDir dir_;
  testing::Server server_;
  std::string url_;
  std::string db_;
};

#define PODTAPE_START_SIM(sim) ASSERT_FALSE((sim).url().empty()) << (sim).error()

// What one session holds, read through the store's own API.
struct Recorded {
  store::SessionRow row;
  std::string stdout_bytes;  // channel 1 from the server, in order
  std::string stderr_bytes;  // channel 2 from the server
  std::string status_bytes;  // channel 3 from the server
  std::string undecoded;     // channel 255 from the server: messages kept as received
  int undecoded_frames = 0;
  int64_t frames_read = 0;
  std::optional<store::SessionCheck> check;
};

inline Recorded ReadSession(const std::string& db, const std::string& ref) {
  Recorded out;
  auto s = store::Store::Open(db);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return out;
  auto row = (*s)->Find(ref);
  EXPECT_TRUE(row.ok()) << row.status().message();
  if (!row.ok()) return out;
  out.row = *row;
  Status st = (*s)->ReadFrames(row->meta.id, [&](const store::FrameView& f) {
    ++out.frames_read;
    if (f.direction != store::Direction::kFromServer) return Status::OK();
    if (f.channel == 1) out.stdout_bytes.append(f.payload);
    if (f.channel == 2) out.stderr_bytes.append(f.payload);
    if (f.channel == 3) out.status_bytes.append(f.payload);
    if (f.channel == 255) {
      out.undecoded.append(f.payload);
      ++out.undecoded_frames;
    }
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  auto check = store::CheckSession(**s, *row);
  EXPECT_TRUE(check.ok()) << check.status().message();
  if (check.ok()) out.check = *check;
  return out;
}

// Parses a command's JSON output; a failure is reported and gives null.
inline boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return ec ? boost::json::value() : v;
}

// `podtape verify -o json`: state per session id, and the exit code.
struct VerifyResult {
  int exit_code = -1;
  std::map<std::string, std::string> state;  // id -> intact|unsealed|tampered|unsigned
  std::string out, err;
};
inline VerifyResult Verify(const SimFixture& sim) {
  VerifyResult v;
  testing::RunResult r = sim.Podtape({"verify", "-o", "json"});
  v.exit_code = r.exit_code;
  v.out = r.out;
  v.err = r.err;
  boost::json::value j = ParseJson(r.out);
  if (j.is_array()) {
    for (const auto& e : j.as_array()) {
      v.state[std::string(e.at("id").as_string())] = std::string(e.at("state").as_string());
    }
  }
  return v;
}

// `podtape ls -o json`, newest first.
inline boost::json::array Ls(const SimFixture& sim) {
  testing::RunResult r = sim.Podtape({"ls", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  boost::json::value j = ParseJson(r.out);
  return j.is_array() ? j.as_array() : boost::json::array();
}

inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// True when `err` is exactly one line starting "error: ".
inline bool OneErrorLine(const std::string& err) {
  return err.rfind("error: ", 0) == 0 && !err.empty() && err.find('\n') == err.size() - 1;
}

}  // namespace podtape::faults

#endif  // PODTAPE_TESTS_E2E_FAULT_UTIL_H_
