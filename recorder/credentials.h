// User credentials beyond static kubeconfig fields: exec credential plugins
// (client.authentication.k8s.io/v1 and v1beta1 ExecCredential), and the identity a credential
// claims (certificate subject, token claims), which a session records when the API server does
// not allow a SelfSubjectReview. No network here. Errors follow schema/status.h.
#ifndef PODTAPE_RECORDER_CREDENTIALS_H_
#define PODTAPE_RECORDER_CREDENTIALS_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/kubeconfig.h"
#include "schema/status.h"

namespace podtape::kube {

// Strict base64 as Go's encoding/base64 decodes it (RFC 4648 alphabet, '=' padding required
// and only at the end; '\r' and '\n' are skipped, as in kubeconfig *-data fields). Errors say
// "illegal base64 data at input byte N", as Go does.
Result<std::string> DecodeBase64(std::string_view text);
// Base64url without padding (Go's RawURLEncoding), as in the parts of a JWT.
Result<std::string> DecodeBase64Url(std::string_view text);
// Standard base64 with padding.
std::string EncodeBase64(std::string_view bytes);

// A kubeconfig user's `exec:` block.
struct ExecPluginConfig {
  std::string user_name;    // the kubeconfig user it belongs to (for messages)
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1 (required)
  std::string command;      // looked up on PATH unless it holds a '/'; relative paths with a
                            // '/' have been resolved against the kubeconfig's folder
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to the process environment
  std::string install_hint;                              // shown when the command is not found
  bool provide_cluster_info = false;
  // "Never", "IfAvailable", "Always". v1 requires it; v1beta1 defaults to "IfAvailable".
  std::string interactive_mode;
};

// What provideClusterInfo passes to the plugin in KUBERNETES_EXEC_INFO spec.cluster.
struct ExecClusterInfo {
  std::string server;
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string ca_pem;  // sent base64-encoded as certificate-authority-data
};

// The plugin's answer. Either token or both PEM fields are set.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiration;  // status.expirationTimestamp
};

// Runs the plugin as client-go does: argv = command + args, environment = env.vars + config.env,
// KUBERNETES_EXEC_INFO = {"kind":"ExecCredential","apiVersion":<api_version>,"spec":{
// "interactive":<bool>[,"cluster":{...}]}}, stdin the terminal when interactive else /dev/null,
// stderr inherited (plugins prompt and log there), stdout parsed as an ExecCredential of the
// same apiVersion. Blocks until the plugin exits; no timeout (plugins may wait for a user, as
// in kubectl). Errors: command not found (with install_hint), non-zero exit, bad JSON,
// wrong kind/apiVersion, no token and no certificate, half a certificate, and an
// expirationTimestamp that is not in the future ("exec plugin X returned an expired
// credential").
Result<ExecCredential> RunExecPlugin(const ExecPluginConfig& config, const ExecClusterInfo* cluster,
                                     const Environment& env);

// Who the credential says the user is. Never contains the token.
struct CredentialIdentity {
  std::string user;                 // "" when unknown
  std::vector<std::string> groups;  // in the credential's order
  // "certificate" (client certificate subject: CN = user, O = groups), "token" (JWT claims),
  // "kubeconfig" (only the kubeconfig user name is known: user = that name), "none".
  std::string user_source;
};

// From a PEM certificate (the first one if a chain): subject CN -> user, every O -> groups, as
// the API server's x509 authenticator reads them.
Result<CredentialIdentity> IdentityFromCertificatePem(std::string_view pem);

// From a bearer token that is a JWT (three base64url parts; the signature is not checked):
// a service-account token gives "system:serviceaccount:NS:NAME" (from the "kubernetes.io"
// claim, or the legacy "kubernetes.io/serviceaccount/*" claims) with the groups the API
// server's service-account authenticator adds (system:serviceaccounts,
// system:serviceaccounts:NS); otherwise "sub" (and a "groups" string array when present). No
// group that every authenticated user gets (system:authenticated) is added, here or for
// certificates: only what the credential itself says. nullopt when the token is not a JWT or has no
// usable claim.
std::optional<CredentialIdentity> IdentityFromJwt(std::string_view token);

// The best identity the connection's credential gives, in this order: client certificate,
// JWT bearer token, the kubeconfig user name, none. A certificate that does not parse falls
// through to the next source.
CredentialIdentity IdentityFromConnection(const Connection& connection);

}  // namespace podtape::kube

#endif  // PODTAPE_RECORDER_CREDENTIALS_H_
