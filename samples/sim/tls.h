// podtape-sim's certificates and kubeconfigs (OpenSSL, yaml-cpp). No Beast here; the server
// loads the files this unit writes.
#ifndef PODTAPE_SAMPLES_SIM_TLS_H_
#define PODTAPE_SAMPLES_SIM_TLS_H_

#include <string>
#include <vector>

#include "samples/sim/config.h"
#include "schema/status.h"

typedef struct ssl_st SSL;

namespace podtape::sim {

struct TlsFiles {
  std::string ca_crt, server_crt, server_key;  // paths inside the TLS dir
};

// Makes sure `dir` holds ca.crt/ca.key, server.crt/server.key (SAN 127.0.0.1, localhost) and
// USER.crt/USER.key for every configured user (CN user, O groups), all signed by the CA.
// Existing files are kept; missing ones are generated (the CA only when ca.key is missing too).
Result<TlsFiles> PrepareTlsDir(const std::string& dir, const Config& config);

// Writes DIR/kubeconfig-USER (bearer token; only for users with a token) and
// DIR/kubeconfig-USER-cert (client certificate) for `server_url`, data inline, cluster `sim`,
// user USER, context `sim`.
Status WriteKubeconfigs(const std::string& dir, const Config& config,
                        const std::string& server_url);

// The identity in the peer certificate of a finished TLS handshake, if the client sent one and
// it verified against the CA: CN is the user, each O a group.
struct CertIdentity {
  std::string user;
  std::vector<std::string> groups;
};
bool PeerCertIdentity(SSL* ssl, CertIdentity* out);

}  // namespace podtape::sim

#endif  // PODTAPE_SAMPLES_SIM_TLS_H_
