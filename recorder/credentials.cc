#include "recorder/credentials.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace podtape::kube {
namespace json = boost::json;
namespace {

// What a plugin may print before we stop reading: ExecCredentials are a few KiB.
constexpr size_t kMaxPluginOutput = 4 << 20;

constexpr std::string_view kApiV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kApiV1beta1 = "client.authentication.k8s.io/v1beta1";

bool IsStdBase64Char(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '+' || ch == '/';
}

Status IllegalBase64(size_t offset) {
  return Status::InvalidArgument(fmt::format("illegal base64 data at input byte {}", offset));
}

// Decodes `text` (standard alphabet, padded, length a multiple of 4, already checked) with
// OpenSSL.
std::string DecodeChecked(std::string_view text) {
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  size_t len = n < 0 ? 0 : static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

// A strict check of standard padded base64 (no whitespace). `offsets` maps positions back to
// the caller's input for messages.
Status CheckStdBase64(std::string_view s, const std::vector<size_t>& offsets) {
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    char ch = s[i];
    if (IsStdBase64Char(ch)) continue;
    // '=' only as the last one or two characters of the final quantum.
    if (ch == '=' && n % 4 == 0 && (i == n - 1 || (i == n - 2 && s[n - 1] == '='))) continue;
    return IllegalBase64(offsets[i]);
  }
  if (n % 4 != 0) return IllegalBase64(offsets.empty() ? 0 : offsets[n - 1] + 1);
  return Status::OK();
}

std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

// The executable the plugin command names: as is when it holds a '/', else looked up on PATH.
std::string FindExecutable(const std::string& command, const Environment& env) {
  if (command.find('/') != std::string::npos) {
    return ::access(command.c_str(), F_OK) == 0 ? command : std::string();
  }
  const std::string* path = env.Get("PATH");
  std::string_view rest = path != nullptr ? std::string_view(*path) : std::string_view();
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (dir.empty()) dir = ".";
    std::string candidate;
    candidate.reserve(dir.size() + 1 + command.size());
    candidate.append(dir).append(1, '/').append(command);
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return {};
}

std::string OneLine(std::string text) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// RFC 3339 as Go's time.RFC3339 accepts it: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).
std::optional<std::chrono::system_clock::time_point> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  int consumed = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%*[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                  &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::string_view rest = s.substr(19);
  std::chrono::nanoseconds frac{0};
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    size_t digits = 0;
    long long value = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      if (digits < 9) value = value * 10 + (rest[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    for (size_t i = digits; i < 9; ++i) value *= 10;
    frac = std::chrono::nanoseconds(value);
    rest.remove_prefix(digits);
  }
  std::chrono::minutes offset{0};
  if (rest == "Z" || rest == "z") {
    // UTC
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset = std::chrono::minutes(oh * 60 + om);
    if (rest[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(y), std::chrono::month(mo),
                                         std::chrono::day(d)};
  if (!date.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // In whole seconds first: system_clock counts nanoseconds and overflows after 2262, while
  // plugins may well say "2999-01-01T00:00:00Z". Out-of-range times clamp to the ends.
  using Clock = std::chrono::system_clock;
  const std::chrono::sys_seconds secs = std::chrono::sys_days(date) + std::chrono::hours(h) +
                                        std::chrono::minutes(mi) + std::chrono::seconds(sec) -
                                        offset;
  const auto max_secs = std::chrono::floor<std::chrono::seconds>(Clock::time_point::max());
  const auto min_secs = std::chrono::ceil<std::chrono::seconds>(Clock::time_point::min());
  if (secs >= max_secs) return Clock::time_point::max();
  if (secs <= min_secs) return Clock::time_point::min();
  return std::chrono::time_point_cast<Clock::duration>(secs) +
         std::chrono::duration_cast<Clock::duration>(frac);
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// KUBERNETES_EXEC_INFO exactly as kubectl v1.32 writes it (member order included):
// {"kind":"ExecCredential","apiVersion":V,"spec":{"cluster":{"server":...,
// "tls-server-name":...,"insecure-skip-tls-verify":true,"certificate-authority-data":...,
// "config":null},"interactive":B}}, empty members left out.
std::string ExecInfoJson(const ExecPluginConfig& config, const ExecClusterInfo* cluster,
                         bool interactive) {
  json::object spec;
  if (cluster != nullptr) {
    json::object c;
    c["server"] = cluster->server;
    if (!cluster->tls_server_name.empty()) c["tls-server-name"] = cluster->tls_server_name;
    if (cluster->insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    if (!cluster->ca_pem.empty()) c["certificate-authority-data"] = EncodeBase64(cluster->ca_pem);
    c["config"] = nullptr;
    spec["cluster"] = std::move(c);
  }
  spec["interactive"] = interactive;
  json::object info;
  info["kind"] = "ExecCredential";
  info["apiVersion"] = config.api_version;
  info["spec"] = std::move(spec);
  return json::serialize(info);
}

// The string member `key` of `obj`, "" when absent; an error when present but not a string.
Result<std::string> StringMember(const json::object& obj, std::string_view key,
                                 std::string_view plugin) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string()) {
    return Status::Protocol(fmt::format("exec plugin {} returned a non-string {}", plugin, key));
  }
  return std::string(v->get_string());
}

std::string Asn1ToUtf8(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

const json::string* StringAt(const json::object& obj, std::string_view key) {
  const json::value* v = obj.if_contains(key);
  return v != nullptr && v->is_string() ? &v->get_string() : nullptr;
}

CredentialIdentity ServiceAccountIdentity(std::string_view ns, std::string_view name) {
  CredentialIdentity id;
  id.user = fmt::format("system:serviceaccount:{}:{}", ns, name);
  id.groups = {"system:serviceaccounts", fmt::format("system:serviceaccounts:{}", ns)};
  id.user_source = "token";
  return id;
}

}  // namespace

Result<std::string> DecodeBase64(std::string_view text) {
  // Go's StdEncoding skips '\r' and '\n' anywhere.
  std::string clean;
  std::vector<size_t> offsets;
  clean.reserve(text.size());
  offsets.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || text[i] == '\n') continue;
    clean.push_back(text[i]);
    offsets.push_back(i);
  }
  PODTAPE_RETURN_IF_ERROR(CheckStdBase64(clean, offsets));
  return DecodeChecked(clean);
}

Result<std::string> DecodeBase64Url(std::string_view text) {
  std::string std_text;
  std_text.reserve(text.size() + 3);
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '-') {
      ch = '+';
    } else if (ch == '_') {
      ch = '/';
    } else if (!IsStdBase64Char(ch) || ch == '+' || ch == '/') {
      return IllegalBase64(i);
    }
    std_text.push_back(ch);
  }
  if (std_text.size() % 4 == 1) return IllegalBase64(text.size());
  while (std_text.size() % 4 != 0) std_text.push_back('=');
  return DecodeChecked(std_text);
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

Result<ExecCredential> RunExecPlugin(const ExecPluginConfig& config, const ExecClusterInfo* cluster,
                                     const Environment& env) {
  const std::string plugin = std::filesystem::path(config.command).filename().string();
  if (config.api_version != kApiV1 && config.api_version != kApiV1beta1) {
    return Status::InvalidArgument(
        fmt::format("exec plugin: invalid apiVersion \"{}\" for user \"{}\"; use {} or {}",
                    config.api_version, config.user_name, kApiV1, kApiV1beta1));
  }
  std::string mode = config.interactive_mode;
  if (mode.empty()) {
    if (config.api_version == kApiV1) {
      return Status::InvalidArgument(
          fmt::format("interactiveMode must be specified for {} to use exec authentication plugin",
                      config.user_name));
    }
    mode = "IfAvailable";
  }
  if (mode != "Never" && mode != "IfAvailable" && mode != "Always") {
    return Status::InvalidArgument(
        fmt::format("invalid interactiveMode for {}: \"{}\"", config.user_name, mode));
  }
  if (mode == "Always" && !env.stdin_is_terminal) {
    return Status::InvalidArgument(
        "exec plugin cannot support interactive mode: standard input is not a terminal");
  }
  const bool interactive = mode != "Never" && env.stdin_is_terminal;

  const std::string executable = FindExecutable(config.command, env);
  if (executable.empty()) {
    std::string msg = fmt::format("exec plugin: executable {} not found", config.command);
    if (!config.install_hint.empty()) msg += "; " + OneLine(config.install_hint);
    return Status::NotFound(std::move(msg));
  }

  // argv and envp (the environment, then the config's env, then KUBERNETES_EXEC_INFO; a later
  // name replaces an earlier one).
  std::vector<std::string> argv_strings;
  argv_strings.push_back(config.command);
  argv_strings.insert(argv_strings.end(), config.args.begin(), config.args.end());
  std::map<std::string, std::string, std::less<>> vars = env.vars;
  for (const auto& [name, value] : config.env) vars[name] = value;
  vars["KUBERNETES_EXEC_INFO"] = ExecInfoJson(config, cluster, interactive);
  std::vector<std::string> env_strings;
  env_strings.reserve(vars.size());
  for (const auto& [name, value] : vars) env_strings.push_back(name + "=" + value);
  std::vector<char*> argv, envp;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::IOError(fmt::format("exec plugin {}: pipe: {}", plugin, ErrnoText(errno)));
  }
  Fd read_end{pipe_fds[0]};
  Fd write_end{pipe_fds[1]};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!interactive) {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, write_end.fd, STDOUT_FILENO);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, executable.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::IOError(
        fmt::format("exec plugin: cannot run {}: {}", config.command, ErrnoText(rc)));
  }
  ::close(write_end.fd);
  write_end.fd = -1;

  std::string out;
  char buf[8192];
  bool too_big = false;
  while (true) {
    ssize_t n = ::read(read_end.fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxPluginOutput) {
      too_big = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(read_end.fd);
  read_end.fd = -1;
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::Remote(
        fmt::format("exec plugin {} was killed by signal {}", plugin, WTERMSIG(wstatus)));
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
    return Status::Remote(fmt::format("exec: executable {} failed with exit code {}",
                                      config.command, WEXITSTATUS(wstatus)));
  }
  if (too_big) {
    return Status::Protocol(
        fmt::format("exec plugin {} printed more than {} bytes", plugin, kMaxPluginOutput));
  }

  boost::system::error_code ec;
  json::value doc = json::parse(out, ec);
  if (ec || !doc.is_object()) {
    return Status::Protocol(fmt::format("exec plugin {}: decoding stdout: {}", plugin,
                                        ec ? ec.message() : "not a JSON object"));
  }
  const json::object& obj = doc.get_object();
  const json::string* kind = StringAt(obj, "kind");
  const json::string* api_version = StringAt(obj, "apiVersion");
  if (kind == nullptr || *kind != "ExecCredential") {
    return Status::Protocol(
        fmt::format("exec plugin {}: decoding stdout: kind is not ExecCredential", plugin));
  }
  if (api_version == nullptr || *api_version != config.api_version) {
    return Status::Protocol(fmt::format(
        "exec plugin is configured to use API version {}, plugin returned version {}",
        config.api_version, api_version == nullptr ? "" : std::string_view(*api_version)));
  }
  const json::value* status_value = obj.if_contains("status");
  if (status_value == nullptr || !status_value->is_object()) {
    return Status::Protocol(fmt::format("exec plugin {} didn't return a status field", plugin));
  }
  const json::object& status = status_value->get_object();
  ExecCredential cred;
  Result<std::string> token = StringMember(status, "token", plugin);
  if (!token.ok()) return token.status();
  Result<std::string> cert = StringMember(status, "clientCertificateData", plugin);
  if (!cert.ok()) return cert.status();
  Result<std::string> key = StringMember(status, "clientKeyData", plugin);
  if (!key.ok()) return key.status();
  Result<std::string> expiry = StringMember(status, "expirationTimestamp", plugin);
  if (!expiry.ok()) return expiry.status();
  cred.token = std::move(*token);
  cred.client_cert_pem = std::move(*cert);
  cred.client_key_pem = std::move(*key);
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return Status::Protocol(
        fmt::format("exec plugin {} returned only certificate or key, not both", plugin));
  }
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return Status::Protocol(
        fmt::format("exec plugin {} didn't return a token or cert/key pair", plugin));
  }
  if (!expiry->empty()) {
    cred.expiration = ParseRfc3339(*expiry);
    if (!cred.expiration) {
      return Status::Protocol(fmt::format(
          "exec plugin {} returned an invalid expirationTimestamp \"{}\"", plugin, *expiry));
    }
    if (*cred.expiration <= env.Now()) {
      return Status::Remote(fmt::format(
          "exec plugin {} returned an expired credential (expirationTimestamp {}); check the "
          "plugin's login",
          plugin, *expiry));
    }
  }
  return cred;
}

Result<CredentialIdentity> IdentityFromCertificatePem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return Status::IOError("cannot allocate a memory BIO");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return Status::InvalidArgument("the client certificate is not a PEM certificate");
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  CredentialIdentity id;
  id.user_source = "certificate";
  const int count = X509_NAME_entry_count(subject);
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    // As Go's pkix.Name: the last CN wins; every O is a group, in order.
    if (nid == NID_commonName) {
      id.user = Asn1ToUtf8(X509_NAME_ENTRY_get_data(entry));
    } else if (nid == NID_organizationName) {
      id.groups.push_back(Asn1ToUtf8(X509_NAME_ENTRY_get_data(entry)));
    }
  }
  return id;
}

std::optional<CredentialIdentity> IdentityFromJwt(std::string_view token) {
  const size_t dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  const size_t dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  Result<std::string> payload = DecodeBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload.ok()) return std::nullopt;
  boost::system::error_code ec;
  json::value doc = json::parse(*payload, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const json::object& claims = doc.get_object();

  // Bound service-account tokens: {"kubernetes.io": {"namespace": NS, "serviceaccount":
  // {"name": NAME}}}.
  if (const json::value* k8s = claims.if_contains("kubernetes.io"); k8s && k8s->is_object()) {
    const json::string* ns = StringAt(k8s->get_object(), "namespace");
    const json::value* sa = k8s->get_object().if_contains("serviceaccount");
    const json::string* name = sa && sa->is_object() ? StringAt(sa->get_object(), "name") : nullptr;
    if (ns != nullptr && name != nullptr && !ns->empty() && !name->empty()) {
      return ServiceAccountIdentity(*ns, *name);
    }
  }
  // Legacy secret-based service-account tokens.
  const json::string* legacy_ns = StringAt(claims, "kubernetes.io/serviceaccount/namespace");
  const json::string* legacy_name =
      StringAt(claims, "kubernetes.io/serviceaccount/service-account.name");
  if (legacy_ns != nullptr && legacy_name != nullptr && !legacy_ns->empty() &&
      !legacy_name->empty()) {
    return ServiceAccountIdentity(*legacy_ns, *legacy_name);
  }
  const json::string* sub = StringAt(claims, "sub");
  if (sub == nullptr || sub->empty()) return std::nullopt;
  CredentialIdentity id;
  id.user = std::string(*sub);
  id.user_source = "token";
  if (const json::value* groups = claims.if_contains("groups"); groups && groups->is_array()) {
    for (const json::value& g : groups->get_array()) {
      if (g.is_string()) id.groups.emplace_back(g.get_string());
    }
  }
  return id;
}

CredentialIdentity IdentityFromConnection(const Connection& connection) {
  // The API server tries the client certificate before a bearer token.
  if (!connection.client_cert_pem.empty()) {
    Result<CredentialIdentity> id = IdentityFromCertificatePem(connection.client_cert_pem);
    if (id.ok() && !id->user.empty()) return std::move(id).value();
  }
  if (!connection.token.empty()) {
    if (std::optional<CredentialIdentity> id = IdentityFromJwt(connection.token)) return *id;
  }
  CredentialIdentity id;
  if (!connection.user_name.empty()) {
    id.user = connection.user_name;
    id.user_source = "kubeconfig";
  } else {
    id.user_source = "none";
  }
  return id;
}

}  // namespace podtape::kube
