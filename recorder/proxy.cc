// podtape proxy: the Beast side (listening, HTTP relay, WebSocket relay and recording).
// Contracts are in proxy.h.
#include "recorder/proxy.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "recorder/channel_codec.h"
#include "recorder/credentials.h"
#include "recorder/record_session.h"
#include "recorder/tls_context.h"
#include "recorder/ws_client.h"
#include "schema/store.h"

namespace podtape::recorder {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = ssl::stream<beast::tcp_stream>;

namespace {

constexpr size_t kRelayChunk = 64 * 1024;
// A request header beyond this is refused (431) and the connection closed.
constexpr uint32_t kMaxHeaderBytes = 1 << 20;

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string StatusJson(unsigned code, std::string_view reason, std::string_view message) {
  boost::json::object o;
  o["kind"] = "Status";
  o["apiVersion"] = "v1";
  o["metadata"] = boost::json::object();
  o["status"] = "Failure";
  o["message"] = message;
  o["reason"] = reason;
  o["code"] = code;
  return boost::json::serialize(o);
}

std::string TokenKey(std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

// Who is calling, as the proxy established it.
struct Caller {
  enum class Kind { kNone, kToken, kCertificate } kind = Kind::kNone;
  std::string token;  // kToken: forwarded as is; never logged
  std::string user;
  std::vector<std::string> groups;
  std::string user_source;  // "selfsubjectreview", "token", "certificate", "none"
};

struct Metrics {
  std::atomic<int64_t> sessions_active{0};
  std::atomic<int64_t> sessions_total{0};
  std::atomic<int64_t> bytes_recorded{0};
  std::atomic<int64_t> refusals{0};
  std::atomic<int64_t> store_errors{0};
  std::atomic<int64_t> requests{0};
};

class Proxy {
 public:
  explicit Proxy(const ProxyOptions& options) : options_(options) {}

  Status Init() {
    kube::KubeFlags flags = options_.flags;
    if (!options_.upstream.empty()) flags.server = options_.upstream;
    auto conn = kube::LoadConnection(flags, kube::Environment::FromProcess());
    if (!conn.ok()) return conn.status();
    conn_ = *conn;
    ep_.tls = conn_.is_tls;
    ep_.host = conn_.host;
    ep_.port = std::to_string(conn_.port);
    ep_.server = conn_.server;
    ep_.tls_settings.insecure_skip_verify = conn_.insecure_skip_tls_verify;
    ep_.tls_settings.ca_pem = conn_.ca_pem;
    ep_.tls_settings.client_cert_pem = conn_.client_cert_pem;
    ep_.tls_settings.client_key_pem = conn_.client_key_pem;
    ep_.tls_settings.server_name = conn_.tls_server_name;
    ep_.user_agent = "podtape-proxy/" + options_.version;
    if (conn_.request_timeout.count() > 0) ep_.timeout = conn_.request_timeout;
    if (ep_.tls) {
      // Token callers reach upstream without the proxy's client certificate (the API server
      // would take it as the caller's identity); certificate callers with it.
      TlsSettings bare = ep_.tls_settings;
      bare.client_cert_pem.clear();
      bare.client_key_pem.clear();
      upstream_ctx_.emplace(ssl::context::tls_client);
      PODTAPE_RETURN_IF_ERROR(ConfigureTlsContext(upstream_ctx_->native_handle(), bare));
      upstream_own_ctx_.emplace(ssl::context::tls_client);
      PODTAPE_RETURN_IF_ERROR(
          ConfigureTlsContext(upstream_own_ctx_->native_handle(), ep_.tls_settings));
    }
    if (options_.tls_cert.empty() != options_.tls_key.empty()) {
      return Status::InvalidArgument("--tls-cert and --tls-key go together; pass both or neither");
    }
    if (!options_.client_ca.empty() && options_.tls_cert.empty()) {
      return Status::InvalidArgument("--client-ca needs --tls-cert and --tls-key (HTTPS)");
    }
    if (!options_.tls_cert.empty()) {
      server_ctx_.emplace(ssl::context::tls_server);
      beast::error_code ec;
      server_ctx_->use_certificate_chain_file(options_.tls_cert, ec);
      if (ec) {
        return Status::InvalidArgument("cannot load --tls-cert " + options_.tls_cert + ": " +
                                       ec.message());
      }
      server_ctx_->use_private_key_file(options_.tls_key, ssl::context::pem, ec);
      if (ec) {
        return Status::InvalidArgument("cannot load --tls-key " + options_.tls_key + ": " +
                                       ec.message());
      }
      if (!options_.client_ca.empty()) {
        server_ctx_->load_verify_file(options_.client_ca, ec);
        if (ec) {
          return Status::InvalidArgument("cannot load --client-ca " + options_.client_ca + ": " +
                                         ec.message());
        }
        // Certificates are optional (token callers have none); one that is sent must verify.
        server_ctx_->set_verify_mode(ssl::verify_peer);
      }
    }
    // The store must open before we accept anything (fail closed at start-up).
    auto store = store::Store::Open(options_.db_path);
    if (!store.ok()) return store.status();
    return Status::OK();
  }

  Result<int> Run();

  // --- per connection ---
  void ServeSocket(tcp::socket socket);

  const ProxyOptions& options() const { return options_; }
  const kube::Connection& conn() const { return conn_; }
  const Endpoint& endpoint() const { return ep_; }
  bool upstream_tls() const { return upstream_ctx_.has_value(); }
  // own: the proxy's client certificate is presented (certificate callers).
  ssl::context& upstream_ctx(bool own) { return own ? *upstream_own_ctx_ : *upstream_ctx_; }
  Metrics& metrics() { return metrics_; }

  void Log(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::fprintf(stderr, "podtape proxy: %s\n", line.c_str());
    std::fflush(stderr);
  }

  // The identity behind a bearer token (cached for identity_ttl). Unauthenticated: the API server
  // rejected the token (the caller gets 401).
  Result<Caller> IdentifyToken(const std::string& token, bool* unauthorized);

  // WebSocket refusals (recording failures, and the API server's own answers) remembered for the
  // SPDY retry kubectl makes right after, which then gets the same answer: keyed by caller and
  // path, kept a minute.
  struct Refusal {
    unsigned code = 0;
    std::string body;  // a Status JSON
  };
  void RememberRefusal(const std::string& key, unsigned code, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    if (refusals_.size() > 10000) refusals_.clear();
    refusals_[key] = {Refusal{code, std::move(body)}, std::chrono::steady_clock::now()};
  }
  std::optional<Refusal> RecentRefusal(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = refusals_.find(key);
    if (it == refusals_.end()) return std::nullopt;
    Refusal r = it->second.first;
    bool fresh = std::chrono::steady_clock::now() - it->second.second < std::chrono::minutes(1);
    refusals_.erase(it);
    if (!fresh) return std::nullopt;
    return r;
  }

  bool stopping() const { return stopping_.load(); }

 private:
  ProxyOptions options_;
  kube::Connection conn_;
  Endpoint ep_;
  std::optional<ssl::context> upstream_ctx_;
  std::optional<ssl::context> upstream_own_ctx_;
  std::optional<ssl::context> server_ctx_;
  Metrics metrics_;
  std::mutex log_mu_;
  std::mutex mu_;
  struct CachedIdentity {
    Caller caller;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedIdentity> identities_;
  std::map<std::string, std::pair<Refusal, std::chrono::steady_clock::time_point>> refusals_;
  std::atomic<bool> stopping_{false};
};

Result<Caller> Proxy::IdentifyToken(const std::string& token, bool* unauthorized) {
  *unauthorized = false;
  std::string key = TokenKey(token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = identities_.find(key);
    if (it != identities_.end() && it->second.expires > now) {
      Caller c = it->second.caller;
      c.token = token;
      return c;
    }
  }
  Endpoint ep = ep_;
  ep.tls_settings.client_cert_pem.clear();
  ep.tls_settings.client_key_pem.clear();
  ep.headers.clear();
  ep.headers.emplace_back("Authorization", "Bearer " + token);
  boost::json::object body;
  body["kind"] = "SelfSubjectReview";
  body["apiVersion"] = "authentication.k8s.io/v1";
  auto reply = HttpRequest(ep, "POST",
                           conn_.path_prefix + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           boost::json::serialize(body), "application/json");
  if (!reply.ok()) return reply.status();
  Caller c;
  c.kind = Caller::Kind::kToken;
  if (reply->status == 401) {
    *unauthorized = true;
    return Status::Remote("the API server rejected the token");
  }
  std::optional<ReviewedIdentity> reviewed;
  if (reply->status / 100 == 2) reviewed = ParseSelfSubjectReview(reply->body);
  if (reviewed) {
    c.user = reviewed->user;
    c.groups = reviewed->groups;
    c.user_source = "selfsubjectreview";
  } else if (auto jwt = kube::IdentityFromJwt(token)) {
    c.user = jwt->user;
    c.groups = jwt->groups;
    c.user_source = jwt->user_source;
  } else {
    c.user_source = "token";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (identities_.size() > 10000) identities_.clear();
    identities_[key] = {c, now + options_.identity_ttl};
  }
  c.token = token;
  return c;
}

// --- streams --------------------------------------------------------------------------------

template <class Stream>
PlainStream& Lowest(Stream& s) {
  return beast::get_lowest_layer(s);
}

// Runs one asynchronous operation started by `start(handler)` alone on the connection's
// io_context, with a deadline on `s`'s socket (past it the socket is closed and the operation
// fails with beast::error::timeout). Returns the operation's error.
template <class Stream, class Start>
beast::error_code RunWithDeadline(net::io_context& ioc, Stream& s, std::chrono::milliseconds limit,
                                  Start start) {
  beast::error_code result = net::error::operation_aborted;
  Lowest(s).expires_after(limit);
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  Lowest(s).expires_never();
  return result;
}

// Connects a fresh upstream stream (TCP and TLS within upstream_connect_timeout).
template <class Stream>
Status ConnectUpstream(Proxy& p, net::io_context& ioc, Stream& s) {
  const Endpoint& ep = p.endpoint();
  const auto limit = p.options().upstream_connect_timeout;
  tcp::resolver resolver(s.get_executor());
  beast::error_code ec;
  auto results = resolver.resolve(ep.host, ep.port, ec);
  if (ec) return Status::IOError("cannot resolve upstream " + ep.server + ": " + ec.message());
  ec = RunWithDeadline(ioc, s, limit,
                       [&](auto handler) { Lowest(s).async_connect(results, std::move(handler)); });
  if (ec) return Status::IOError("cannot connect to upstream " + ep.server + ": " + ec.message());
  Lowest(s).socket().set_option(tcp::no_delay(true), ec);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    PODTAPE_RETURN_IF_ERROR(ConfigureTlsConnection(s.native_handle(), ep.host, ep.tls_settings));
    ec = RunWithDeadline(ioc, s, limit, [&](auto handler) {
      s.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) {
      return Status::IOError(DescribeTlsFailure(SSL_get_verify_result(s.native_handle()), ep.server,
                                                ep.host, ec.message()));
    }
  }
  return Status::OK();
}

template <class Stream>
std::unique_ptr<Stream> MakeStream(Proxy& p, net::io_context& ioc, bool own_credentials) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return std::make_unique<Stream>(ioc, p.upstream_ctx(own_credentials));
  } else {
    return std::make_unique<Stream>(ioc);
  }
}

template <class Stream>
void WriteSimple(Stream& s, unsigned code, std::string_view reason, std::string_view message,
                 bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(code), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = StatusJson(code, reason, message);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  beast::error_code ec;
  http::write(s, res, ec);
}

// Copies the body of `p` (whose header has been read from `in`) to `out` as it arrives: each
// read returns whatever is available, so watches and log follows stream instead of buffering.
// With `ioc` (the connection's own, idle), each read of `in` must end within `pause`: a sender
// that stalls longer fails the relay with beast::error::timeout.
template <bool isRequest, class Out, class In>
bool RelayMessage(Out& out, In& in, beast::flat_buffer& in_buffer,
                  http::parser<isRequest, http::buffer_body>& p, std::vector<char>& chunk,
                  net::io_context* ioc = nullptr, std::chrono::milliseconds pause = {}) {
  beast::error_code ec;
  http::serializer<isRequest, http::buffer_body> sr{p.get()};
  do {
    if (!p.is_done()) {
      p.get().body().data = chunk.data();
      p.get().body().size = chunk.size();
      if (ioc != nullptr) {
        ec = RunWithDeadline(*ioc, in, pause, [&](auto handler) {
          http::async_read_some(in, in_buffer, p, std::move(handler));
        });
      } else {
        http::read_some(in, in_buffer, p, ec);
      }
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return false;
      p.get().body().size = chunk.size() - p.get().body().size;
      // No bytes: a null buffer (need_buffer), never an empty one, which the chunked serializer
      // would write as the last chunk "0\r\n\r\n".
      p.get().body().data = p.get().body().size > 0 ? chunk.data() : nullptr;
      p.get().body().more = !p.is_done();
    } else {
      p.get().body().data = nullptr;
      p.get().body().size = 0;
      p.get().body().more = false;
    }
    http::write(out, sr, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return false;
  } while (!p.is_done() || !sr.is_done());
  return true;
}

bool IsHopByHop(http::field f, std::string_view name) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
    case http::field::host:
      return true;
    default:
      break;
  }
  return beast::iequals(name, "proxy-authorization");
}

// Rewrites the caller's credentials for upstream: a token is forwarded as it is; a certificate
// caller is sent with the proxy's own credential plus Impersonate-User/Group.
template <class Fields>
void ApplyCredentials(Proxy& p, const Caller& caller, Fields& fields) {
  if (caller.kind != Caller::Kind::kCertificate) return;
  fields.erase(http::field::authorization);
  if (p.endpoint().tls && !p.conn().token.empty()) {
    fields.set(http::field::authorization, "Bearer " + p.conn().token);
  }
  fields.set("Impersonate-User", caller.user);
  fields.erase("Impersonate-Group");
  for (const std::string& g : caller.groups) fields.insert("Impersonate-Group", g);
}

// --- the WebSocket session -------------------------------------------------------------------

// How long the relay goes on reading the server once a client hung up without a close frame
// before the exec's status came (kubectl cp stops reading at the end of the tar archive and
// exits): the status and the last output usually follow within milliseconds, and are what an
// auditor wants to see. Then the relay closes upstream (that handshake is bounded by the
// stream's own 5 s handshake timeout).
constexpr std::chrono::seconds kClientGoneGrace{1};

template <class ClientStream, class UpStream>
class WsRelay {
 public:
  WsRelay(Proxy& p, websocket::stream<ClientStream&>& client, websocket::stream<UpStream>& up,
          codec::Subprotocol protocol, store::SessionWriter* writer, bool fail_open)
      : p_(p),
        client_(client),
        up_(up),
        protocol_(protocol),
        writer_(writer),
        fail_open_(fail_open),
        start_(std::chrono::steady_clock::now()),
        grace_(up.get_executor()) {}

  void Start() {
    ReadClient();
    ReadUpstream();
  }

  // After the relay's io_context ran out of work: a client that hung up without a close frame
  // ended the session in error, unless the exec's status arrived all the same.
  void Conclude() {
    if (ClientGone() && end.raw_status.empty() && end.end_reason != "error") {
      end.end_reason = "error";
      end.error = client_gone_error_;
    }
  }

  store::SessionEnd end;
  std::string failure;  // recording failure that ended the session

 private:
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_)
        .count();
  }

  // Records one message; false ends the session (fail closed).
  bool Record(store::Direction dir, bool text, std::string_view data) {
    if (writer_ == nullptr) return true;
    codec::DecodedMessage m;
    Status st = codec::DecodeMessage(
        protocol_,
        dir == store::Direction::kToServer ? codec::Sender::kClient : codec::Sender::kServer,
        text ? codec::FrameType::kText : codec::FrameType::kBinary, data, &scratch_, &m);
    uint8_t channel;
    std::string_view payload;
    if (st.ok()) {
      channel = m.channel;
      payload = m.payload;
    } else {
      // Relayed unchanged all the same; stored raw on the channel its first byte names.
      channel = data.empty() ? 255 : static_cast<uint8_t>(data[0]);
      payload = data.empty() ? data : data.substr(1);
    }
    if (dir == store::Direction::kFromServer && channel == codec::kError) {
      end.raw_status.append(payload);
    }
    Status a = writer_->Append(Now(), dir, channel, payload);
    if (!a.ok()) {
      if (fail_open_) {
        writer_->SetFailOpen();
        end.recording_complete = false;
        return true;
      }
      failure = "podtape proxy cannot record this session: " + a.message();
      return false;
    }
    if (dir == store::Direction::kFromServer) p_.metrics().bytes_recorded += payload.size();
    return true;
  }

  void ReadClient() {
    client_.async_read(cbuf_, [this](beast::error_code ec, size_t) {
      if (ec) return SideEnded(true, ec);
      std::string_view data(static_cast<const char*>(cbuf_.cdata().data()), cbuf_.size());
      bool text = client_.got_text();
      if (!Record(store::Direction::kToServer, text, data)) return Fail();
      up_.text(text);
      up_.async_write(cbuf_.cdata(), [this](beast::error_code ec2, size_t) {
        cbuf_.clear();
        if (ec2) return SideEnded(false, ec2);
        ReadClient();
      });
    });
  }

  void ReadUpstream() {
    up_.async_read(ubuf_, [this](beast::error_code ec, size_t) {
      if (ec) {
        grace_.cancel();
        if (ClientGone() && up_.reason().code != 0) RecordUpstreamClose();
        return SideEnded(false, ec);
      }
      std::string_view data(static_cast<const char*>(ubuf_.cdata().data()), ubuf_.size());
      bool text = up_.got_text();
      if (!Record(store::Direction::kFromServer, text, data)) return Fail();
      if (ClientGone()) {  // recorded, with nobody to relay it to
        ubuf_.clear();
        return ReadUpstream();
      }
      client_.text(text);
      client_.async_write(ubuf_.cdata(), [this](beast::error_code ec2, size_t) {
        ubuf_.clear();
        if (ec2) SideEnded(true, ec2);
        if (!ec2 || ClientGone()) ReadUpstream();
      });
    });
  }

  // The client hung up before the status: upstream is read on (recorded), not relayed.
  bool ClientGone() const { return !client_gone_error_.empty(); }

  void RecordUpstreamClose() {
    end.close_code = static_cast<int>(up_.reason().code);
    end.close_reason = std::string(up_.reason().reason.data(), up_.reason().reason.size());
  }

  // One side finished (close frame, EOF or error): close the other with the same code.
  void SideEnded(bool client_side, beast::error_code ec) {
    if (ending_) return;
    ending_ = true;
    websocket::close_reason cr;
    if (ec == websocket::error::closed || (!client_side && up_.reason().code != 0)) {
      // A close frame arrived (its reply may have failed: servers drop the connection at once).
      cr = client_side ? client_.reason() : up_.reason();
      if (!client_side) RecordUpstreamClose();
    } else if (!client_side && !end.raw_status.empty()) {
      // EOF after the status is the normal end (PROTOCOL.md 3.2).
      cr = websocket::close_reason(websocket::close_code::normal);
    } else {
      cr = websocket::close_reason(websocket::close_code::going_away);
      if (!client_side) {
        end.end_reason = "error";
        end.error = "upstream connection ended without a close frame: " + ec.message();
      }
    }
    if (client_side) {
      // A client that hangs up without a close frame before the exec's status came (kubectl cp
      // does, now and then) leaves the server's last output and status unread: read on for
      // kClientGoneGrace, recording, then close upstream. Conclude() decides how it ended.
      if (ec != websocket::error::closed && client_.reason().code == 0 && end.raw_status.empty()) {
        client_gone_error_ = "client connection ended without a close frame: " + ec.message();
        grace_.expires_after(kClientGoneGrace);
        grace_.async_wait([this, cr](beast::error_code timer_ec) {
          if (!timer_ec) up_.async_close(cr, [](beast::error_code) {});
        });
        return;
      }
      up_.async_close(cr, [](beast::error_code) {});
    } else {
      client_.async_close(cr, [](beast::error_code) {});
    }
  }

  void Fail() {
    if (ending_) return;
    ending_ = true;
    end.end_reason = "error";
    end.error = failure;
    p_.Log(failure);
    websocket::close_reason cr(websocket::close_code::internal_error, "podtape: recording failed");
    client_.async_close(cr, [](beast::error_code) {});
    up_.async_close(websocket::close_code::normal, [](beast::error_code) {});
  }

 private:
  Proxy& p_;
  websocket::stream<ClientStream&>& client_;
  websocket::stream<UpStream>& up_;
  codec::Subprotocol protocol_;
  store::SessionWriter* writer_;
  bool fail_open_;
  std::chrono::steady_clock::time_point start_;
  beast::flat_buffer cbuf_;
  beast::flat_buffer ubuf_;
  std::string scratch_;
  bool ending_ = false;
  net::steady_timer grace_;  // kClientGoneGrace, once the client is gone
  // Set once the client is gone (ClientGone()): what Conclude() records when no status came.
  std::string client_gone_error_;
};

// Per client connection.
template <class ClientStream, class UpStream>
class Connection {
 public:
  Connection(Proxy& p, net::io_context& ioc, ClientStream& client, std::optional<Caller> cert)
      : p_(p), ioc_(ioc), client_(client), cert_(std::move(cert)), chunk_(kRelayChunk) {}

  void Serve() {
    for (bool first = true;; first = false) {
      http::request_parser<http::buffer_body> req;
      req.body_limit(boost::none);
      req.header_limit(kMaxHeaderBytes);
      auto limit = first ? p_.options().client_header_timeout : p_.options().client_idle_timeout;
      beast::error_code ec = RunWithDeadline(ioc_, client_, limit, [&](auto handler) {
        http::async_read_header(client_, cbuf_, req, std::move(handler));
      });
      if (ec) {
        // A client that leaves, or stalls past the bound, is let go silently; one that sends
        // what is not HTTP, or too large a header, is told so first.
        if (ec == http::error::header_limit) {
          WriteSimple(client_, 431, "RequestHeaderFieldsTooLarge",
                      "request header larger than " + std::to_string(kMaxHeaderBytes) + " bytes",
                      false);
        } else if (ec.category() == beast::error_code(http::error::end_of_stream).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
          WriteSimple(client_, 400, "BadRequest", "malformed HTTP request: " + ec.message(), false);
        }
        if (p_.options().verbosity > 0 && ec != http::error::end_of_stream) {
          p_.Log("client connection ended before a request: " + ec.message());
        }
        return;
      }
      if (!Handle(req)) return;
    }
  }

 private:
  void Refuse(unsigned code, std::string_view reason, const std::string& message) {
    p_.metrics().refusals++;
    p_.Log("refused: " + message);
    WriteSimple(client_, code, reason, message, false);
  }

  // Returns whether the connection may serve another request.
  bool Handle(http::request_parser<http::buffer_body>& req) {
    auto& msg = req.get();
    p_.metrics().requests++;
    std::string target(msg.target());
    std::string path = target.substr(0, target.find('?'));
    if (path == "/healthz" && msg.method() == http::verb::get) {
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = p_.stopping() ? "stopping" : "ok";
      res.keep_alive(msg.keep_alive());
      res.prepare_payload();
      beast::error_code ec;
      http::write(client_, res, ec);
      return !ec && msg.keep_alive();
    }
    if (path == "/metrics" && msg.method() == http::verb::get) {
      Metrics& m = p_.metrics();
      std::string body;
      auto add = [&body](const char* name, const char* type, const char* help, int64_t v) {
        body += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type +
                "\n" + name + " " + std::to_string(v) + "\n";
      };
      add("podtape_proxy_sessions_active", "gauge", "exec/attach sessions being recorded",
          m.sessions_active.load());
      add("podtape_proxy_sessions_total", "counter", "exec/attach sessions recorded",
          m.sessions_total.load());
      add("podtape_proxy_bytes_recorded_total", "counter", "stdout/stderr/status bytes recorded",
          m.bytes_recorded.load());
      add("podtape_proxy_refusals_total", "counter", "requests refused by the proxy",
          m.refusals.load());
      add("podtape_proxy_store_errors_total", "counter", "failed writes to the store",
          m.store_errors.load());
      add("podtape_proxy_requests_total", "counter", "requests received", m.requests.load());
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = std::move(body);
      res.keep_alive(msg.keep_alive());
      res.prepare_payload();
      beast::error_code ec;
      http::write(client_, res, ec);
      return !ec && msg.keep_alive();
    }

    // Who is calling.
    Caller caller;
    std::string auth(msg[http::field::authorization]);
    std::string protocols(msg[http::field::sec_websocket_protocol]);
    std::string token;
    if (auth.size() > 7 && beast::iequals(std::string_view(auth).substr(0, 7), "bearer ")) {
      token = auth.substr(7);
    } else if (protocols.find("base64url.bearer.authorization.k8s.io.") != std::string::npos) {
      auto bearer = codec::ExtractBearerProtocol(protocols);
      if (!bearer.ok()) {
        Refuse(401, "Unauthorized", "Unauthorized: " + bearer.status().message());
        return false;
      }
      token = bearer->token;
    }
    if (!token.empty()) {
      caller.kind = Caller::Kind::kToken;
      caller.token = token;
    } else if (cert_) {
      caller = *cert_;
      if (msg.find("Impersonate-User") != msg.end() || msg.find("Impersonate-Group") != msg.end()) {
        Refuse(403, "Forbidden",
               "impersonation headers are not accepted with a client certificate through podtape "
               "proxy; use a bearer token");
        return false;
      }
    } else if (!auth.empty()) {
      // Basic or another scheme: passed through; the API server decides.
      caller.kind = Caller::Kind::kToken;
    } else if (!p_.options().allow_anonymous) {
      Refuse(401, "Unauthorized",
             "Unauthorized: podtape proxy needs a bearer token or a client certificate");
      return false;
    }

    if (IsNodeProxyStreamPath(target)) {
      Refuse(403, "Forbidden",
             "podtape proxy refuses nodes/proxy paths to the kubelet's exec, attach and run: "
             "they would bypass recording; use kubectl exec or attach");
      return false;
    }

    std::string upgrade(msg[http::field::upgrade]);
    StreamTarget st = ParseStreamTarget(target);
    std::string refusal_key = caller.user + "|" + TokenKey(caller.token) + "|" + path;
    if (!upgrade.empty() && st.ok && beast::iequals(upgrade.substr(0, 5), "SPDY/")) {
      if (auto r = p_.RecentRefusal(refusal_key)) {
        p_.metrics().refusals++;
        p_.Log("refused: SPDY retry of a refused WebSocket " + path);
        http::response<http::string_body> res{static_cast<http::status>(r->code), 11};
        res.set(http::field::content_type, "application/json");
        res.body() = r->body;
        res.keep_alive(false);
        res.prepare_payload();
        beast::error_code ec;
        http::write(client_, res, ec);
        return false;
      }
      Refuse(400, "BadRequest",
             "podtape proxy records exec and attach over WebSocket only: use kubectl 1.30 or "
             "newer (without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)");
      return false;
    }
    if (!upgrade.empty() && st.ok && beast::iequals(upgrade, "websocket")) {
      return HandleSession(req, caller, st, refusal_key);
    }
    return Forward(req, caller, !upgrade.empty());
  }

  Status EnsureUpstream(bool own_credentials) {
    if (up_ && up_own_ == own_credentials) return Status::OK();
    up_.reset();
    up_own_ = own_credentials;
    auto s = MakeStream<UpStream>(p_, ioc_, own_credentials);
    PODTAPE_RETURN_IF_ERROR(ConnectUpstream(p_, ioc_, *s));
    up_ = std::move(s);
    ubuf_.clear();
    return Status::OK();
  }

  bool Forward(http::request_parser<http::buffer_body>& req, const Caller& caller, bool upgrade) {
    auto& msg = req.get();
    bool keep_alive = msg.keep_alive();
    bool head = msg.method() == http::verb::head;
    ApplyCredentials(p_, caller, msg);
    msg.set(http::field::host, p_.conn().host_header);
    if (!p_.conn().path_prefix.empty()) {
      msg.target(p_.conn().path_prefix + std::string(msg.target()));
    }
    Status st = EnsureUpstream(caller.kind == Caller::Kind::kCertificate);
    if (!st.ok()) {
      WriteSimple(client_, 503, "ServiceUnavailable", st.message(), false);
      return false;
    }
    if (!RelayMessage<true>(*up_, client_, cbuf_, req, chunk_, &ioc_,
                            p_.options().client_body_timeout)) {
      if (p_.options().verbosity > 0) {
        p_.Log("a client's request body did not arrive in full; connection closed");
      }
      up_.reset();
      return false;
    }
    http::response_parser<http::buffer_body> res;
    res.body_limit(boost::none);
    res.header_limit(1 << 20);
    if (head) res.skip(true);
    beast::error_code ec = RunWithDeadline(
        ioc_, *up_, p_.options().upstream_header_timeout,
        [&](auto handler) { http::async_read_header(*up_, ubuf_, res, std::move(handler)); });
    if (ec) {
      up_.reset();
      WriteSimple(client_, 502, "BadGateway", "upstream failed: " + ec.message(), false);
      return false;
    }
    if (upgrade && res.get().result() == http::status::switching_protocols) {
      p_.Log("event: upgrade " + std::string(msg.target()) + " by " + Who(caller) +
             " passed through (not recorded)");
      http::response<http::empty_body> head_only{res.get().base()};
      http::write(client_, head_only, ec);
      if (ec) return false;
      RawRelay();
      return false;
    }
    bool upstream_keep = res.get().keep_alive();
    if (!RelayMessage<false>(client_, *up_, ubuf_, res, chunk_)) {
      up_.reset();
      return false;
    }
    if (!upstream_keep) up_.reset();
    return keep_alive;
  }

  // The caller's name for the event log: a token's is confirmed by a (cached) SelfSubjectReview.
  std::string Who(const Caller& caller) {
    if (!caller.user.empty()) return caller.user;
    if (caller.kind == Caller::Kind::kToken && !caller.token.empty()) {
      bool unauthorized = false;
      auto id = p_.IdentifyToken(caller.token, &unauthorized);
      if (id.ok() && !id->user.empty()) return id->user;
      return "(a token the API server did not confirm)";
    }
    return caller.kind == Caller::Kind::kNone ? "(anonymous)" : "(unknown)";
  }

  // After a passed-through upgrade (port-forward): bytes both ways until either side ends.
  void RawRelay() {
    struct Pump {
      std::vector<char> buf = std::vector<char>(kRelayChunk);
    };
    auto a = std::make_shared<Pump>();
    auto b = std::make_shared<Pump>();
    // Bytes already read past the upgrade response go first.
    beast::error_code ec;
    if (cbuf_.size() > 0) {
      net::write(*up_, cbuf_.data(), ec);
      cbuf_.clear();
    }
    if (ubuf_.size() > 0) {
      net::write(client_, ubuf_.data(), ec);
      ubuf_.clear();
    }
    auto close_all = [this] {
      beast::error_code ignored;
      Lowest(client_).socket().close(ignored);
      Lowest(*up_).socket().close(ignored);
    };
    std::function<void()> c2u, u2c;
    c2u = [&, a] {
      client_.async_read_some(net::buffer(a->buf), [&, a](beast::error_code e, size_t n) {
        if (e) return close_all();
        net::async_write(*up_, net::buffer(a->buf.data(), n), [&](beast::error_code e2, size_t) {
          if (e2) return close_all();
          c2u();
        });
      });
    };
    u2c = [&, b] {
      up_->async_read_some(net::buffer(b->buf), [&, b](beast::error_code e, size_t n) {
        if (e) return close_all();
        net::async_write(client_, net::buffer(b->buf.data(), n), [&](beast::error_code e2, size_t) {
          if (e2) return close_all();
          u2c();
        });
      });
    };
    c2u();
    u2c();
    ioc_.restart();
    ioc_.run();
    up_.reset();
  }

  bool HandleSession(http::request_parser<http::buffer_body>& req, Caller caller,
                     const StreamTarget& st, const std::string& refusal_key) {
    auto& msg = req.get();
    if (caller.kind == Caller::Kind::kToken && !caller.token.empty()) {
      bool unauthorized = false;
      auto id = p_.IdentifyToken(caller.token, &unauthorized);
      if (!id.ok()) {
        if (unauthorized) {
          Refuse(401, "Unauthorized", "Unauthorized");
        } else {
          std::string reason =
              "podtape proxy cannot confirm who is calling, so the session "
              "cannot be recorded: " +
              id.status().message();
          p_.RememberRefusal(refusal_key, 403, StatusJson(403, "Forbidden", reason));
          Refuse(403, "Forbidden", reason);
        }
        return false;
      }
      caller = *id;
    }
    // Upstream WebSocket with the client's headers and subprotocol offer.
    std::string offer(msg[http::field::sec_websocket_protocol]);
    auto up_stream = MakeStream<UpStream>(p_, ioc_, caller.kind == Caller::Kind::kCertificate);
    Status cs = ConnectUpstream(p_, ioc_, *up_stream);
    if (!cs.ok()) {
      WriteSimple(client_, 503, "ServiceUnavailable", cs.message(), false);
      return false;
    }
    websocket::stream<UpStream> up(std::move(*up_stream));
    up.auto_fragment(false);
    up.read_message_max(64 << 20);
    {
      websocket::stream_base::timeout t{};
      // Bounds the closing handshake (the opening ones here are synchronous).
      t.handshake_timeout = std::chrono::seconds(5);
      t.idle_timeout = websocket::stream_base::none();
      t.keep_alive_pings = false;
      up.set_option(t);
    }
    http::fields extra;
    for (const auto& f : msg) {
      http::field name = f.name();
      if (IsHopByHop(name, f.name_string())) continue;
      if (name == http::field::sec_websocket_key || name == http::field::sec_websocket_version ||
          name == http::field::sec_websocket_extensions || name == http::field::content_length) {
        continue;
      }
      extra.insert(f.name_string(), f.value());
    }
    ApplyCredentials(p_, caller, extra);
    up.set_option(websocket::stream_base::decorator([&extra](websocket::request_type& r) {
      for (const auto& f : extra) r.set(f.name_string(), f.value());
    }));
    websocket::response_type up_res;
    beast::error_code ec;
    std::string up_target = p_.conn().path_prefix + std::string(msg.target());
    ec = RunWithDeadline(ioc_, up, p_.options().upstream_connect_timeout, [&](auto handler) {
      up.async_handshake(up_res, p_.conn().host_header, up_target, std::move(handler));
    });
    if (ec) {
      // Pass the API server's refusal through as it is (status and body).
      if (ec != websocket::error::upgrade_declined) {
        WriteSimple(client_, 502, "BadGateway", "upstream upgrade failed: " + ec.message(), false);
        return false;
      }
      http::response<http::string_body> res{up_res.result(), 11};
      for (const auto& f : up_res) {
        if (IsHopByHop(f.name(), f.name_string()) || f.name() == http::field::transfer_encoding ||
            f.name() == http::field::content_length) {
          continue;
        }
        res.insert(f.name_string(), f.value());
      }
      res.body() = up_res.body();
      if (!res.body().empty()) {
        p_.RememberRefusal(refusal_key, up_res.result_int(), res.body());
      }
      res.keep_alive(false);
      res.prepare_payload();
      http::write(client_, res, ec);
      return false;
    }
    std::string chosen(up_res[http::field::sec_websocket_protocol]);
    codec::Subprotocol protocol =
        codec::ParseSubprotocol(chosen).value_or(codec::Subprotocol::kNone);

    // The recording starts before the client gets its 101: no recording, no session.
    store::SessionMeta meta;
    meta.kind = st.attach ? "attach" : "exec";
    meta.server = p_.conn().server;
    meta.cluster = p_.conn().cluster_name;
    meta.context = p_.conn().context_name;
    meta.namespace_ = st.namespace_;
    meta.pod = st.pod;
    meta.container = st.container;
    if (!st.attach) meta.command = st.command;
    meta.tty = st.tty;
    meta.stdin_ = st.use_stdin;
    meta.protocol = chosen;
    meta.user = caller.user;
    meta.groups = caller.groups;
    meta.user_source = caller.kind == Caller::Kind::kNone ? "none" : caller.user_source;
    meta.host = "podtape-proxy";
    meta.recorder_version = p_.options().version;
    std::unique_ptr<store::SessionWriter> writer;
    store::SessionWriter::Options wo;
    wo.queue_bytes = p_.options().session_queue_bytes;
    wo.sign_seal = p_.options().sign_seal;
    auto w = store::SessionWriter::Start(p_.options().db_path, std::move(meta), std::move(wo));
    if (!w.ok()) {
      p_.metrics().store_errors++;
      if (!p_.options().fail_open) {
        std::string reason =
            "podtape proxy cannot record this session, so it is refused: " + w.status().message();
        p_.RememberRefusal(refusal_key, 403, StatusJson(403, "Forbidden", reason));
        up.async_close(websocket::close_code::going_away, [](beast::error_code) {});
        ioc_.restart();
        ioc_.run_for(std::chrono::seconds(2));
        Refuse(403, "Forbidden", reason);
        return false;
      }
      p_.Log("recording failed, session continues unrecorded (--fail-open): " +
             w.status().message());
    } else {
      writer = std::move(*w);
      // Fail open from the first frame: a write failure the writer thread meets after the last
      // Append would otherwise surface at Finish as a failed (fail-closed) session.
      if (p_.options().fail_open) writer->SetFailOpen();
    }

    websocket::stream<ClientStream&> cws(client_);
    cws.auto_fragment(false);
    cws.read_message_max(64 << 20);
    {
      websocket::stream_base::timeout t{};
      // Bounds the closing handshake (the opening ones here are synchronous).
      t.handshake_timeout = std::chrono::seconds(5);
      t.idle_timeout = websocket::stream_base::none();
      t.keep_alive_pings = false;
      cws.set_option(t);
    }
    cws.set_option(websocket::stream_base::decorator([&chosen](websocket::response_type& r) {
      if (!chosen.empty()) r.set(http::field::sec_websocket_protocol, chosen);
    }));
    // Beast's accept wants a request with a body it can ignore.
    http::request<http::empty_body> hs{msg.base()};
    cws.accept(hs, ec);
    p_.metrics().sessions_active++;
    p_.metrics().sessions_total++;
    store::SessionEnd end;
    if (ec) {
      end.end_reason = "error";
      end.error = "client handshake failed: " + ec.message();
      up.async_close(websocket::close_code::going_away, [](beast::error_code) {});
      ioc_.restart();
      ioc_.run_for(std::chrono::seconds(2));
    } else {
      WsRelay<ClientStream, UpStream> relay(p_, cws, up, protocol, writer.get(),
                                            p_.options().fail_open);
      relay.Start();
      ioc_.restart();
      ioc_.run();
      relay.Conclude();
      end = relay.end;
    }
    if (writer) {
      if (!end.raw_status.empty()) {
        auto rs = codec::ParseStatus(protocol, end.raw_status);
        if (rs.ok() && rs->kind != codec::RemoteStatus::Kind::kNone) end.exit_code = rs->exit_code;
      }
      end.ended_at_ns = UnixNowNs();
      Status f = writer->Finish(end);
      if (!f.ok()) p_.Log("cannot finish the recording: " + f.message());
      // Counted here, once per failed write, fail open or not (Append and Finish report no
      // failure once the writer fails open).
      p_.metrics().store_errors += writer->failed_writes();
      if (p_.options().on_session_end) p_.options().on_session_end(writer->id());
    }
    p_.metrics().sessions_active--;
    return false;
  }

  Proxy& p_;
  net::io_context& ioc_;
  ClientStream& client_;
  std::optional<Caller> cert_;
  std::vector<char> chunk_;
  beast::flat_buffer cbuf_;
  beast::flat_buffer ubuf_;
  std::unique_ptr<UpStream> up_;
  bool up_own_ = false;
};

template <class ClientStream>
void ServeWith(Proxy& p, net::io_context& ioc, ClientStream& client, std::optional<Caller> cert) {
  if (p.upstream_tls()) {
    Connection<ClientStream, TlsStream> c(p, ioc, client, std::move(cert));
    c.Serve();
  } else {
    Connection<ClientStream, PlainStream> c(p, ioc, client, std::move(cert));
    c.Serve();
  }
}

std::optional<Caller> CertificateCaller(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  auto id = kube::IdentityFromCertificatePem(pem);
  if (!id.ok() || id->user.empty()) return std::nullopt;
  Caller c;
  c.kind = Caller::Kind::kCertificate;
  c.user = id->user;
  c.groups = id->groups;
  c.user_source = "certificate";
  return c;
}

}  // namespace

void Proxy::ServeSocket(tcp::socket socket) {
  net::io_context ioc;
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  tcp::endpoint local = socket.local_endpoint(ec);
  if (ec) return;
  auto native = socket.release(ec);
  if (ec) return;
  beast::tcp_stream tcp_stream(ioc);
  tcp_stream.socket().assign(local.protocol(), native, ec);
  if (ec) {
    ::close(native);
    return;
  }
  if (server_ctx_) {
    TlsStream tls(std::move(tcp_stream), *server_ctx_);
    ec = RunWithDeadline(ioc, tls, options_.client_header_timeout, [&](auto handler) {
      tls.async_handshake(ssl::stream_base::server, std::move(handler));
    });
    if (ec) {
      if (options_.verbosity > 0) Log("tls handshake with a client failed: " + ec.message());
      return;
    }
    ServeWith(*this, ioc, tls, CertificateCaller(tls.native_handle()));
    // Bounded: a client that never answers the close_notify is not waited for.
    RunWithDeadline(ioc, tls, std::chrono::seconds(2),
                    [&](auto handler) { tls.async_shutdown(std::move(handler)); });
  } else {
    ServeWith(*this, ioc, tcp_stream, std::nullopt);
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }
}

Result<int> Proxy::Run() {
  // Signals are taken by sigwait on this thread; every thread started below inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::string host = options_.listen;
  std::string port_text = "0";
  size_t colon = host.rfind(':');
  if (colon != std::string::npos) {
    port_text = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  beast::error_code ec;
  net::ip::address addr = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--listen " + options_.listen + ": not an IP address");
  if (!server_ctx_ && !addr.is_loopback()) {
    return Status::InvalidArgument(
        "plain HTTP is served on a loopback address only; pass --tls-cert and --tls-key to listen "
        "on " +
        host);
  }
  int port = 0;
  try {
    port = std::stoi(port_text);
  } catch (...) {
    return Status::InvalidArgument("--listen " + options_.listen + ": bad port");
  }
  net::io_context ioc;
  tcp::acceptor acceptor(ioc);
  tcp::endpoint endpoint(addr, static_cast<unsigned short>(port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + options_.listen + ": " + ec.message());
  tcp::endpoint bound = acceptor.local_endpoint();
  std::string shown = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                              : bound.address().to_string();
  std::printf("listening on %s://%s:%u\n", server_ctx_ ? "https" : "http", shown.c_str(),
              bound.port());
  std::fflush(stdout);

  int listen_fd = acceptor.native_handle();
  std::thread acceptor_thread([this, &acceptor] {
    for (;;) {
      beast::error_code aec;
      tcp::socket s = acceptor.accept(aec);
      if (stopping_.load()) return;
      if (aec) {
        if (aec == net::error::bad_descriptor || aec == net::error::invalid_argument) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      // Each connection owns its thread; it ends when the client leaves.
      std::thread([this, sock = std::move(s)]() mutable { ServeSocket(std::move(sock)); }).detach();
    }
  });

  int signo = 0;
  for (;;) {
    sigwait(&set, &signo);
    if (signo != SIGPIPE) break;
  }
  stopping_.store(true);
  Log("stopping: no new connections; waiting for running sessions");
  ::shutdown(listen_fd, SHUT_RDWR);
  acceptor_thread.join();
  auto deadline = std::chrono::steady_clock::now() + options_.grace;
  while (metrics_.sessions_active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int64_t left = metrics_.sessions_active.load();
  if (left > 0) {
    Log(std::to_string(left) +
        " session(s) still running after the grace period; they are left "
        "interrupted");
  }
  // Running sessions are cut here: their rows stay unended and read as interrupted.
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}

Result<int> RunProxy(const ProxyOptions& options) {
  auto p = std::make_unique<Proxy>(options);
  PODTAPE_RETURN_IF_ERROR(p->Init());
  return p->Run();
}

}  // namespace podtape::recorder
