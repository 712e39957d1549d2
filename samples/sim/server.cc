// The simulator's network side. Threads: everything runs on one io_context thread, so no state
// here is locked; concurrency comes from C++20 coroutines (one per connection, plus one per
// output stream and one reader per WebSocket session).
#include "samples/sim/server.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "recorder/channel_codec.h"
#include "samples/sim/api_json.h"
#include "samples/sim/process.h"
#include "samples/sim/tls.h"

namespace podtape::sim {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using net::awaitable;
using Request = http::request<http::string_body>;
using codec::Subprotocol;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr size_t kReadChunk = 32 * 1024;   // like Go's io.Copy buffer
constexpr size_t kMaxFrame = 32u << 20;    // golang/net/websocket DefaultMaxPayloadBytes
constexpr size_t kLogKeep = 1u << 20;      // bytes of main-process output kept for logs
constexpr size_t kSubscriberQueue = 4096;  // chunks queued per attached client

// One-shot (or counting) wake-up between coroutines of the same thread.
using Signal = net::experimental::channel<void(error_code)>;

// A FIFO mutex for coroutines: one WebSocket write in flight at a time.
class AsyncMutex {
 public:
  explicit AsyncMutex(const net::any_io_executor& ex) : token_(ex, 1) {
    token_.try_send(error_code{});
  }
  awaitable<void> Lock() { co_await token_.async_receive(kNoThrow); }
  void Unlock() { token_.try_send(error_code{}); }

 private:
  Signal token_;
};

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Go's Convert_Slice_string_To_bool: absent -> false; first value "0"/"false" (any case) ->
// false; anything else, even empty, -> true.
struct Query {
  std::multimap<std::string, std::string> values;
  bool Bool(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end()) return false;
    std::string v = it->second;
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return !(v == "0" || v == "false");
  }
  std::string Get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
  bool Has(const std::string& key) const { return values.count(key) > 0; }
  std::vector<std::string> All(const std::string& key) const {
    std::vector<std::string> out;
    for (auto [a, b] = values.equal_range(key); a != b; ++a) out.push_back(a->second);
    return out;
  }
};

struct Caller {
  std::string user;
  std::vector<std::string> groups;
  const UserConfig* config = nullptr;  // null for users the config does not know (impersonated)
};

// ---------------------------------------------------------------------------------------------
// Child processes: SIGCHLD reaping for every process the simulator starts.

class Reaper {
 public:
  explicit Reaper(net::io_context& io) : signals_(io, SIGCHLD) {}
  void Start() {
    signals_.async_wait([this](error_code ec, int) {
      if (ec) return;
      Reap();
      Start();
    });
  }
  // `on_exit` runs on the io thread with the exit code once `pid` is reaped.
  void Watch(pid_t pid, std::function<void(int)> on_exit) { waiters_[pid] = std::move(on_exit); }
  void KillAll() {
    for (const auto& [pid, cb] : waiters_) KillProcessGroup(pid);
  }
  size_t Running() const { return waiters_.size(); }

 private:
  void Reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      auto it = waiters_.find(pid);
      if (it == waiters_.end()) continue;
      auto cb = std::move(it->second);
      waiters_.erase(it);
      cb(ExitCodeFromWaitStatus(status));
    }
  }
  net::signal_set signals_;
  std::map<pid_t, std::function<void(int)>> waiters_;
};

// ---------------------------------------------------------------------------------------------
// Containers' main processes (attach and logs join them).

struct Chunk {
  uint8_t stream = 1;                       // 1 stdout, 2 stderr
  std::shared_ptr<const std::string> data;  // null: the process ended
};
using ChunkQueue = net::experimental::channel<void(error_code, Chunk)>;

struct Subscriber {
  explicit Subscriber(const net::any_io_executor& ex) : queue(ex, kSubscriberQueue) {}
  ChunkQueue queue;
  bool overflowed = false;
};

class Sim;

class MainProcess : public std::enable_shared_from_this<MainProcess> {
 public:
  MainProcess(Sim& sim, const PodConfig& pod, const ContainerConfig& c, std::string workdir)
      : sim_(sim), pod_(pod), container_(c), workdir_(std::move(workdir)) {}
  void Start();
  bool running() const { return running_; }
  const std::string& log() const { return log_; }
  const ContainerConfig& container() const { return container_; }
  void Subscribe(const std::shared_ptr<Subscriber>& s) { subscribers_.insert(s); }
  void Unsubscribe(const std::shared_ptr<Subscriber>& s) { subscribers_.erase(s); }
  awaitable<void> WriteStdin(std::string_view data);
  void Resize(codec::TerminalSize size) {
    if (container_.tty && out_) SetWindowSize(out_->native_handle(), size);
  }

 private:
  awaitable<void> Pump(net::posix::stream_descriptor& d, uint8_t stream);
  void Broadcast(Chunk chunk);
  void MaybeEnded();

  Sim& sim_;
  const PodConfig& pod_;
  const ContainerConfig& container_;
  std::string workdir_;
  bool running_ = false;
  bool exited_ = false;
  int pumps_ = 0;
  std::optional<net::posix::stream_descriptor> in_, out_, err_;
  std::unique_ptr<AsyncMutex> stdin_mutex_;
  std::set<std::shared_ptr<Subscriber>> subscribers_;
  std::string log_;
};

// ---------------------------------------------------------------------------------------------

class Sim {
 public:
  Sim(net::io_context& io, const ServerOptions& options)
      : io_(io), options_(options), config_(options.config), reaper_(io) {}

  net::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  Reaper& reaper() { return reaper_; }
  const std::string& started_at() const { return started_at_; }
  const std::string& address() const { return address_; }
  int verbosity() const { return options_.verbosity; }
  bool tls() const { return ssl_.has_value(); }

  template <typename... Args>
  void Log(int level, fmt::format_string<Args...> f, Args&&... args) {
    if (options_.verbosity >= level) {
      std::string line = fmt::format(f, std::forward<Args>(args)...);
      std::fprintf(stderr, "podtape-sim: %s\n", line.c_str());
    }
  }

  std::string WorkDir(const PodConfig& pod, const ContainerConfig& c) const {
    if (!c.workdir.empty()) return c.workdir;
    return (fs::path(runtime_dir_) / pod.namespace_name / pod.name / c.name).string();
  }
  std::map<std::string, std::string> Env(const PodConfig& pod, const ContainerConfig& c) const {
    std::map<std::string, std::string> env = c.env;
    env.emplace("HOSTNAME", pod.name);
    return env;
  }
  std::shared_ptr<MainProcess> Main(const PodConfig& pod, const ContainerConfig& c) {
    auto it = mains_.find(pod.namespace_name + "/" + pod.name + "/" + c.name);
    return it == mains_.end() ? nullptr : it->second;
  }

  Status Setup();
  awaitable<void> Accept(tcp::acceptor acceptor);
  void Shutdown();

 private:
  net::io_context& io_;
  const ServerOptions& options_;
  const Config& config_;
  Reaper reaper_;
  std::string started_at_ = NowRfc3339();
  std::string runtime_dir_;
  bool own_runtime_dir_ = false;
  std::map<std::string, std::shared_ptr<MainProcess>> mains_;

 public:
  // Set by RunServer before Setup().
  std::optional<net::ssl::context> ssl_;
  std::string address_;
};

void MainProcess::Start() {
  SpawnOptions o;
  o.argv = container_.command.empty() ? std::vector<std::string>{"sleep", "infinity"}
                                      : container_.command;
  o.cwd = workdir_;
  o.env = sim_.Env(pod_, container_);
  o.tty = container_.tty;
  o.want_stdin = container_.stdin;
  o.want_stdout = true;
  o.want_stderr = true;
  auto child = Spawn(o);
  if (!child.ok()) {
    sim_.Log(0, "container {}/{}: {}", pod_.name, container_.name, child.status().message());
    return;
  }
  auto ex = sim_.io().get_executor();
  running_ = true;
  exited_ = false;
  if (child->stdin_fd >= 0) in_.emplace(ex, child->stdin_fd);
  if (child->stdout_fd >= 0) out_.emplace(ex, child->stdout_fd);
  if (child->stderr_fd >= 0) err_.emplace(ex, child->stderr_fd);
  if (!stdin_mutex_) stdin_mutex_ = std::make_unique<AsyncMutex>(ex);
  auto self = shared_from_this();
  pumps_ = 0;
  if (out_) {
    ++pumps_;
    net::co_spawn(ex, Pump(*out_, 1), net::detached);
  }
  if (err_) {
    ++pumps_;
    net::co_spawn(ex, Pump(*err_, 2), net::detached);
  }
  sim_.reaper().Watch(child->pid, [self](int code) {
    self->sim_.Log(1, "container {}/{} main process exited with {}", self->pod_.name,
                   self->container_.name, code);
    self->exited_ = true;
    self->MaybeEnded();
  });
}

awaitable<void> MainProcess::Pump(net::posix::stream_descriptor& d, uint8_t stream) {
  auto self = shared_from_this();
  for (;;) {
    auto buf = std::make_shared<std::string>(kReadChunk, '\0');
    auto [ec, n] = co_await d.async_read_some(net::buffer(buf->data(), buf->size()), kNoThrow);
    if (ec) break;  // EOF, or EIO once every holder of the PTY's slave side is gone
    buf->resize(n);
    log_.append(*buf);
    if (log_.size() > 2 * kLogKeep) log_.erase(0, log_.size() - kLogKeep);
    Broadcast(Chunk{stream, std::move(buf)});
  }
  --pumps_;
  MaybeEnded();
}

void MainProcess::Broadcast(Chunk chunk) {
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    if (!(*it)->queue.try_send(error_code{}, chunk)) {
      // A client that does not keep up loses the session rather than slowing the others.
      (*it)->overflowed = true;
      (*it)->queue.close();
      it = subscribers_.erase(it);
    } else {
      ++it;
    }
  }
}

void MainProcess::MaybeEnded() {
  if (!exited_ || pumps_ > 0 || !running_) return;
  running_ = false;
  in_.reset();
  out_.reset();
  err_.reset();
  Broadcast(Chunk{1, nullptr});
  subscribers_.clear();
  // restartPolicy Always: the container comes back a second later.
  auto timer = std::make_shared<net::steady_timer>(sim_.io(), std::chrono::seconds(1));
  timer->async_wait([self = shared_from_this(), timer](error_code ec) {
    if (!ec) self->Start();
  });
}

awaitable<void> MainProcess::WriteStdin(std::string_view data) {
  if (!stdin_mutex_) co_return;
  auto self = shared_from_this();
  co_await stdin_mutex_->Lock();
  if (in_) {
    auto [ec, n] = co_await net::async_write(*in_, net::buffer(data.data(), data.size()), kNoThrow);
    (void)n;
    if (ec) sim_.Log(1, "container {}: stdin: {}", container_.name, ec.message());
  }
  stdin_mutex_->Unlock();
}

// ---------------------------------------------------------------------------------------------
// WebSocket sessions (exec, attach), for plain and TLS streams alike.

struct StreamRequest {
  bool attach = false;
  const PodConfig* pod = nullptr;
  const ContainerConfig* container = nullptr;
  std::vector<std::string> command;
  bool stdin = false, stdout = false, stderr = false, tty = false;
};

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  WsSession(Sim& sim, websocket::stream<Stream> ws, Subprotocol proto, StreamRequest req)
      : sim_(sim),
        ws_(std::move(ws)),
        proto_(proto),
        req_(std::move(req)),
        write_mutex_(ws_.get_executor()),
        exited_signal_(ws_.get_executor(), 1),
        outputs_done_(ws_.get_executor(), 2),
        client_gone_signal_(ws_.get_executor(), 1),
        read_done_(ws_.get_executor(), 1),
        first_resize_(ws_.get_executor()) {}

  awaitable<void> Run();

 private:
  // Sends one message on `channel`; false once the client is gone.
  awaitable<bool> Send(uint8_t channel, std::string_view payload);
  // Sends pre-encoded bytes as one frame of the given type (hostile mode).
  awaitable<bool> SendRaw(std::string_view bytes, bool text);
  // The end of a session as golang/net/websocket does it: close 1000, then drop TCP at once.
  awaitable<void> CloseNormally();
  void DropConnection();
  awaitable<void> SendReady();
  awaitable<void> ReadLoop();
  awaitable<void> PumpOutput(net::posix::stream_descriptor& d, uint8_t channel);
  awaitable<void> RunExec();
  awaitable<void> RunAttach();
  awaitable<void> RunHostile();
  awaitable<void> WaitClientGone() { co_await client_gone_signal_.async_receive(kNoThrow); }
  void OnStdinClosed() {
    if (!req_.tty) in_.reset();  // EOF for a pipe; a PTY has no stdin of its own to close
  }
  std::string FailureStatus(std::string_view err) const {
    if (codec::HasJsonStatus(proto_)) return InternalErrorStatusJson(err);
    return fmt::format("Internal error occurred: {}", err);
  }

  Sim& sim_;
  websocket::stream<Stream> ws_;
  Subprotocol proto_;
  StreamRequest req_;
  AsyncMutex write_mutex_;
  std::string encode_scratch_;  // base64 output; guarded by write_mutex_
  bool socket_closed_ = false;
  bool client_gone_ = false;  // the client closed or the connection failed
  bool finished_ = false;     // the session's end has been sent
  bool reading_ = false;      // ReadLoop runs; it sends read_done_ when it ends
  // exec
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = 0;
  Signal exited_signal_;
  Signal outputs_done_;
  Signal client_gone_signal_;
  Signal read_done_;
  std::optional<net::posix::stream_descriptor> in_, out_, err_;
  bool resize_enabled_ = true;
  // A tty exec waits (up to 1 s) for the client's first resize, which kubectl sends right after the
  // upgrade, so the process starts with the client's size as it does on a real node.
  net::steady_timer first_resize_;
  std::optional<codec::TerminalSize> initial_size_;
  // attach
  std::shared_ptr<MainProcess> main_;
  std::shared_ptr<Subscriber> subscriber_;
};

template <class Stream>
awaitable<bool> WsSession<Stream>::Send(uint8_t channel, std::string_view payload) {
  co_await write_mutex_.Lock();
  bool ok = false;
  if (!socket_closed_) {
    error_code ec;
    if (codec::IsBase64(proto_)) {
      encode_scratch_.clear();
      codec::EncodeMessage(proto_, channel, payload, &encode_scratch_);
      ws_.text(true);
      std::tie(ec, std::ignore) = co_await ws_.async_write(net::buffer(encode_scratch_), kNoThrow);
    } else {
      ws_.binary(true);
      const char ch = static_cast<char>(channel);
      std::array<net::const_buffer, 2> bufs{net::buffer(&ch, 1),
                                            net::buffer(payload.data(), payload.size())};
      std::tie(ec, std::ignore) = co_await ws_.async_write(bufs, kNoThrow);
    }
    ok = !ec;
    if (ec) sim_.Log(2, "write: {}", ec.message());
  }
  write_mutex_.Unlock();
  co_return ok;
}

template <class Stream>
awaitable<bool> WsSession<Stream>::SendRaw(std::string_view bytes, bool text) {
  co_await write_mutex_.Lock();
  bool ok = false;
  if (!socket_closed_) {
    ws_.text(text);
    auto [ec, n] = co_await ws_.async_write(net::buffer(bytes.data(), bytes.size()), kNoThrow);
    ok = !ec;
  }
  write_mutex_.Unlock();
  co_return ok;
}

template <class Stream>
awaitable<void> WsSession<Stream>::CloseNormally() {
  auto self = this->shared_from_this();
  co_await write_mutex_.Lock();
  finished_ = true;
  auto& lowest = beast::get_lowest_layer(ws_);
  if (reading_ && !socket_closed_) {
    // Beast's pending read may itself be writing (a pong, or its reply to the client's own
    // close), and the raw write below must be the stream's only write: end the read and wait
    // for ReadLoop to end (it starts no new read once finished_ is set). A client flooding
    // pings keeps that read going past a cancel: after 200 ms the receive side is shut too.
    error_code ec;
    lowest.socket().cancel(ec);
    net::steady_timer flood(ws_.get_executor(), std::chrono::milliseconds(200));
    flood.async_wait([self](error_code e) {
      if (e || !self->reading_) return;
      error_code ignored;
      auto& socket = beast::get_lowest_layer(self->ws_).socket();
      socket.shutdown(tcp::socket::shutdown_receive, ignored);
      socket.cancel(ignored);
    });
    co_await read_done_.async_receive(kNoThrow);
    flood.cancel();
  }
  if (!socket_closed_) {
    // An unmasked close frame with code 1000 and no reason, written below Beast (which would
    // wait for the client's reply), and the connection ends at once: FIN follows the frame.
    static constexpr char kCloseFrame[4] = {'\x88', '\x02', '\x03', '\xe8'};
    auto [ec, n] =
        co_await net::async_write(ws_.next_layer(), net::buffer(kCloseFrame, 4), kNoThrow);
    (void)n;
    if (!ec) {
      // What the client still sends (stdin it wrote before it saw the end, its close reply) is
      // read and dropped, up to a second, before the socket is closed: closing it unread would
      // reset the connection, and a reset can destroy the status and close frame still unread
      // on the client's side.
      lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
      lowest.expires_after(std::chrono::seconds(1));
      std::array<char, 4096> sink;
      for (;;) {
        auto [rec, rn] = co_await lowest.async_read_some(net::buffer(sink), kNoThrow);
        (void)rn;
        if (rec) break;
      }
      lowest.expires_never();
    }
    DropConnection();
  }
  write_mutex_.Unlock();
}

template <class Stream>
void WsSession<Stream>::DropConnection() {
  finished_ = true;
  if (socket_closed_) return;
  socket_closed_ = true;
  error_code ec;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).socket().close(ec);
}

template <class Stream>
awaitable<void> WsSession<Stream>::SendReady() {
  // One empty message on the lowest writable channel (PROTOCOL.md 3.1).
  uint8_t channel = req_.stdout ? 1 : (req_.stderr && !req_.tty) ? 2 : 3;
  co_await Send(channel, {});
}

template <class Stream>
awaitable<void> WsSession<Stream>::ReadLoop() {
  auto self = this->shared_from_this();
  beast::flat_buffer buffer;
  std::string scratch;
  codec::ResizeStreamParser resize_parser;
  std::vector<codec::TerminalSize> sizes;
  reading_ = true;
  for (;;) {
    if (finished_) break;
    auto [ec, n] = co_await ws_.async_read(buffer, kNoThrow);
    if (ec) {
      if (!finished_) sim_.Log(1, "client gone: {}", ec.message());
      break;
    }
    std::string_view msg(static_cast<const char*>(buffer.cdata().data()), buffer.size());
    // The v5 close signal; a malformed one drops the connection (PROTOCOL.md 2.5).
    if (proto_ == Subprotocol::kV5 && !msg.empty() && static_cast<uint8_t>(msg[0]) == 0xFF) {
      if (!codec::ValidateClose(msg).ok()) {
        sim_.Log(1, "bad close message; dropping the connection");
        break;
      }
      const uint8_t closed = static_cast<uint8_t>(msg[1]);
      sim_.Log(2, "close signal for channel {}", closed);
      if (closed == codec::kStdin) {
        if (!req_.attach) OnStdinClosed();
      } else if (closed == codec::kResize) {
        resize_enabled_ = false;
      }
      buffer.consume(buffer.size());
      continue;
    }
    codec::DecodedMessage m;
    const auto type = ws_.got_text() ? codec::FrameType::kText : codec::FrameType::kBinary;
    Status st = codec::DecodeMessage(proto_, codec::Sender::kClient, type, msg, &scratch, &m);
    if (!st.ok()) {
      // As the Go server: unknown channels and undecodable base64 are dropped.
      sim_.Log(1, "ignored client message: {}", st.message());
      buffer.consume(buffer.size());
      continue;
    }
    sim_.Log(2, "client message on channel {} ({} bytes)", m.channel, m.payload.size());
    if (m.channel == codec::kStdin && req_.stdin) {
      if (req_.attach) {
        if (main_ && req_.container->stdin) co_await main_->WriteStdin(m.payload);
      } else if (in_) {
        auto [wec, wn] = co_await net::async_write(
            *in_, net::buffer(m.payload.data(), m.payload.size()), kNoThrow);
        (void)wn;
        if (wec) in_.reset();
      }
    } else if (m.channel == codec::kResize && resize_enabled_) {
      sizes.clear();
      if (resize_parser.Feed(m.payload, &sizes).ok()) {
        for (const auto& size : sizes) {
          sim_.Log(2, "resize {}x{}", size.width, size.height);
          if (!req_.tty) continue;
          if (req_.attach) {
            if (main_) main_->Resize(size);
          } else if (out_) {
            SetWindowSize(out_->native_handle(), size);
          } else {
            initial_size_ = size;
            first_resize_.cancel();
          }
        }
      } else {
        resize_enabled_ = false;  // the Go server stops resize handling at the first bad object
      }
    }
    buffer.consume(buffer.size());
  }
  client_gone_ = true;
  if (!finished_) {
    // The client left before the end: nothing may be left running for it.
    if (!req_.attach && pid_ > 0 && !reaped_) KillProcessGroup(pid_);
    DropConnection();
  }
  in_.reset();
  if (subscriber_) subscriber_->queue.close();
  first_resize_.cancel();
  client_gone_signal_.try_send(error_code{});
  reading_ = false;
  read_done_.try_send(error_code{});
}

template <class Stream>
awaitable<void> WsSession<Stream>::PumpOutput(net::posix::stream_descriptor& d, uint8_t channel) {
  auto self = this->shared_from_this();
  std::array<char, kReadChunk> buf;
  bool deliver = true;
  for (;;) {
    auto [ec, n] = co_await d.async_read_some(net::buffer(buf), kNoThrow);
    if (ec) break;  // EOF; EIO on a PTY whose slave side is closed
    // After the client is gone, output is drained and discarded so the process never blocks.
    if (deliver) deliver = co_await Send(channel, std::string_view(buf.data(), n));
  }
  outputs_done_.try_send(error_code{});
}

template <class Stream>
awaitable<void> WsSession<Stream>::RunExec() {
  auto self = this->shared_from_this();
  auto ex = ws_.get_executor();
  co_await SendReady();
  net::co_spawn(ex, ReadLoop(), net::detached);
  if (req_.tty) {
    first_resize_.expires_after(std::chrono::seconds(1));
    co_await first_resize_.async_wait(kNoThrow);
    if (client_gone_) co_return;
  }

  SpawnOptions o;
  o.argv = req_.command;
  o.cwd = sim_.WorkDir(*req_.pod, *req_.container);
  o.env = sim_.Env(*req_.pod, *req_.container);
  o.tty = req_.tty;
  if (initial_size_) o.size = *initial_size_;
  o.want_stdin = req_.stdin;
  o.want_stdout = req_.stdout;
  o.want_stderr = req_.stderr;
  auto child = Spawn(o);
  if (!child.ok()) {
    std::string err =
        "error executing command in container: failed to exec in container: "
        "failed to start exec: " +
        child.status().message();
    co_await Send(codec::kError, FailureStatus(err));
    co_await CloseNormally();
    co_return;
  }
  pid_ = child->pid;
  sim_.Log(1, "exec pid {} in {}/{}: {}", pid_, req_.pod->name, req_.container->name,
           fmt::join(req_.command, " "));
  if (child->stdin_fd >= 0) in_.emplace(ex, child->stdin_fd);
  if (child->stdout_fd >= 0) out_.emplace(ex, child->stdout_fd);
  if (child->stderr_fd >= 0) err_.emplace(ex, child->stderr_fd);
  if (req_.tty && !req_.stdin) in_.reset();
  sim_.reaper().Watch(pid_, [self](int code) {
    self->reaped_ = true;
    self->exit_code_ = code;
    self->exited_signal_.try_send(error_code{});
  });
  int pumps = 0;
  if (out_ && (req_.stdout || req_.tty)) {
    ++pumps;
    net::co_spawn(ex, PumpOutput(*out_, codec::kStdout), net::detached);
  }
  if (err_) {
    ++pumps;
    net::co_spawn(ex, PumpOutput(*err_, codec::kStderr), net::detached);
  }
  for (int i = 0; i < pumps; ++i) co_await outputs_done_.async_receive(kNoThrow);
  co_await exited_signal_.async_receive(kNoThrow);
  sim_.Log(1, "exec pid {} exited with {}", pid_, exit_code_);
  if (!client_gone_) {
    std::string status;
    if (proto_ == Subprotocol::kV5) {
      status = exit_code_ == 0 ? SuccessStatusJson()
                               : ExitCodeStatusJson(exit_code_, true, req_.command);
    } else if (codec::HasJsonStatus(proto_)) {
      status = exit_code_ == 0 ? SuccessStatusJson()
                               : ExitCodeStatusJson(exit_code_, false, req_.command);
    } else if (exit_code_ != 0) {
      status = ExitCodeText(exit_code_, req_.command);
    }
    if (!status.empty()) co_await Send(codec::kError, status);
    co_await CloseNormally();
  }
  in_.reset();
  out_.reset();
  err_.reset();
}

template <class Stream>
awaitable<void> WsSession<Stream>::RunAttach() {
  auto self = this->shared_from_this();
  auto ex = ws_.get_executor();
  main_ = sim_.Main(*req_.pod, *req_.container);
  co_await SendReady();
  if (!main_ || !main_->running()) {
    co_await Send(codec::kError,
                  FailureStatus(fmt::format("container {} is not running; try again in a second",
                                            req_.container->name)));
    co_await CloseNormally();
    co_return;
  }
  subscriber_ = std::make_shared<Subscriber>(ex);
  main_->Subscribe(subscriber_);
  net::co_spawn(ex, ReadLoop(), net::detached);
  bool ended = false;
  for (;;) {
    auto [ec, chunk] = co_await subscriber_->queue.async_receive(kNoThrow);
    if (ec || client_gone_) break;
    if (!chunk.data) {
      ended = true;
      break;
    }
    if ((chunk.stream == 1 && req_.stdout) || (chunk.stream == 2 && req_.stderr)) {
      if (!co_await Send(chunk.stream, *chunk.data)) break;
    }
  }
  main_->Unsubscribe(subscriber_);
  if (ended && !client_gone_) {
    // attach never carries an exit code (PROTOCOL.md 3.2).
    if (codec::HasJsonStatus(proto_)) co_await Send(codec::kError, SuccessStatusJson());
    co_await CloseNormally();
  } else if (!client_gone_) {
    sim_.Log(1, "attach client too slow; dropping it");
    DropConnection();
  }
}

template <class Stream>
awaitable<void> WsSession<Stream>::RunHostile() {
  auto self = this->shared_from_this();
  const std::string& mode = req_.pod->hostile;
  sim_.Log(1, "hostile session: {}", mode);
  co_await SendReady();
  net::co_spawn(ws_.get_executor(), ReadLoop(), net::detached);
  const bool base64 = codec::IsBase64(proto_);
  if (mode == "garbage") {
    co_await SendRaw({}, base64);  // an empty message: not even a channel byte
    std::string junk(64, '\0');
    uint32_t x = 2463534242u;
    for (auto& c : junk) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      c = static_cast<char>(x);
    }
    junk[0] = '\xfe';
    co_await SendRaw(junk, false);
    co_await Send(codec::kStdout, "after garbage\n");
  } else if (mode == "unknown-channel") {
    if (base64) {
      co_await SendRaw("7dW5rbm93biBjaGFubmVs", true);
    } else {
      co_await SendRaw(std::string("\x07unknown channel", 16), false);
    }
    co_await Send(codec::kStdout, "after unknown channel\n");
  } else if (mode == "oversize") {
    co_await Send(codec::kStdout, std::string(40u << 20, 'x'));
  } else if (mode == "bad-base64") {
    if (base64) {
      co_await SendRaw("1!!!not base64!!!", true);
    } else {
      co_await Send(codec::kStdout, "bad-base64 needs a base64 subprotocol\n");
    }
  } else if (mode == "bad-status") {
    co_await Send(codec::kStdout, "before a malformed status\n");
    co_await Send(codec::kError, R"({"metadata":{},"status":"Fail)");
    co_await CloseNormally();
    co_return;
  } else if (mode == "text-frame") {
    if (base64) {
      co_await SendRaw(std::string("\x01text data in a binary frame", 28), false);
    } else {
      co_await SendRaw("1text frame on a binary protocol", true);
    }
    co_await Send(codec::kStdout, "after the text frame\n");
  } else if (mode == "drop") {
    co_await Send(codec::kStdout, "partial output, then the connection drops\n");
    DropConnection();
    co_return;
  } else if (mode == "stall") {
    co_await Send(codec::kStdout, "stalling\n");
    co_await WaitClientGone();
    co_return;
  } else if (mode == "no-close") {
    co_await Send(codec::kStdout, "no close frame follows\n");
    if (codec::HasJsonStatus(proto_)) co_await Send(codec::kError, SuccessStatusJson());
    co_await WaitClientGone();
    co_return;
  }
  if (codec::HasJsonStatus(proto_)) co_await Send(codec::kError, SuccessStatusJson());
  co_await CloseNormally();
}

template <class Stream>
awaitable<void> WsSession<Stream>::Run() {
  ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                 websocket::stream_base::none(), false});
  ws_.read_message_max(kMaxFrame);
  ws_.auto_fragment(false);  // one message = one frame, as the Go servers write
  if (!req_.pod->hostile.empty()) {
    co_await RunHostile();
  } else if (req_.attach) {
    co_await RunAttach();
  } else if (!req_.stdin && !req_.stdout && !req_.stderr) {
    // The kubelet's check; through the v5 translator it arrives after the upgrade.
    const std::string_view message = "you must specify at least 1 of stdin, stdout, stderr";
    std::string status = codec::HasJsonStatus(proto_)
                             ? FailureStatusJson(400, "BadRequest", message)
                             : std::string(message);
    co_await SendReady();
    co_await Send(codec::kError, status);
    co_await CloseNormally();
  } else {
    co_await RunExec();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

template <class Stream>
awaitable<bool> Reply(Stream& stream, const Request& req, http::status status, std::string body,
                      std::string_view content_type = "application/json") {
  http::response<http::string_body> res{status, req.version()};
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache, private");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
  co_return !ec;
}

template <class Stream>
awaitable<bool> ReplyStatus(Stream& stream, const Request& req, int code, std::string_view reason,
                            std::string_view message, std::string_view name = {},
                            std::string_view kind = {}) {
  co_return co_await Reply(stream, req, static_cast<http::status>(code),
                           ErrorStatusJson(code, reason, message, name, kind));
}

enum class Outcome { kContinue, kClose, kTaken };

bool HeaderHasToken(const Request& req, http::field f, std::string_view token) {
  std::string v(req[f]);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v.find(token) != std::string::npos;
}

// The bearer token carried in a base64url.bearer.authorization.k8s.io.<token> subprotocol entry.
std::optional<std::string> ProtocolBearer(std::string_view header) {
  constexpr std::string_view kPrefix = "base64url.bearer.authorization.k8s.io.";
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view e =
        header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    if (e.starts_with(kPrefix)) {
      std::string b64(e.substr(kPrefix.size()));
      for (auto& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
      while (b64.size() % 4) b64 += '=';
      std::string token;
      if (codec::Base64Decode(b64, &token)) return token;
      return std::string();
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::nullopt;
}

// Authentication as the API server's union authenticator (client certificate, then bearer
// token). Over plain HTTP without a token, the configured HTTP user.
std::optional<Caller> Authenticate(Sim& sim, const Request& req, const CertIdentity* cert) {
  const Config& cfg = sim.config();
  auto with_auth_group = [](std::vector<std::string> g) {
    g.push_back("system:authenticated");
    return g;
  };
  if (cert) {
    return Caller{cert->user, with_auth_group(cert->groups), cfg.FindUser(cert->user)};
  }
  std::optional<std::string> token;
  std::string_view auth = req[http::field::authorization];
  if (auth.size() > 7 && (auth.starts_with("Bearer ") || auth.starts_with("bearer "))) {
    token = std::string(auth.substr(7));
  } else if (auto t = ProtocolBearer(req[http::field::sec_websocket_protocol])) {
    token = *t;
  }
  if (token) {
    for (const auto& u : cfg.users) {
      if (!u.token.empty() && u.token == *token)
        return Caller{u.name, with_auth_group(u.groups), &u};
    }
    return std::nullopt;
  }
  if (!sim.tls() && !cfg.http_user.empty()) {
    const UserConfig* u = cfg.FindUser(cfg.http_user);
    return Caller{u->name, with_auth_group(u->groups), u};
  }
  return std::nullopt;
}

template <class Stream>
awaitable<Outcome> HandleStream(Sim& sim, Stream& stream, Request& req, const Caller& caller,
                                const PodConfig* pod, std::string_view pod_name,
                                std::string_view ns, std::string_view sub, const Query& q) {
  const bool spdy =
      req.method() == http::verb::post && HeaderHasToken(req, http::field::upgrade, "spdy");
  const bool ws_upgrade = HeaderHasToken(req, http::field::upgrade, "websocket");
  const std::string verb = req.method() == http::verb::post ? "create" : "get";
  auto done = [&](bool ok) {
    return ok && req.keep_alive() ? Outcome::kContinue : Outcome::kClose;
  };
  if (!caller.config || !caller.config->exec) {
    co_return done(co_await ReplyStatus(
        stream, req, 403, "Forbidden",
        fmt::format("pods \"{}\" is forbidden: User \"{}\" cannot {} resource \"pods/{}\" in API "
                    "group \"\" in the namespace \"{}\"",
                    pod_name, caller.user, verb, sub, ns),
        pod_name, "pods"));
  }
  if (!pod) {
    co_return done(co_await ReplyStatus(stream, req, 404, "NotFound",
                                        fmt::format("pods \"{}\" not found", pod_name), pod_name,
                                        "pods"));
  }
  StreamRequest r;
  r.attach = sub == "attach";
  r.pod = pod;
  std::string container = q.Get("container");
  if (container.empty()) {
    if (pod->containers.size() != 1) {
      std::vector<std::string> names;
      for (const auto& c : pod->containers) names.push_back(c.name);
      co_return done(co_await ReplyStatus(
          stream, req, 400, "BadRequest",
          fmt::format("a container name must be specified for pod {}, choose one of: [{}]",
                      pod->name, fmt::join(names, " "))));
    }
    r.container = &pod->containers[0];
  } else {
    for (const auto& c : pod->containers) {
      if (c.name == container) r.container = &c;
    }
    if (!r.container) {
      co_return done(co_await ReplyStatus(
          stream, req, 400, "BadRequest",
          fmt::format("container {} is not valid for pod {}", container, pod->name)));
    }
  }
  if (!ws_upgrade && !spdy) {
    co_return done(
        co_await ReplyStatus(stream, req, 400, "BadRequest", "Upgrade request required"));
  }
  if (pod->phase != "Running") {
    co_return done(co_await ReplyStatus(
        stream, req, 400, "BadRequest",
        fmt::format("unable to upgrade connection: container not found (\"{}\")",
                    r.container->name)));
  }
  if (spdy) {
    co_return done(co_await ReplyStatus(
        stream, req, 400, "BadRequest",
        "podtape-sim serves exec and attach over WebSocket only (SPDY is not supported): use "
        "kubectl 1.30 or newer and leave KUBECTL_REMOTE_COMMAND_WEBSOCKETS unset"));
  }
  if (req.method() != http::verb::get) {
    co_return done(co_await Reply(stream, req, http::status::method_not_allowed, "", ""));
  }
  r.command = q.All("command");
  r.stdin = q.Bool("stdin");
  r.stdout = q.Bool("stdout");
  r.stderr = q.Bool("stderr");
  r.tty = q.Bool("tty");
  if (r.tty) r.stderr = false;  // the runtime drops stderr with a TTY (PROTOCOL.md 4.3)
  if (r.attach && r.tty && !r.container->tty) r.tty = false;
  if (!r.attach && r.command.empty()) {
    co_return done(co_await ReplyStatus(stream, req, 400, "BadRequest",
                                        "you must specify at least one command for the container"));
  }
  auto proto = codec::ChooseServerProtocol(req[http::field::sec_websocket_protocol],
                                           sim.config().websocket_v5);
  if (!proto) {
    // golang/net/websocket: no acceptable subprotocol -> 403 with an empty body.
    sim.Log(1, "no acceptable subprotocol in \"{}\"",
            std::string(req[http::field::sec_websocket_protocol]));
    co_await Reply(stream, req, http::status::forbidden, "", "");
    co_return Outcome::kClose;
  }
  if (!websocket::is_upgrade(req)) {
    co_await Reply(stream, req, http::status::bad_request, "websocket: invalid upgrade request",
                   "text/plain; charset=utf-8");
    co_return Outcome::kClose;
  }
  beast::get_lowest_layer(stream).expires_never();
  websocket::stream<Stream> ws(std::move(stream));
  const std::string chosen(codec::SubprotocolName(*proto));
  ws.set_option(websocket::stream_base::decorator([chosen](websocket::response_type& res) {
    if (!chosen.empty()) res.set(http::field::sec_websocket_protocol, chosen);
  }));
  auto [ec] = co_await ws.async_accept(req, kNoThrow);
  if (ec) {
    sim.Log(1, "websocket accept: {}", ec.message());
    co_return Outcome::kTaken;
  }
  sim.Log(1, "{} {}/{}/{} as {} over {}", r.attach ? "attach" : "exec", ns, pod->name,
          r.container->name, caller.user, chosen.empty() ? "(no subprotocol)" : chosen);
  auto session = std::make_shared<WsSession<Stream>>(sim, std::move(ws), *proto, std::move(r));
  co_await session->Run();
  co_return Outcome::kTaken;
}

// Streams a chunked body: `initial`, then what the subscriber receives until the process ends.
template <class Stream>
awaitable<void> StreamLogs(Sim& sim, Stream& stream, const Request& req,
                           std::shared_ptr<MainProcess> main, std::string initial) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain");
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
  if (ec) co_return;
  if (!initial.empty()) {
    std::tie(ec, n) =
        co_await net::async_write(stream, http::make_chunk(net::buffer(initial)), kNoThrow);
    if (ec) co_return;
  }
  if (!main->running()) {
    co_await net::async_write(stream, http::make_chunk_last(), kNoThrow);
    co_return;
  }
  auto sub = std::make_shared<Subscriber>(stream.get_executor());
  main->Subscribe(sub);
  for (;;) {
    auto [rec, chunk] = co_await sub->queue.async_receive(kNoThrow);
    if (rec || !chunk.data) break;
    std::tie(ec, n) =
        co_await net::async_write(stream, http::make_chunk(net::buffer(*chunk.data)), kNoThrow);
    if (ec) break;
  }
  main->Unsubscribe(sub);
  if (!ec) co_await net::async_write(stream, http::make_chunk_last(), kNoThrow);
  (void)sim;
}

// A watch: ADDED for every pod, then nothing until timeoutSeconds or the client leaves.
template <class Stream>
awaitable<void> StreamWatch(Sim& sim, Stream& stream, const Request& req,
                            const std::vector<const PodConfig*>& pods, int timeout_s) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
  if (ec) co_return;
  for (const PodConfig* p : pods) {
    std::string line = WatchEventJson(*p, sim.started_at());
    std::tie(ec, n) =
        co_await net::async_write(stream, http::make_chunk(net::buffer(line)), kNoThrow);
    if (ec) co_return;
  }
  auto timer =
      std::make_shared<net::steady_timer>(stream.get_executor(), std::chrono::seconds(timeout_s));
  auto probe = std::make_shared<std::array<char, 64>>();
  // Any read result (EOF, reset) means the client has gone; stop waiting then.
  stream.async_read_some(net::buffer(*probe),
                         [timer, probe](error_code, size_t) { timer->cancel(); });
  co_await timer->async_wait(kNoThrow);
  co_await net::async_write(stream, http::make_chunk_last(), kNoThrow);
}

std::string NamespaceJson(const std::string& name) {
  boost::json::object ns{{"kind", "Namespace"},
                         {"apiVersion", "v1"},
                         {"metadata", boost::json::object{{"name", name}}},
                         {"status", boost::json::object{{"phase", "Active"}}}};
  return boost::json::serialize(ns);
}

// The last `tail` lines of `log` (all of it when `tail` is empty or negative), as tailLines.
std::string TailLines(const std::string& log, const std::string& tail) {
  if (tail.empty() || tail[0] == '-') return log;
  long n = std::atol(tail.c_str());
  if (n <= 0) return "";
  // Walk back over n line ends; the final '\n' ends the last line rather than starting one.
  size_t pos = log.size();
  if (pos > 0 && log[pos - 1] == '\n') --pos;
  while (pos > 0) {
    size_t nl = log.rfind('\n', pos - 1);
    if (nl == std::string::npos) return log;
    if (--n == 0) return log.substr(nl + 1);
    pos = nl;
  }
  return log;
}

std::vector<std::string> PathSegments(const boost::urls::url_view& u) {
  std::vector<std::string> segs;
  for (auto s : u.segments()) segs.push_back(s);
  while (!segs.empty() && segs.back().empty()) segs.pop_back();
  return segs;
}

// The parts of a request the router needs, parsed outside coroutines.
struct ParsedRequest {
  bool ok = false;
  std::vector<std::string> segs;
  Query query;
  std::string as_user;
  std::vector<std::string> as_groups;
  bool table = false;
};

ParsedRequest Parse(const Request& req) {
  ParsedRequest r;
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) return r;
  r.ok = true;
  r.segs = PathSegments(*parsed);
  for (auto p : parsed->params()) {
    r.query.values.emplace(p.key, p.has_value ? std::string(p.value) : std::string());
  }
  r.as_user = std::string(req["Impersonate-User"]);
  for (auto [a, b] = req.equal_range("Impersonate-Group"); a != b; ++a) {
    r.as_groups.emplace_back(a->value());
  }
  r.table = HeaderHasToken(req, http::field::accept, "as=table");
  return r;
}

// Which document a path names. A plain function: GCC 12 miscompiles brace lists in coroutines.
enum class Route {
  kOther,
  kVersion,
  kApi,
  kApis,
  kApiV1,
  kAuthV1,
  kSelfSubjectReview,
  kPodsAll,
  kPodsNs,
  kNamespace
};

Route Classify(const std::vector<std::string>& segs) {
  auto is = [&](std::initializer_list<std::string_view> want) {
    if (segs.size() != want.size()) return false;
    size_t i = 0;
    for (auto w : want) {
      if (w != "*" && segs[i] != w) return false;
      ++i;
    }
    return true;
  };
  if (is({"version"})) return Route::kVersion;
  if (is({"api"})) return Route::kApi;
  if (is({"apis"})) return Route::kApis;
  if (is({"api", "v1"})) return Route::kApiV1;
  if (is({"apis", "authentication.k8s.io", "v1"})) return Route::kAuthV1;
  if (is({"apis", "authentication.k8s.io", "v1", "selfsubjectreviews"})) {
    return Route::kSelfSubjectReview;
  }
  if (is({"api", "v1", "pods"})) return Route::kPodsAll;
  if (is({"api", "v1", "namespaces", "*", "pods"})) return Route::kPodsNs;
  if (is({"api", "v1", "namespaces", "*"})) return Route::kNamespace;
  return Route::kOther;
}

template <class Stream>
awaitable<Outcome> Handle(Sim& sim, Stream& stream, Request& req, const CertIdentity* cert) {
  auto done = [&](bool ok) {
    return ok && req.keep_alive() ? Outcome::kContinue : Outcome::kClose;
  };
  ParsedRequest parsed = Parse(req);
  if (!parsed.ok) {
    co_return done(co_await ReplyStatus(stream, req, 400, "BadRequest", "invalid request target"));
  }
  const std::vector<std::string>& segs = parsed.segs;
  const Query& q = parsed.query;
  sim.Log(1, "{} {}{}", std::string(req.method_string()), std::string(req.target()),
          websocket::is_upgrade(req) ? " (websocket)" : "");

  std::optional<Caller> caller = Authenticate(sim, req, cert);
  if (!caller) {
    co_return done(co_await ReplyStatus(stream, req, 401, "Unauthorized", "Unauthorized"));
  }
  // Impersonation (Impersonate-User / Impersonate-Group), as the API server's filter does.
  std::string as_user = parsed.as_user;
  std::vector<std::string> as_groups = parsed.as_groups;
  if (!as_user.empty() || !as_groups.empty()) {
    const bool allowed = caller->config && caller->config->impersonate;
    if (!allowed) {
      const bool user = !as_user.empty();
      const std::string& name = user ? as_user : as_groups.front();
      co_return done(co_await ReplyStatus(
          stream, req, 403, "Forbidden",
          fmt::format("{} \"{}\" is forbidden: User \"{}\" cannot impersonate resource \"{}\" in "
                      "API group \"\" at the cluster scope",
                      user ? "users" : "groups", name, caller->user, user ? "users" : "groups"),
          name, user ? "users" : "groups"));
    }
    if (as_user.empty()) {
      std::string msg =
          fmt::format("Internal error occurred: requested [{}] without impersonating a user",
                      fmt::join(as_groups, " "));
      co_return done(co_await ReplyStatus(stream, req, 500, "InternalError", msg));
    }
    as_groups.push_back("system:authenticated");
    caller = Caller{as_user, as_groups, sim.config().FindUser(as_user)};
  }

  const Config& cfg = sim.config();
  const bool get = req.method() == http::verb::get;
  const Route route = Classify(segs);
  const bool table = parsed.table;

  if (get && route == Route::kVersion) {
    co_return done(co_await Reply(stream, req, http::status::ok, VersionJson(cfg)));
  }
  if (get && route == Route::kApi) {
    co_return done(co_await Reply(stream, req, http::status::ok, ApiVersionsJson(sim.address())));
  }
  if (get && route == Route::kApis) {
    co_return done(co_await Reply(stream, req, http::status::ok, ApiGroupListJson()));
  }
  if (get && route == Route::kApiV1) {
    co_return done(co_await Reply(stream, req, http::status::ok, ApiV1ResourcesJson()));
  }
  if (get && route == Route::kAuthV1) {
    co_return done(co_await Reply(stream, req, http::status::ok, AuthenticationV1ResourcesJson()));
  }
  if (req.method() == http::verb::post && route == Route::kSelfSubjectReview) {
    co_return done(co_await Reply(stream, req, http::status::created,
                                  SelfSubjectReviewJson(caller->user, caller->groups)));
  }
  // Pod lists: /api/v1/pods and /api/v1/namespaces/NS/pods.
  const bool all_ns = route == Route::kPodsAll;
  if (get && (all_ns || route == Route::kPodsNs)) {
    std::string field = q.Get("fieldSelector");
    std::string only_name;
    if (field.starts_with("metadata.name=")) only_name = field.substr(14);
    std::vector<const PodConfig*> pods;
    for (const auto& p : cfg.pods) {
      if (!all_ns && p.namespace_name != segs[3]) continue;
      if (!only_name.empty() && p.name != only_name) continue;
      pods.push_back(&p);
    }
    if (q.Bool("watch")) {
      int timeout = 1800;
      if (q.Has("timeoutSeconds"))
        timeout = std::max(1, std::atoi(q.Get("timeoutSeconds").c_str()));
      // Nothing ever changes here: a watch from a resourceVersion (all are "1") gets no event;
      // one without gets the synthetic ADDED events of the current state, as the API server's.
      const std::string rv = q.Get("resourceVersion");
      if (!rv.empty() && rv != "0") pods.clear();
      co_await StreamWatch(sim, stream, req, pods, timeout);
      co_return Outcome::kClose;
    }
    co_return done(
        co_await Reply(stream, req, http::status::ok, PodListJson(pods, sim.started_at(), table)));
  }
  if (get && route == Route::kNamespace) {
    bool known = segs[3] == "default";
    for (const auto& p : cfg.pods) known = known || p.namespace_name == segs[3];
    if (!known) {
      co_return done(co_await ReplyStatus(stream, req, 404, "NotFound",
                                          fmt::format("namespaces \"{}\" not found", segs[3]),
                                          segs[3], "namespaces"));
    }
    std::string body = NamespaceJson(segs[3]);
    co_return done(co_await Reply(stream, req, http::status::ok, std::move(body)));
  }
  if (segs.size() >= 6 && segs.size() <= 7 && segs[0] == "api" && segs[1] == "v1" &&
      segs[2] == "namespaces" && segs[4] == "pods") {
    const std::string& ns = segs[3];
    const std::string& name = segs[5];
    const PodConfig* pod = cfg.FindPod(ns, name);
    if (segs.size() == 7 && (segs[6] == "exec" || segs[6] == "attach")) {
      co_return co_await HandleStream(sim, stream, req, *caller, pod, name, ns, segs[6], q);
    }
    if (!get) {
      co_return done(
          co_await ReplyStatus(stream, req, 405, "MethodNotAllowed",
                               "the server does not allow this method on the requested resource"));
    }
    if (!pod) {
      co_return done(co_await ReplyStatus(
          stream, req, 404, "NotFound", fmt::format("pods \"{}\" not found", name), name, "pods"));
    }
    if (segs.size() == 6) {
      if (table) {
        std::vector<const PodConfig*> one(1, pod);
        std::string body = PodListJson(one, sim.started_at(), true);
        co_return done(co_await Reply(stream, req, http::status::ok, std::move(body)));
      }
      co_return done(
          co_await Reply(stream, req, http::status::ok, PodJson(*pod, sim.started_at())));
    }
    if (segs[6] == "log") {
      std::string container = q.Get("container");
      const ContainerConfig* c = nullptr;
      if (container.empty() && pod->containers.size() == 1) c = &pod->containers[0];
      for (const auto& cc : pod->containers) {
        if (cc.name == container) c = &cc;
      }
      if (!c) {
        std::vector<std::string> names;
        for (const auto& cc : pod->containers) names.push_back(cc.name);
        std::string msg =
            container.empty()
                ? fmt::format("a container name must be specified for pod {}, choose one of: [{}]",
                              pod->name, fmt::join(names, " "))
                : fmt::format("container {} is not valid for pod {}", container, pod->name);
        co_return done(co_await ReplyStatus(stream, req, 400, "BadRequest", msg));
      }
      auto main = sim.Main(*pod, *c);
      if (!main) {
        co_return done(co_await Reply(stream, req, http::status::ok, "", "text/plain"));
      }
      std::string text = TailLines(main->log(), q.Get("tailLines"));
      if (q.Bool("follow")) {
        co_await StreamLogs(sim, stream, req, main, std::move(text));
        co_return Outcome::kClose;
      }
      co_return done(co_await Reply(stream, req, http::status::ok, std::move(text), "text/plain"));
    }
  }
  co_return done(co_await ReplyStatus(stream, req, 404, "NotFound",
                                      "the server could not find the requested resource"));
}

template <class Stream>
awaitable<void> ServeHttp(Sim& sim, Stream stream, const CertIdentity* cert) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(4u << 20);
    beast::get_lowest_layer(stream).expires_after(std::chrono::minutes(10));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec) break;
    Request req = parser.release();
    beast::get_lowest_layer(stream).expires_never();
    Outcome outcome = co_await Handle(sim, stream, req, cert);
    if (outcome == Outcome::kTaken) co_return;  // `stream` was moved into a WebSocket
    if (outcome == Outcome::kClose) break;
  }
  error_code ec;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
}

awaitable<void> ServeConnection(Sim& sim, tcp::socket socket, net::ssl::context* ssl) {
  socket.set_option(tcp::no_delay(true));
  if (!ssl) {
    co_await ServeHttp(sim, beast::tcp_stream(std::move(socket)), nullptr);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
  auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, kNoThrow);
  if (ec) {
    sim.Log(1, "tls handshake: {}", ec.message());
    co_return;
  }
  CertIdentity cert;
  const bool has_cert = PeerCertIdentity(stream.native_handle(), &cert);
  co_await ServeHttp(sim, std::move(stream), has_cert ? &cert : nullptr);
}

awaitable<void> Sim::Accept(tcp::acceptor acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      continue;
    }
    net::co_spawn(io_, ServeConnection(*this, std::move(socket), ssl_ ? &*ssl_ : nullptr),
                  net::detached);
  }
}

Status Sim::Setup() {
  if (config_.runtime_dir.empty()) {
    runtime_dir_ = (fs::temp_directory_path() / fmt::format("podtape-sim-{}", ::getpid())).string();
    own_runtime_dir_ = true;
  } else {
    runtime_dir_ = config_.runtime_dir;
  }
  for (const auto& pod : config_.pods) {
    for (const auto& c : pod.containers) {
      std::error_code ec;
      fs::create_directories(WorkDir(pod, c), ec);
      if (ec) {
        return Status::IOError(
            fmt::format("cannot create working directory {}: {}", WorkDir(pod, c), ec.message()));
      }
    }
  }
  reaper_.Start();
  for (const auto& pod : config_.pods) {
    if (pod.phase != "Running" || !pod.hostile.empty()) continue;
    for (const auto& c : pod.containers) {
      auto m = std::make_shared<MainProcess>(*this, pod, c, WorkDir(pod, c));
      mains_[pod.namespace_name + "/" + pod.name + "/" + c.name] = m;
      m->Start();
    }
  }
  return Status::OK();
}

void Sim::Shutdown() {
  reaper_.KillAll();
  if (own_runtime_dir_) {
    std::error_code ec;
    fs::remove_all(runtime_dir_, ec);
  }
}

}  // namespace

Status RunServer(const ServerOptions& options) {
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen must be HOST:PORT, e.g. 127.0.0.1:0");
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument(fmt::format("--listen: bad address {}", host));
  int port = std::atoi(options.listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) return Status::InvalidArgument("--listen: bad port");
  if (options.tls_dir.empty() && !address.is_loopback()) {
    return Status::InvalidArgument(
        "plain HTTP is served on loopback addresses only; give --tls-dir to listen on " + host);
  }

  net::io_context io(1);
  Sim sim(io, options);
  std::optional<TlsFiles> tls_files;
  if (!options.tls_dir.empty()) {
    auto files = PrepareTlsDir(options.tls_dir, options.config);
    if (!files.ok()) return files.status();
    tls_files = *files;
    sim.ssl_.emplace(net::ssl::context::tls_server);
    auto& ctx = *sim.ssl_;
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain_file(files->server_crt, ec);
    if (!ec) ctx.use_private_key_file(files->server_key, net::ssl::context::pem, ec);
    if (!ec) ctx.load_verify_file(files->ca_crt, ec);
    if (ec)
      return Status::IOError(
          fmt::format("loading TLS files from {}: {}", options.tls_dir, ec.message()));
    // Client certificates are asked for but optional: a bearer token also authenticates.
    ctx.set_verify_mode(net::ssl::verify_peer);
    ctx.set_verify_callback([](bool, net::ssl::verify_context&) { return true; });
  }

  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::IOError(fmt::format("cannot listen on {}: {}", options.listen, ec.message()));
  auto bound = acceptor.local_endpoint();
  std::string host_text = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                                  : bound.address().to_string();
  sim.address_ = fmt::format("{}:{}", host_text, bound.port());
  const std::string url = fmt::format("{}://{}", tls_files ? "https" : "http", sim.address_);
  if (tls_files) {
    PODTAPE_RETURN_IF_ERROR(WriteKubeconfigs(options.tls_dir, options.config, url));
  }
  PODTAPE_RETURN_IF_ERROR(sim.Setup());

  net::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](error_code, int) {
    sim.Shutdown();
    io.stop();
  });
  net::co_spawn(io, sim.Accept(std::move(acceptor)), net::detached);
  std::printf("listening on %s\n", url.c_str());
  std::fflush(stdout);
  io.run();
  return Status::OK();
}

}  // namespace podtape::sim
