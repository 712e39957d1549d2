// podtape proxy --listen ADDR [--tls-cert F --tls-key F] [--client-ca F] [--upstream URL]
//               [--allow-anonymous] [--fail-open] [--sign-key F] [kubectl's connection flags]
//
// Each recorded session is indexed for search once it ends (SessionIndexer below).
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "cli/app.h"
#include "podtape_version.h"
#include "recorder/proxy.h"
#include "schema/signing.h"

namespace podtape::cli {

namespace {

struct ProxyFlagValues {
  recorder::ProxyOptions options;
  bool insecure_skip_tls_verify = false;
  CLI::Option* insecure_option = nullptr;
  double grace_s = 10;
  double client_timeout_s = 30;
  std::string sign_key;
};

// Indexes ended sessions for search: one `podtape index --background` child at a time (nice 19,
// idle I/O; cli/index_command.cc), started when a session ends and none is running, then again
// after it exits if more sessions ended meanwhile. A child process, not a thread, so building a
// large session's index never adds to the long-running proxy's memory. Notify() may be called
// from any thread and never waits. The thread starts at the first Notify, so it inherits the
// proxy's blocked signal mask (SIGTERM goes to the proxy's sigwait), and lives until the process
// ends; an index left half-done is caught up by search, audit or the next pass.
class SessionIndexer {
 public:
  explicit SessionIndexer(std::string db_path) : state_(std::make_shared<State>()) {
    state_->db_path = std::move(db_path);
    const char* off = std::getenv("PODTAPE_NO_INDEX");
    state_->disabled = off != nullptr && *off != '\0' && std::string_view(off) != "0";
  }

  void Notify() {
    if (state_->disabled) return;
    std::call_once(started_, [this] { std::thread([s = state_] { Loop(*s); }).detach(); });
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->pending = true;
    state_->cv.notify_one();
  }

 private:
  struct State {
    std::string db_path;
    bool disabled = false;
    std::mutex mu;
    std::condition_variable cv;
    bool pending = false;
  };

  static void Loop(State& s) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(s.mu);
        s.cv.wait(lock, [&s] { return s.pending; });
        s.pending = false;
      }
      pid_t pid = SpawnIndexer(s.db_path, /*detached=*/false);
      if (pid <= 0) continue;
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  std::shared_ptr<State> state_;
  std::once_flag started_;
};

}  // namespace

void RegisterProxy(CLI::App& app, Globals& globals) {
  auto v = std::make_shared<ProxyFlagValues>();
  recorder::ProxyOptions& o = v->options;
  kube::KubeFlags& f = o.flags;
  CLI::App* cmd = app.add_subcommand(
      "proxy",
      "serve the Kubernetes API through a proxy that records every exec and attach session");
  cmd->add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->type_name("ADDR")
      ->required();
  cmd->add_option("--tls-cert", o.tls_cert, "PEM certificate chain to serve HTTPS with")
      ->type_name("FILE");
  cmd->add_option("--tls-key", o.tls_key, "PEM private key of --tls-cert")->type_name("FILE");
  cmd->add_option("--client-ca", o.client_ca,
                  "PEM CA: client certificates it signed are accepted; the proxy then calls the "
                  "API server with its own credentials and Impersonate-User/Group (CN/O)")
      ->type_name("FILE");
  cmd->add_option("--upstream", o.upstream, "API server URL (default: the kubeconfig's server)")
      ->type_name("URL");
  cmd->add_flag("--allow-anonymous", o.allow_anonymous,
                "pass requests with neither a bearer token nor a client certificate");
  cmd->add_flag("--fail-open", o.fail_open,
                "let sessions run when they cannot be recorded (marked incomplete); default: "
                "refuse or end them");
  cmd->add_option("--sign-key", v->sign_key,
                  "sign each session's seal with this Ed25519 private key (PEM, as 'openssl "
                  "genpkey -algorithm ed25519' writes it); podtape verify --key checks it")
      ->type_name("FILE");
  cmd->add_option("--client-timeout", v->client_timeout_s,
                  "seconds a client may stall while sending a request header or body before "
                  "its connection is closed (default 30)")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--grace", v->grace_s,
                  "seconds running sessions get to finish after SIGTERM (default 10)")
      ->type_name("SECONDS");
  cmd->add_option("--kubeconfig", f.kubeconfig, "path to the kubeconfig file")->type_name("FILE");
  cmd->add_option("--context", f.context, "the kubeconfig context to use")->type_name("NAME");
  cmd->add_option("--cluster", f.cluster, "the kubeconfig cluster to use")->type_name("NAME");
  cmd->add_option("--user", f.user, "the kubeconfig user to use")->type_name("NAME");
  cmd->add_option("--token", f.token, "the proxy's bearer token (for certificate callers)")
      ->type_name("TOKEN");
  cmd->add_option("--certificate-authority", f.certificate_authority,
                  "path to a cert file for the API server's certificate authority")
      ->type_name("FILE");
  cmd->add_option("--client-certificate", f.client_certificate,
                  "the proxy's client certificate file")
      ->type_name("FILE");
  cmd->add_option("--client-key", f.client_key, "the proxy's client key file")->type_name("FILE");
  v->insecure_option = cmd->add_flag("--insecure-skip-tls-verify", v->insecure_skip_tls_verify,
                                     "do not check the API server's certificate (insecure)");
  cmd->add_option("--tls-server-name", f.tls_server_name,
                  "server name for certificate validation and SNI")
      ->type_name("NAME");
  cmd->callback([v, &globals] {
    globals.run = [v, &globals]() -> Result<int> {
      recorder::ProxyOptions& o = v->options;
      if (v->insecure_option->count() > 0) {
        o.flags.insecure_skip_tls_verify = v->insecure_skip_tls_verify;
      }
      auto db = ResolveDbPath(globals);
      if (!db.ok()) return db.status();
      o.db_path = *db;
      o.verbosity = globals.verbosity;
      o.version = PODTAPE_VERSION;
      o.grace = std::chrono::milliseconds(static_cast<int64_t>(v->grace_s * 1000));
      o.client_header_timeout =
          std::chrono::milliseconds(static_cast<int64_t>(v->client_timeout_s * 1000));
      o.client_body_timeout = o.client_header_timeout;
      if (!v->sign_key.empty()) {
        // Loaded before listening: a bad key fails at start-up, not at the first session.
        auto key = store::Ed25519Key::LoadPrivate(v->sign_key);
        if (!key.ok()) return key.status().WithContext("--sign-key");
        o.sign_seal = [key = *key](const store::Hash& seal) { return key->Sign(seal); };
      }
      // Lives until the process ends (RunProxy returns only on a start-up failure).
      auto indexer = std::make_shared<SessionIndexer>(o.db_path);
      o.on_session_end = [indexer](const std::string&) { indexer->Notify(); };
      return recorder::RunProxy(o);
    };
  });
}

}  // namespace podtape::cli
