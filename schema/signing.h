// Ed25519 signatures of session seals (--sign-key on exec/attach, verify --key). OpenSSL EVP.
//
// The signature signs the 32 seal bytes (schema/README.md, "The seal") and is stored raw (64
// bytes) in sessions.signature. Keys are PEM files as `openssl genpkey -algorithm ed25519` writes
// them (PKCS#8 private key) and `openssl pkey -pubout` (SubjectPublicKeyInfo public key).
#ifndef PODTAPE_SCHEMA_SIGNING_H_
#define PODTAPE_SCHEMA_SIGNING_H_

#include <memory>
#include <string>
#include <string_view>

#include "schema/status.h"
#include "schema/store.h"

namespace podtape::store {

// An Ed25519 key: a private key signs and verifies; a public key only verifies. Immutable after
// loading; Sign and Verify may be called from any thread.
class Ed25519Key {
 public:
  // A PEM private key (signs). InvalidArgument when the file is not an Ed25519 private key.
  static Result<std::shared_ptr<const Ed25519Key>> LoadPrivate(const std::string& path);
  // A PEM public key, or a PEM private key whose public half is used (verifies).
  static Result<std::shared_ptr<const Ed25519Key>> LoadPublic(const std::string& path);
  // The same from PEM text (tests, and keys not kept in files).
  static Result<std::shared_ptr<const Ed25519Key>> FromPem(std::string_view pem, bool private_key,
                                                           const std::string& what);
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  bool can_sign() const { return private_; }
  // SHA-256 of the raw 32-byte public key, as 64 hex chars: names the key in verify's report.
  const std::string& fingerprint() const { return fingerprint_; }

  // The 64-byte signature of `seal`. IOError when OpenSSL fails; InvalidArgument for a public key.
  Result<std::string> Sign(const Hash& seal) const;
  // True when `signature` is this key's valid signature of `seal`.
  bool Verify(const Hash& seal, std::string_view signature) const;

  struct Pkey;  // owns the EVP_PKEY (schema/signing.cc)

 private:
  Ed25519Key(std::unique_ptr<Pkey> key, bool is_private, std::string fingerprint);
  std::unique_ptr<Pkey> key_;
  bool private_;
  std::string fingerprint_;
};

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_SIGNING_H_
