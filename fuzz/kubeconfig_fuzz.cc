// Kubeconfig loading (recorder/kubeconfig.h LoadConnection) with the bytes as the only kubeconfig
// file. LoadConnection reads kubeconfigs from files only, so the bytes go to a memfd named by its
// /proc/self/fd path (no disk, nothing left behind). The harness must never read a file named in
// the YAML nor run an exec plugin: when the document has any key that names one (exec, tokenFile,
// certificate-authority, client-certificate, client-key), the connection flags that replace
// those fields are given (--insecure-skip-tls-verify, --token, and --client-certificate /
// --client-key naming a second memfd), so the loader takes nothing from them.
// The first line of the input also goes through ParseRequestTimeout.
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>

#include "fuzz/harness.h"
#include "recorder/kubeconfig.h"

namespace podtape::fuzz {
namespace {

// A memfd holding `bytes`; returns its /proc/self/fd path. The fd lives as long as the process.
std::string MemFile(int* fd, std::string_view bytes) {
  if (*fd < 0) *fd = memfd_create("podtape-fuzz", MFD_CLOEXEC);
  if (*fd < 0 || ftruncate(*fd, 0) != 0 ||
      pwrite(*fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    std::perror("podtape fuzz: memfd");
    std::abort();
  }
  return "/proc/self/fd/" + std::to_string(*fd);
}

// Whether the document has a key naming a file or a plugin. Stops (answering yes) after `budget`
// nodes: aliases can make a small document a huge tree.
bool NamesOtherFiles(const YAML::Node& node, int* budget, int depth = 0) {
  static constexpr std::array<std::string_view, 5> kKeys = {
      "exec", "tokenFile", "certificate-authority", "client-certificate", "client-key"};
  // An alias can make the document a cycle (`a: &x [{b: *x}]`): depth is bounded too.
  if (--*budget < 0 || depth > 64) return true;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (NamesOtherFiles(item, budget, depth + 1)) return true;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (kv.first.IsScalar() &&
          std::find(kKeys.begin(), kKeys.end(), kv.first.Scalar()) != kKeys.end()) {
        return true;
      }
      if (NamesOtherFiles(kv.first, budget, depth + 1) ||
          NamesOtherFiles(kv.second, budget, depth + 1)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string FuzzKubeconfig(Input data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());

  const std::string_view first_line = text.substr(0, text.find('\n'));
  Result<std::chrono::milliseconds> timeout = kube::ParseRequestTimeout(first_line);
  if (timeout.ok() && timeout->count() < 0) return "a negative request timeout";

  static int config_fd = -1;
  static int pem_fd = -1;
  kube::KubeFlags flags;
  flags.kubeconfig = MemFile(&config_fd, text);
  bool names_files = true;
  try {
    int budget = 20000;
    names_files = NamesOtherFiles(YAML::Load(std::string(text)), &budget);
  } catch (const YAML::Exception&) {
    // The loader fails to parse it too; the flags below cost nothing.
  }
  if (names_files) {
    flags.insecure_skip_tls_verify = true;
    flags.token = "fuzz-flag-token";
    flags.client_certificate = MemFile(&pem_fd, "not a certificate\n");
    flags.client_key = flags.client_certificate;
  }
  kube::Environment env;
  env.service_account_dir = "/nonexistent/podtape-fuzz";
  env.now = [] { return std::chrono::system_clock::time_point(std::chrono::hours(500000)); };

  Result<kube::Connection> r = kube::LoadConnection(flags, env);
  if (!r.ok()) {
    if (r.status().message().empty()) return "an error without a message";
    return "";
  }
  const kube::Connection& c = *r;
  if (!c.server.starts_with("http://") && !c.server.starts_with("https://")) {
    return "server is not an http(s) URL: " + c.server;
  }
  if (c.is_tls != c.server.starts_with("https://")) return "is_tls disagrees with the scheme";
  if (c.port == 0) return "port 0";
  if (c.namespace_.empty()) return "no namespace";
  if (c.host_header.empty()) return "no Host header";
  if (!c.is_tls && (!c.token.empty() || !c.client_cert_pem.empty() || !c.client_key_pem.empty())) {
    return "credentials over plain http";
  }
  if (names_files && c.is_tls && c.token != flags.token) return "--token did not replace the token";
  if (!c.token.empty()) {
    kube::Connection no_token = c;
    no_token.token.clear();
    if (no_token.DebugString().find(c.token) == std::string::npos &&
        c.DebugString().find(c.token) != std::string::npos) {
      return "DebugString shows the token";
    }
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzKubeconfig)
