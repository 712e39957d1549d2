#include "samples/sim/tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "recorder/channel_codec.h"

namespace podtape::sim {
namespace {

namespace fs = std::filesystem;

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

std::string OpenSslError(std::string_view what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  return fmt::format("{}: {}", what, buf);
}

Status WritePem(const fs::path& path, const std::string& pem, bool secret) {
  std::error_code ec;
  fs::remove(path, ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << pem;
  f.close();
  if (!f) return Status::IOError(fmt::format("cannot write {}; check the folder", path.string()));
  if (secret) ::chmod(path.c_str(), 0600);
  return Status::OK();
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

Result<std::string> ReadAll(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError(fmt::format("cannot read {}", path.string()));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<KeyPtr> LoadKey(const fs::path& path) {
  auto pem = ReadAll(path);
  if (!pem.ok()) return pem.status();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Status::InvalidArgument(OpenSslError("reading key " + path.string()));
  return key;
}

Result<CertPtr> LoadCert(const fs::path& path) {
  auto pem = ReadAll(path);
  if (!pem.ok()) return pem.status();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Status::InvalidArgument(OpenSslError("reading certificate " + path.string()));
  return cert;
}

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

enum class CertKind { kCa, kServer, kClient };

// A P-256 key and a certificate for it, signed by (ca, ca_key), or self-signed for the CA.
Result<CertPtr> MakeCert(CertKind kind, EVP_PKEY* key, const std::string& cn,
                         const std::vector<std::string>& orgs, X509* ca, EVP_PKEY* ca_key) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(serial), 16);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& o : orgs) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = kind == CertKind::kCa ? cert.get() : ca;
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));
  bool ok = AddExt(cert.get(), issuer, NID_subject_key_identifier, "hash");
  switch (kind) {
    case CertKind::kCa:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
      ok = ok && AddExt(cert.get(), issuer, NID_key_usage,
                        "critical,keyCertSign,cRLSign,digitalSignature");
      break;
    case CertKind::kServer:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
      ok = ok &&
           AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
      ok = ok && AddExt(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
      ok = ok && AddExt(cert.get(), issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
      ok = ok && AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
      break;
    case CertKind::kClient:
      ok = ok && AddExt(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
      ok = ok &&
           AddExt(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
      ok = ok && AddExt(cert.get(), issuer, NID_ext_key_usage, "clientAuth");
      ok = ok && AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
      break;
  }
  if (!ok) return Status::IOError(OpenSslError("adding certificate extensions"));
  if (X509_sign(cert.get(), kind == CertKind::kCa ? key : ca_key, EVP_sha256()) <= 0) {
    return Status::IOError(OpenSslError("signing certificate for " + cn));
  }
  return cert;
}

Result<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Status::IOError(OpenSslError("generating a P-256 key"));
  return key;
}

// Loads NAME.crt/NAME.key, or makes and writes them when either is missing.
Result<std::pair<CertPtr, KeyPtr>> Ensure(const fs::path& dir, const std::string& name,
                                          CertKind kind, const std::string& cn,
                                          const std::vector<std::string>& orgs, X509* ca,
                                          EVP_PKEY* ca_key) {
  fs::path crt = dir / (name + ".crt"), key = dir / (name + ".key");
  if (fs::exists(crt) && fs::exists(key)) {
    auto c = LoadCert(crt);
    if (!c.ok()) return c.status();
    auto k = LoadKey(key);
    if (!k.ok()) return k.status();
    return std::make_pair(std::move(*c), std::move(*k));
  }
  auto k = NewKey();
  if (!k.ok()) return k.status();
  auto c = MakeCert(kind, k->get(), cn, orgs, ca, ca_key);
  if (!c.ok()) return c.status();
  PODTAPE_RETURN_IF_ERROR(WritePem(key, ToPem(k->get()), true));
  PODTAPE_RETURN_IF_ERROR(WritePem(crt, ToPem(c->get()), false));
  return std::make_pair(std::move(*c), std::move(*k));
}

std::string B64(const std::string& s) {
  std::string out;
  codec::Base64Encode(s, &out);
  return out;
}

Status WriteKubeconfig(const fs::path& path, const std::string& url, const std::string& ca_pem,
                       const std::string& user, const YAML::Node& user_fields) {
  YAML::Node root;
  root["apiVersion"] = "v1";
  root["kind"] = "Config";
  YAML::Node cluster;
  cluster["name"] = "sim";
  cluster["cluster"]["server"] = url;
  cluster["cluster"]["certificate-authority-data"] = B64(ca_pem);
  root["clusters"].push_back(cluster);
  YAML::Node u;
  u["name"] = user;
  u["user"] = user_fields;
  root["users"].push_back(u);
  YAML::Node ctx;
  ctx["name"] = "sim";
  ctx["context"]["cluster"] = "sim";
  ctx["context"]["user"] = user;
  ctx["context"]["namespace"] = "default";
  root["contexts"].push_back(ctx);
  root["current-context"] = "sim";
  YAML::Emitter out;
  out << root;
  return WritePem(path, std::string(out.c_str()) + "\n", true);
}

}  // namespace

Result<TlsFiles> PrepareTlsDir(const std::string& dir_name, const Config& config) {
  fs::path dir(dir_name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot create {}: {}", dir_name, ec.message()));
  auto ca = Ensure(dir, "ca", CertKind::kCa, "podtape-sim-ca", {}, nullptr, nullptr);
  if (!ca.ok()) return ca.status().WithContext("tls dir " + dir_name);
  auto server = Ensure(dir, "server", CertKind::kServer, "podtape-sim", {}, ca->first.get(),
                       ca->second.get());
  if (!server.ok()) return server.status().WithContext("tls dir " + dir_name);
  for (const auto& u : config.users) {
    auto c =
        Ensure(dir, u.name, CertKind::kClient, u.name, u.groups, ca->first.get(), ca->second.get());
    if (!c.ok()) return c.status().WithContext("tls dir " + dir_name);
  }
  return TlsFiles{(dir / "ca.crt").string(), (dir / "server.crt").string(),
                  (dir / "server.key").string()};
}

Status WriteKubeconfigs(const std::string& dir_name, const Config& config,
                        const std::string& server_url) {
  fs::path dir(dir_name);
  auto ca_pem = ReadAll(dir / "ca.crt");
  if (!ca_pem.ok()) return ca_pem.status();
  for (const auto& u : config.users) {
    if (!u.token.empty()) {
      YAML::Node fields;
      fields["token"] = u.token;
      PODTAPE_RETURN_IF_ERROR(
          WriteKubeconfig(dir / ("kubeconfig-" + u.name), server_url, *ca_pem, u.name, fields));
    }
    auto crt = ReadAll(dir / (u.name + ".crt"));
    if (!crt.ok()) return crt.status();
    auto key = ReadAll(dir / (u.name + ".key"));
    if (!key.ok()) return key.status();
    YAML::Node fields;
    fields["client-certificate-data"] = B64(*crt);
    fields["client-key-data"] = B64(*key);
    PODTAPE_RETURN_IF_ERROR(WriteKubeconfig(dir / ("kubeconfig-" + u.name + "-cert"), server_url,
                                            *ca_pem, u.name, fields));
  }
  return Status::OK();
}

bool PeerCertIdentity(SSL* ssl, CertIdentity* out) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return false;
  X509_NAME* name = X509_get_subject_name(cert);
  out->user.clear();
  out->groups.clear();
  const int count = X509_NAME_entry_count(name);
  for (int i = 0; i < count; ++i) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (n < 0) continue;
    std::string value(reinterpret_cast<char*>(utf8), n);
    OPENSSL_free(utf8);
    if (nid == NID_commonName) out->user = value;
    if (nid == NID_organizationName) out->groups.push_back(value);
  }
  return !out->user.empty();
}

}  // namespace podtape::sim
