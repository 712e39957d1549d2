// Ed25519 seal signatures (schema/signing.h) with keys made by the openssl command line.
#include "schema/signing.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace podtape::testing {
namespace {

class SigningTest : public ::testing::Test {
 protected:
  std::string Make(const std::string& name, std::vector<std::string> genpkey_args) {
    std::vector<std::string> argv = {"openssl", "genpkey"};
    argv.insert(argv.end(), genpkey_args.begin(), genpkey_args.end());
    argv.insert(argv.end(), {"-out", dir_.File(name + ".pem")});
    RunResult r = podtape::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = podtape::testing::Run({"openssl", "pkey", "-in", dir_.File(name + ".pem"), "-pubout",
                               "-out", dir_.File(name + ".pub")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return dir_.File(name);
  }
  TempDir dir_;
};

TEST_F(SigningTest, SignsAndVerifiesOnlyTheSameSealUnderTheSameKey) {
  const std::string a = Make("a", {"-algorithm", "ed25519"});
  const std::string b = Make("b", {"-algorithm", "ed25519"});
  auto priv = store::Ed25519Key::LoadPrivate(a + ".pem");
  ASSERT_TRUE(priv.ok()) << priv.status().message();
  auto pub = store::Ed25519Key::LoadPublic(a + ".pub");
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  auto other = store::Ed25519Key::LoadPublic(b + ".pub");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE((*priv)->can_sign());
  EXPECT_FALSE((*pub)->can_sign());
  EXPECT_EQ((*priv)->fingerprint(), (*pub)->fingerprint());
  EXPECT_NE((*pub)->fingerprint(), (*other)->fingerprint());
  EXPECT_EQ((*pub)->fingerprint().size(), 64u);

  store::Hash seal = store::ChainStart("some session");
  auto sig = (*priv)->Sign(seal);
  ASSERT_TRUE(sig.ok()) << sig.status().message();
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE((*pub)->Verify(seal, *sig));
  EXPECT_TRUE((*priv)->Verify(seal, *sig));
  EXPECT_FALSE((*other)->Verify(seal, *sig));
  store::Hash altered = seal;
  altered[31] ^= 1;
  EXPECT_FALSE((*pub)->Verify(altered, *sig));
  std::string bent = *sig;
  bent[0] ^= 1;
  EXPECT_FALSE((*pub)->Verify(seal, bent));
  EXPECT_FALSE((*pub)->Verify(seal, sig->substr(0, 63)));
  EXPECT_FALSE((*pub)->Sign(seal).ok());
  // The public half of a private key file verifies too.
  auto from_private = store::Ed25519Key::LoadPublic(a + ".pem");
  ASSERT_TRUE(from_private.ok());
  EXPECT_TRUE((*from_private)->Verify(seal, *sig));
}

TEST_F(SigningTest, RefusesOtherKeysAndFiles) {
  const std::string ec = Make("ec", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"});
  auto k = store::Ed25519Key::LoadPrivate(ec + ".pem");
  EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(k.status().message().find("not an Ed25519 private key"), std::string::npos)
      << k.status().message();
  k = store::Ed25519Key::LoadPublic(ec + ".pub");
  EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument);
  const std::string ed = Make("ed", {"-algorithm", "ed25519"});
  k = store::Ed25519Key::LoadPrivate(ed + ".pub");  // a public key cannot sign
  EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument);
  k = store::Ed25519Key::LoadPrivate(dir_.File("missing.pem"));
  EXPECT_EQ(k.status().code(), Status::Code::kNotFound);
  // An encrypted key is refused without prompting.
  RunResult r = podtape::testing::Run({"openssl", "pkey", "-in", ed + ".pem", "-aes256", "-passout",
                                       "pass:x", "-out", dir_.File("enc.pem")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  k = store::Ed25519Key::LoadPrivate(dir_.File("enc.pem"));
  EXPECT_EQ(k.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace podtape::testing
