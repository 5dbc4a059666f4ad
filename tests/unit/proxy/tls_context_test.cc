// The TLS contexts on their own: what a listener's settings (versions, suites, ALPN, SNI) and an
// upstream's make of OpenSSL, checked by handshakes in memory (a BIO pair, no sockets), and the
// error each unusable file gives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "proxy/tls_client_context.h"
#include "proxy/tls_server_context.h"
#include "tests/support/keygate_process.h"
#include "tests/support/test_certs.h"

namespace keygate::proxy {
namespace {

using testing::CertFiles;
using ::testing::HasSubstr;
using testing::TestCa;

using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// What a client asks for in an in-memory handshake.
struct Hello {
  std::string server_name;         // SNI; empty: none
  std::string alpn;                // wire format; empty: none offered
  int max_version = 0;             // 0: the library's
  std::string ciphersuites;        // TLS 1.3 suites offered; empty: the library's
  SSL_SESSION* session = nullptr;  // to resume
};

struct Handshake {
  bool ok = false;
  SslPtr client{nullptr, SSL_free};
  SslPtr server{nullptr, SSL_free};
  std::string peer_serial() const;
};

// Runs both ends of a handshake over a BIO pair until neither wants more, bounded in rounds.
Handshake handshake(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL* client = nullptr) {
  Handshake out;
  out.server.reset(SSL_new(server_ctx));
  out.client.reset(client ? client : SSL_new(client_ctx));
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  BIO_new_bio_pair(&server_bio, 0, &client_bio, 0);
  SSL_set_bio(out.server.get(), server_bio, server_bio);
  SSL_set_bio(out.client.get(), client_bio, client_bio);
  SSL_set_accept_state(out.server.get());
  SSL_set_connect_state(out.client.get());
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
    if (!client_done) {
      const int r = SSL_do_handshake(out.client.get());
      if (r == 1)
        client_done = true;
      else if (SSL_get_error(out.client.get(), r) != SSL_ERROR_WANT_READ)
        break;
    }
    if (!server_done) {
      const int r = SSL_do_handshake(out.server.get());
      if (r == 1)
        server_done = true;
      else if (SSL_get_error(out.server.get(), r) != SSL_ERROR_WANT_READ)
        break;
    }
  }
  out.ok = client_done && server_done;
  return out;
}

std::string Handshake::peer_serial() const {
  X509* peer = SSL_get0_peer_certificate(client.get());
  if (!peer) return "";
  const ASN1_INTEGER* serial = X509_get0_serialNumber(peer);
  BIGNUM* number = ASN1_INTEGER_to_BN(serial, nullptr);
  char* hex = BN_bn2hex(number);
  std::string text = hex;
  OPENSSL_free(hex);
  BN_free(number);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

class TlsContextTest : public ::testing::Test {
 protected:
  TlsContextTest()
      : dir_(testing::make_temp_dir("keygate-tls-unit")),
        ca_(dir_),
        server_(ca_.server("server", {"127.0.0.1", "default.test"})) {}

  conf::ListenerTlsConfig listener(const CertFiles& cert) const {
    conf::ListenerTlsConfig config;
    config.enabled = true;
    config.cert_file = cert.cert;
    config.key_file = cert.key;
    return config;
  }
  std::shared_ptr<TlsServerContext> server_context(const conf::ListenerTlsConfig& config) {
    std::string error;
    auto context = TlsServerContext::create(config, &error);
    EXPECT_TRUE(context) << error;
    return context;
  }
  // A client trusting the test CA, as a test's own.
  CtxPtr client_ctx(const Hello& hello = {}) const {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    SSL_CTX_load_verify_locations(ctx.get(), ca_.cert_file().c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (hello.max_version) SSL_CTX_set_max_proto_version(ctx.get(), hello.max_version);
    if (!hello.ciphersuites.empty())
      SSL_CTX_set_ciphersuites(ctx.get(), hello.ciphersuites.c_str());
    if (!hello.alpn.empty())
      SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(hello.alpn.data()),
                              static_cast<unsigned>(hello.alpn.size()));
    return ctx;
  }
  Handshake hello(const std::shared_ptr<TlsServerContext>& server, const Hello& hello) {
    auto ctx = client_ctx(hello);
    SSL* client = SSL_new(ctx.get());
    if (!hello.server_name.empty()) SSL_set_tlsext_host_name(client, hello.server_name.c_str());
    if (hello.session) SSL_set_session(client, hello.session);
    return handshake(server->current()->default_context().native_handle(), ctx.get(), client);
  }
  std::string create_error(const conf::ListenerTlsConfig& config) {
    std::string error;
    EXPECT_FALSE(TlsServerContext::create(config, &error));
    return error;
  }

  std::string dir_;
  TestCa ca_;
  CertFiles server_;
};

TEST_F(TlsContextTest, DefaultsHandshakeTls12And13) {
  auto server = server_context(listener(server_));
  auto v13 = hello(server, {});
  ASSERT_TRUE(v13.ok);
  EXPECT_EQ(SSL_version(v13.client.get()), TLS1_3_VERSION);
  auto v12 = hello(server, {.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(v12.ok);
  EXPECT_EQ(SSL_version(v12.client.get()), TLS1_2_VERSION);
  // TLS 1.2 with the default list: forward secrecy and AEAD only.
  EXPECT_THAT(std::string(SSL_get_cipher_name(v12.client.get())), HasSubstr("ECDHE"));
}

TEST_F(TlsContextTest, MinVersion13RefusesTls12) {
  auto config = listener(server_);
  config.min_version = conf::TlsVersion::tls1_3;
  auto server = server_context(config);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server->current()->default_context().native_handle()),
            TLS1_3_VERSION);
  EXPECT_FALSE(hello(server, {.max_version = TLS1_2_VERSION}).ok);
  EXPECT_TRUE(hello(server, {}).ok);
}

TEST_F(TlsContextTest, CiphersuitesLimitTls13) {
  auto config = listener(server_);
  config.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  auto server = server_context(config);
  auto chosen = hello(server, {});
  ASSERT_TRUE(chosen.ok);
  EXPECT_STREQ(SSL_get_cipher_name(chosen.client.get()), "TLS_CHACHA20_POLY1305_SHA256");
  // A client offering none of ours fails.
  EXPECT_FALSE(hello(server, {.ciphersuites = "TLS_AES_128_GCM_SHA256"}).ok);
}

TEST_F(TlsContextTest, CiphersLimitTls12) {
  auto config = listener(server_);
  config.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
  auto server = server_context(config);
  auto chosen = hello(server, {.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(chosen.ok);
  EXPECT_STREQ(SSL_get_cipher_name(chosen.client.get()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(TlsContextTest, AlpnPicksHttp11AndToleratesNoCommonProtocol) {
  auto server = server_context(listener(server_));
  const auto alpn_of = [](const Handshake& h) {
    const unsigned char* data = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(h.client.get(), &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  };
  auto h11 = hello(server, {.alpn = std::string("\x02h2\x08http/1.1", 12)});
  ASSERT_TRUE(h11.ok);
  EXPECT_EQ(alpn_of(h11), "http/1.1");
  // Only h2 offered: the handshake succeeds without ALPN (the client then speaks HTTP/1.1).
  auto h2_only = hello(server, {.alpn = std::string("\x02h2", 3)});
  ASSERT_TRUE(h2_only.ok);
  EXPECT_EQ(alpn_of(h2_only), "");
}

TEST_F(TlsContextTest, SniSelectsExactThenWildcardThenDefault) {
  auto api = ca_.server("api", {"api.example.test"});
  auto wild = ca_.server("wild", {"*.apps.example.test"});
  auto config = listener(server_);
  config.certificates.push_back({{"api.example.test"}, api.cert, api.key});
  config.certificates.push_back({{"*.apps.example.test"}, wild.cert, wild.key});
  auto server = server_context(config);
  EXPECT_EQ(hello(server, {.server_name = "api.example.test"}).peer_serial(), api.serial);
  EXPECT_EQ(hello(server, {.server_name = "API.Example.TEST"}).peer_serial(), api.serial);
  EXPECT_EQ(hello(server, {.server_name = "one.apps.example.test"}).peer_serial(), wild.serial);
  // One label only: a deeper name is not covered by the wildcard.
  EXPECT_EQ(hello(server, {.server_name = "a.b.apps.example.test"}).peer_serial(), server_.serial);
  EXPECT_EQ(hello(server, {.server_name = "other.test"}).peer_serial(), server_.serial);
  EXPECT_EQ(hello(server, {}).peer_serial(), server_.serial);
  EXPECT_THAT(server->current()->describe(), HasSubstr("api.example.test: serial " + api.serial));
}

TEST_F(TlsContextTest, SessionsResumeOnTheSameListener) {
  auto server = server_context(listener(server_));
  auto first = hello(server, {.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(first.ok);
  SSL_SESSION* session = SSL_get1_session(first.client.get());
  auto again = hello(server, {.max_version = TLS1_2_VERSION, .session = session});
  SSL_SESSION_free(session);
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(SSL_session_reused(again.client.get()));
}

TEST_F(TlsContextTest, UnusableFilesSayWhichAndWhy) {
  auto missing = listener(server_);
  missing.cert_file = dir_ + "/absent.pem";
  EXPECT_THAT(create_error(missing), HasSubstr("cannot load certificate " + dir_ + "/absent.pem"));

  auto no_key = listener(server_);
  no_key.key_file = dir_ + "/absent-key.pem";
  EXPECT_THAT(create_error(no_key),
              HasSubstr("cannot load private key " + dir_ + "/absent-key.pem"));

  auto other = ca_.server("other", {"other.test"});
  auto mismatch = listener(server_);
  mismatch.key_file = other.key;
  // OpenSSL notices as it loads the key.
  const auto mismatch_error = create_error(mismatch);
  EXPECT_THAT(mismatch_error, HasSubstr("cannot load private key " + other.key));
  EXPECT_THAT(mismatch_error, HasSubstr("key values mismatch"));

  auto not_pem = listener(server_);
  testing::write_text_file(dir_ + "/garbage.pem", "not a certificate\n");
  not_pem.cert_file = dir_ + "/garbage.pem";
  EXPECT_THAT(create_error(not_pem), HasSubstr("cannot load certificate " + dir_ + "/garbage.pem"));

  auto bad_ca = listener(server_);
  bad_ca.client_ca_file = dir_ + "/absent-ca.pem";
  EXPECT_THAT(create_error(bad_ca),
              HasSubstr("cannot load client_ca_file " + dir_ + "/absent-ca.pem"));

  auto bad_suites = listener(server_);
  bad_suites.ciphersuites = "TLS_NO_SUCH_SUITE";
  EXPECT_THAT(create_error(bad_suites),
              HasSubstr("ciphersuites 'TLS_NO_SUCH_SUITE' selects no suite"));

  auto bad_ciphers = listener(server_);
  bad_ciphers.ciphers = "NO-SUCH-CIPHER";
  EXPECT_THAT(create_error(bad_ciphers), HasSubstr("ciphers 'NO-SUCH-CIPHER' selects no cipher"));

  // An SNI pair is checked like the default one.
  auto bad_sni = listener(server_);
  bad_sni.certificates.push_back({{"a.test"}, dir_ + "/absent-sni.pem", other.key});
  EXPECT_THAT(create_error(bad_sni),
              HasSubstr("cannot load certificate " + dir_ + "/absent-sni.pem"));
}

TEST_F(TlsContextTest, ReloadKeepsTheCurrentSetWhenTheNewFilesAreBad) {
  auto rotating = ca_.server("rotating", {"127.0.0.1"});
  auto server = server_context(listener(rotating));
  auto first = server->current();
  testing::write_text_file(rotating.key, "broken\n");
  std::string error;
  EXPECT_FALSE(server->reload(&error));
  EXPECT_THAT(error, HasSubstr("cannot load private key " + rotating.key));
  EXPECT_EQ(server->current(), first);
}

// Upstream side.
conf::UpstreamConfig upstream(const std::string& host) {
  conf::UpstreamConfig config;
  config.name = "api";
  config.host = host;
  config.port = 8443;
  config.tls.enabled = true;
  return config;
}

TEST_F(TlsContextTest, ClientVerifiesNameAndSendsSni) {
  auto server = server_context(listener(server_));
  auto config = upstream("default.test");
  config.tls.ca_file = ca_.cert_file();
  std::string error;
  auto client = TlsClientContext::create(config, &error);
  ASSERT_TRUE(client) << error;
  SSL* ssl = SSL_new(client->context().native_handle());
  client->prepare(ssl);
  EXPECT_STREQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "default.test");
  auto good = handshake(server->current()->default_context().native_handle(),
                        client->context().native_handle(), ssl);
  EXPECT_TRUE(good.ok);

  // A name the certificate does not carry fails verification.
  auto wrong = upstream("wrong.test");
  wrong.tls.ca_file = ca_.cert_file();
  auto wrong_client = TlsClientContext::create(wrong, &error);
  ASSERT_TRUE(wrong_client) << error;
  SSL* wrong_ssl = SSL_new(wrong_client->context().native_handle());
  wrong_client->prepare(wrong_ssl);
  auto refused = handshake(server->current()->default_context().native_handle(),
                           wrong_client->context().native_handle(), wrong_ssl);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(describe_tls_failure(refused.client.get(), {}).reason, "name_mismatch");
}

TEST_F(TlsContextTest, ClientSendsNoSniForAnAddressAndChecksItsIpSan) {
  auto server = server_context(listener(server_));
  auto config = upstream("127.0.0.1");
  config.tls.ca_file = ca_.cert_file();
  std::string error;
  auto client = TlsClientContext::create(config, &error);
  ASSERT_TRUE(client) << error;
  SSL* ssl = SSL_new(client->context().native_handle());
  client->prepare(ssl);
  EXPECT_EQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), nullptr);
  EXPECT_TRUE(handshake(server->current()->default_context().native_handle(),
                        client->context().native_handle(), ssl)
                  .ok);
}

TEST_F(TlsContextTest, ClientMinVersion13) {
  auto config = upstream("127.0.0.1");
  config.tls.ca_file = ca_.cert_file();
  config.tls.min_version = conf::TlsVersion::tls1_3;
  std::string error;
  auto client = TlsClientContext::create(config, &error);
  ASSERT_TRUE(client) << error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(client->context().native_handle()), TLS1_3_VERSION);
}

TEST_F(TlsContextTest, ClientFilesThatCannotBeUsedSayWhy) {
  std::string error;
  auto bad_ca = upstream("127.0.0.1");
  bad_ca.tls.ca_file = dir_ + "/absent-ca.pem";
  EXPECT_FALSE(TlsClientContext::create(bad_ca, &error));
  EXPECT_THAT(error, HasSubstr("upstream 'api': cannot load " + dir_ + "/absent-ca.pem"));

  auto other = ca_.client("other", "other");
  auto mismatch = upstream("127.0.0.1");
  mismatch.tls.ca_file = ca_.cert_file();
  mismatch.tls.cert_file = server_.cert;
  mismatch.tls.key_file = other.key;
  EXPECT_FALSE(TlsClientContext::create(mismatch, &error));
  EXPECT_THAT(error, HasSubstr("upstream 'api': cannot use client certificate " + server_.cert +
                               " with key " + other.key));
}

}  // namespace
}  // namespace keygate::proxy
