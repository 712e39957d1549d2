#include "recorder/kubeconfig.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "recorder/credentials.h"

extern char** environ;

namespace podtape::kube {
namespace fs = std::filesystem;
namespace urls = boost::urls;
namespace {

// Go's error text for an errno: strerror with a lower-case first letter.
std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

// The whole file, or Go's "open PATH: reason".
Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("open {}: {}", path, ErrnoText(errno)));
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Status::IOError(fmt::format("read {}: {}", path, ErrnoText(EISDIR)));
  }
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("read {}: {}", path, ErrnoText(errno)));
  return std::move(data).str();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string TrimSpace(std::string_view s) {
  const char* ws = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

// One loaded kubeconfig file.
struct ConfigFile {
  std::string path;  // as given (messages quote it as given, like kubectl)
  fs::path dir;      // absolute folder: base of relative paths inside it
  YAML::Node root;
};

// A named cluster, context or user, with the file it came from.
struct Entry {
  YAML::Node body;  // the "cluster:" / "context:" / "user:" map (may be null)
  const ConfigFile* file = nullptr;
};

struct MergedConfig {
  std::vector<std::unique_ptr<ConfigFile>> files;
  std::map<std::string, Entry, std::less<>> clusters;
  std::map<std::string, Entry, std::less<>> contexts;
  std::map<std::string, Entry, std::less<>> users;
  std::string current_context;
};

Status FileError(const std::string& path, std::string_view what) {
  return Status::InvalidArgument(fmt::format("error loading config file \"{}\": {}", path, what));
}

// Reads typed fields of one entry, with messages naming the file, the entry and the key.
class Fields {
 public:
  Fields(const Entry* entry, std::string what) : entry_(entry), what_(std::move(what)) {}

  bool Has(const char* key) const { return Node(key).IsDefined() && !Node(key).IsNull(); }

  // "" when absent or null.
  Result<std::string> String(const char* key) const {
    YAML::Node n = Node(key);
    if (!n.IsDefined() || n.IsNull()) return std::string();
    if (!n.IsScalar()) return Error(key, "must be a string");
    return n.Scalar();
  }

  // false when absent.
  Result<bool> Bool(const char* key) const {
    YAML::Node n = Node(key);
    if (!n.IsDefined() || n.IsNull()) return false;
    bool value = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
      return Error(key, "must be true or false");
    }
    return value;
  }

  // The decoded bytes of a base64 field; "" when absent.
  Result<std::string> Base64(const char* key) const {
    Result<std::string> text = String(key);
    if (!text.ok() || text->empty()) return text;
    Result<std::string> bytes = DecodeBase64(*text);
    if (!bytes.ok()) return Error(key, bytes.status().message());
    return bytes;
  }

  // A file path field, made absolute against the kubeconfig's folder; "" when absent.
  Result<std::string> Path(const char* key) const {
    Result<std::string> p = String(key);
    if (!p.ok() || p->empty()) return p;
    return Resolve(*p);
  }

  std::string Resolve(const std::string& p) const {
    if (entry_ == nullptr || fs::path(p).is_absolute()) return p;
    return (entry_->file->dir / p).lexically_normal().string();
  }

  // A sequence of strings; empty when absent.
  Result<std::vector<std::string>> Strings(const char* key) const {
    std::vector<std::string> out;
    YAML::Node n = Node(key);
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsSequence()) return Error(key, "must be a list of strings");
    for (const YAML::Node& item : n) {
      if (!item.IsScalar()) return Error(key, "must be a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  }

  YAML::Node Node(const char* key) const {
    if (entry_ == nullptr || !entry_->body.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& body = entry_->body;
    return body[key];
  }

  Status Error(std::string_view key, std::string_view msg) const {
    return FileError(entry_->file->path, fmt::format("{} of {}: {}", key, what_, msg));
  }

 private:
  const Entry* entry_;  // nullptr: an entry that does not exist (every field absent)
  std::string what_;    // `cluster "c1"`
};

// Adds one file's clusters, contexts and users to `merged`; entries already there win.
Status MergeList(const ConfigFile& file, const char* list_key, const char* body_key,
                 std::map<std::string, Entry, std::less<>>& into) {
  const YAML::Node& root = file.root;
  YAML::Node list = root[list_key];
  if (!list.IsDefined() || list.IsNull()) return Status::OK();
  if (!list.IsSequence()) return FileError(file.path, fmt::format("{} must be a list", list_key));
  std::map<std::string, bool, std::less<>> seen;
  for (const YAML::Node& item : list) {
    if (!item.IsMap())
      return FileError(file.path, fmt::format("{} entries must be maps", list_key));
    YAML::Node name = item["name"];
    if (!name.IsDefined() || !name.IsScalar()) {
      return FileError(file.path, fmt::format("an entry of {} has no name", list_key));
    }
    const std::string& n = name.Scalar();
    if (!seen.emplace(n, true).second) {
      return FileError(file.path, fmt::format("duplicate name \"{}\" in {}", n, list_key));
    }
    // An entry without its body map ("- name: x" alone) is an empty one; yaml-cpp's node for a
    // missing key throws on any use but IsDefined.
    YAML::Node body = item[body_key];
    into.try_emplace(n, Entry{body.IsDefined() ? body : YAML::Node(), &file});
  }
  return Status::OK();
}

Status LoadFile(const std::string& path, MergedConfig& merged) {
  auto file = std::make_unique<ConfigFile>();
  file->path = path;
  std::error_code ec;
  file->dir = fs::absolute(fs::path(path), ec).parent_path();
  if (fs::is_directory(path, ec)) {
    return FileError(path, fmt::format("read {}: {}", path, ErrnoText(EISDIR)));
  }
  try {
    file->root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::IOError(fmt::format("open {}: {}", path, ErrnoText(errno ? errno : ENOENT)));
  } catch (const YAML::Exception& e) {
    std::string msg = e.what();
    if (msg.rfind("yaml-cpp: ", 0) == 0) msg.erase(0, 10);
    return FileError(path, msg);
  }
  const YAML::Node& root = file->root;
  if (root.IsNull()) {  // an empty file is an empty config, as in client-go
    merged.files.push_back(std::move(file));
    return Status::OK();
  }
  if (!root.IsMap()) return FileError(path, "not a kubeconfig (the top level is not a map)");
  PODTAPE_RETURN_IF_ERROR(MergeList(*file, "clusters", "cluster", merged.clusters));
  PODTAPE_RETURN_IF_ERROR(MergeList(*file, "contexts", "context", merged.contexts));
  PODTAPE_RETURN_IF_ERROR(MergeList(*file, "users", "user", merged.users));
  YAML::Node current = root["current-context"];
  if (merged.current_context.empty() && current.IsDefined() && current.IsScalar()) {
    merged.current_context = current.Scalar();
  }
  merged.files.push_back(std::move(file));
  return Status::OK();
}

// The files kubectl reads, in precedence order.
Result<std::vector<std::string>> ConfigPaths(const KubeFlags& flags, const Environment& env) {
  std::vector<std::string> paths;
  if (!flags.kubeconfig.empty()) {
    if (!FileExists(flags.kubeconfig)) {
      return Status::NotFound(fmt::format("stat {}: {}", flags.kubeconfig, ErrnoText(ENOENT)));
    }
    paths.push_back(flags.kubeconfig);
    return paths;
  }
  const std::string* list = env.Get("KUBECONFIG");
  if (list != nullptr && !list->empty()) {
    std::string_view rest = *list;
    while (true) {
      size_t colon = rest.find(':');
      std::string p(rest.substr(0, colon));
      // Empty entries, repeats and missing files are skipped, as client-go does.
      if (!p.empty() && FileExists(p) && std::find(paths.begin(), paths.end(), p) == paths.end()) {
        paths.push_back(std::move(p));
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    return paths;
  }
  const std::string* home = env.Get("HOME");
  if (home != nullptr && !home->empty()) {
    std::string p = *home + "/.kube/config";
    if (FileExists(p)) paths.push_back(std::move(p));
  }
  return paths;
}

const Entry* Find(const std::map<std::string, Entry, std::less<>>& map, std::string_view name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : &it->second;
}

// Fills the URL fields of `c` from a server string.
Status ParseServer(std::string server, Connection& c) {
  // client-go: a server without a scheme ("10.0.0.1:6443") is taken as http:// by kubectl.
  if (server.find("://") == std::string::npos) server = "http://" + server;
  auto parsed = urls::parse_uri(server);
  if (!parsed) {
    return Status::InvalidArgument(
        fmt::format("invalid server URL \"{}\": {}; give a URL like https://HOST:PORT", server,
                    parsed.error().message()));
  }
  const urls::url_view& u = *parsed;
  std::string scheme(u.scheme());
  for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (scheme != "https" && scheme != "http") {
    return Status::InvalidArgument(fmt::format("unsupported protocol scheme \"{}\"", scheme));
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    return Status::InvalidArgument(fmt::format(
        "invalid server URL \"{}\": no host; give a URL like https://HOST:PORT", server));
  }
  c.is_tls = scheme == "https";
  switch (u.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
      c.host_is_ip = true;
      c.host = std::string(u.host_address());
      break;
    case urls::host_type::name:
      c.host_is_ip = false;
      c.host = std::string(u.host_address());
      break;
    default:
      return Status::InvalidArgument(
          fmt::format("invalid server URL \"{}\": unsupported host form", server));
  }
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      return Status::InvalidArgument(fmt::format("invalid port in server URL \"{}\"", server));
    }
    c.port = u.port_number();
  } else {
    c.port = c.is_tls ? 443 : 80;
  }
  c.host_header = std::string(u.encoded_host_and_port());
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  c.path_prefix = path;
  c.server = fmt::format("{}://{}{}", scheme, c.host_header, c.path_prefix);
  return Status::OK();
}

Status ExecConfigFrom(const Fields& user, const std::string& user_name, ExecPluginConfig& out) {
  const YAML::Node exec = user.Node("exec");
  out.user_name = user_name;
  auto str = [&](const char* key, std::string& into) -> Status {
    const YAML::Node n = exec[key];
    if (!n.IsDefined() || n.IsNull()) return Status::OK();
    if (!n.IsScalar()) return user.Error(fmt::format("exec.{}", key), "must be a string");
    into = n.Scalar();
    return Status::OK();
  };
  if (!exec.IsMap()) return user.Error("exec", "must be a map");
  PODTAPE_RETURN_IF_ERROR(str("apiVersion", out.api_version));
  PODTAPE_RETURN_IF_ERROR(str("command", out.command));
  PODTAPE_RETURN_IF_ERROR(str("installHint", out.install_hint));
  PODTAPE_RETURN_IF_ERROR(str("interactiveMode", out.interactive_mode));
  if (out.command.empty()) return user.Error("exec.command", "is missing");
  if (out.api_version.empty()) return user.Error("exec.apiVersion", "is missing");
  // client-go resolves a relative command against the kubeconfig's folder only when it
  // contains a '/'; a bare name is looked up on PATH.
  if (out.command.find('/') != std::string::npos) out.command = user.Resolve(out.command);
  const YAML::Node args = exec["args"];
  if (args.IsDefined() && !args.IsNull()) {
    if (!args.IsSequence()) return user.Error("exec.args", "must be a list of strings");
    for (const YAML::Node& a : args) {
      if (!a.IsScalar()) return user.Error("exec.args", "must be a list of strings");
      out.args.push_back(a.Scalar());
    }
  }
  const YAML::Node env = exec["env"];
  if (env.IsDefined() && !env.IsNull()) {
    if (!env.IsSequence()) return user.Error("exec.env", "must be a list of {name, value}");
    for (const YAML::Node& e : env) {
      YAML::Node name = e["name"];
      YAML::Node value = e["value"];
      if (!e.IsMap() || !name.IsDefined() || !name.IsScalar()) {
        return user.Error("exec.env", "every entry needs a name");
      }
      std::string v;
      if (value.IsDefined() && !value.IsNull()) {
        if (!value.IsScalar()) return user.Error("exec.env", "values must be strings");
        v = value.Scalar();
      }
      out.env.emplace_back(name.Scalar(), std::move(v));
    }
  }
  const YAML::Node provide = exec["provideClusterInfo"];
  if (provide.IsDefined() && !provide.IsNull()) {
    if (!provide.IsScalar() || !YAML::convert<bool>::decode(provide, out.provide_cluster_info)) {
      return user.Error("exec.provideClusterInfo", "must be true or false");
    }
  }
  return Status::OK();
}

// The in-cluster config kubectl uses inside a pod, or nullopt when this is not a pod
// (client-go's inClusterClientConfig.Possible and rest.InClusterConfig).
Result<std::optional<Connection>> InClusterConnection(const KubeFlags& flags,
                                                      const Environment& env) {
  const std::string* host = env.Get("KUBERNETES_SERVICE_HOST");
  const std::string* port = env.Get("KUBERNETES_SERVICE_PORT");
  const std::string token_file = env.service_account_dir + "/token";
  struct stat st;
  if (host == nullptr || port == nullptr || host->empty() || port->empty() ||
      ::stat(token_file.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) {
    return std::optional<Connection>();
  }
  Connection c;
  // net.JoinHostPort: brackets around an IPv6 literal.
  const bool ipv6 = host->find(':') != std::string::npos;
  PODTAPE_RETURN_IF_ERROR(ParseServer(
      fmt::format("https://{}{}{}:{}", ipv6 ? "[" : "", *host, ipv6 ? "]" : "", *port), c));
  Result<std::string> token = ReadWholeFile(token_file);
  if (!token.ok()) return token.status();
  c.token = TrimSpace(*token);
  c.credential_source = "service account token " + token_file;
  // An unreadable ca.crt leaves the system roots, as client-go does (it only logs).
  Result<std::string> ca = ReadWholeFile(env.service_account_dir + "/ca.crt");
  if (ca.ok()) c.ca_pem = std::move(*ca);
  const std::string* pod_namespace = env.Get("POD_NAMESPACE");
  Result<std::string> ns_file = ReadWholeFile(env.service_account_dir + "/namespace");
  if (!flags.namespace_.empty()) {
    c.namespace_ = flags.namespace_;
  } else if (pod_namespace != nullptr && !pod_namespace->empty()) {
    c.namespace_ = *pod_namespace;
  } else if (ns_file.ok() && !TrimSpace(*ns_file).empty()) {
    c.namespace_ = TrimSpace(*ns_file);
  } else {
    c.namespace_ = "default";
  }
  return std::optional<Connection>(std::move(c));
}

}  // namespace

Result<std::chrono::milliseconds> ParseRequestTimeout(std::string_view text) {
  const Status invalid = Status::InvalidArgument(
      "Invalid timeout value. Timeout must be a single integer in seconds, or an integer followed "
      "by a corresponding time unit (e.g. 1s | 2m | 3h)");
  if (text.empty()) return std::chrono::milliseconds(0);
  // A bare integer is seconds.
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 9) return invalid;
    return std::chrono::milliseconds(std::stoll(std::string(text)) * 1000);
  }
  // Otherwise Go's time.ParseDuration: [+]{number[.fraction]unit}+, units ns us µs ms s m h.
  std::string_view s = text;
  if (s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return invalid;
  long double total_ns = 0;
  while (!s.empty()) {
    size_t digits = s.find_first_not_of("0123456789.");
    if (digits == 0 || digits == std::string_view::npos) return invalid;
    std::string number(s.substr(0, digits));
    if (std::count(number.begin(), number.end(), '.') > 1 || number == ".") return invalid;
    s.remove_prefix(digits);
    size_t unit_len = s.find_first_of("0123456789.");
    std::string_view unit = s.substr(0, unit_len);
    s.remove_prefix(unit.size());
    long double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      return invalid;
    // strtold, not stold: a number out of long double's range is an invalid timeout (HUGE_VALL
    // fails the bound below), not a std::out_of_range thrown out of the loader.
    total_ns += std::strtold(number.c_str(), nullptr) * scale;
  }
  if (total_ns > 1e18L) return invalid;
  // A positive duration under 1 ms is not "no timeout": round up.
  auto ms = static_cast<long long>((total_ns + 999999.0L) / 1e6L);
  return std::chrono::milliseconds(ms);
}

Environment Environment::FromProcess() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  env.stdin_is_terminal = ::isatty(0) == 1;
  return env;
}

const std::string* Environment::Get(std::string_view name) const {
  auto it = vars.find(name);
  return it == vars.end() ? nullptr : &it->second;
}

std::chrono::system_clock::time_point Environment::Now() const {
  return now ? now() : std::chrono::system_clock::now();
}

std::string Connection::DebugString() const {
  std::string groups;
  for (const std::string& g : as_groups) {
    if (!groups.empty()) groups += ',';
    groups += g;
  }
  return fmt::format(
      "server={} defaulted={} tls={} host={} port={} prefix={} context={} cluster={} user={} "
      "namespace={} ca={} insecure={} tls_server_name={} client_cert={} client_key={} "
      "token={} credential={} as={} as_groups={} request_timeout_ms={}",
      server, server_defaulted, is_tls, host, port, path_prefix, context_name, cluster_name,
      user_name, namespace_, ca_pem.empty() ? "system" : fmt::format("<{} bytes>", ca_pem.size()),
      insecure_skip_tls_verify, tls_server_name,
      client_cert_pem.empty() ? "none" : fmt::format("<{} bytes>", client_cert_pem.size()),
      client_key_pem.empty() ? "none" : fmt::format("<{} bytes>", client_key_pem.size()),
      token.empty() ? "none" : fmt::format("<redacted, {} bytes>", token.size()),
      credential_source.empty() ? "none" : credential_source, as_user, groups,
      request_timeout.count());
}

Result<Connection> LoadConnection(const KubeFlags& flags, const Environment& env) {
  Connection c;
  Result<std::chrono::milliseconds> timeout = ParseRequestTimeout(flags.request_timeout);
  if (!timeout.ok()) return timeout.status();
  c.request_timeout = *timeout;

  Result<std::vector<std::string>> paths = ConfigPaths(flags, env);
  if (!paths.ok()) return paths.status();
  MergedConfig merged;
  for (const std::string& p : *paths) PODTAPE_RETURN_IF_ERROR(LoadFile(p, merged));

  // The context.
  c.context_name = flags.context.empty() ? merged.current_context : flags.context;
  const Entry* context = nullptr;
  if (!c.context_name.empty()) {
    context = Find(merged.contexts, c.context_name);
    if (context == nullptr) {
      return Status::InvalidArgument(
          fmt::format("context was not found for specified context: {}", c.context_name));
    }
  }
  Fields ctx(context, fmt::format("context \"{}\"", c.context_name));
  Result<std::string> ctx_cluster = ctx.String("cluster");
  if (!ctx_cluster.ok()) return ctx_cluster.status();
  Result<std::string> ctx_user = ctx.String("user");
  if (!ctx_user.ok()) return ctx_user.status();
  Result<std::string> ctx_namespace = ctx.String("namespace");
  if (!ctx_namespace.ok()) return ctx_namespace.status();

  // The cluster: a --cluster that names nothing is an error; a context's cluster that names
  // nothing is an empty cluster (kubectl then falls back to the default server).
  c.cluster_name = flags.cluster.empty() ? *ctx_cluster : flags.cluster;
  const Entry* cluster = c.cluster_name.empty() ? nullptr : Find(merged.clusters, c.cluster_name);
  if (cluster == nullptr && !flags.cluster.empty()) {
    return Status::InvalidArgument(
        fmt::format("no server found for cluster \"{}\"", flags.cluster));
  }
  c.user_name = flags.user.empty() ? *ctx_user : flags.user;
  const Entry* user = c.user_name.empty() ? nullptr : Find(merged.users, c.user_name);
  if (user == nullptr && !flags.user.empty()) {
    return Status::InvalidArgument(fmt::format("auth info \"{}\" does not exist", flags.user));
  }

  Fields cl(cluster, fmt::format("cluster \"{}\"", c.cluster_name));
  Result<std::string> server = cl.String("server");
  if (!server.ok()) return server.status();
  Result<std::string> ca_file = cl.Path("certificate-authority");
  if (!ca_file.ok()) return ca_file.status();
  Result<std::string> ca_data = cl.Base64("certificate-authority-data");
  if (!ca_data.ok()) return ca_data.status();
  Result<bool> insecure = cl.Bool("insecure-skip-tls-verify");
  if (!insecure.ok()) return insecure.status();
  Result<std::string> tls_server_name = cl.String("tls-server-name");
  if (!tls_server_name.ok()) return tls_server_name.status();
  if (cl.Has("proxy-url")) {
    return cl.Error("proxy-url", "HTTP proxies are not supported by podtape yet; remove it");
  }

  // Flag overrides, with client-go's rules: an insecure or CA flag replaces all three TLS
  // trust fields; -s or --tls-server-name replaces tls-server-name.
  if (!flags.server.empty()) *server = flags.server;
  const bool insecure_flag = flags.insecure_skip_tls_verify.value_or(false);
  if (insecure_flag || !flags.certificate_authority.empty()) {
    *insecure = insecure_flag;
    *ca_file = flags.certificate_authority;
    ca_data->clear();
  }
  if (!flags.tls_server_name.empty() || !flags.server.empty()) {
    *tls_server_name = flags.tls_server_name;
  }
  if (!ca_file->empty() && !ca_data->empty()) {
    return Status::InvalidArgument(fmt::format(
        "certificate-authority-data and certificate-authority are both specified for {}. "
        "certificate-authority-data will override.",
        c.cluster_name));
  }
  if (*insecure && (!ca_file->empty() || !ca_data->empty())) {
    return Status::InvalidArgument(
        "specifying a root certificates file with the insecure flag is not allowed");
  }
  if (server->empty()) {
    const std::string* master = env.Get("KUBERNETES_MASTER");
    *server = master != nullptr && !master->empty() ? *master : "http://localhost:8080";
    c.server_defaulted = true;
  }
  PODTAPE_RETURN_IF_ERROR(ParseServer(*server, c));
  c.insecure_skip_tls_verify = *insecure;
  c.tls_server_name = *tls_server_name;
  if (c.is_tls) {
    if (!ca_data->empty()) {
      c.ca_pem = std::move(*ca_data);
    } else if (!ca_file->empty()) {
      Result<std::string> pem = ReadWholeFile(*ca_file);
      if (!pem.ok()) {
        return Status::IOError(
            fmt::format("unable to read certificate-authority {} for {} due to {}", *ca_file,
                        c.cluster_name, pem.status().message()));
      }
      c.ca_pem = std::move(*pem);
    }
  }

  // The user.
  Fields us(user, fmt::format("user \"{}\"", c.user_name));
  Result<std::vector<std::string>> as_groups = us.Strings("as-groups");
  if (!as_groups.ok()) return as_groups.status();
  Result<std::string> as_user = us.String("as");
  if (!as_user.ok()) return as_user.status();
  c.as_user = flags.as_user.empty() ? *as_user : flags.as_user;
  c.as_groups = flags.as_groups.empty() ? std::move(*as_groups) : flags.as_groups;

  // Credentials only over TLS: kubectl never sends them over plain http://.
  if (c.is_tls) {
    Result<std::string> token = us.String("token");
    if (!token.ok()) return token.status();
    Result<std::string> token_file = us.Path("tokenFile");
    if (!token_file.ok()) return token_file.status();
    Result<std::string> cert_file = us.Path("client-certificate");
    if (!cert_file.ok()) return cert_file.status();
    Result<std::string> cert_data = us.Base64("client-certificate-data");
    if (!cert_data.ok()) return cert_data.status();
    Result<std::string> key_file = us.Path("client-key");
    if (!key_file.ok()) return key_file.status();
    Result<std::string> key_data = us.Base64("client-key-data");
    if (!key_data.ok()) return key_data.status();
    if (us.Has("username") || us.Has("password")) {
      return us.Error("username",
                      "basic authentication is not supported by podtape (the API server "
                      "dropped it in 1.19); use a token or a client certificate");
    }
    if (us.Has("auth-provider")) {
      return us.Error("auth-provider",
                      "auth-provider plugins are not supported by podtape; use an exec "
                      "credential plugin");
    }
    // The flags replace the file fields only; with *-data also set, kubectl refuses.
    if (!flags.client_certificate.empty()) *cert_file = flags.client_certificate;
    if (!flags.client_key.empty()) *key_file = flags.client_key;
    if (!cert_file->empty() && !cert_data->empty()) {
      return Status::InvalidArgument(fmt::format(
          "client-cert-data and client-cert are both specified for {}. client-cert-data will "
          "override.",
          c.user_name));
    }
    if (!key_file->empty() && !key_data->empty()) {
      return Status::InvalidArgument(fmt::format(
          "client-key-data and client-key are both specified for {}; client-key-data will "
          "override",
          c.user_name));
    }

    if (!flags.token.empty()) {
      c.token = flags.token;
      c.credential_source = "token";
    } else if (!token->empty()) {
      c.token = std::move(*token);
      c.credential_source = "token";
    } else if (!token_file->empty()) {
      Result<std::string> t = ReadWholeFile(*token_file);
      if (!t.ok()) return t.status();
      c.token = TrimSpace(*t);
      c.credential_source = "token file " + *token_file;
    }

    const bool has_cert = !cert_file->empty() || !cert_data->empty();
    const bool has_key = !key_file->empty() || !key_data->empty();
    if (has_cert && !has_key) {
      return Status::InvalidArgument(fmt::format(
          "client-key-data or client-key must be specified for {} to use the clientCert "
          "authentication method.",
          c.user_name));
    }
    if (has_key && !has_cert) {
      return Status::InvalidArgument(fmt::format(
          "client-cert-data or client-cert must be specified for {} to use the clientCert "
          "authentication method.",
          c.user_name));
    }
    if (has_cert) {
      if (!cert_data->empty()) {
        c.client_cert_pem = std::move(*cert_data);
      } else {
        Result<std::string> pem = ReadWholeFile(*cert_file);
        if (!pem.ok()) {
          return Status::IOError(fmt::format("unable to read client-cert {} for {} due to {}",
                                             *cert_file, c.user_name, pem.status().message()));
        }
        c.client_cert_pem = std::move(*pem);
      }
      if (!key_data->empty()) {
        c.client_key_pem = std::move(*key_data);
      } else {
        Result<std::string> pem = ReadWholeFile(*key_file);
        if (!pem.ok()) {
          return Status::IOError(fmt::format("unable to read client-key {} for {} due to {}",
                                             *key_file, c.user_name, pem.status().message()));
        }
        c.client_key_pem = std::move(*pem);
      }
      if (c.credential_source.empty()) c.credential_source = "client certificate";
    }

    // An exec plugin runs only when no static token is set (a token wins, as in client-go's
    // exec round tripper, which steps aside when Authorization is already set).
    if (us.Has("exec") && c.token.empty()) {
      ExecPluginConfig exec;
      PODTAPE_RETURN_IF_ERROR(ExecConfigFrom(us, c.user_name, exec));
      ExecClusterInfo info{c.server, c.tls_server_name, c.insecure_skip_tls_verify, c.ca_pem};
      Result<ExecCredential> cred =
          RunExecPlugin(exec, exec.provide_cluster_info ? &info : nullptr, env);
      if (!cred.ok()) return cred.status();
      const std::string plugin = fs::path(exec.command).filename().string();
      if (!cred->token.empty()) {
        c.token = std::move(cred->token);
        c.credential_source = "exec plugin " + plugin;
      }
      // A static client certificate wins over the plugin's.
      if (!cred->client_cert_pem.empty() && c.client_cert_pem.empty()) {
        c.client_cert_pem = std::move(cred->client_cert_pem);
        c.client_key_pem = std::move(cred->client_key_pem);
        if (c.token.empty())
          c.credential_source = "exec plugin " + plugin + " (client certificate)";
      }
    }
  }

  // kubectl's default config: nothing but the fallback server. Inside a pod, use the pod's.
  if (c.server_defaulted && c.ca_pem.empty() && !c.insecure_skip_tls_verify &&
      c.tls_server_name.empty() && c.token.empty() && c.client_cert_pem.empty() &&
      c.as_user.empty() && c.as_groups.empty() && c.request_timeout.count() == 0 &&
      flags.token.empty() && flags.client_certificate.empty() &&
      flags.certificate_authority.empty()) {
    Result<std::optional<Connection>> in_cluster = InClusterConnection(flags, env);
    if (!in_cluster.ok()) return in_cluster.status();
    if (in_cluster->has_value()) return std::move(**in_cluster);
  }

  if (!flags.namespace_.empty()) {
    c.namespace_ = flags.namespace_;
  } else if (!ctx_namespace->empty()) {
    c.namespace_ = std::move(*ctx_namespace);
  } else {
    c.namespace_ = "default";
  }
  return c;
}

}  // namespace podtape::kube
