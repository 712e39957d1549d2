// TLS towards the API server, as client-go does it: verification on unless turned off, the CA
// from the kubeconfig (else the system's default paths), the client certificate and key from
// PEM, the host-name check against the URL host or tls-server-name, SNI only for DNS names.
// Plain OpenSSL on the handles Asio wraps, so it can be tested without a socket.
#ifndef PODTAPE_RECORDER_TLS_CONTEXT_H_
#define PODTAPE_RECORDER_TLS_CONTEXT_H_

#include <string>
#include <string_view>

#include "schema/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace podtape::recorder {

struct TlsSettings {
  bool insecure_skip_verify = false;
  std::string ca_pem;           // one or more CERTIFICATE blocks; empty: system default paths
  std::string client_cert_pem;  // leaf first, then intermediates; empty: no client certificate
  std::string client_key_pem;   // secret: never logged
  std::string server_name;      // tls-server-name; empty: the URL host
};

// Loads the CA (or the default paths), the client certificate and key, and the verify mode into
// `ctx`. Errors name the part that failed ("cannot parse the client certificate ...").
Status ConfigureTlsContext(SSL_CTX* ctx, const TlsSettings& settings);

// Per connection: SNI (DNS names only, never IP literals) and the name or IP the server's
// certificate must match. `host` is the URL host without brackets.
Status ConfigureTlsConnection(SSL* ssl, std::string_view host, const TlsSettings& settings);

// True when `host` is an IPv4 or IPv6 literal (no brackets).
bool IsIpLiteral(std::string_view host);

// The one line shown when the handshake failed with OpenSSL verify result `verify_result`
// (X509_V_ERR_*), e.g. "tls: certificate signed by unknown authority (server
// https://127.0.0.1:1234); pass --certificate-authority or fix the kubeconfig".
// `detail` is the handshake error text, used when verification itself did not fail.
std::string DescribeTlsFailure(long verify_result, std::string_view server, std::string_view host,
                               std::string_view detail);

}  // namespace podtape::recorder

#endif  // PODTAPE_RECORDER_TLS_CONTEXT_H_
