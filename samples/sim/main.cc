// podtape-sim: a local stand-in for kube-apiserver (pods, exec, attach, logs) for the demo and
// the tests. See samples/README.md.
#include <signal.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "samples/sim/config.h"
#include "samples/sim/server.h"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"podtape-sim: a local Kubernetes API simulator for exec and attach"};
  std::string config_path;
  podtape::sim::ServerOptions options;
  app.add_option("--config", config_path, "cluster config (YAML), e.g. samples/cluster.yaml")
      ->required();
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0 picks one)")
      ->capture_default_str();
  app.add_option("--tls-dir", options.tls_dir,
                 "serve HTTPS with the CA, certificates and kubeconfigs in this folder "
                 "(generated when missing)");
  app.add_option("-v,--v", options.verbosity, "log level: 1 requests, 2 frames");
  CLI11_PARSE(app, argc, argv);

  auto config = podtape::sim::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", config.status().message().c_str());
    return 1;
  }
  options.config = std::move(config).value();
  podtape::Status st = podtape::sim::RunServer(options);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
