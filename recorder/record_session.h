// The record pipeline of `podtape exec` and `podtape attach`: the WebSocket session (ws_client.h)
// on one side, the local terminal and the store's SessionWriter on the other.
//
// RecordPipeline is the per-message logic with no socket, terminal or clock of its own (tests
// drive it with fakes). RunRecordedSession wires it to the network, the terminal and the store.
//
// Threads: everything runs on the thread that calls RunRecordedSession (the io thread), except
// the stdin reader (ws_client.h) and the store's writer thread. The io thread blocks in
// FrameSink::Append while the store's queue is full: that is the back-pressure that stops reads
// from the socket.
#ifndef PODTAPE_RECORDER_RECORD_SESSION_H_
#define PODTAPE_RECORDER_RECORD_SESSION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/channel_codec.h"
#include "recorder/kubeconfig.h"
#include "recorder/request_path.h"
#include "recorder/terminal.h"
#include "recorder/ws_client.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::recorder {

// Where recorded frames go (store::SessionWriter in production).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // t_ns: since the session start, monotonic. May block (back-pressure). An error ends the session
  // (fail closed).
  virtual Status Append(int64_t t_ns, store::Direction direction, uint8_t channel,
                        std::string_view payload) = 0;
};

// Where the remote command's output goes (the local stdout/stderr in production).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Write(uint8_t channel, std::string_view data) = 0;  // kStdout or kStderr
};

class RecordPipeline final : public WsSession::Handler {
 public:
  struct Deps {
    FrameSink* frames = nullptr;
    OutputSink* output = nullptr;
    Terminal* terminal = nullptr;  // sizes for SIGWINCH; null without a TTY
    // Sends one message to the server (binary unless `text`). The pipeline encodes it.
    std::function<void(bool text, std::string_view message)> send;
    // Ends the session normally: a close frame after what is queued (pre-v5 stdin EOF).
    std::function<void()> close;
    // The status has arrived: the server should close now (a grace period follows).
    std::function<void()> status_received;
    // Nanoseconds since the session start, monotonic.
    std::function<int64_t()> clock;
  };

  RecordPipeline(codec::Subprotocol protocol, Deps deps);

  // Sends and records the initial resizes (exec: one; attach: w+1,h+1 then w,h).
  Status SendResize(codec::TerminalSize size);

  Status OnMessage(bool text, std::string_view data) override;
  Status OnInput(std::string_view data, bool eof) override;
  Status OnSignal(int signo) override;

  // Everything received on channel 3, decoded and concatenated.
  const std::string& raw_status() const { return status_bytes_; }
  bool got_status() const { return got_status_; }
  // The last size sent (resizes after SIGWINCH are sent only when it changed).
  std::optional<codec::TerminalSize> last_size() const { return last_size_; }

 private:
  Status Record(store::Direction direction, uint8_t channel, std::string_view payload);
  Status SendMessage(uint8_t channel, std::string_view payload);

  codec::Subprotocol protocol_;
  Deps deps_;
  std::string scratch_;  // base64 decoding, reused
  std::string wire_;     // outgoing encoding, reused
  std::string status_bytes_;
  bool got_status_ = false;
  bool input_closed_ = false;
  std::optional<codec::TerminalSize> last_size_;
};

// Everything `podtape exec` / `podtape attach` needs.
struct SessionOptions {
  kube::Subresource subresource = kube::Subresource::kExec;
  kube::KubeFlags flags;
  std::string pod;
  std::string container;             // empty: read the pod and default it as kubectl does
  std::vector<std::string> command;  // exec only
  bool use_stdin = false;            // -i
  bool tty = false;                  // -t
  bool quiet = false;                // -q
  std::string title;
  bool fail_open = false;
  std::string protocols;  // --protocols; empty: the default offer
  std::string db_path;
  int verbosity = 0;
  std::string version;  // recorder version ("0.1.0")
  // --sign-key: signs the seal at the end (store::SessionWriter::Options::sign_seal); unset: none.
  std::function<Result<std::string>(const store::Hash& seal)> sign_seal;
  // Test hooks: 0 = defaults (5 s, 61 s).
  int64_t ping_interval_ms = 0;
  int64_t idle_timeout_ms = 0;
};

// Runs one recorded session to its end. Returns the exit code (the remote command's exit code, 0
// for success) or the Status of anything else (main prints it and exits 1). Prints kubectl's
// notices on stderr unless quiet, and "command terminated with exit code N" for N != 0.
Result<int> RunRecordedSession(const SessionOptions& options);

// kubectl's container choice (podcmd.FindOrDefaultContainerByName) on a pod JSON object:
// `kubectl.kubernetes.io/default-container` when it names a container, else the first container;
// *notice gets `Defaulted container "c1" out of: c1, c2` when kubectl prints it. Refuses a
// completed pod with kubectl's message ("cannot exec into a container in a completed pod;
// current phase is Succeeded").
Result<std::string> ChooseContainer(std::string_view pod_json, kube::Subresource subresource,
                                    std::string* notice);

// Whether `container` of a pod JSON object (containers, initContainers or ephemeralContainers)
// allocates a TTY (spec "tty": true); nullopt when the pod has no such container or the JSON is
// not a pod. kubectl attach follows it: -t on a container without one is dropped with a notice,
// and a container with one gets a TTY without -t.
std::optional<bool> ContainerTty(std::string_view pod_json, std::string_view container);

// A request header's value as it may be logged (-v 7 and up), masked as kubectl masks it:
// Authorization (and Proxy-Authorization) keep only the scheme ("Bearer <masked>"), and a
// base64url.bearer.authorization.k8s.io.TOKEN subprotocol entry loses its token. Other headers
// are returned as they are. Header names match case-insensitively.
std::string RedactHeaderValue(std::string_view name, std::string_view value);

// The identity in a SelfSubjectReview reply (status.userInfo). nullopt when it has none.
struct ReviewedIdentity {
  std::string user;
  std::vector<std::string> groups;
};
std::optional<ReviewedIdentity> ParseSelfSubjectReview(std::string_view json);

}  // namespace podtape::recorder

#endif  // PODTAPE_RECORDER_RECORD_SESSION_H_
