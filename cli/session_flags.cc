#include "cli/session_flags.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "podtape_version.h"
#include "schema/signing.h"

namespace podtape::cli {

void AddSessionFlags(CLI::App* cmd, SessionFlagValues* v) {
  recorder::SessionOptions& o = v->options;
  kube::KubeFlags& f = o.flags;
  cmd->add_option("-n,--namespace", f.namespace_, "namespace of the pod")->type_name("NS");
  cmd->add_option("-c,--container", o.container,
                  "container name; default: the pod's kubectl.kubernetes.io/default-container "
                  "annotation, else its first container")
      ->type_name("CONTAINER");
  cmd->add_flag("-i,--stdin", o.use_stdin, "pass stdin to the container");
  cmd->add_flag("-t,--tty", o.tty, "stdin is a TTY");
  cmd->add_flag("-q,--quiet", o.quiet, "only print output from the remote session");
  cmd->add_option("--title", o.title, "a title stored with the recording")->type_name("TEXT");
  cmd->add_flag("--fail-open", o.fail_open,
                "keep the session going when recording fails (the recording is marked "
                "incomplete); default: end the session");
  cmd->add_option("--sign-key", v->sign_key,
                  "sign the session's seal with this Ed25519 private key (PEM, as 'openssl "
                  "genpkey -algorithm ed25519' writes it); 'podtape verify --key' checks it")
      ->type_name("FILE");
  cmd->add_option("--protocols", o.protocols,
                  "subprotocols to offer, comma-separated (default: "
                  "v5.channel.k8s.io,v4.channel.k8s.io,channel.k8s.io)")
      ->type_name("LIST");
  // kubectl's connection flags.
  cmd->add_option("--kubeconfig", f.kubeconfig, "path to the kubeconfig file")->type_name("FILE");
  cmd->add_option("--context", f.context, "the kubeconfig context to use")->type_name("NAME");
  cmd->add_option("--cluster", f.cluster, "the kubeconfig cluster to use")->type_name("NAME");
  cmd->add_option("--user", f.user, "the kubeconfig user to use")->type_name("NAME");
  cmd->add_option("-s,--server", f.server, "the address and port of the Kubernetes API server")
      ->type_name("URL");
  cmd->add_option("--token", f.token, "bearer token for authentication to the API server")
      ->type_name("TOKEN");
  cmd->add_option("--certificate-authority", f.certificate_authority,
                  "path to a cert file for the certificate authority")
      ->type_name("FILE");
  cmd->add_option("--client-certificate", f.client_certificate,
                  "path to a client certificate file for TLS")
      ->type_name("FILE");
  cmd->add_option("--client-key", f.client_key, "path to a client key file for TLS")
      ->type_name("FILE");
  v->insecure_option = cmd->add_flag("--insecure-skip-tls-verify", v->insecure_skip_tls_verify,
                                     "do not check the server's certificate (insecure)");
  cmd->add_option("--tls-server-name", f.tls_server_name,
                  "server name for certificate validation and SNI")
      ->type_name("NAME");
  cmd->add_option("--request-timeout", f.request_timeout,
                  "time to wait for a single request (1s, 2m, 3h); 0 = no timeout")
      ->type_name("DURATION");
  cmd->add_option("--as", f.as_user, "user to impersonate")->type_name("USER");
  cmd->add_option("--as-group", f.as_groups, "group to impersonate (repeatable)")
      ->type_name("GROUP")
      ->take_all()
      ->expected(1)
      ->allow_extra_args(false);  // one group per --as-group: never the POD after it
}

Result<int> RunSessionCommand(SessionFlagValues* v, const Globals& globals) {
  recorder::SessionOptions& o = v->options;
  if (v->insecure_option != nullptr && v->insecure_option->count() > 0) {
    o.flags.insecure_skip_tls_verify = v->insecure_skip_tls_verify;
  }
  if (!v->sign_key.empty()) {
    // Loaded before connecting: a bad key fails at once, not after the session.
    auto key = store::Ed25519Key::LoadPrivate(v->sign_key);
    if (!key.ok()) return key.status().WithContext("--sign-key");
    o.sign_seal = [key = *key](const store::Hash& seal) { return key->Sign(seal); };
  }
  auto db = ResolveDbPath(globals);
  if (!db.ok()) return db.status();
  o.db_path = *db;
  o.verbosity = globals.verbosity;
  o.version = PODTAPE_VERSION;
  Result<int> rc = recorder::RunRecordedSession(o);
  // Index the session (and any other ended one not indexed yet) in a detached process, so a
  // large session never delays the exit; search and audit catch up on anything still pending.
  if (rc.ok()) StartBackgroundIndexer(o.db_path);
  return rc;
}

}  // namespace podtape::cli
