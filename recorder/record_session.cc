#include "recorder/record_session.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "recorder/credentials.h"

namespace podtape::recorder {
namespace {

namespace json = boost::json;
using store::Direction;

constexpr size_t kStdinChunk = 32 * 1024;  // as client-go: never near the server's 32 MiB limit

const char* SignalName(int signo) {
  switch (signo) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    default:
      return "a signal";
  }
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Frames go to the store's writer; its errors become the session's fail-closed reason.
class WriterSink final : public FrameSink {
 public:
  explicit WriterSink(store::SessionWriter* writer) : writer_(writer) {}
  Status Append(int64_t t_ns, Direction direction, uint8_t channel,
                std::string_view payload) override {
    Status st = writer_->Append(t_ns, direction, channel, payload);
    if (!st.ok()) {
      return Status::IOError(
          "recording failed (" + st.message() +
          "); the session was ended because recording fails closed (--fail-open keeps "
          "sessions going without a complete recording)");
    }
    return st;
  }

 private:
  store::SessionWriter* writer_;
};

// The remote output on our stdout/stderr. Blocking writes: a terminal that cannot keep up slows
// the reader, as with kubectl.
class StdOutput final : public OutputSink {
 public:
  void Write(uint8_t channel, std::string_view data) override {
    int fd = channel == codec::kStderr ? 2 : 1;
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        return;  // a closed stdout does not end the recording
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
};

std::string LocalUser() {
  struct passwd* pw = getpwuid(geteuid());
  if (pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  const char* u = std::getenv("USER");
  return u != nullptr ? u : "";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Endpoint EndpointFor(const kube::Connection& conn, const std::string& version) {
  Endpoint ep;
  ep.tls = conn.is_tls;
  ep.host = conn.host;
  ep.port = std::to_string(conn.port);
  ep.server = conn.server;
  ep.tls_settings.insecure_skip_verify = conn.insecure_skip_tls_verify;
  ep.tls_settings.ca_pem = conn.ca_pem;
  ep.tls_settings.client_cert_pem = conn.client_cert_pem;
  ep.tls_settings.client_key_pem = conn.client_key_pem;
  ep.tls_settings.server_name = conn.tls_server_name;
  // Credentials only over TLS, as kubectl (PROTOCOL.md 6).
  if (conn.is_tls && !conn.token.empty()) {
    ep.headers.emplace_back("Authorization", "Bearer " + conn.token);
  }
  if (!conn.as_user.empty()) ep.headers.emplace_back("Impersonate-User", conn.as_user);
  for (const std::string& g : conn.as_groups) ep.headers.emplace_back("Impersonate-Group", g);
  ep.user_agent = "podtape/" + version;
  if (conn.request_timeout.count() > 0) ep.timeout = conn.request_timeout;
  return ep;
}

std::string SelfSubjectReviewBody() {
  json::object o;
  o["kind"] = "SelfSubjectReview";
  o["apiVersion"] = "authentication.k8s.io/v1";
  o["metadata"] = json::object();
  return json::serialize(o);
}

}  // namespace

// --- RecordPipeline ----------------------------------------------------------------------------

RecordPipeline::RecordPipeline(codec::Subprotocol protocol, Deps deps)
    : protocol_(protocol), deps_(std::move(deps)) {}

Status RecordPipeline::Record(Direction direction, uint8_t channel, std::string_view payload) {
  return deps_.frames->Append(deps_.clock(), direction, channel, payload);
}

Status RecordPipeline::SendMessage(uint8_t channel, std::string_view payload) {
  PODTAPE_RETURN_IF_ERROR(Record(Direction::kToServer, channel, payload));
  wire_.clear();
  codec::EncodeMessage(protocol_, channel, payload, &wire_);
  deps_.send(codec::IsBase64(protocol_), wire_);
  return Status::OK();
}

Status RecordPipeline::SendResize(codec::TerminalSize size) {
  last_size_ = size;
  return SendMessage(codec::kResize, codec::EncodeResize(size));
}

Status RecordPipeline::OnMessage(bool text, std::string_view data) {
  codec::DecodedMessage m;
  Status st = codec::DecodeMessage(protocol_, codec::Sender::kServer,
                                   text ? codec::FrameType::kText : codec::FrameType::kBinary, data,
                                   &scratch_, &m);
  if (!st.ok()) {
    // Kept as received (channel 255 from the server: a message that did not decode), then the
    // session ends: continuing would guess at what the server meant.
    PODTAPE_RETURN_IF_ERROR(Record(Direction::kFromServer, codec::kClose, data));
    return Status::Protocol(fmt::format("protocol error from the server ({}): {}",
                                        codec::SubprotocolName(protocol_), st.message()));
  }
  PODTAPE_RETURN_IF_ERROR(Record(Direction::kFromServer, m.channel, m.payload));
  switch (m.channel) {
    case codec::kStdout:
    case codec::kStderr:
      if (!m.payload.empty()) deps_.output->Write(m.channel, m.payload);
      break;
    case codec::kError:
      status_bytes_.append(m.payload);
      if (!m.payload.empty()) {
        got_status_ = true;
        if (deps_.status_received) deps_.status_received();
      }
      break;
    default:
      break;  // stdin/resize from a server: recorded, nothing to show
  }
  return Status::OK();
}

Status RecordPipeline::OnInput(std::string_view data, bool eof) {
  if (input_closed_) return Status::OK();
  if (!eof) return SendMessage(codec::kStdin, data);
  input_closed_ = true;
  if (codec::HasCloseSignal(protocol_)) {
    const char closed_channel = static_cast<char>(codec::kStdin);
    PODTAPE_RETURN_IF_ERROR(
        Record(Direction::kToServer, codec::kClose, std::string_view(&closed_channel, 1)));
    deps_.send(false, codec::EncodeClose(codec::kStdin));
    return Status::OK();
  }
  // Before v5 the only way to end the remote stdin is to close the WebSocket (as the JavaScript
  // client does); output still in flight may be lost (kubernetes#89899).
  if (deps_.close) deps_.close();
  return Status::OK();
}

Status RecordPipeline::OnSignal(int signo) {
  if (signo == SIGWINCH) {
    if (deps_.terminal == nullptr) return Status::OK();
    std::optional<codec::TerminalSize> size = deps_.terminal->Size();
    if (!size || (last_size_ && *size == *last_size_)) return Status::OK();
    return SendResize(*size);
  }
  return Status::IOError(fmt::format("interrupted by {}", SignalName(signo)));
}

// --- helpers -----------------------------------------------------------------------------------

Result<std::string> ChooseContainer(std::string_view pod_json, kube::Subresource subresource,
                                    std::string* notice) {
  notice->clear();
  boost::system::error_code ec;
  json::value v = json::parse(pod_json, ec);
  if (ec || !v.is_object()) {
    return Status::Protocol("the server's pod reply is not a json object");
  }
  const json::object& pod = v.get_object();
  auto str_at = [](const json::value* node, std::initializer_list<const char*> path) {
    for (const char* key : path) {
      if (node == nullptr || !node->is_object()) return std::string();
      node = node->get_object().if_contains(key);
    }
    return node != nullptr && node->is_string() ? std::string(node->get_string()) : std::string();
  };
  std::string phase = str_at(&v, {"status", "phase"});
  if (phase == "Succeeded" || phase == "Failed") {
    return Status::InvalidArgument(
        subresource == kube::Subresource::kExec
            ? "cannot exec into a container in a completed pod; current phase is " + phase
            : "cannot attach a container in a completed pod; current phase is " + phase);
  }
  std::string pod_name = str_at(&v, {"metadata", "name"});
  auto names_of = [&](const char* field) {
    std::vector<std::string> out;
    const json::value* spec = pod.if_contains("spec");
    if (spec == nullptr || !spec->is_object()) return out;
    const json::value* list = spec->get_object().if_contains(field);
    if (list == nullptr || !list->is_array()) return out;
    for (const json::value& c : list->get_array()) {
      if (c.is_object()) {
        const json::value* n = c.get_object().if_contains("name");
        if (n != nullptr && n->is_string()) out.emplace_back(n->get_string());
      }
    }
    return out;
  };
  std::vector<std::string> containers = names_of("containers");
  std::vector<std::string> ephemeral = names_of("ephemeralContainers");
  std::vector<std::string> init = names_of("initContainers");
  if (containers.empty()) {
    return Status::InvalidArgument(fmt::format("pod {} does not have any containers", pod_name));
  }
  std::string annotated =
      str_at(&v, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"});
  if (!annotated.empty()) {
    for (const std::string& c : containers) {
      if (c == annotated) return c;
    }
    for (const std::string& c : ephemeral) {
      if (c == annotated) return c;
    }
    for (const std::string& c : init) {
      if (c == annotated) return c;
    }
  }
  if (containers.size() > 1 || !init.empty() || !ephemeral.empty()) {
    std::vector<std::string> all = containers;
    for (const std::string& c : ephemeral) all.push_back(c + " (ephem)");
    for (const std::string& c : init) all.push_back(c + " (init)");
    *notice = fmt::format("Defaulted container \"{}\" out of: {}", containers[0], JoinNames(all));
  }
  return containers[0];
}

std::optional<ReviewedIdentity> ParseSelfSubjectReview(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* status = v.get_object().if_contains("status");
  if (status == nullptr || !status->is_object()) return std::nullopt;
  const json::value* info = status->get_object().if_contains("userInfo");
  if (info == nullptr || !info->is_object()) return std::nullopt;
  const json::value* user = info->get_object().if_contains("username");
  if (user == nullptr || !user->is_string() || user->get_string().empty()) return std::nullopt;
  ReviewedIdentity out;
  out.user = std::string(user->get_string());
  if (const json::value* groups = info->get_object().if_contains("groups");
      groups != nullptr && groups->is_array()) {
    for (const json::value& g : groups->get_array()) {
      if (g.is_string()) out.groups.emplace_back(g.get_string());
    }
  }
  return out;
}

// --- RunRecordedSession ------------------------------------------------------------------------

namespace {

struct Notices {
  bool quiet;
  void Print(const std::string& line) const {
    if (!quiet) std::fprintf(stderr, "%s\n", line.c_str());
  }
};

void ApplyIdentity(const Result<HttpResponse>& ssr, const kube::Connection& conn,
                   store::SessionMeta* meta) {
  if (ssr.ok() && (ssr->status == 200 || ssr->status == 201)) {
    if (auto id = ParseSelfSubjectReview(ssr->body)) {
      meta->user = id->user;
      meta->groups = id->groups;
      meta->user_source = "selfsubjectreview";
      return;
    }
  }
  kube::CredentialIdentity id = kube::IdentityFromConnection(conn);
  meta->user = id.user;
  meta->groups = id.groups;
  meta->user_source = id.user_source.empty() ? "none" : id.user_source;
}

}  // namespace

Result<int> RunRecordedSession(const SessionOptions& o) {
  bool exec = o.subresource == kube::Subresource::kExec;
  if (exec && o.command.empty()) {
    return Status::InvalidArgument("you must specify at least one command for the container");
  }
  if (o.pod.empty()) {
    return Status::InvalidArgument(
        exec ? "expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\n"
               "POD_NAME and COMMAND are required arguments for the exec command"
             : "expected POD_NAME for attach");
  }
  std::vector<codec::Subprotocol> offer = codec::DefaultOffer();
  if (!o.protocols.empty()) {
    auto parsed = codec::ParseOfferList(o.protocols);
    if (!parsed.ok()) return parsed.status().WithContext("--protocols");
    offer = std::move(*parsed);
  }
  Notices notices{o.quiet};

  auto conn_or = kube::LoadConnection(o.flags, kube::Environment::FromProcess());
  if (!conn_or.ok()) return conn_or.status();
  const kube::Connection& conn = *conn_or;
  Endpoint ep = EndpointFor(conn, o.version);
  auto log = [&](int level, const std::string& line) {
    if (o.verbosity >= level) std::fprintf(stderr, "%s\n", line.c_str());
  };

  // The identity check runs beside everything else: it costs the session no latency.
  std::future<Result<HttpResponse>> ssr = std::async(std::launch::async, [ep, &conn] {
    return HttpRequest(ep, "POST",
                       conn.path_prefix + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                       SelfSubjectReviewBody(), "application/json");
  });

  std::string container = o.container;
  if (container.empty()) {
    std::string path = kube::PodPath(conn.path_prefix, conn.namespace_, o.pod);
    log(6, fmt::format("GET {}{}", conn.server, path));
    auto pod = HttpRequest(ep, "GET", path);
    if (!pod.ok()) return pod.status();
    if (pod->status != 200) return StatusFromHttpError(pod->status, pod->body);
    std::string notice;
    auto chosen = ChooseContainer(pod->body, o.subresource, &notice);
    if (!chosen.ok()) return chosen.status();
    container = *chosen;
    if (!notice.empty()) notices.Print(notice);
  }

  std::unique_ptr<Terminal> terminal = MakePosixTerminal(0, 1);
  bool tty = o.tty;
  if (tty && !terminal->IsTerminal()) {
    notices.Print("Unable to use a TTY - input is not a terminal or the right kind of file");
    tty = false;
  }
  std::optional<codec::TerminalSize> size = tty ? terminal->Size() : std::nullopt;

  kube::StreamRequest req;
  req.subresource = o.subresource;
  req.namespace_ = conn.namespace_;
  req.pod = o.pod;
  req.container = container;
  req.command = exec ? o.command : std::vector<std::string>{};
  req.use_stdin = o.use_stdin;
  req.use_stdout = true;
  req.use_stderr = !tty;
  req.tty = tty;
  std::string target = kube::StreamRequestTarget(conn.path_prefix, req);

  store::SessionMeta meta;
  meta.kind = exec ? "exec" : "attach";
  meta.server = conn.server;
  meta.cluster = conn.cluster_name;
  meta.context = conn.context_name;
  meta.namespace_ = conn.namespace_;
  meta.pod = o.pod;
  meta.container = container;
  meta.command = req.command;
  meta.tty = tty;
  meta.stdin_ = o.use_stdin;
  if (size) {
    meta.term_cols = size->width;
    meta.term_rows = size->height;
  }
  meta.term_type = tty ? terminal->TermType() : "";
  meta.title = o.title;
  meta.user_source = "none";
  meta.kube_user = conn.user_name;
  meta.as_user = conn.as_user;
  meta.as_groups = conn.as_groups;
  meta.local_user = LocalUser();
  meta.host = HostName();
  meta.recorder_version = o.version;
  meta.started_at_ns = UnixNowNs();
  auto start = std::chrono::steady_clock::now();

  // Fail closed: no store, no session.
  store::SessionWriter::Options writer_options;
  writer_options.sign_seal = o.sign_seal;
  auto writer_or = store::SessionWriter::Start(o.db_path, meta, writer_options);
  if (!writer_or.ok()) {
    return Status::IOError("cannot record the session: " + writer_or.status().message() +
                           "; check --db or $PODTAPE_DB");
  }
  std::unique_ptr<store::SessionWriter> writer = std::move(*writer_or);
  if (o.fail_open) writer->SetFailOpen();
  store::SessionEnd end;
  auto finish = [&](const Status& why) -> Status {
    end.ended_at_ns = UnixNowNs();
    if (!why.ok()) {
      end.end_reason = "error";
      end.error = why.message();
    }
    return writer->Finish(end);
  };

  log(6, fmt::format("GET {}{} (websocket, offering {})", conn.server, target,
                     codec::JoinOffer(offer)));
  std::string chosen_name;
  auto ws_or = WsSession::Connect(ep, target, codec::JoinOffer(offer), &chosen_name);
  if (!ws_or.ok()) {
    (void)finish(ws_or.status());
    return ws_or.status();
  }
  std::unique_ptr<WsSession> ws = std::move(*ws_or);
  auto chosen = codec::CheckChosen(chosen_name, offer);
  if (!chosen.ok()) {
    (void)finish(chosen.status());
    return chosen.status();
  }
  meta.protocol = std::string(codec::SubprotocolName(*chosen));
  log(6, fmt::format("websocket subprotocol {}", meta.protocol.empty() ? "(none)" : meta.protocol));

  // The identity, once the review is back (it ran during the upgrade); bounded.
  bool identity_final = false;
  if (ssr.wait_for(std::chrono::seconds(2)) == std::future_status::ready) {
    ApplyIdentity(ssr.get(), conn, &meta);
    identity_final = true;
  } else {
    ApplyIdentity(Status::IOError("pending"), conn, &meta);
  }
  Status st = writer->UpdateMeta(meta);
  if (!st.ok() && !o.fail_open) {
    (void)finish(st);
    return Status::IOError("recording failed: " + st.message());
  }

  WriterSink sink(writer.get());
  StdOutput output;
  WsSession* wsp = ws.get();
  RecordPipeline::Deps deps;
  deps.frames = &sink;
  deps.output = &output;
  deps.terminal = tty ? terminal.get() : nullptr;
  deps.send = [wsp](bool text, std::string_view m) { wsp->Send(text, m); };
  deps.close = [wsp] { wsp->Close(); };
  // The status is the server's last message; one that never closes afterwards is closed by us.
  deps.status_received = [wsp] { wsp->CloseAfter(std::chrono::seconds(1)); };
  deps.clock = [start] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start)
        .count();
  };
  RecordPipeline pipeline(*chosen, std::move(deps));

  if (!exec) notices.Print("If you don't see a command prompt, try pressing enter.");
  Status run_status;
  if (tty && size) {
    if (!exec)
      run_status = pipeline.SendResize({uint16_t(size->width + 1), uint16_t(size->height + 1)});
    if (run_status.ok()) run_status = pipeline.SendResize(*size);
  }
  if (o.ping_interval_ms > 0 || o.idle_timeout_ms > 0) {
    ws->SetTimeouts(std::chrono::milliseconds(o.ping_interval_ms > 0 ? o.ping_interval_ms : 5000),
                    std::chrono::milliseconds(o.idle_timeout_ms > 0 ? o.idle_timeout_ms : 61000));
  }
  std::vector<int> signals = {SIGINT, SIGTERM, SIGHUP};
  if (tty) signals.push_back(SIGWINCH);
  if (run_status.ok()) {
    if (tty) {
      Status raw = terminal->EnterRaw();
      if (!raw.ok()) log(1, "warning: " + raw.message());
    }
    ::signal(SIGPIPE, SIG_IGN);
    run_status = ws->Run(pipeline, o.use_stdin ? 0 : -1, kStdinChunk, signals);
    terminal->Restore();
  }
  WsEnd ws_end = ws->end();
  ws.reset();

  if (!identity_final && ssr.valid() &&
      ssr.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
    ApplyIdentity(ssr.get(), conn, &meta);
    (void)writer->UpdateMeta(meta);
  }

  end.raw_status = pipeline.raw_status();
  end.close_code = ws_end.close_code;
  end.close_reason = ws_end.close_reason;
  if (run_status.ok() && ws_end.dropped && !pipeline.got_status()) {
    run_status = Status::IOError(
        "the connection to the server was lost before the session ended (no status, no close "
        "frame)");
  }
  if (!run_status.ok()) {
    Status fin = finish(run_status);
    (void)fin;
    return run_status;
  }
  auto remote = codec::ParseStatus(*chosen, pipeline.raw_status());
  if (!remote.ok()) {
    Status why = remote.status().WithContext("cannot read the session's status");
    (void)finish(why);
    return why;
  }
  int rc = 0;
  Status outcome;
  switch (remote->kind) {
    case codec::RemoteStatus::Kind::kNone:
      break;  // client-go's rule: no status is success; raw_status stays empty in the row
    case codec::RemoteStatus::Kind::kSuccess:
      if (exec) end.exit_code = 0;
      break;
    case codec::RemoteStatus::Kind::kExitCode:
      end.exit_code = remote->exit_code;
      rc = remote->exit_code;
      break;
    case codec::RemoteStatus::Kind::kFailure:
      outcome =
          Status::Remote(remote->message.empty() ? "the remote command failed" : remote->message);
      break;
  }
  Status fin = finish(outcome);
  if (!outcome.ok()) return outcome;
  if (!fin.ok()) {
    return Status::IOError("the session ran but its recording failed: " + fin.message());
  }
  if (rc != 0) std::fprintf(stderr, "command terminated with exit code %d\n", rc);
  return rc;
}

}  // namespace podtape::recorder
