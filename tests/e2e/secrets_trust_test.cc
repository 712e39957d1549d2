// TLS verification is off only when the user (--insecure-skip-tls-verify) or the kubeconfig
// (insecure-skip-tls-verify: true) says so: a server whose CA nobody named is refused by default,
// before any credential is sent or anything recorded. (A wrong CA and a wrong server name are in
// exec_sim_test.cc HttpsErrors; the proxy's refusal of anonymous callers and of certificates from
// another CA is in proxy_kubectl_test.cc RefusesAnonymousForeignCertificatesSpdyAndNodeProxy.)
#include <string>
#include <vector>

#include "tests/e2e/fault_util.h"

namespace podtape {
namespace {

using faults::SimFixture;

std::string Kubeconfig(const std::string& server, const std::string& cluster_extra) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: " + server +
         "\n" + cluster_extra +
         "users:\n- name: alice\n  user:\n    token: alice-token\n"
         "contexts:\n- name: sim\n  context: {cluster: sim, user: alice}\n"
         "current-context: sim\n";
}

TEST(SecretsTrustTest, AnUnknownCaIsRefusedUnlessTheUserOrKubeconfigSaysSkip) {
  SimFixture sim(/*tls=*/true);
  PODTAPE_START_SIM(sim);
  const std::string plain = sim.dir().File("kc-plain");
  const std::string insecure = sim.dir().File("kc-insecure");
  testing::WriteFile(plain, Kubeconfig(sim.url(), ""));
  testing::WriteFile(insecure, Kubeconfig(sim.url(), "    insecure-skip-tls-verify: true\n"));
  const std::vector<std::string> cmd = {"box", "-c", "c1", "--", "echo", "reached"};
  auto exec = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "exec");
    args.insert(args.end(), cmd.begin(), cmd.end());
    return sim.Podtape(args);
  };

  // Nobody named the CA: refused in one line, before anything ran (the attempt is on record as
  // an error).
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--kubeconfig", plain}, {"-s", sim.url(), "--token", "alice-token"}}) {
    SCOPED_TRACE(args.back());
    testing::RunResult r = exec(args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_TRUE(faults::OneErrorLine(r.err)) << r.err;
    EXPECT_NE(r.err.find("certificate signed by unknown authority"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  boost::json::array refused = faults::Ls(sim);
  for (const auto& row : refused) EXPECT_EQ(row.at("end_reason").as_string(), "error");

  // The user's flag, or the kubeconfig's own setting: verification is off, the session runs.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--kubeconfig", plain, "--insecure-skip-tls-verify"},
           {"-s", sim.url(), "--token", "alice-token", "--insecure-skip-tls-verify"},
           {"--kubeconfig", insecure}}) {
    SCOPED_TRACE(args.back());
    testing::RunResult r = exec(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "reached\n");
  }
  EXPECT_EQ(faults::Ls(sim).size(), refused.size() + 3);
}

}  // namespace
}  // namespace podtape
