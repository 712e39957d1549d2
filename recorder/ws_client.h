// The network side of the recorder: HTTP requests and the exec/attach WebSocket, over plain TCP
// or TLS, with Beast kept inside ws_client.cc (no Beast or Asio type appears here).
//
// Threads: a WsSession runs its handlers on the thread that calls Run() (one io_context, one
// thread). HttpRequest() is self-contained (own io_context) and may run on any thread.
// Secrets: Endpoint::headers may carry the Authorization header; nothing here logs them.
#ifndef PODTAPE_RECORDER_WS_CLIENT_H_
#define PODTAPE_RECORDER_WS_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "recorder/tls_context.h"
#include "schema/status.h"

namespace podtape::recorder {

// Where and how to connect.
struct Endpoint {
  bool tls = false;
  std::string host;    // DNS name or IP literal, without brackets
  std::string port;    // decimal
  std::string server;  // the server URL, for messages
  TlsSettings tls_settings;
  // Extra request headers (Authorization, Impersonate-User, Impersonate-Group, ...), in order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string user_agent;  // "podtape/0.1.0"
  // Bound on connect + TLS + request/handshake; also on a whole HttpRequest.
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

// Parses "https://host:port[/prefix]" into *ep (tls, host, port, server). Errors name the URL.
// `prefix` receives the path prefix without a trailing '/' (usually empty).
Status ParseServerUrl(std::string_view url, Endpoint* ep, std::string* prefix);

struct HttpResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// One HTTP/1.1 request on a fresh connection. Errors: connection, TLS (one clear line), timeout.
Result<HttpResponse> HttpRequest(const Endpoint& ep, std::string_view method,
                                 std::string_view target, std::string_view body = {},
                                 std::string_view content_type = {});

// The one line kubectl shows for an HTTP error reply: the message of a metav1.Status body, else
// "the server returned HTTP <code>" plus the start of the body; a 403 with an empty body (no
// common subprotocol) gets its own explanation.
Status StatusFromHttpError(unsigned http_status, std::string_view body);

// The reason phrase of an HTTP status ("OK" for 200, "Switching Protocols" for 101); empty when
// the code has none.
std::string_view HttpReason(unsigned http_status);

// What ended a WebSocket session.
struct WsEnd {
  std::optional<int> close_code;  // the server's close frame code, when one came
  std::string close_reason;
  // The connection ended (EOF, reset) without a close frame and without our asking.
  bool dropped = false;
};

class WsSession {
 public:
  // Called on the Run() thread. A non-OK Status ends the session: a close frame (1000) is sent,
  // and Run() returns that Status.
  class Handler {
   public:
    virtual ~Handler() = default;
    // One complete data message (fragments joined). `data` is valid during the call only.
    virtual Status OnMessage(bool text, std::string_view data) = 0;
    // A chunk of input (at most the chunk size), or end of input (eof, data empty).
    virtual Status OnInput(std::string_view data, bool eof) = 0;
    // A watched signal arrived.
    virtual Status OnSignal(int signo) = 0;
  };

  virtual ~WsSession() = default;

  // Connects and upgrades GET `target` offering `protocols` (one comma-joined header value; empty:
  // no header). On success *chosen is the server's Sec-WebSocket-Protocol answer (may be empty).
  // A refused upgrade gives StatusFromHttpError of the reply. `before_upgrade`, when set, is
  // called on the calling thread once the connection (and TLS) is up and before the upgrade
  // request is sent; an error from it ends the attempt with that error and nothing is sent (the
  // recorder waits there for its store, so a session that cannot be recorded never starts).
  static Result<std::unique_ptr<WsSession>> Connect(
      const Endpoint& ep, std::string_view target, std::string_view protocols, std::string* chosen,
      const std::function<Status()>& before_upgrade = nullptr);

  // Queues one message for sending (copied; never fragmented). Run() thread only, or before Run().
  virtual void Send(bool text, std::string_view data) = 0;

  // Runs until the server ends the connection (close frame or EOF: OK), the connection fails
  // (IOError), or a handler returns an error. Reads `input_fd` (-1: none) in chunks of at most
  // `input_chunk` bytes on a helper thread, handing each chunk to OnInput once the previous one
  // has been written to the socket. Watches `signals` (e.g. SIGWINCH, SIGINT) for OnSignal.
  // Pings the server every `ping_interval`; fails when nothing at all is received for
  // `idle_timeout`.
  virtual Status Run(Handler& handler, int input_fd, size_t input_chunk,
                     const std::vector<int>& signals) = 0;

  // Stops watching input: no OnInput call after this (e.g. a session that does not send stdin
  // any more). Run() thread only.
  virtual void StopInput() = 0;

  // Ends the session normally: a close frame (1000) once the queued messages are written, then
  // Run() returns OK when the server answers or drops the connection. Run() thread only.
  virtual void Close() = 0;
  // Close() unless the server ends the session within `grace` (a server that sent its status
  // but never closes). Run() thread only.
  virtual void CloseAfter(std::chrono::milliseconds grace) = 0;

  virtual WsEnd end() const = 0;

  // Tunables (tests shorten them). Call before Run().
  virtual void SetTimeouts(std::chrono::milliseconds ping_interval,
                           std::chrono::milliseconds idle_timeout) = 0;
};

}  // namespace podtape::recorder

#endif  // PODTAPE_RECORDER_WS_CLIENT_H_
