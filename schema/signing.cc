// Ed25519 seal signatures through OpenSSL's EVP interface (one-shot EVP_DigestSign, as Ed25519
// requires: no digest is set, the message is signed whole).
#include "schema/signing.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace podtape::store {

struct Ed25519Key::Pkey {
  EVP_PKEY* pkey = nullptr;
  ~Pkey() { EVP_PKEY_free(pkey); }
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

int NoPassphrase(char*, int, int, void*) { return 0; }

Result<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::NotFound(
        fmt::format("cannot read key file {}: it does not exist or is not readable", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("cannot read key file {}", path));
  return text.str();
}

}  // namespace

Ed25519Key::Ed25519Key(std::unique_ptr<Pkey> key, bool is_private, std::string fingerprint)
    : key_(std::move(key)), private_(is_private), fingerprint_(std::move(fingerprint)) {}
Ed25519Key::~Ed25519Key() = default;

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::FromPem(std::string_view pem,
                                                              bool private_key,
                                                              const std::string& what) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::IOError("cannot allocate memory for a key");
  auto key = std::make_unique<Pkey>();
  if (!private_key) {
    key->pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (key->pkey == nullptr) {
      bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
      if (!bio) return Status::IOError("cannot allocate memory for a key");
    }
  }
  bool is_private = false;
  if (key->pkey == nullptr) {
    // A passphrase-protected key gets no prompt (the callback refuses it).
    key->pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
    is_private = key->pkey != nullptr;
  }
  ERR_clear_error();
  const std::string bad = fmt::format(
      "{} is not an Ed25519 {} key in PEM form; make one with 'openssl genpkey -algorithm "
      "ed25519 -out key.pem'{}",
      what, private_key ? "private" : "public",
      private_key ? "" : " and take its public half with 'openssl pkey -in key.pem -pubout'");
  if (key->pkey == nullptr || EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument(bad);
  }
  unsigned char raw[32];
  size_t raw_len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key->pkey, raw, &raw_len) != 1 || raw_len != 32) {
    ERR_clear_error();
    return Status::InvalidArgument(bad);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(raw, raw_len, digest);
  return std::shared_ptr<const Ed25519Key>(
      new Ed25519Key(std::move(key), is_private, Hex(digest, sizeof digest)));
}

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::LoadPrivate(const std::string& path) {
  Result<std::string> pem = ReadKeyFile(path);
  if (!pem.ok()) return pem.status();
  return FromPem(*pem, true, "key file " + path);
}

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::LoadPublic(const std::string& path) {
  Result<std::string> pem = ReadKeyFile(path);
  if (!pem.ok()) return pem.status();
  return FromPem(*pem, false, "key file " + path);
}

Result<std::string> Ed25519Key::Sign(const Hash& seal) const {
  if (!private_) return Status::InvalidArgument("a public key cannot sign: give the private key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, seal.data(),
                     seal.size()) != 1 ||
      len != 64) {
    ERR_clear_error();
    return Status::IOError("signing the seal failed in OpenSSL");
  }
  return sig;
}

bool Ed25519Key::Verify(const Hash& seal, std::string_view signature) const {
  if (signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), seal.data(), seal.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace podtape::store
