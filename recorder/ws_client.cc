// Beast/Asio implementation of ws_client.h. The only recorder unit (with beast_asio_src.cc) that
// includes Beast; keep it that way so the build stays fast.
#include "recorder/ws_client.h"

#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>

#include <fmt/format.h>

namespace podtape::recorder {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Runs `ioc` until `done` is set (or it runs out of work).
void RunUntil(net::io_context& ioc, const bool& done) {
  ioc.restart();
  while (!done && ioc.run_one() > 0) {
  }
}

std::string HostHeader(const Endpoint& ep) {
  bool v6 = ep.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + ep.host + "]" : ep.host;
  bool default_port = (ep.tls && ep.port == "443") || (!ep.tls && ep.port == "80");
  return default_port ? host : host + ":" + ep.port;
}

std::string OneLine(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

Status ConnectError(const Endpoint& ep, const error_code& ec) {
  if (ec == beast::error::timeout) {
    return Status::IOError(
        fmt::format("timed out connecting to the server {}; check the address or --request-timeout",
                    ep.server));
  }
  if (ec == net::error::connection_refused) {
    return Status::IOError(fmt::format(
        "the connection to the server {}:{} was refused - did you specify the right host or port?",
        ep.host, ep.port));
  }
  return Status::IOError(
      fmt::format("cannot connect to the server {}: {}", ep.server, ec.message()));
}

// Resolves, connects and (for TLS) handshakes `s`, bounded by ep.timeout.
template <class Stream>
Status ConnectStream(net::io_context& ioc, Stream& s, const Endpoint& ep) {
  tcp::resolver resolver(ioc);
  error_code ec;
  auto results = resolver.resolve(ep.host, ep.port, ec);
  if (ec) {
    return Status::IOError(
        fmt::format("cannot resolve the server {}: {}", ep.server, ec.message()));
  }
  beast::tcp_stream& lowest = beast::get_lowest_layer(s);
  lowest.expires_after(ep.timeout);
  bool done = false;
  lowest.async_connect(results, [&](const error_code& e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  RunUntil(ioc, done);
  if (ec) return ConnectError(ep, ec);
  lowest.socket().set_option(tcp::no_delay(true), ec);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    PODTAPE_RETURN_IF_ERROR(ConfigureTlsConnection(s.native_handle(), ep.host, ep.tls_settings));
    done = false;
    s.async_handshake(ssl::stream_base::client, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    RunUntil(ioc, done);
    if (ec) {
      if (ec == beast::error::timeout) return ConnectError(ep, ec);
      long verify = SSL_get_verify_result(s.native_handle());
      std::string name =
          ep.tls_settings.server_name.empty() ? ep.host : ep.tls_settings.server_name;
      return Status::IOError(DescribeTlsFailure(verify, ep.server, name, ec.message()));
    }
  }
  return Status::OK();
}

template <class Stream>
Result<HttpResponse> DoHttp(net::io_context& ioc, Stream& s, const Endpoint& ep,
                            std::string_view method, std::string_view target, std::string_view body,
                            std::string_view content_type) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, HostHeader(ep));
  req.set(http::field::user_agent, ep.user_agent);
  req.set(http::field::accept, "application/json, */*");
  for (const auto& [name, value] : ep.headers) req.insert(name, value);
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::string(body);
  req.prepare_payload();
  error_code ec;
  bool done = false;
  http::async_write(s, req, [&](const error_code& e, size_t) {
    ec = e;
    done = true;
  });
  RunUntil(ioc, done);
  if (ec)
    return Status::IOError(fmt::format("cannot send a request to {}: {}", ep.server, ec.message()));
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  done = false;
  http::async_read(s, buffer, parser, [&](const error_code& e, size_t) {
    ec = e;
    done = true;
  });
  RunUntil(ioc, done);
  if (ec) {
    if (ec == beast::error::timeout) return ConnectError(ep, ec);
    return Status::IOError(fmt::format("cannot read the reply of {}: {}", ep.server, ec.message()));
  }
  HttpResponse out;
  auto& res = parser.get();
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  // The connection is not reused; a failed shutdown changes nothing.
  beast::get_lowest_layer(s).socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

// The state shared with the input thread; outlives the session if the thread is still blocked in
// read() when the session ends.
struct InputState {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;   // the session no longer wants input
  bool may_read = true;  // the last chunk has been handed over
  std::vector<char> buffer;
};

template <class NextLayer>
class WsImpl final : public WsSession {
 public:
  explicit WsImpl(std::unique_ptr<ssl::context> ctx)
      : ctx_(std::move(ctx)),
        ws_(MakeStream()),
        ping_timer_(ioc_),
        grace_timer_(ioc_),
        signals_(ioc_) {}

  ~WsImpl() override { CloseInput(); }

  Status Open(const Endpoint& ep, std::string_view target, std::string_view protocols,
              std::string* chosen, const std::function<Status()>& before_upgrade) {
    PODTAPE_RETURN_IF_ERROR(ConnectStream(ioc_, ws_.next_layer(), ep));
    if (before_upgrade) PODTAPE_RETURN_IF_ERROR(before_upgrade());
    std::string user_agent = ep.user_agent;
    auto headers = ep.headers;
    std::string offer(protocols);
    ws_.set_option(websocket::stream_base::decorator(
        [user_agent, headers, offer](websocket::request_type& req) {
          req.set(http::field::user_agent, user_agent);
          for (const auto& [name, value] : headers) req.insert(name, value);
          if (!offer.empty()) req.set(http::field::sec_websocket_protocol, offer);
        }));
    websocket::response_type res;
    error_code ec;
    bool done = false;
    ws_.async_handshake(res, HostHeader(ep), target, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    RunUntil(ioc_, done);
    if (ec == websocket::error::upgrade_declined) {
      return StatusFromHttpError(res.result_int(), res.body());
    }
    if (ec) {
      if (ec == beast::error::timeout) return ConnectError(ep, ec);
      return Status::Protocol(
          fmt::format("websocket upgrade with {} failed: {}", ep.server, ec.message()));
    }
    *chosen = std::string(res[http::field::sec_websocket_protocol]);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.auto_fragment(false);
    ws_.read_message_max(64u << 20);
    return Status::OK();
  }

  void SetTimeouts(std::chrono::milliseconds ping_interval,
                   std::chrono::milliseconds idle_timeout) override {
    ping_interval_ = ping_interval;
    idle_timeout_ = idle_timeout;
  }

  void Send(bool text, std::string_view data) override {
    std::string buf;
    if (!free_.empty()) {
      buf = std::move(free_.back());
      free_.pop_back();
    }
    buf.assign(data.data(), data.size());
    queue_.push_back(Outgoing{text, std::move(buf)});
    if (running_) Write();
  }

  Status Run(Handler& handler, int input_fd, size_t input_chunk,
             const std::vector<int>& signals) override {
    handler_ = &handler;
    websocket::stream_base::timeout t;
    t.handshake_timeout = std::chrono::seconds(5);  // bounds our closing handshake
    t.idle_timeout = idle_timeout_;
    t.keep_alive_pings = false;  // our own pings, every ping_interval_, as client-go
    ws_.set_option(t);
    for (int s : signals) signals_.add(s);
    if (!signals.empty()) WaitSignal();
    if (input_fd >= 0) StartInput(input_fd, input_chunk);
    SchedulePing();
    running_ = true;
    Write();
    Read();
    ioc_.restart();
    ioc_.run();
    running_ = false;
    CloseInput();
    return result_;
  }

  void StopInput() override { CloseInput(); }

  void Close() override { Fail(Status::OK()); }

  void CloseAfter(std::chrono::milliseconds grace) override {
    if (grace_armed_ || closing_ || stopped_) return;
    grace_armed_ = true;
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](const error_code& ec) {
      if (!ec && !closing_ && !stopped_) Fail(Status::OK());
    });
  }

  WsEnd end() const override { return end_; }

 private:
  struct Outgoing {
    bool text;
    std::string data;
  };

  websocket::stream<NextLayer> MakeStream() {
    if constexpr (std::is_same_v<NextLayer, TlsStream>) {
      return websocket::stream<NextLayer>(ioc_, *ctx_);
    } else {
      return websocket::stream<NextLayer>(ioc_);
    }
  }

  void Read() {
    ws_.async_read(read_buf_, [this](const error_code& ec, size_t) { OnRead(ec); });
  }

  void OnRead(const error_code& ec) {
    if (ec) {
      bool got_close = ws_.reason().code != websocket::close_code::none;
      if (ec == websocket::error::closed || got_close) {
        end_.close_code = static_cast<int>(ws_.reason().code);
        end_.close_reason = std::string(ws_.reason().reason.c_str());
      } else if (closing_) {
        // We asked for the end; how the server let go does not matter.
      } else if (ec == net::error::eof || ec == ssl::error::stream_truncated ||
                 ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                 ec == net::error::not_connected || ec == net::error::connection_aborted) {
        // The server closes TCP right after its close frame (PROTOCOL.md 3.2): when our close
        // reply races that, the read ends with one of these instead of `closed`.
        end_.dropped = true;
      } else if (ec == beast::error::timeout) {
        result_ = Status::IOError(
            fmt::format("no answer from the server for {} s; the connection was closed",
                        std::chrono::duration_cast<std::chrono::seconds>(idle_timeout_).count()));
      } else {
        result_ = Status::IOError("connection to the server lost: " + ec.message());
      }
      Stop();
      return;
    }
    auto data = read_buf_.cdata();
    Status st = handler_->OnMessage(
        ws_.got_text(), std::string_view(static_cast<const char*>(data.data()), data.size()));
    read_buf_.consume(read_buf_.size());
    if (!st.ok()) {
      Fail(std::move(st));
      // Keep reading: the server's close reply (or EOF) ends the session.
    }
    Read();
  }

  void Write() {
    if (writing_ || stopped_ || close_sent_) return;
    if (queue_.empty()) {
      if (closing_) StartClose();
      return;
    }
    writing_ = true;
    Outgoing& front = queue_.front();
    ws_.text(front.text);
    ws_.async_write(net::buffer(front.data), [this](const error_code& ec, size_t) {
      writing_ = false;
      free_.push_back(std::move(queue_.front().data));
      queue_.pop_front();
      if (ec) {
        if (!closing_ && !stopped_) {
          Fail(Status::IOError("cannot send to the server: " + ec.message()));
        }
        return;
      }
      ReleaseInputIfRoom();
      Write();
    });
  }

  // Ends the session with `st`: sends a close frame (after any write in flight) and keeps reading
  // until the server answers or the close times out.
  void Fail(Status st) {
    if (closing_ || stopped_) return;
    result_ = std::move(st);
    closing_ = true;
    CloseInput();
    ping_timer_.cancel();
    error_code ignored;
    signals_.cancel(ignored);
    Write();  // what is queued goes first, then the close frame
  }

  void StartClose() {
    if (close_sent_ || stopped_) return;
    close_sent_ = true;
    ws_.async_close(websocket::close_code::normal, [](const error_code&) {});
  }

  void Stop() {
    stopped_ = true;
    CloseInput();
    ping_timer_.cancel();
    grace_timer_.cancel();
    error_code ignored;
    signals_.cancel(ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    // Beast's idle timer may still be pending after a dropped connection; nothing left to run
    // matters once the read loop has ended.
    ioc_.stop();
  }

  void SchedulePing() {
    if (ping_interval_.count() <= 0) return;
    ping_timer_.expires_after(ping_interval_);
    ping_timer_.async_wait([this](const error_code& ec) {
      if (ec || closing_ || stopped_) return;
      if (!ping_in_flight_) {
        ping_in_flight_ = true;
        ws_.async_ping({}, [this](const error_code&) { ping_in_flight_ = false; });
      }
      SchedulePing();
    });
  }

  void WaitSignal() {
    signals_.async_wait([this](const error_code& ec, int signo) {
      if (ec || closing_ || stopped_) return;
      Status st = handler_->OnSignal(signo);
      if (!st.ok()) {
        Fail(std::move(st));
        return;
      }
      WaitSignal();
    });
  }

  // --- input: a helper thread reads, the io thread hands chunks to the handler ---

  void StartInput(int fd, size_t chunk) {
    input_ = std::make_shared<InputState>();
    input_->buffer.resize(chunk);
    std::shared_ptr<InputState> state = input_;
    net::io_context* ioc = &ioc_;
    std::thread([this, state, ioc, fd] {
      while (true) {
        ssize_t n;
        do {
          n = ::read(fd, state->buffer.data(), state->buffer.size());
        } while (n < 0 && errno == EINTR);
        std::unique_lock<std::mutex> lock(state->mu);
        if (state->closed) return;
        state->may_read = false;
        size_t got = n > 0 ? static_cast<size_t>(n) : 0;
        // Posted under the lock: CloseInput() takes it before the io_context goes away.
        net::post(*ioc, [this, state, got] { OnInputChunk(state, got); });
        if (n <= 0) return;
        state->cv.wait(lock, [&] { return state->may_read || state->closed; });
        if (state->closed) return;
      }
    }).detach();
  }

  void OnInputChunk(const std::shared_ptr<InputState>& state, size_t got) {
    if (state != input_ || closing_ || stopped_) return;
    Status st = handler_->OnInput(std::string_view(state->buffer.data(), got), got == 0);
    if (!st.ok()) {
      Fail(std::move(st));
      return;
    }
    if (got == 0) {
      CloseInput();
      return;
    }
    input_waiting_ = true;
    ReleaseInputIfRoom();
  }

  // Lets the input thread read the next chunk once at most one message waits to be written, so
  // a slow server slows the reader instead of growing the queue.
  void ReleaseInputIfRoom() {
    if (!input_waiting_ || !input_ || queue_.size() > 1) return;
    input_waiting_ = false;
    std::lock_guard<std::mutex> lock(input_->mu);
    input_->may_read = true;
    input_->cv.notify_one();
  }

  void CloseInput() {
    if (!input_) return;
    {
      std::lock_guard<std::mutex> lock(input_->mu);
      input_->closed = true;
    }
    input_->cv.notify_one();
    input_.reset();
  }

  net::io_context ioc_{1};
  std::unique_ptr<ssl::context> ctx_;
  websocket::stream<NextLayer> ws_;
  net::steady_timer ping_timer_;
  net::steady_timer grace_timer_;
  bool grace_armed_ = false;
  net::signal_set signals_;
  beast::flat_buffer read_buf_;
  std::deque<Outgoing> queue_;
  std::vector<std::string> free_;
  Handler* handler_ = nullptr;
  std::shared_ptr<InputState> input_;
  bool input_waiting_ = false;
  bool running_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool stopped_ = false;
  bool ping_in_flight_ = false;
  std::chrono::milliseconds ping_interval_{std::chrono::seconds(5)};
  std::chrono::milliseconds idle_timeout_{std::chrono::seconds(61)};
  Status result_;
  WsEnd end_;
};

Result<std::unique_ptr<ssl::context>> MakeSslContext(const Endpoint& ep) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  PODTAPE_RETURN_IF_ERROR(ConfigureTlsContext(ctx->native_handle(), ep.tls_settings));
  return ctx;
}

}  // namespace

Status ParseServerUrl(std::string_view url, Endpoint* ep, std::string* prefix) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return Status::InvalidArgument(
        fmt::format("invalid server url {}: {}", url, parsed.error().message()));
  }
  std::string scheme(parsed->scheme());
  if (scheme != "https" && scheme != "http") {
    return Status::InvalidArgument(
        fmt::format("invalid server url {}: the scheme must be https or http", url));
  }
  ep->tls = scheme == "https";
  std::string host(parsed->encoded_host_address());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    return Status::InvalidArgument(fmt::format("invalid server url {}: no host", url));
  }
  ep->host = host;
  ep->port = parsed->has_port() ? std::string(parsed->port()) : (ep->tls ? "443" : "80");
  ep->server = std::string(url);
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  *prefix = path;
  return Status::OK();
}

Result<HttpResponse> HttpRequest(const Endpoint& ep, std::string_view method,
                                 std::string_view target, std::string_view body,
                                 std::string_view content_type) {
  try {
    net::io_context ioc{1};
    if (ep.tls) {
      auto ctx = MakeSslContext(ep);
      if (!ctx.ok()) return ctx.status();
      TlsStream s(ioc, **ctx);
      PODTAPE_RETURN_IF_ERROR(ConnectStream(ioc, s, ep));
      return DoHttp(ioc, s, ep, method, target, body, content_type);
    }
    beast::tcp_stream s(ioc);
    PODTAPE_RETURN_IF_ERROR(ConnectStream(ioc, s, ep));
    return DoHttp(ioc, s, ep, method, target, body, content_type);
  } catch (const std::exception& e) {
    return Status::IOError(fmt::format("request to {} failed: {}", ep.server, e.what()));
  }
}

Status StatusFromHttpError(unsigned http_status, std::string_view body) {
  error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& obj = v.get_object();
    if (const auto* m = obj.if_contains("message");
        m != nullptr && m->is_string() && !m->get_string().empty()) {
      std::string message(m->get_string());
      if (http_status == 401) {
        return Status::Remote("You must be logged in to the server (" + message + ")");
      }
      return Status::Remote(message);
    }
  }
  if (http_status == 403 && body.empty()) {
    return Status::Remote(
        "the server refused the upgrade (403 with no body): it accepts none of the offered "
        "subprotocols; try another --protocols list, or check that exec over websocket is enabled");
  }
  if (http_status == 401) {
    return Status::Remote("You must be logged in to the server (Unauthorized)");
  }
  std::string text = OneLine(body, 200);
  if (text.empty()) return Status::Remote(fmt::format("the server returned HTTP {}", http_status));
  return Status::Remote(fmt::format("the server returned HTTP {}: {}", http_status, text));
}

std::string_view HttpReason(unsigned http_status) {
  if (http_status > 999) return {};
  std::string_view reason = http::obsolete_reason(http::int_to_status(http_status));
  return reason == "<unknown-status>" ? std::string_view() : reason;
}

Result<std::unique_ptr<WsSession>> WsSession::Connect(
    const Endpoint& ep, std::string_view target, std::string_view protocols, std::string* chosen,
    const std::function<Status()>& before_upgrade) {
  try {
    if (ep.tls) {
      auto ctx = MakeSslContext(ep);
      if (!ctx.ok()) return ctx.status();
      auto s = std::make_unique<WsImpl<TlsStream>>(std::move(*ctx));
      PODTAPE_RETURN_IF_ERROR(s->Open(ep, target, protocols, chosen, before_upgrade));
      return std::unique_ptr<WsSession>(std::move(s));
    }
    auto s = std::make_unique<WsImpl<beast::tcp_stream>>(nullptr);
    PODTAPE_RETURN_IF_ERROR(s->Open(ep, target, protocols, chosen, before_upgrade));
    return std::unique_ptr<WsSession>(std::move(s));
  } catch (const std::exception& e) {
    return Status::IOError(
        fmt::format("websocket connection to {} failed: {}", ep.server, e.what()));
  }
}

}  // namespace podtape::recorder
