#include "recorder/record_session.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
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

// kubectl's request logging (-v 6: one line per request with its status and duration; 7: the
// request headers and the response status; 8: the response body too), in klog's line format.
// Secrets are masked as kubectl masks them (RedactHeaderValue). Writes to stderr.
class RequestLog {
 public:
  explicit RequestLog(int verbosity) : v_(verbosity) {}

  void Line(int level, std::string_view text) const {
    if (v_ < level) return;
    auto now = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&secs, &tm);
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
        1000000;
    std::string line = fmt::format("I{:02}{:02} {:02}:{:02}:{:02}.{:06} {:>7} podtape] {}\n",
                                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                   micros, static_cast<long>(getpid()), text);
    std::fputs(line.c_str(), stderr);
  }

  // Before a request: at -v 7 and up, the request line and its headers.
  void Request(std::string_view method, std::string_view url,
               const std::vector<std::pair<std::string, std::string>>& headers) const {
    if (v_ < 7) return;
    Line(7, fmt::format("{} {}", method, url));
    Line(7, "Request Headers:");
    for (const auto& [name, value] : headers) {
      Line(7, fmt::format("    {}: {}", name, RedactHeaderValue(name, value)));
    }
  }

  // One line at -v 6 and up: the request, its status (or `error` when http_status is 0) and how
  // long it took.
  void Summary(std::string_view method, std::string_view url, unsigned http_status,
               std::chrono::steady_clock::time_point started, std::string_view error) const {
    if (v_ < 6) return;
    Line(6, fmt::format("{} {} {} in {} milliseconds", method, url, StatusText(http_status, error),
                        MillisSince(started)));
  }

  // After a reply (http_status 0: none, `error` says why): the Summary line at -v 6; at 7 and up
  // the response status (the request line came from Request()), at 8 and up the body.
  void Response(std::string_view method, std::string_view url, unsigned http_status,
                std::chrono::steady_clock::time_point started, std::string_view body = {},
                std::string_view error = {}) const {
    if (v_ < 6) return;
    if (v_ < 7) {
      Summary(method, url, http_status, started, error);
    } else {
      Line(7, fmt::format("Response Status: {} in {} milliseconds", StatusText(http_status, error),
                          MillisSince(started)));
    }
    if (v_ >= 8 && !body.empty()) {
      constexpr size_t kMaxBody = 10240;  // as kubectl's round tripper
      if (body.size() > kMaxBody) {
        Line(8, fmt::format("Response Body: {} [truncated {} chars]", body.substr(0, kMaxBody),
                            body.size() - kMaxBody));
      } else {
        Line(8, fmt::format("Response Body: {}", body));
      }
    }
  }

 private:
  static std::string StatusText(unsigned http_status, std::string_view error) {
    if (http_status == 0) return std::string(error);
    std::string_view reason = HttpReason(http_status);
    return reason.empty() ? std::to_string(http_status) : fmt::format("{} {}", http_status, reason);
  }
  static int64_t MillisSince(std::chrono::steady_clock::time_point started) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
  }

  int v_;
};

// The headers a request carries besides Host, as ws_client.cc sends them.
std::vector<std::pair<std::string, std::string>> LoggedHeaders(const Endpoint& ep,
                                                               std::string_view protocols) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("User-Agent", ep.user_agent);
  if (!protocols.empty()) out.emplace_back("Sec-WebSocket-Protocol", std::string(protocols));
  for (const auto& h : ep.headers) out.push_back(h);
  return out;
}

}  // namespace

std::string RedactHeaderValue(std::string_view name, std::string_view value) {
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (iequals(name, "Authorization") || iequals(name, "Proxy-Authorization")) {
    // kubectl: "Bearer <masked>" (the scheme stays, the credential goes).
    size_t space = value.find(' ');
    if (space == std::string_view::npos) return "<masked>";
    return std::string(value.substr(0, space)) + " <masked>";
  }
  if (iequals(name, "Sec-WebSocket-Protocol")) {
    // A bearer token may travel as a subprotocol entry (base64url.bearer.authorization.k8s.io.X).
    constexpr std::string_view kBearer = "base64url.bearer.authorization.k8s.io.";
    std::string out;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string_view entry =
          value.substr(start, comma == std::string_view::npos ? value.npos : comma - start);
      size_t lead = entry.find_first_not_of(' ');
      std::string_view trimmed = lead == entry.npos ? std::string_view() : entry.substr(lead);
      if (trimmed.substr(0, kBearer.size()) == kBearer) {
        out += std::string(entry.substr(0, lead)) + std::string(kBearer) + "<masked>";
      } else {
        out += entry;
      }
      if (comma == std::string_view::npos) break;
      out += ',';
      start = comma + 1;
    }
    return out;
  }
  return std::string(value);
}

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

std::optional<bool> ContainerTty(std::string_view pod_json, std::string_view container) {
  boost::system::error_code ec;
  json::value v = json::parse(pod_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* spec = v.get_object().if_contains("spec");
  if (spec == nullptr || !spec->is_object()) return std::nullopt;
  for (const char* field : {"containers", "initContainers", "ephemeralContainers"}) {
    const json::value* list = spec->get_object().if_contains(field);
    if (list == nullptr || !list->is_array()) continue;
    for (const json::value& c : list->get_array()) {
      if (!c.is_object()) continue;
      const json::value* name = c.get_object().if_contains("name");
      if (name == nullptr || !name->is_string() || name->get_string() != container) continue;
      const json::value* tty = c.get_object().if_contains("tty");
      return tty != nullptr && tty->is_bool() && tty->get_bool();
    }
  }
  return std::nullopt;
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
  RequestLog rlog(o.verbosity);
  auto log = [&](int level, const std::string& line) { rlog.Line(level, line); };

  // The identity check runs beside everything else: it costs the session no latency.
  std::future<Result<HttpResponse>> ssr = std::async(std::launch::async, [ep, &conn, &rlog] {
    std::string path = conn.path_prefix + "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    auto started = std::chrono::steady_clock::now();
    auto r = HttpRequest(ep, "POST", path, SelfSubjectReviewBody(), "application/json");
    // One line at every level from 6 (header lines from this thread would interleave with the
    // main thread's).
    rlog.Summary("POST", conn.server + path, r.ok() ? r->status : 0, started,
                 r.ok() ? std::string_view() : std::string_view(r.status().message()));
    return r;
  });

  // The pod is read to default the container and, for attach (as kubectl, always), to learn
  // whether the container has a TTY.
  std::string container = o.container;
  std::string pod_json;
  if (container.empty() || !exec) {
    std::string path = kube::PodPath(conn.path_prefix, conn.namespace_, o.pod);
    std::string url = conn.server + path;
    rlog.Request("GET", url, LoggedHeaders(ep, {}));
    auto started = std::chrono::steady_clock::now();
    auto pod = HttpRequest(ep, "GET", path);
    rlog.Response("GET", url, pod.ok() ? pod->status : 0, started,
                  pod.ok() ? std::string_view(pod->body) : std::string_view(),
                  pod.ok() ? std::string_view() : std::string_view(pod.status().message()));
    if (!pod.ok()) return pod.status();
    if (pod->status != 200) return StatusFromHttpError(pod->status, pod->body);
    std::string notice;
    auto chosen = ChooseContainer(pod->body, o.subresource, &notice);
    if (!chosen.ok()) return chosen.status();
    if (container.empty()) {
      container = *chosen;
      if (!notice.empty()) notices.Print(notice);
    }
    pod_json = std::move(pod->body);
  }

  std::unique_ptr<Terminal> terminal = MakePosixTerminal(0, 1);
  bool tty = o.tty;
  if (!exec) {
    // kubectl attach: the container's own setting wins.
    std::optional<bool> container_tty = ContainerTty(pod_json, container);
    if (container_tty && tty && !*container_tty) {
      notices.Print(
          fmt::format("error: Unable to use a TTY - container {} did not allocate one", container));
      tty = false;
    } else if (container_tty && !tty && *container_tty) {
      tty = true;
    }
  }
  // kubectl's SetupTTY: no TTY without stdin (silently), nor when stdin is not a terminal.
  if (!o.use_stdin) {
    tty = false;
  } else if (tty && !terminal->IsTerminal()) {
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

  // Fail closed: no store, no session. The store opens while the connection is made, and the
  // upgrade (which starts the remote command) waits for it.
  store::SessionWriter::Options writer_options;
  writer_options.sign_seal = o.sign_seal;
  std::future<Result<std::unique_ptr<store::SessionWriter>>> writer_future =
      std::async(std::launch::async, [&o, meta, writer_options] {
        return store::SessionWriter::Start(o.db_path, meta, writer_options);
      });
  std::unique_ptr<store::SessionWriter> writer;
  Status writer_status;
  auto await_writer = [&]() -> Status {
    if (writer_future.valid()) {
      auto w = writer_future.get();
      if (w.ok()) {
        writer = std::move(*w);
        if (o.fail_open) writer->SetFailOpen();
      } else {
        writer_status = Status::IOError("cannot record the session: " + w.status().message() +
                                        "; check --db or $PODTAPE_DB");
      }
    }
    return writer_status;
  };
  store::SessionEnd end;
  auto finish = [&](const Status& why) -> Status {
    end.ended_at_ns = UnixNowNs();
    if (!why.ok()) {
      end.end_reason = "error";
      end.error = why.message();
    }
    return writer->Finish(end);
  };

  std::string offer_text = codec::JoinOffer(offer);
  std::string ws_url = conn.server + target;
  rlog.Request("GET", ws_url, LoggedHeaders(ep, offer_text));
  std::string chosen_name;
  auto ws_started = std::chrono::steady_clock::now();
  auto ws_or = WsSession::Connect(ep, target, offer_text, &chosen_name, await_writer);
  rlog.Response("GET", ws_url, ws_or.ok() ? 101 : 0, ws_started, {},
                ws_or.ok() ? std::string_view() : std::string_view(ws_or.status().message()));
  PODTAPE_RETURN_IF_ERROR(await_writer());  // also when the connection failed first
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
  log(6, fmt::format("The subprotocol is {}", meta.protocol));

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
