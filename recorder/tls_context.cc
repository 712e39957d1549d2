#include "recorder/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include <fmt/format.h>

namespace podtape::recorder {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

Status ConfigureTlsContext(SSL_CTX* ctx, const TlsSettings& s) {
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (s.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (s.ca_pem.empty()) {
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return Status::IOError("cannot load the system certificate authorities: " + OpenSslError());
      }
    } else {
      BioPtr bio = MemBio(s.ca_pem);
      X509_STORE* store = SSL_CTX_get_cert_store(ctx);
      int added = 0;
      while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        X509Ptr cert(raw);
        if (X509_STORE_add_cert(store, cert.get()) == 1) ++added;
      }
      ERR_clear_error();  // the loop ends with a "no start line" error
      if (added == 0) {
        return Status::InvalidArgument(
            "cannot parse the certificate authority: no PEM certificate found; check "
            "--certificate-authority or certificate-authority-data in the kubeconfig");
      }
    }
  }
  if (!s.client_cert_pem.empty() || !s.client_key_pem.empty()) {
    if (s.client_cert_pem.empty() || s.client_key_pem.empty()) {
      return Status::InvalidArgument(
          "a client certificate needs both a certificate and a key; check --client-certificate "
          "and --client-key");
    }
    BioPtr bio = MemBio(s.client_cert_pem);
    X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
      return Status::InvalidArgument("cannot parse the client certificate: " + OpenSslError());
    }
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) X509_free(extra);  // ctx owns on success
    }
    ERR_clear_error();
    BioPtr key_bio = MemBio(s.client_key_pem);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
      ERR_clear_error();  // never echo anything about the key's bytes
      return Status::InvalidArgument("cannot parse the client key; check --client-key");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("the client key does not match the client certificate");
    }
  }
  return Status::OK();
}

Status ConfigureTlsConnection(SSL* ssl, std::string_view host, const TlsSettings& s) {
  std::string name(s.server_name.empty() ? host : std::string_view(s.server_name));
  bool ip = IsIpLiteral(name);
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return Status::IOError("cannot set the tls server name " + name);
  }
  if (s.insecure_skip_verify) return Status::OK();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
              : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  if (ok != 1) return Status::InvalidArgument("invalid tls server name " + name);
  return Status::OK();
}

std::string DescribeTlsFailure(long verify_result, std::string_view server, std::string_view host,
                               std::string_view detail) {
  switch (verify_result) {
    case X509_V_OK:
      return fmt::format("tls handshake with {} failed: {}", server, detail);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return fmt::format(
          "tls: certificate signed by unknown authority (server {}); pass "
          "--certificate-authority or fix the kubeconfig",
          server);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return fmt::format(
          "tls: the server's certificate is not valid for {} (server {}); connect by a name the "
          "certificate names or pass --tls-server-name",
          host, server);
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return fmt::format(
          "tls: the server's certificate has expired (server {}); renew it or check the clock",
          server);
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return fmt::format(
          "tls: the server's certificate is not yet valid (server {}); check the clock", server);
    default:
      return fmt::format("tls: cannot verify the server's certificate (server {}): {}", server,
                         X509_verify_cert_error_string(verify_result));
  }
}

}  // namespace podtape::recorder
