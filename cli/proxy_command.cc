// podtape proxy --listen ADDR [--tls-cert F --tls-key F] [--client-ca F] [--upstream URL]
//               [--allow-anonymous] [--fail-open] [kubectl's connection flags]
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/app.h"
#include "podtape_version.h"
#include "recorder/proxy.h"

namespace podtape::cli {

namespace {

struct ProxyFlagValues {
  recorder::ProxyOptions options;
  bool insecure_skip_tls_verify = false;
  CLI::Option* insecure_option = nullptr;
  double grace_s = 10;
};

}  // namespace

void RegisterProxy(CLI::App& app, Globals& globals) {
  auto v = std::make_shared<ProxyFlagValues>();
  recorder::ProxyOptions& o = v->options;
  kube::KubeFlags& f = o.flags;
  CLI::App* cmd = app.add_subcommand(
      "proxy",
      "serve the Kubernetes API through a proxy that records every exec and attach session");
  cmd->add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->type_name("ADDR")
      ->required();
  cmd->add_option("--tls-cert", o.tls_cert, "PEM certificate chain to serve HTTPS with")
      ->type_name("FILE");
  cmd->add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert")->type_name("FILE");
  cmd->add_option("--client-ca", o.client_ca,
                  "PEM CA: client certificates it signed are accepted; the proxy then calls the "
                  "API server with its own credentials and Impersonate-User/Group (CN/O)")
      ->type_name("FILE");
  cmd->add_option("--upstream", o.upstream, "API server URL (default: the kubeconfig's server)")
      ->type_name("URL");
  cmd->add_flag("--allow-anonymous", o.allow_anonymous,
                "pass requests with neither a bearer token nor a client certificate");
  cmd->add_flag("--fail-open", o.fail_open,
                "let sessions run when they cannot be recorded (marked incomplete); default: "
                "refuse or end them");
  cmd->add_option("--grace", v->grace_s,
                  "seconds running sessions get to finish after SIGTERM (default 10)")
      ->type_name("SECONDS");
  cmd->add_option("--kubeconfig", f.kubeconfig, "path to the kubeconfig file")->type_name("FILE");
  cmd->add_option("--context", f.context, "the kubeconfig context to use")->type_name("NAME");
  cmd->add_option("--cluster", f.cluster, "the kubeconfig cluster to use")->type_name("NAME");
  cmd->add_option("--user", f.user, "the kubeconfig user to use")->type_name("NAME");
  cmd->add_option("--token", f.token, "the proxy's bearer token (for certificate callers)")
      ->type_name("TOKEN");
  cmd->add_option("--certificate-authority", f.certificate_authority,
                  "path to a cert file for the API server's certificate authority")
      ->type_name("FILE");
  cmd->add_option("--client-certificate", f.client_certificate,
                  "the proxy's client certificate file")
      ->type_name("FILE");
  cmd->add_option("--client-key", f.client_key, "the proxy's client key file")->type_name("FILE");
  v->insecure_option = cmd->add_flag("--insecure-skip-tls-verify", v->insecure_skip_tls_verify,
                                     "do not check the API server's certificate (insecure)");
  cmd->add_option("--tls-server-name", f.tls_server_name,
                  "server name for certificate validation and SNI")
      ->type_name("NAME");
  cmd->callback([v, &globals] {
    globals.run = [v, &globals]() -> Result<int> {
      recorder::ProxyOptions& o = v->options;
      if (v->insecure_option->count() > 0) {
        o.flags.insecure_skip_tls_verify = v->insecure_skip_tls_verify;
      }
      auto db = ResolveDbPath(globals);
      if (!db.ok()) return db.status();
      o.db_path = *db;
      o.verbosity = globals.verbosity;
      o.version = PODTAPE_VERSION;
      o.grace = std::chrono::milliseconds(static_cast<int64_t>(v->grace_s * 1000));
      return recorder::RunProxy(o);
    };
  });
}

}  // namespace podtape::cli
