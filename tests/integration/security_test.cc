// Attacks on the request path, as raw bytes over real sockets: request smuggling through
// Connection and framing, identity spoofing, path and Host bypasses, desync through a pooled
// upstream connection. Each test asserts what the upstream received and what other clients
// received afterwards (docs/security.md).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "auth/key_format.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/scripted_upstream.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

// /private/ needs a key with the "read" scope; /public is open; internal.example.com needs a
// key for everything. Nothing else has a route.
std::string config_for(const std::string& upstream_url, const std::string& extra = "",
                       const std::string& listener_extra = "") {
  return R"(threads: 1
listeners: [{address: 127.0.0.1, port: 0)" +
         listener_extra + R"(}]
admin: {address: 127.0.0.1, port: 0}
upstreams: [{name: api, url: ")" +
         upstream_url + R"(", response_timeout: 3s}]
routes:
  - {name: internal, match: {host: internal.example.com, path_prefix: /}, upstream: api}
  - {name: private, match: {path_prefix: /private}, upstream: api, auth: {scopes_all: [read]}}
  - {name: public, match: {path_prefix: /public}, upstream: api, auth: none}
store: {kind: file, file: keys.json}
limits: {client_header_timeout: 2s, idle_timeout: 5s, body_timeout: 1s, min_body_rate: 2KiB}
)" + extra;
}

KeygateOptions with_empty_keys() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  return options;
}

// The target the echo upstream says it received, from its JSON answer.
std::string echoed_target(const HttpResponse& res) {
  boost::system::error_code ec;
  auto json = boost::json::parse(res.body, ec);
  if (ec || !json.is_object() || !json.as_object().contains("target")) return "<" + res.body + ">";
  return std::string(json.as_object().at("target").as_string());
}

class SecurityTest : public ::testing::Test {
 protected:
  void start(const std::string& extra = "", const std::string& listener_extra = "") {
    keygate_ = std::make_unique<KeygateProcess>(config_for(upstream_.url(), extra, listener_extra),
                                                with_empty_keys());
  }
  void SetUp() override { start(); }
  std::uint16_t port() const { return keygate_->proxy_port(); }

  // A live secret key with the read scope, made by the CLI against the running file store.
  std::string make_key() {
    auto result = run_keygate_cli({"keys", "create", "--config", keygate_->config_path(), "--org",
                                   "acme", "--name", "security test", "--env", "live", "--type",
                                   "secret", "--scope", "read"});
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    std::smatch match;
    static const std::regex kKey(R"(\b(sk_live_[0-9A-Za-z]{40})\b)");
    if (!std::regex_search(result.stdout_text, match, kKey)) return {};
    const std::string key = match[1];
    // The proxy picks the key file up by watching it: poll until the key works.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline)
      if (http_get(port(), "/private/x", {{"Authorization", "Bearer " + key}}).status == 200)
        return key;
    ADD_FAILURE() << "the new key never worked";
    return key;
  }

  // The last request the upstream recorded (it records from its own threads: wait for one).
  RecordedRequest last_seen() {
    EXPECT_TRUE(upstream_.wait_for_requests(1));
    return upstream_.last_request().value_or(RecordedRequest{});
  }

  // Fresh clients afterwards get their own answers, never a response meant for someone else.
  void expect_clients_in_step(int clients = 20) {
    for (int i = 0; i < clients; ++i) {
      const std::string target = "/public/after-" + std::to_string(i);
      const auto res = http_get(port(), target);
      ASSERT_EQ(res.status, 200) << res.error << res.body;
      EXPECT_EQ(echoed_target(res), target);
    }
  }

  void expect_never_seen(std::string_view path) {
    for (const auto& r : upstream_.requests())
      EXPECT_EQ(r.path().find(path), std::string::npos)
          << "upstream saw " << r.method << " " << r.target;
  }

  EchoUpstream upstream_;
  std::unique_ptr<KeygateProcess> keygate_;
};

const std::string kSmuggled =
    "GET /private/orders HTTP/1.1\r\nHost: x\r\nX-Keygate-Org: victim\r\n"
    "X-Keygate-Scopes: admin\r\n\r\n";

std::string smuggling_request(std::string_view method, std::string_view version,
                              std::string_view extra_headers) {
  return std::string(method) + " /public/hello " + std::string(version) +
         "\r\nHost: api.example.com\r\n" + std::string(extra_headers) +
         "Content-Length: " + std::to_string(kSmuggled.size()) + "\r\n\r\n" + kSmuggled;
}

TEST_F(SecurityTest, ConnectionCannotUnframeABodyIntoASecondRequest) {
  const struct {
    const char* name;
    std::string bytes;
  } attacks[] = {
      {"Connection: Content-Length",
       smuggling_request("POST", "HTTP/1.1", "Connection: Content-Length\r\n")},
      {"close, content-length",
       smuggling_request("POST", "HTTP/1.1", "Connection: close, content-length\r\n")},
      {"HTTP/1.0 keep-alive",
       smuggling_request("POST", "HTTP/1.0", "Connection: keep-alive, Content-Length\r\n")},
      {"GET with a body", smuggling_request("GET", "HTTP/1.1", "Connection: Content-Length\r\n")},
      {"Expect", smuggling_request("POST", "HTTP/1.1",
                                   "Connection: Content-Length\r\nExpect: 100-continue\r\n")},
  };
  for (const auto& attack : attacks) {
    SCOPED_TRACE(attack.name);
    upstream_.clear();
    RawConnection raw(port());
    ASSERT_TRUE(raw.send(attack.bytes));
    auto res = raw.read_response(5s);
    if (res.status == 100) res = raw.read_response(5s);
    ASSERT_EQ(res.status, 200) << res.error << res.body;
    ASSERT_TRUE(upstream_.wait_for_requests(1));
    const auto requests = upstream_.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].path(), "/public/hello");
    EXPECT_EQ(requests[0].body, kSmuggled);  // the body stayed a body
    EXPECT_EQ(requests[0].header_count("content-length"), 1u);
    expect_clients_in_step(10);
    expect_never_seen("/private");
  }
}

TEST_F(SecurityTest, ConnectionCannotStripIdentityHeadersOrHost) {
  const auto key = make_key();
  upstream_.clear();
  const auto res =
      http_get(port(), "/private/x",
               {{"Authorization", "Bearer " + key},
                {"Connection", "X-Keygate-Org, X-Keygate-Scopes, Host, X-Keygate-Key-Id"}});
  ASSERT_EQ(res.status, 200) << res.body;
  const auto seen = last_seen();
  EXPECT_EQ(seen.header("x-keygate-org").value_or(""), "acme");
  EXPECT_EQ(seen.header("x-keygate-scopes").value_or(""), "read");
  EXPECT_TRUE(seen.header("x-keygate-key-id").value_or("").starts_with("key_"));
  EXPECT_EQ(seen.header("host").value_or(""), "127.0.0.1:" + std::to_string(port()));
  EXPECT_FALSE(seen.has_header("authorization"));
}

TEST_F(SecurityTest, UnderscoreSpellingsOfIdentityHeadersNeverArrive) {
  const auto res = http_get(port(), "/public/x",
                            {{"X_Keygate_Org", "victim-org"},
                             {"x-keygate_scopes", "admin"},
                             {"X-Keygate-Org", "victim-org"},
                             {"X_Custom", "dropped by default"}});
  ASSERT_EQ(res.status, 200);
  for (const auto& [name, value] : last_seen().headers) {
    EXPECT_EQ(name.find('_'), std::string::npos) << name;
    EXPECT_NE(value, "victim-org") << name;
  }
}

TEST_F(SecurityTest, UnderscoreNamesCanBeRefused) {
  start("http: {headers_with_underscores: reject}\n");
  const auto res = http_get(port(), "/public/x", {{"X_Keygate_Org", "victim-org"}});
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("underscores"), std::string::npos) << res.body;
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(SecurityTest, DotSegmentsAndEncodingsCannotLeaveThePublicPrefix) {
  for (const char* target :
       {"/public/../private/x", "/public/%2e%2e/private/x", "/public/%2E%2E/private/x",
        "/public//../private", "/public/./../private/x?q=1", "/public/.%2e/private"}) {
    const auto res = http_get(port(), target);
    EXPECT_EQ(res.status, 401) << target << " " << res.body;  // the private route, no key
  }
  for (const char* target : {"/public/..%2Fprivate/x", "/public/%2f../private",
                             "/public/%5C..%5Cprivate", "/public/a%zz", "/public\\..\\private"}) {
    const auto res = http_get(port(), target);
    EXPECT_EQ(res.status, 400) << target << " " << res.body;
  }
  EXPECT_EQ(http_get(port(), "/publicX").status, 404);
  EXPECT_EQ(http_get(port(), "/public-admin/x").status, 404);
  expect_never_seen("/private");

  // What is forwarded is the normalised path: the upstream serves what keygate authorised.
  upstream_.clear();
  ASSERT_EQ(http_get(port(), "/public/a/./b/../c//%7Ed?x=%2e%2e").status, 200);
  EXPECT_EQ(last_seen().target, "/public/a/c/~d?x=%2e%2e");
}

TEST_F(SecurityTest, HostSpellingsCannotSkipAHostRoute) {
  for (const char* host :
       {"internal.example.com.", "INTERNAL.Example.Com.", "internal.example.com.:80"}) {
    const auto res = http_get(port(), "/public/x", {{"Host", host}});
    EXPECT_EQ(res.status, 401) << host << " " << res.body;
  }
  for (const char* host : {"user@internal.example.com", "internal.example.com:80:80", "[::1",
                           "internal.example.com..", "a b"}) {
    const auto res = http_get(port(), "/public/x", {{"Host", host}});
    EXPECT_EQ(res.status, 400) << host << " " << res.body;
  }
  // Absolute-form names the host itself (RFC 9112 §3.2.2): it cannot be paired with another.
  RawConnection raw(port());
  ASSERT_TRUE(
      raw.send("GET http://internal.example.com/public/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  EXPECT_EQ(raw.read_response(5s).status, 401);
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(SecurityTest, ForwardingHeadersComeFromWhatKeygateSaw) {
  const auto res = http_get(port(), "/public/x",
                            {{"X-Forwarded-Proto", "https"},
                             {"X-Forwarded-Host", "admin.example.com"},
                             {"X-Forwarded-For", "10.9.9.9"},
                             {"X-Real-IP", "10.9.9.9"},
                             {"Forwarded", "for=10.9.9.9;proto=https"}});
  ASSERT_EQ(res.status, 200);
  const auto seen = last_seen();
  EXPECT_EQ(seen.header("x-forwarded-proto").value_or(""), "http");
  EXPECT_EQ(seen.header("x-forwarded-host").value_or(""), "127.0.0.1:" + std::to_string(port()));
  EXPECT_EQ(seen.header("x-forwarded-for").value_or(""), "127.0.0.1");
  EXPECT_EQ(seen.header("x-real-ip").value_or(""), "127.0.0.1");
  EXPECT_FALSE(seen.has_header("forwarded"));
}

TEST_F(SecurityTest, ATrustedFrontProxyIsBelieved) {
  start("", ", trusted_proxies: [127.0.0.1/32]");
  const auto res = http_get(port(), "/public/x",
                            {{"X-Forwarded-Proto", "https"},
                             {"X-Forwarded-Host", "api.example.com"},
                             {"X-Forwarded-For", "203.0.113.9"}});
  ASSERT_EQ(res.status, 200);
  const auto seen = last_seen();
  EXPECT_EQ(seen.header("x-forwarded-proto").value_or(""), "https");
  EXPECT_EQ(seen.header("x-forwarded-host").value_or(""), "api.example.com");
  EXPECT_EQ(seen.header("x-forwarded-for").value_or(""), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(seen.header("x-real-ip").value_or(""), "203.0.113.9");
  // The access log (stdout) names the client the proxy vouched for.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (keygate_->stdout_text().find("203.0.113.9") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);  // polling the log file with a deadline
  EXPECT_NE(keygate_->stdout_text().find("\"client_ip\":\"203.0.113.9\""), std::string::npos)
      << keygate_->stdout_text();
}

TEST_F(SecurityTest, ContentLengthIsForwardedAsOneNormalisedValue) {
  for (const char* lengths : {"Content-Length: 5, 5\r\n", "Content-Length: 005\r\n",
                              "Content-Length: 5\r\nContent-Length: 5\r\n"}) {
    upstream_.clear();
    RawConnection raw(port());
    ASSERT_TRUE(
        raw.send(std::string("POST /public/x HTTP/1.1\r\nHost: a\r\n") + lengths + "\r\nhello"));
    ASSERT_EQ(raw.read_response(5s).status, 200) << lengths;
    const auto seen = last_seen();
    EXPECT_EQ(seen.header_count("content-length"), 1u) << lengths;
    EXPECT_EQ(seen.header("content-length").value_or(""), "5") << lengths;
    EXPECT_EQ(seen.body, "hello");
  }
}

TEST_F(SecurityTest, AKeyInAnUnreadQueryParameterIsNotForwarded) {
  conf::KeysConfig keys;
  const auto key = auth::generate_key({"live", "secret", "sk_live_"});
  ASSERT_EQ(http_get(port(), "/public/x?a=1&token=" + key + "&b=2").status, 200);
  EXPECT_EQ(last_seen().target, "/public/x?a=1&b=2");
}

TEST_F(SecurityTest, ATricklingUploadIsCutAtTheMinimumRate) {
  // 100 bytes every 300 ms beats body_timeout (1 s) for ever, but not min_body_rate (2 KiB/s).
  RawConnection raw(port());
  ASSERT_TRUE(
      raw.send("POST /public/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n"));
  const auto started = std::chrono::steady_clock::now();
  raw.send_slowly(std::string(100 * 40, 'x'), 100, 300ms, 20s);
  const auto res = raw.read_response(5s);
  EXPECT_EQ(res.status, 408) << res.error << res.body;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
}

// A hostile or buggy upstream sends a second response nobody asked for while its connection
// is idle in keygate's pool: it must never reach the next client.
TEST(SecurityPoolTest, UnsolicitedUpstreamBytesNeverReachTheNextClient) {
  for (const char* first :
       {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 204 No Content\r\n\r\n"}) {
    ScriptedUpstream upstream({first, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL", 10ms});
    KeygateProcess keygate(config_for(upstream.url()), with_empty_keys());
    for (int i = 0; i < 10; ++i) {
      const auto res = http_get(keygate.proxy_port(), "/public/x");
      ASSERT_NE(res.status, 0) << res.error;
      EXPECT_EQ(res.body.find("EVIL"), std::string::npos) << "request " << i << ": " << res.body;
      // The unsolicited bytes are in keygate's pooled connection before the next request.
      ASSERT_TRUE(upstream.wait_for_extras(static_cast<std::size_t>(i + 1)));
    }
    EXPECT_EQ(upstream.connections(), 10u) << "a connection with unread bytes was reused";
  }
}

// The same, with the unasked-for bytes in the very write of the response (so in the read that
// brought it), after each of the response forms keygate reads in place or through Beast's
// parser: the response ends where its framing says, and the connection is not reused.
TEST(SecurityPoolTest, BytesAfterAResponseInTheSameReadNeverReachTheNextClient) {
  const std::string evil = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL";
  for (const std::string first :
       {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"}) {
    ScriptedUpstreamOptions options;
    options.response = first + evil;
    ScriptedUpstream upstream(options);
    KeygateProcess keygate(config_for(upstream.url()), with_empty_keys());
    for (int i = 0; i < 3; ++i) {
      const auto res = http_get(keygate.proxy_port(), "/public/x");
      ASSERT_EQ(res.status, 200) << res.error;
      EXPECT_EQ(res.body, "ok") << first;
    }
    EXPECT_EQ(upstream.connections(), 3u) << "a connection with unread bytes was reused";
  }
}

// The upstream closes a pooled connection just as the next request reaches it (its idle
// timeout, a restart): nothing of a response came back, so a request that may be repeated
// goes again on a fresh connection, once; one that may not (POST) gets the 502.
TEST(SecurityPoolTest, ARequestThatMetAClosingPooledConnectionGoesAgainOnlyIfIdempotent) {
  ScriptedUpstreamOptions options;
  options.response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  options.answers_per_connection = 1;
  ScriptedUpstream upstream(options);
  KeygateProcess keygate(config_for(upstream.url()), with_empty_keys());
  KeepAliveClient client(keygate.proxy_port());
  ASSERT_EQ(client.get("/public/first").status, 200);  // pools the connection
  for (const char* method : {"GET", "OPTIONS", "DELETE"}) {
    const auto res = client.request(method, "/public/again", {}, "");
    EXPECT_EQ(res.status, 200) << method << ": " << res.error << res.body;
  }
  EXPECT_EQ(upstream.unanswered(), 3u);
  EXPECT_EQ(upstream.connections(), 4u);
  const auto post = client.request("POST", "/public/once", {}, "");
  EXPECT_EQ(post.status, 502) << post.body;
  EXPECT_EQ(upstream.unanswered(), 4u);
  EXPECT_EQ(upstream.requests(), 8u) << "the POST went upstream twice";
}

// Framing mutations of the kind smuggling scanners (defparam/smuggler, Burp's HTTP Request
// Smuggler) send. After each, a marker request goes on the same connection; the upstream must
// see only requests the client really sent, with the private one never among them.
TEST_F(SecurityTest, FramingMutationsNeverDesyncTheUpstream) {
  const std::string cl_te_body = "0\r\n\r\n" + kSmuggled;  // CL.TE: the back end reads TE
  const std::string te_cl_body =                           // TE.CL: the back end reads CL
      "3c\r\n" + kSmuggled.substr(0, 0x3c) + "\r\n0\r\n\r\n";
  const std::vector<std::string> te_spellings = {
      "Transfer-Encoding: chunked",
      "Transfer-Encoding : chunked",
      "Transfer-Encoding:\tchunked",
      "Transfer-Encoding: xchunked",
      "Transfer-Encoding: chunked, identity",
      "Transfer-Encoding: identity, chunked",
      "Transfer-Encoding:\x0b"
      "chunked",
      "Transfer-Encoding: \"chunked\"",
      "Transfer-Encoding: chunk",
      "Transfer-encoding: cHuNkEd",
      "Transfer-Encoding:\r\n chunked",
      "X: y\r\n Transfer-Encoding: chunked",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
      "Transfer_Encoding: chunked",
      "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked",
      "Transfer-Encoding: chunked\r\nConnection: Content-Length",
  };
  const std::vector<std::string> cl_spellings = {
      "Content-Length: 5, 6", "Content-Length: +5", "Content-Length: 0x5",
      "Content-Length: 5 5",  "Content-Length: -1", "Content-Length: 5\r\nContent-Length: 6",
  };
  std::vector<std::string> mutations;
  for (const auto& te : te_spellings) {
    for (const auto& body : {cl_te_body, te_cl_body}) {
      const auto cl = body == cl_te_body ? std::to_string(body.size()) : std::string("4");
      mutations.push_back("POST /public/m HTTP/1.1\r\nHost: a\r\n" + te +
                          "\r\nContent-Length: " + cl + "\r\n\r\n" + body);
      mutations.push_back("POST /public/m HTTP/1.1\r\nHost: a\r\n" + te + "\r\n\r\n" + body);
    }
  }
  for (const char* connection : {"Connection: Content-Length", "Connection: close, Content-Length",
                                 "Connection: keep-alive,content-length"})
    mutations.push_back(std::string("POST /public/m HTTP/1.1\r\nHost: a\r\n") + connection +
                        "\r\nContent-Length: " + std::to_string(kSmuggled.size()) + "\r\n\r\n" +
                        kSmuggled);
  for (const auto& cl : cl_spellings)
    mutations.push_back("POST /public/m HTTP/1.1\r\nHost: a\r\n" + cl + "\r\n\r\n" + cl_te_body);
  mutations.push_back("POST /public/m HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      cl_te_body);
  mutations.push_back("POST /public/m HTTP/1.1\nHost: a\nContent-Length: " +
                      std::to_string(cl_te_body.size()) + "\n\n" + cl_te_body);

  std::size_t markers_answered = 0;
  for (std::size_t i = 0; i < mutations.size(); ++i) {
    RawConnection raw(port());
    const std::string marker =
        "GET /public/marker-" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    raw.send(mutations[i] + marker);
    // Whatever comes back until the marker's answer, or until keygate closes or goes quiet:
    // answers for the mutation, for the smuggled text as keygate parsed it, for the marker.
    std::string text;
    const auto needle = "/public/marker-" + std::to_string(i);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (text.find(needle) == std::string::npos && !raw.peer_closed() &&
           std::chrono::steady_clock::now() < deadline)
      text += raw.read_some(500ms);
    if (text.find(needle) != std::string::npos) ++markers_answered;
  }
  for (const auto& r : upstream_.requests()) {
    const auto path = r.path();
    EXPECT_TRUE(path == "/public/m" || path.starts_with("/public/marker-"))
        << "the upstream saw a request nobody sent it: " << r.method << " " << r.target;
  }
  expect_never_seen("/private");
  expect_clients_in_step();
  EXPECT_GT(markers_answered, 0u);  // the mutations keygate accepted left the connection in step
}

}  // namespace
}  // namespace keygate::testing
