// Where and how to connect to the API server, resolved exactly as kubectl does it: kubeconfig
// files (--kubeconfig, else $KUBECONFIG merged, else ~/.kube/config), the selected context,
// cluster and user, the connection flags that override them, and the user's credential (token,
// tokenFile, client certificate, exec plugin).
//
// No network and no Beast here: the result is plain data that the TLS/WebSocket client
// (recorder/) turns into a connection. Credentials are read once, at load time; nothing is cached
// on disk. Errors follow schema/status.h; where kubectl shows a user a message, ours has the same
// text without kubectl's leading "error: " (cli/ adds it).
#ifndef PODTAPE_RECORDER_KUBECONFIG_H_
#define PODTAPE_RECORDER_KUBECONFIG_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/status.h"

namespace podtape::kube {

// kubectl's connection flags. An empty string (or nullopt) means "not given on the command
// line"; only given flags override the kubeconfig.
struct KubeFlags {
  std::string kubeconfig;                        // --kubeconfig: one file, used alone (no merge)
  std::string context;                           // --context
  std::string cluster;                           // --cluster
  std::string user;                              // --user
  std::string server;                            // -s, --server
  std::string token;                             // --token
  std::string certificate_authority;             // --certificate-authority (a file)
  std::string client_certificate;                // --client-certificate (a file)
  std::string client_key;                        // --client-key (a file)
  std::optional<bool> insecure_skip_tls_verify;  // --insecure-skip-tls-verify
  std::string tls_server_name;                   // --tls-server-name
  std::string namespace_;                        // -n, --namespace
  std::string as_user;                           // --as
  std::vector<std::string> as_groups;            // --as-group, repeatable, in order
  std::string request_timeout;  // --request-timeout: "0", "30", "30s", "1m", "1h"; "" = 0
};

// kubectl's --request-timeout syntax: a bare integer is seconds; otherwise a Go duration made of
// integer terms with units h, m, s, ms ("1m30s"). "0" and "" mean no timeout. Negative values and
// anything else are an error with kubectl's message.
Result<std::chrono::milliseconds> ParseRequestTimeout(std::string_view text);

// The process environment as the loader sees it; tests build one by hand so they never touch
// the real environment or clock.
struct Environment {
  // Every environment variable (NAME -> value). Read: KUBECONFIG, HOME, KUBERNETES_MASTER,
  // KUBERNETES_SERVICE_HOST/PORT and POD_NAMESPACE (in-cluster); the whole map is the base
  // environment of exec credential plugins.
  std::map<std::string, std::string, std::less<>> vars;
  // Where a pod's service-account token, ca.crt and namespace are mounted (in-cluster config).
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  // Whether an exec plugin may be interactive (kubectl: stdin is a terminal). When true the
  // plugin inherits stdin; otherwise its stdin is /dev/null.
  bool stdin_is_terminal = false;
  // Wall-clock time, for exec credential expiry. Empty = std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> now;

  // A snapshot of this process: environ, isatty(0), the system clock.
  static Environment FromProcess();
  // nullptr when unset.
  const std::string* Get(std::string_view name) const;
  std::chrono::system_clock::time_point Now() const;
};

// Everything needed to reach and authenticate to the API server. Copyable plain data.
// Holds secrets (token, client key): it has no operator<<; log only DebugString().
struct Connection {
  // The server URL, normalised: "scheme://host[:port][/prefix]" with no trailing '/'. A server
  // given without a scheme ("10.0.0.1:6443") is http://, as kubectl v1.32 does. When nothing
  // names a server (no kubeconfig, no -s): inside a pod, the in-cluster config (as kubectl);
  // else $KUBERNETES_MASTER, else http://localhost:8080 (kubectl's fallback), and
  // server_defaulted says so.
  std::string server;
  bool server_defaulted = false;
  bool is_tls = false;      // scheme https
  std::string host;         // DNS name or IP literal; IPv6 without brackets
  bool host_is_ip = false;  // true for IP literals: send no SNI for them
  uint16_t port = 0;        // explicit port, else 443 (https) or 80 (http)
  std::string path_prefix;  // "" or e.g. "/k8s/clusters/c-1"; prepend to every API path

  // The kubeconfig names that were used ("" when none, e.g. -s without a kubeconfig).
  std::string context_name;
  std::string cluster_name;
  std::string user_name;
  // -n, else the context's namespace, else "default".
  std::string namespace_;

  // TLS. ca_pem empty = the system trust store (as Go does). insecure_skip_tls_verify turns off
  // peer verification entirely. tls_server_name, when set, replaces the URL host for SNI and for
  // the certificate's host-name check.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;

  // The credential. All empty over plain http:// (kubectl drops user credentials there).
  std::string client_cert_pem;  // PEM certificate chain (leaf first)
  std::string client_key_pem;   // PEM private key matching client_cert_pem
  std::string token;            // bearer token: never log, store or print it
  // What the credential came from, for messages and -v logs; never a secret: "token",
  // "token file /path", "client certificate", "exec plugin NAME", "exec plugin NAME (client
  // certificate)", or "" for none.
  std::string credential_source;

  // Impersonation (--as, --as-group): sent as Impersonate-User / Impersonate-Group headers.
  std::string as_user;
  std::vector<std::string> as_groups;

  // --request-timeout; 0 = none. Applies to plain requests, not to the stream's lifetime.
  std::chrono::milliseconds request_timeout{0};

  // The Host header value / authority: host (bracketed if IPv6), plus ":port" when the URL had
  // an explicit port.
  std::string host_header;

  // One line for logs with every field, secrets replaced: token as "<redacted, N bytes>", key as
  // "<N bytes>".
  std::string DebugString() const;
};

// Resolves the connection as kubectl does:
// - files: flags.kubeconfig alone (it must exist), else every file of $KUBECONFIG (split on ':',
//   empty entries and missing files skipped) merged so that the first file to set a map entry
//   (cluster, context, user name) wins, and current-context comes from the first file that sets
//   it; else ~/.kube/config if it exists; else no file.
// - the context: flags.context, else current-context; flags.cluster / flags.user replace the
//   context's cluster / user. Relative paths inside a kubeconfig resolve against its folder.
// - flags override the cluster and user fields (-s, --certificate-authority, --insecure-skip-
//   tls-verify, --tls-server-name, --token, --client-certificate, --client-key). --token
//   replaces the kubeconfig's token, tokenFile and exec plugin.
// - an exec credential plugin (client.authentication.k8s.io/v1 or v1beta1) runs synchronously
//   here, once, when the user needs it and the server is https.
// - when that leaves kubectl's default config (no server, TLS setting, credential, impersonation
//   or timeout) and the process runs in a pod (KUBERNETES_SERVICE_HOST and _PORT set, a token
//   file in env.service_account_dir), the in-cluster config is used instead: https://HOST:PORT,
//   the service-account token and ca.crt, namespace from -n, else $POD_NAMESPACE, else the
//   mounted namespace file, else "default". Its names (context, cluster, user) are empty.
// Messages as kubectl: `context was not found for specified context: X`, `no server found for
// cluster "X"`, `auth info "X" does not exist`, `stat FILE: no such file or directory`,
// `error loading config file "F": ...`.
Result<Connection> LoadConnection(const KubeFlags& flags, const Environment& env);

}  // namespace podtape::kube

#endif  // PODTAPE_RECORDER_KUBECONFIG_H_
