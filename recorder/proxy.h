// `podtape proxy`: a transparent HTTP(S) proxy in front of the API server that passes every
// request through (streamed both ways) and records every pods/exec and pods/attach WebSocket
// session, with the identity the API server confirmed, through store::SessionWriter.
//
// Threads: one acceptor thread; one thread per client connection (HTTP keep-alive requests run
// in order on it). A WebSocket session runs both relay directions on that connection's thread
// (one io_context, asynchronous reads and writes); it blocks in SessionWriter::Append while the
// store's queue is full, which stops reading both sides of that session only.
// Secrets: bearer tokens are forwarded, hashed for the identity cache, and never logged or stored.
#ifndef PODTAPE_RECORDER_PROXY_H_
#define PODTAPE_RECORDER_PROXY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/kubeconfig.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::recorder {

struct ProxyOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; plain HTTP only on a loopback address
  std::string tls_cert;                // PEM files; both or neither (HTTPS when given)
  std::string tls_key;
  std::string client_ca;  // PEM CA file: client certificates signed by it are accepted
  std::string upstream;   // --upstream URL; empty: the kubeconfig's server
  kube::KubeFlags flags;  // the proxy's own connection (TLS towards upstream, credentials)
  bool allow_anonymous = false;
  bool fail_open = false;
  std::string db_path;
  std::string version;  // "0.1.0"
  int verbosity = 0;
  // SIGTERM: sessions still running this long after it are ended as interrupted.
  std::chrono::milliseconds grace{std::chrono::seconds(10)};
  // How long a token's SelfSubjectReview answer is reused.
  std::chrono::milliseconds identity_ttl{std::chrono::seconds(30)};
  // Bounds on peers that stall: a client's TLS handshake and each request header (the first and
  // every later one on a kept-alive connection), each pause while a client sends a request body;
  // connecting to upstream (TCP, TLS and the WebSocket handshake) and the upstream's response
  // header. A running session has no idle bound (a shell may wait for hours), nor has a response
  // body (a watch may be quiet for as long); they end when either side leaves.
  std::chrono::milliseconds client_header_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds client_body_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds client_idle_timeout{std::chrono::seconds(120)};
  std::chrono::milliseconds upstream_connect_timeout{std::chrono::seconds(15)};
  std::chrono::milliseconds upstream_header_timeout{std::chrono::seconds(60)};
  // Queued frame bytes per recorded session before its relay waits for the store (the memory a
  // session may hold besides its in-flight message).
  size_t session_queue_bytes = 4 << 20;
  // --sign-key: signs each session's seal (SessionWriter::Options::sign_seal). Called on the
  // session's writer thread; may be called from several sessions' threads at once.
  std::function<Result<std::string>(const store::Hash& seal)> sign_seal;
  // Called with the session id after each recorded session is finished (the command layer indexes
  // it). Called on the session's connection thread; must return quickly.
  std::function<void(const std::string& session_id)> on_session_end;
};

// Runs the proxy until SIGTERM or SIGINT. Prints "listening on URL" (flushed) once the socket is
// bound. Returns 0 after a clean stop, or the Status of a start-up failure.
Result<int> RunProxy(const ProxyOptions& options);

// Whether an API path (no query) would reach a kubelet's exec, attach or run through the nodes
// proxy (".../nodes/NAME/proxy/exec/..."): those bypass recording and are refused.
bool IsNodeProxyStreamPath(std::string_view path);

// pods/exec or pods/attach parsed from a request target; ok=false for anything else.
struct StreamTarget {
  bool ok = false;
  bool attach = false;
  std::string namespace_;
  std::string pod;
  std::string container;
  std::vector<std::string> command;
  bool use_stdin = false;
  bool tty = false;
};
StreamTarget ParseStreamTarget(std::string_view target);

}  // namespace podtape::recorder

#endif  // PODTAPE_RECORDER_PROXY_H_
