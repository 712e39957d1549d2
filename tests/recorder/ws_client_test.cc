// The parts of the network client that need no socket: URLs, error replies, TLS messages.
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <gtest/gtest.h>

#include "recorder/tls_context.h"
#include "recorder/ws_client.h"

namespace podtape::recorder {
namespace {

TEST(ParseServerUrlTest, HostPortAndPrefix) {
  Endpoint ep;
  std::string prefix;
  ASSERT_TRUE(ParseServerUrl("https://10.0.0.1:6443", &ep, &prefix).ok());
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.host, "10.0.0.1");
  EXPECT_EQ(ep.port, "6443");
  EXPECT_EQ(prefix, "");
  ASSERT_TRUE(ParseServerUrl("http://[::1]/k8s/clusters/c-1/", &ep, &prefix).ok());
  EXPECT_FALSE(ep.tls);
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, "80");
  EXPECT_EQ(prefix, "/k8s/clusters/c-1");
  EXPECT_FALSE(ParseServerUrl("ftp://x", &ep, &prefix).ok());
}

TEST(StatusFromHttpErrorTest, ShowsTheServersStatusMessage) {
  EXPECT_EQ(StatusFromHttpError(404, R"({"kind":"Status","apiVersion":"v1","metadata":{},
      "status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404})")
                .message(),
            "pods \"x\" not found");
  EXPECT_EQ(StatusFromHttpError(401, R"({"kind":"Status","status":"Failure",
      "message":"Unauthorized","reason":"Unauthorized","code":401})")
                .message(),
            "You must be logged in to the server (Unauthorized)");
  Status empty403 = StatusFromHttpError(403, "");
  EXPECT_NE(empty403.message().find("none of the offered subprotocols"), std::string::npos);
  EXPECT_EQ(StatusFromHttpError(502, "bad\ngateway\n").message(),
            "the server returned HTTP 502: bad gateway");
}

TEST(TlsTest, IpLiteralsGetNoSni) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("api.example.com"));
}

TEST(TlsTest, VerifyFailuresAreOneClearLine) {
  std::string unknown = DescribeTlsFailure(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                                           "https://127.0.0.1:1234", "127.0.0.1", "x");
  EXPECT_EQ(unknown,
            "tls: certificate signed by unknown authority (server https://127.0.0.1:1234); pass "
            "--certificate-authority or fix the kubeconfig");
  std::string host = DescribeTlsFailure(X509_V_ERR_HOSTNAME_MISMATCH, "https://a:1", "a", "x");
  EXPECT_NE(host.find("not valid for a"), std::string::npos);
  std::string expired = DescribeTlsFailure(X509_V_ERR_CERT_HAS_EXPIRED, "https://a:1", "a", "x");
  EXPECT_NE(expired.find("expired"), std::string::npos);
  for (const std::string& s : {unknown, host, expired}) {
    EXPECT_EQ(s.find('\n'), std::string::npos);
  }
}

TEST(TlsTest, BadPemIsRefusedWithTheFlagToCheck) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  TlsSettings s;
  s.ca_pem = "not a certificate";
  Status st = ConfigureTlsContext(ctx, s);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--certificate-authority"), std::string::npos);
  TlsSettings half;
  half.client_cert_pem = "x";
  st = ConfigureTlsContext(ctx, half);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("both a certificate and a key"), std::string::npos);
  SSL_CTX_free(ctx);
}

}  // namespace
}  // namespace podtape::recorder
