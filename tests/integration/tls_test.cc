// TLS over real sockets: keygate terminating TLS from clients, and speaking HTTPS to an
// upstream (a second keygate with a TLS listener in front of the echo upstream), with
// certificates the fixtures make.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/test_certs.h"
#include "tests/support/tls_client.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

KeygateOptions with_keys_file() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  return options;
}

// A keygate whose one listener is TLS (the `tls` map's contents given), in front of `upstream_url`.
std::string tls_listener_config(const std::string& tls, const std::string& upstream_url,
                                const std::string& routes = "") {
  return "threads: 1\nlisteners: [{address: 127.0.0.1, port: 0, tls: {" + tls +
         "}}]\nadmin: {address: 127.0.0.1, port: 0}\nupstreams: [{name: api, url: \"" +
         upstream_url + "\"}]\nroutes:\n" + routes +
         "  - {name: all, match: {path_prefix: /}, upstream: api, auth: none}\n"
         "limits: {max_body: 2GiB}\nstore: {kind: file, file: keys.json}\n";
}

// A plain keygate in front of an https upstream (its `tls` map's contents given).
std::string https_upstream_config(std::uint16_t port, const std::string& tls) {
  return "threads: 1\nlisteners: [{address: 127.0.0.1, port: 0}]\n"
         "admin: {address: 127.0.0.1, port: 0}\n"
         "upstreams: [{name: api, url: \"https://127.0.0.1:" +
         std::to_string(port) + "\", connect_timeout: 2s, tls: {" + tls +
         "}}]\nroutes: [{name: all, match: {path_prefix: /}, upstream: api, auth: none}]\n"
         "store: {kind: file, file: keys.json}\n";
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : dir_(make_temp_dir("keygate-tls")), ca_(dir_), other_ca_(dir_, "other-ca") {}

  // A keygate terminating TLS with `cert` in front of the echo upstream.
  std::unique_ptr<KeygateProcess> tls_keygate(const CertFiles& cert, const std::string& extra = "",
                                              const std::string& routes = "") {
    return std::make_unique<KeygateProcess>(
        tls_listener_config("cert_file: " + cert.cert + ", key_file: " + cert.key + extra,
                            upstream_.url(), routes),
        with_keys_file());
  }
  TlsClientOptions trusting() const {
    TlsClientOptions options;
    options.ca_file = ca_.cert_file();
    return options;
  }

  std::string dir_;
  TestCa ca_;
  TestCa other_ca_;
  EchoUpstream upstream_;
};

TEST_F(TlsTest, Tls12And13HandshakesAndForwardedProtoHttps) {
  auto keygate = tls_keygate(ca_.server("server", {"127.0.0.1", "localhost"}));
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto options = trusting();
    options.min_version = options.max_version = version;
    TlsConnection connection(keygate->proxy_port(), options);
    ASSERT_TRUE(connection.ok()) << connection.error();
    EXPECT_EQ(connection.protocol(), version == TLS1_2_VERSION ? "TLSv1.2" : "TLSv1.3");
    EXPECT_EQ(connection.alpn(), "http/1.1");
    for (int i = 0; i < 2; ++i) {  // keep-alive over TLS
      auto response = connection.request("GET", "/hello", {{"X-Forwarded-Proto", "http"}});
      ASSERT_EQ(response.status, 200) << response.error << response.head;
    }
    auto recorded = upstream_.last_request();
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->header("x-forwarded-proto").value_or(""), "https");
  }
}

// An idle TLS connection reads its next bytes itself and hands them to OpenSSL: records
// longer than that first read, and bodies behind the head, still arrive whole.
TEST_F(TlsTest, RecordsLongerThanTheIdleReadArriveWholeOnKeepAlive) {
  auto keygate = tls_keygate(ca_.server("server", {"127.0.0.1"}));
  TlsConnection connection(keygate->proxy_port(), trusting());
  ASSERT_TRUE(connection.ok()) << connection.error();
  for (int i = 0; i < 3; ++i) {
    const std::string marker(5000, static_cast<char>('a' + i));
    const std::string body(3000 + i, static_cast<char>('x' + i));
    auto response = connection.request("POST", "/big", {{"X-Marker", marker}}, body);
    ASSERT_EQ(response.status, 200) << response.error << response.head;
    auto recorded = upstream_.last_request();
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->header("x-marker").value_or(""), marker);
    EXPECT_EQ(recorded->body, body);
    auto small = connection.request("GET", "/small");
    ASSERT_EQ(small.status, 200) << small.error << small.head;
  }
}

TEST_F(TlsTest, MinVersion13RefusesTls12) {
  auto keygate = tls_keygate(ca_.server("server", {"127.0.0.1"}), ", min_version: \"1.3\"");
  auto options = trusting();
  options.max_version = TLS1_2_VERSION;
  TlsConnection old(keygate->proxy_port(), options);
  EXPECT_FALSE(old.ok());
  TlsConnection modern(keygate->proxy_port(), trusting());
  EXPECT_TRUE(modern.ok()) << modern.error();
}

TEST_F(TlsTest, SniPicksTheCertificate) {
  auto fallback = ca_.server("default", {"127.0.0.1"});
  auto api = ca_.server("api", {"api.example.test"});
  auto wild = ca_.server("wild", {"*.apps.example.test"});
  auto keygate = tls_keygate(fallback,
                             ", certificates: [{server_names: [api.example.test], "
                             "cert_file: " +
                                 api.cert + ", key_file: " + api.key +
                                 "}, {server_names: [\"*.apps.example.test\"], "
                                 "cert_file: " +
                                 wild.cert + ", key_file: " + wild.key + "}]");
  auto serial_for = [&](const std::string& name) {
    auto options = trusting();
    options.server_name = name;
    TlsConnection connection(keygate->proxy_port(), options);
    EXPECT_TRUE(connection.ok()) << name << ": " << connection.error();
    return connection.peer_serial();
  };
  EXPECT_EQ(serial_for("api.example.test"), api.serial);
  EXPECT_EQ(serial_for("API.Example.Test"), api.serial);
  EXPECT_EQ(serial_for("one.apps.example.test"), wild.serial);
  TlsConnection no_sni(keygate->proxy_port(), trusting());
  ASSERT_TRUE(no_sni.ok()) << no_sni.error();
  EXPECT_EQ(no_sni.peer_serial(), fallback.serial);
}

TEST_F(TlsTest, CurlAndPythonRequestsAgainstTheListener) {
  auto keygate = tls_keygate(ca_.server("server", {"localhost"}));
  const std::string url = "https://localhost:" + std::to_string(keygate->proxy_port()) + "/curl";
  auto curl = run_command(
      "curl", {"-sS", "--cacert", ca_.cert_file(), "-o", "/dev/null", "-w", "%{http_code}", url});
  EXPECT_EQ(curl.exit_code, 0) << curl.stderr_text;
  EXPECT_EQ(curl.stdout_text, "200");
  auto python = run_command(
      "python3", {"-c",
                  "import sys, requests; r = requests.get(sys.argv[1], verify=sys.argv[2]); "
                  "print(r.status_code, r.json()['headers'].get('x-forwarded-proto'))",
                  url, ca_.cert_file()});
  EXPECT_EQ(python.exit_code, 0) << python.stderr_text;
  EXPECT_EQ(python.stdout_text, "200 https\n");
  // Without our CA, curl refuses keygate's certificate: it is verified, not just accepted.
  auto untrusted = run_command("curl", {"-sS", "-o", "/dev/null", url});
  EXPECT_NE(untrusted.exit_code, 0);
}

TEST_F(TlsTest, SlowHandshakeIsCutAtItsDeadline) {
  auto keygate = tls_keygate(ca_.server("server", {"127.0.0.1"}), ", handshake_timeout: 300ms");
  RawConnection silent(keygate->proxy_port());
  ASSERT_TRUE(silent.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_closed(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(TlsTest, ConcurrentHandshakesAreBounded) {
  auto keygate = tls_keygate(ca_.server("server", {"127.0.0.1"}),
                             ", max_handshakes: 1, handshake_timeout: 5s");
  auto silent = std::make_unique<RawConnection>(keygate->proxy_port());
  ASSERT_TRUE(silent->connected());
  // Poll until the silent connection holds the one handshake slot and a second is refused.
  bool refused = false;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       !refused && std::chrono::steady_clock::now() < deadline;) {
    TlsConnection second(keygate->proxy_port(), trusting());
    refused = !second.ok();
  }
  EXPECT_TRUE(refused);
  silent.reset();
  bool served = false;
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       !served && std::chrono::steady_clock::now() < deadline;) {
    TlsConnection again(keygate->proxy_port(), trusting());
    served = again.ok() && again.request("GET", "/x").status == 200;
  }
  EXPECT_TRUE(served);
}

TEST_F(TlsTest, ClientCertificatesRequiredAndPassedUpstream) {
  auto client = ca_.client("client", "client-a");
  auto stranger = other_ca_.client("stranger", "client-b");
  auto keygate =
      tls_keygate(ca_.server("server", {"127.0.0.1"}),
                  ", client_ca_file: " + ca_.cert_file() + ", require_client_cert: true");
  auto options = trusting();
  options.cert_file = client.cert;
  options.key_file = client.key;
  TlsConnection with_cert(keygate->proxy_port(), options);
  ASSERT_TRUE(with_cert.ok()) << with_cert.error();
  auto response =
      with_cert.request("GET", "/who", {{"X-Keygate-Client-Cert-Subject", "CN=forged"}});
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_EQ(upstream_.last_request()->header("x-keygate-client-cert-subject").value_or(""),
            client.subject);

  // TLS 1.3 reports a refused client certificate after the handshake: the request fails.
  TlsConnection without(keygate->proxy_port(), trusting());
  EXPECT_FALSE(without.ok() && without.request("GET", "/who").status == 200);
  options.cert_file = stranger.cert;
  options.key_file = stranger.key;
  TlsConnection wrong_ca(keygate->proxy_port(), options);
  EXPECT_FALSE(wrong_ca.ok() && wrong_ca.request("GET", "/who").status == 200);
}

TEST_F(TlsTest, RouteWithMtlsRequiredAnswers401WithoutACertificate) {
  auto client = ca_.client("client", "client-a");
  auto keygate =
      tls_keygate(ca_.server("server", {"127.0.0.1"}), ", client_ca_file: " + ca_.cert_file(),
                  "  - {name: internal, match: {path_prefix: /internal/}, upstream: api,\n"
                  "     auth: {mtls: required, api_key: none}}\n");
  TlsConnection anonymous(keygate->proxy_port(), trusting());
  ASSERT_TRUE(anonymous.ok()) << anonymous.error();
  auto refused = anonymous.request("GET", "/internal/x", {{"X-Keygate-Client-Cert-Subject", "x"}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("client_certificate_required"), std::string::npos) << refused.body;
  EXPECT_EQ(anonymous.request("GET", "/public").status, 200);
  EXPECT_FALSE(upstream_.last_request()->has_header("x-keygate-client-cert-subject"));

  auto options = trusting();
  options.cert_file = client.cert;
  options.key_file = client.key;
  TlsConnection with_cert(keygate->proxy_port(), options);
  EXPECT_EQ(with_cert.request("GET", "/internal/x").status, 200);
}

TEST_F(TlsTest, CertificateRotationUnderTraffic) {
  auto first = ca_.server("rotating", {"127.0.0.1"});
  auto keygate = tls_keygate(first);
  const auto mark = keygate->stderr_mark();
  std::string second_serial;
  int failures = 0;
  bool saw_new = false;
  for (int i = 0; i < 400 && !saw_new; ++i) {
    if (i == 5) second_serial = ca_.server("rotating", {"127.0.0.1"}).serial;  // same files
    TlsConnection connection(keygate->proxy_port(), trusting());
    if (!connection.ok() || connection.request("GET", "/r").status != 200) ++failures;
    saw_new = !second_serial.empty() && connection.peer_serial() == second_serial;
    if (!saw_new) {
      EXPECT_EQ(connection.peer_serial(), first.serial);
    }
  }
  EXPECT_TRUE(saw_new);
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(keygate->wait_for_log("tls certificates reloaded", 5s, mark));

  // A bad pair (a key that does not match) keeps the current certificate.
  write_text_file(dir_ + "/rotating-key.pem", read_text_file(dir_ + "/other-ca-key.pem"));
  EXPECT_TRUE(keygate->wait_for_log("tls certificate reload refused", 5s, mark));
  TlsConnection after(keygate->proxy_port(), trusting());
  ASSERT_TRUE(after.ok()) << after.error();
  EXPECT_EQ(after.peer_serial(), second_serial);
}

class HttpsUpstreamTest : public TlsTest {
 protected:
  // The HTTPS upstream: a keygate terminating TLS with `cert`, in front of the echo upstream.
  std::uint16_t https_upstream(const CertFiles& cert, const std::string& extra = "") {
    back_ = tls_keygate(cert, extra);
    return back_->proxy_port();
  }
  std::unique_ptr<KeygateProcess> front(std::uint16_t port, const std::string& tls) {
    return std::make_unique<KeygateProcess>(https_upstream_config(port, tls), with_keys_file());
  }
  std::unique_ptr<KeygateProcess> back_;
};

TEST_F(HttpsUpstreamTest, VerifiedUpstreamIsReachedAndPooled) {
  auto port = https_upstream(ca_.server("upstream", {"127.0.0.1"}));
  auto keygate = front(port, "ca_file: " + ca_.cert_file());
  KeepAliveClient client(keygate->proxy_port());
  for (int i = 0; i < 3; ++i) {
    auto response = client.get("/via-https");
    ASSERT_EQ(response.status, 200) << response.body;
  }
  auto recorded = upstream_.requests();
  ASSERT_EQ(recorded.size(), 3u);
  // One TLS connection carried all three (keep-alive pool).
  EXPECT_EQ(recorded[0].connection_id, recorded[2].connection_id);
}

TEST_F(HttpsUpstreamTest, ResponseHeadsLongerThanOneReadOfRecordsArriveWhole) {
  // keygate reads an https upstream's records raw, kUpstreamTlsInputBytes at a time, before
  // OpenSSL decrypts them: a head spread over several such reads must still arrive whole.
  auto port = https_upstream(ca_.server("upstream", {"127.0.0.1"}));
  auto keygate = front(port, "ca_file: " + ca_.cert_file());
  KeepAliveClient client(keygate->proxy_port());
  for (const std::size_t size : {100u, 3000u, 6000u, 9000u}) {
    const std::string big(size, 'b');
    auto response = client.get("/via-https", {{"X-Echo-Set-Header", "X-Big: " + big}});
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.headers.value("x-big"), big) << size;
  }
  EXPECT_EQ(upstream_.requests().size(), 4u);
}

TEST_F(HttpsUpstreamTest, ServerNameOverridesTheNameChecked) {
  auto port = https_upstream(ca_.server("upstream", {"api.internal.test"}));
  auto keygate = front(port, "ca_file: " + ca_.cert_file() + ", server_name: api.internal.test");
  EXPECT_EQ(http_get(keygate->proxy_port(), "/named").status, 200);
}

TEST_F(HttpsUpstreamTest, VerificationFailuresAre502WithTheReasonLogged) {
  const std::pair<CertFiles, std::string> cases[] = {
      {ca_.expired_server("expired", {"127.0.0.1"}), "certificate_expired"},
      {ca_.server("wrong-name", {"elsewhere.test"}), "name_mismatch"},
      {other_ca_.server("unknown-ca", {"127.0.0.1"}), "unknown_ca"},
  };
  for (const auto& [cert, reason] : cases) {
    auto port = https_upstream(cert);
    auto keygate = front(port, "ca_file: " + ca_.cert_file());
    auto response = http_get(keygate->proxy_port(), "/bad");
    EXPECT_EQ(response.status, 502) << reason;
    EXPECT_NE(response.body.find("upstream_tls_error"), std::string::npos) << response.body;
    EXPECT_TRUE(keygate->wait_for_log("\"reason\":\"" + reason + "\"", 5s)) << reason;
    EXPECT_EQ(upstream_.request_count(), 0u);
  }
}

TEST_F(HttpsUpstreamTest, InsecureSkipVerifyIsLoud) {
  auto port = https_upstream(other_ca_.server("unknown-ca", {"elsewhere.test"}));
  auto keygate = front(port, "insecure_skip_verify: true");
  EXPECT_TRUE(keygate->wait_for_log("INSECURE", 5s));
  EXPECT_EQ(http_get(keygate->proxy_port(), "/insecure").status, 200);
}

TEST_F(HttpsUpstreamTest, ClientCertificateToTheUpstream) {
  auto client = ca_.client("to-upstream", "keygate-front");
  auto port =
      https_upstream(ca_.server("upstream", {"127.0.0.1"}),
                     ", client_ca_file: " + ca_.cert_file() + ", require_client_cert: true");
  auto without = front(port, "ca_file: " + ca_.cert_file());
  EXPECT_EQ(http_get(without->proxy_port(), "/mtls").status, 502);
  auto with = front(port, "ca_file: " + ca_.cert_file() + ", cert_file: " + client.cert +
                              ", key_file: " + client.key);
  EXPECT_EQ(http_get(with->proxy_port(), "/mtls").status, 200);
}

// Large bodies both ways through both TLS hops (client -> TLS listener -> HTTPS upstream),
// with keygate's memory staying flat.
TEST_F(HttpsUpstreamTest, LargeBodiesBothWaysWithBoundedMemory) {
  constexpr std::uint64_t kBytes = 1ull << 30;
  auto server = ca_.server("upstream", {"127.0.0.1"});
  auto port = https_upstream(server);
  KeygateProcess keygate(
      "threads: 1\nlisteners: [{address: 127.0.0.1, port: 0, tls: {cert_file: " + server.cert +
          ", key_file: " + server.key +
          "}}]\nadmin: {address: 127.0.0.1, port: 0}\n"
          "upstreams: [{name: api, url: \"https://127.0.0.1:" +
          std::to_string(port) + "\", tls: {ca_file: " + ca_.cert_file() +
          "}}]\nroutes: [{name: all, match: {path_prefix: /}, upstream: api, auth: none}]\n"
          "limits: {max_body: 2GiB}\nstore: {kind: file, file: keys.json}\n",
      with_keys_file());
  TlsClientOptions options = trusting();
  options.timeout = 60s;
  TlsConnection connection(keygate.proxy_port(), options);
  ASSERT_TRUE(connection.ok()) << connection.error();
  auto down = connection.request("GET", "/bytes?n=" + std::to_string(kBytes), {}, "", 0, false);
  EXPECT_EQ(down.status, 200) << down.error;
  EXPECT_EQ(down.body_bytes, kBytes);
  auto up = connection.request("POST", "/upload", {}, "", kBytes);
  EXPECT_EQ(up.status, 200) << up.error;
  EXPECT_NE(up.body.find("\"body_bytes\":" + std::to_string(kBytes)), std::string::npos) << up.body;
  if (!kRssIsMeaningful) GTEST_SKIP() << "RSS bounds are not checked under AddressSanitizer";
  EXPECT_LT(measure_rss_kb(keygate.pid()), 64 * 1024);
  EXPECT_LT(measure_rss_kb(back_->pid()), 64 * 1024);
}

}  // namespace
}  // namespace keygate::testing
