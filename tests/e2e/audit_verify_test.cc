// podtape verify and --sign-key end to end: sessions recorded by `podtape exec` against
// podtape-sim, then edited with the sqlite3 shell as an attacker with write access would; every
// edit must be reported as tampered (exit 3) naming the frame or the field, and the untouched
// sessions must stay intact.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
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
    groups: [dev]
    exec: true
pods:
  - name: demo
    containers:
      - name: c1
)";

// A podtape-sim with a store next to it; each test gets its own.
class AuditSim {
 public:
  AuditSim() {
    testing::WriteFile(dir_.File("cluster.yaml"), kCluster);
    url_ = server_.Start(
        {PODTAPE_SIM_BINARY, "--config", dir_.File("cluster.yaml"), "--listen", "127.0.0.1:0"});
  }
  const std::string& url() const { return url_; }
  std::string error() const { return server_.error(); }
  std::string File(const std::string& name) const { return dir_.File(name); }

  RunResult Podtape(const std::string& db, const std::vector<std::string>& args,
                    const std::string& stdin_data = "") const {
    std::vector<std::string> argv = {PODTAPE_BINARY, "--db", db};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::RunOptions o;
    o.stdin_data = stdin_data;
    o.env["HOME"] = dir_.path();
    o.unset_env = {"KUBECONFIG", "PODTAPE_DB", "KUBERNETES_MASTER"};
    o.timeout = std::chrono::seconds(60);
    return testing::Run(argv, o);
  }
  // Records `exec -i demo -- cat` with two lines of input (ready, stdin, stdout, close and status
  // frames) and returns the session id.
  std::string RecordCat(const std::string& db, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"exec", "-i", "-s", url_};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"demo", "--", "cat"});
    RunResult r = Podtape(db, args, "hello\nworld\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hello\nworld\n");
    auto s = store::Store::Open(db);
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return "";
    auto row = (*s)->Find("last");
    EXPECT_TRUE(row.ok());
    return row.ok() ? row->meta.id : "";
  }

 private:
  testing::TempDir dir_;
  testing::Server server_;
  std::string url_;
};

// The sqlite3 shell waits for locks, as podtape does: the background indexer an exec started
// may be closing the store (the last connection to close checkpoints the WAL, under an
// exclusive lock), and the shell's default is to fail at once with "database is locked".
RunResult Sql(const std::string& db, const std::string& sql) {
  return testing::Run({"sqlite3", "-cmd", ".timeout 20000", db, sql});
}

// Copies a store with the sqlite3 shell's .backup (the WAL included).
void CopyStore(const std::string& from, const std::string& to) {
  RunResult r = testing::Run({"sqlite3", "-cmd", ".timeout 20000", from, ".backup '" + to + "'"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// The state and detail verify -o json gives each session, by id.
struct Verdict {
  std::string state, detail;
};
std::map<std::string, Verdict> Verdicts(const RunResult& r) {
  std::map<std::string, Verdict> out;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.out, ec);
  EXPECT_FALSE(ec) << r.out << r.err;
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.as_array()) {
    out[std::string(e.at("id").as_string())] = {std::string(e.at("state").as_string()),
                                                std::string(e.at("detail").as_string())};
  }
  return out;
}

#define START(sim) ASSERT_FALSE((sim).url().empty()) << (sim).error()

TEST(VerifyTest, EveryEditOfARecordedFileIsCaught) {
  AuditSim sim;
  START(sim);
  const std::string db = sim.File("podtape.db");
  const std::string id = sim.RecordCat(db);
  const std::string other = sim.RecordCat(db);
  ASSERT_FALSE(id.empty());
  ASSERT_FALSE(other.empty());

  RunResult r = sim.Podtape(db, {"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("intact"), std::string::npos) << r.out;
  RunResult count = Sql(db,
                        "SELECT count(*) FROM frames f JOIN sessions s USING (session_key) "
                        "WHERE s.id = '" +
                            id + "'");
  ASSERT_GE(std::stoi(count.out), 5) << count.out;

  const std::string k = "(SELECT session_key FROM sessions WHERE id = '" + id + "')";
  // The stdout frame that carries "hello": its seq names where the chain breaks.
  RunResult hello = Sql(db, "SELECT min(seq) FROM frames WHERE session_key = " + k +
                                " AND direction = 1 AND channel = 1");
  ASSERT_EQ(hello.exit_code, 0) << hello.err;
  const std::string out_seq = std::to_string(std::stoi(hello.out));
  struct Edit {
    const char* name;
    std::string sql;
    std::string expect;  // a part of the detail verify must print
  };
  const std::vector<Edit> edits = {
      {"changed payload",
       "UPDATE frames SET payload = CAST('HELLO\n' AS BLOB), codec = 0 WHERE session_key = " + k +
           " AND seq = " + out_seq,
       "frame " + out_seq + " "},
      {"changed time",
       "UPDATE frames SET t_ns = t_ns + 1 WHERE session_key = " + k + " AND seq = 2", "frame 2 "},
      {"deleted frame", "DELETE FROM frames WHERE session_key = " + k + " AND seq = 2", "frame 3 "},
      {"inserted frame",
       "UPDATE frames SET seq = seq + 1000000 WHERE session_key = " + k +
           " AND seq >= 2;"
           "UPDATE frames SET seq = seq - 999999 WHERE session_key = " +
           k +
           " AND seq >= 1000000;"
           "INSERT INTO frames (session_key, seq, t_ns, direction, channel, codec, payload, hash) "
           "SELECT session_key, 2, t_ns, 1, 1, 0, CAST('rm -rf /\n' AS BLOB), hash FROM frames "
           "WHERE session_key = " +
           k + " AND seq = 1",
       "frame 2 "},
      {"frame appended at the end",
       "INSERT INTO frames (session_key, seq, t_ns, direction, channel, codec, payload, hash) "
       "SELECT session_key, seq + 1, t_ns + 1, 1, 1, 0, CAST('x' AS BLOB), hash FROM frames "
       "WHERE session_key = " +
           k + " ORDER BY seq DESC LIMIT 1",
       "does not match its hash"},
      {"two frames swapped",
       "UPDATE frames SET seq = -1 WHERE session_key = " + k +
           " AND seq = 2;"
           "UPDATE frames SET seq = 2 WHERE session_key = " +
           k +
           " AND seq = 3;"
           "UPDATE frames SET seq = 3 WHERE session_key = " +
           k + " AND seq = -1",
       "frame 2 "},
      {"last frame cut off",
       "DELETE FROM frames WHERE session_key = " + k +
           " AND seq = (SELECT max(seq) FROM frames WHERE session_key = " + k + ")",
       "chain head"},
      {"changed pod", "UPDATE sessions SET pod = 'other' WHERE id = '" + id + "'", "seal"},
      {"changed user", "UPDATE sessions SET user = 'mallory' WHERE id = '" + id + "'", "seal"},
      {"changed command", "UPDATE sessions SET command = '[\"ls\"]' WHERE id = '" + id + "'",
       "seal"},
      {"changed exit code", "UPDATE sessions SET exit_code = 1 WHERE id = '" + id + "'", "seal"},
      {"seal removed from an ended session",
       "UPDATE sessions SET seal = NULL WHERE id = '" + id + "'", "seal was removed"},
  };
  int n = 0;
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.name);
    const std::string copy = sim.File("edit" + std::to_string(n++) + ".db");
    CopyStore(db, copy);
    RunResult ed = Sql(copy, e.sql);
    ASSERT_EQ(ed.exit_code, 0) << ed.err;
    r = sim.Podtape(copy, {"verify", "-o", "json"});
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    auto v = Verdicts(r);
    EXPECT_EQ(v[id].state, "tampered");
    EXPECT_NE(v[id].detail.find(e.expect), std::string::npos) << v[id].detail;
    EXPECT_EQ(v[other].state, "intact") << v[other].detail;
    // Naming only the untouched session checks only it.
    r = sim.Podtape(copy, {"verify", other});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // The table names the session and the problem.
    r = sim.Podtape(copy, {"verify", id});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.out.find("tampered"), std::string::npos) << r.out;
  }
}

TEST(VerifyTest, InterruptedSessionIsUnsealedNotTampered) {
  testing::TempDir dir;
  const std::string db = dir.File("podtape.db");
  std::string id;
  {
    store::SessionMeta meta;
    meta.kind = "exec";
    meta.pod = "p";
    auto w = store::SessionWriter::Start(db, meta);
    ASSERT_TRUE(w.ok()) << w.status().message();
    ASSERT_TRUE((*w)->Append(0, store::Direction::kFromServer, 1, "out").ok());
    id = (*w)->id();
  }  // destroyed without Finish: reads as interrupted
  RunResult r = testing::Run({PODTAPE_BINARY, "--db", db, "verify", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto v = Verdicts(r);
  EXPECT_EQ(v[id].state, "unsealed");
  EXPECT_NE(v[id].detail.find("interrupted"), std::string::npos);
  // Its chain is still checked.
  ASSERT_EQ(Sql(db, "UPDATE frames SET payload = CAST('OUT' AS BLOB)").exit_code, 0);
  r = testing::Run({PODTAPE_BINARY, "--db", db, "verify", id});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("frame 0 "), std::string::npos) << r.out;
}

TEST(VerifyTest, ErrorsExitOne) {
  testing::TempDir dir;
  const std::string db = dir.File("podtape.db");
  RunResult r = testing::Run({PODTAPE_BINARY, "--db", db, "verify", "0123abcd"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  testing::WriteFile(dir.File("not-a-key.pem"), "hello\n");
  r = testing::Run({PODTAPE_BINARY, "--db", db, "verify", "--key", dir.File("not-a-key.pem")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an Ed25519 public key"), std::string::npos) << r.err;
  // An empty store verifies.
  r = testing::Run({PODTAPE_BINARY, "--db", db, "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

std::string MakeKey(const testing::TempDir& dir, const std::string& name) {
  RunResult r = testing::Run(
      {"openssl", "genpkey", "-algorithm", "ed25519", "-out", dir.File(name + ".pem")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = testing::Run({"openssl", "pkey", "-in", dir.File(name + ".pem"), "-pubout", "-out",
                    dir.File(name + ".pub")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir.File(name);
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

TEST(SignedSealTest, SignedByExecAndCheckedByVerifyKey) {
  AuditSim sim;
  START(sim);
  testing::TempDir keys;
  const std::string k1 = MakeKey(keys, "k1");
  const std::string k2 = MakeKey(keys, "k2");
  const std::string db = sim.File("podtape.db");
  const std::string signed_id = sim.RecordCat(db, {"--sign-key", k1 + ".pem"});
  ASSERT_FALSE(signed_id.empty());

  auto st = store::Store::Open(db);
  ASSERT_TRUE(st.ok());
  auto row = (*st)->Find(signed_id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->signature.size(), 64u);

  RunResult r = sim.Podtape(db, {"verify", "--key", k1 + ".pub"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("signature verified"), std::string::npos) << r.out;
  // The private key file works as --key too (its public half is used).
  r = sim.Podtape(db, {"verify", "--key", k1 + ".pem"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // Another key: the signature fails.
  r = sim.Podtape(db, {"verify", "-o", "json", "--key", k2 + ".pub"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(Verdicts(r)[signed_id].state, "tampered");
  // Without --key: intact, and it says the signature was not checked.
  r = sim.Podtape(db, {"verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("give --key"), std::string::npos) << r.out;

  // An attacker who rewrites a sealed field AND recomputes the seal passes the unsigned check
  // (schema/README.md says so), but not the signature.
  store::SessionRow forged = *row;
  forged.meta.pod = "other";
  store::Hash head = forged.chain_head.value_or(store::ChainStart(signed_id));
  store::Hash seal = store::ComputeSeal(forged.meta, forged.end, head, forged.frames);
  const std::string copy = sim.File("forged.db");
  CopyStore(db, copy);
  ASSERT_EQ(Sql(copy, "UPDATE sessions SET pod = 'other', seal = X'" + store::HashHex(seal) +
                          "' WHERE id = '" + signed_id + "'")
                .exit_code,
            0);
  r = sim.Podtape(copy, {"verify", signed_id});
  EXPECT_EQ(r.exit_code, 0) << r.out;  // consistent, as documented
  r = sim.Podtape(copy, {"verify", "-o", "json", "--key", k1 + ".pub", signed_id});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(Verdicts(r)[signed_id].detail.find("signature does not verify"), std::string::npos);
  // A signature copied from another session does not verify either.
  const std::string second = sim.RecordCat(db, {"--sign-key", k1 + ".pem"});
  const std::string copy2 = sim.File("swapped.db");
  CopyStore(db, copy2);
  ASSERT_EQ(Sql(copy2, "UPDATE sessions SET signature = X'" + Hex(row->signature) +
                           "' WHERE id = '" + second + "'")
                .exit_code,
            0);
  r = sim.Podtape(copy2, {"verify", "--key", k1 + ".pub", second});
  EXPECT_EQ(r.exit_code, 3) << r.out;

  // An unsigned session fails a check that demands a key.
  const std::string unsigned_id = sim.RecordCat(db);
  r = sim.Podtape(db, {"verify", "-o", "json", "--key", k1 + ".pub"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  auto v = Verdicts(r);
  EXPECT_EQ(v[unsigned_id].state, "unsigned");
  EXPECT_EQ(v[signed_id].state, "intact");

  // A bad signing key fails before connecting, and records nothing.
  testing::WriteFile(keys.File("bad.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n");
  r = sim.Podtape(
      db, {"exec", "-s", sim.url(), "--sign-key", keys.File("bad.pem"), "demo", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--sign-key"), std::string::npos) << r.err;
  r = sim.Podtape(
      db, {"exec", "-s", sim.url(), "--sign-key", keys.File("missing.pem"), "demo", "--", "true"});
  EXPECT_EQ(r.exit_code, 1);
  auto all = (*st)->List({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

}  // namespace
}  // namespace podtape
