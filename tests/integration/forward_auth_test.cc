// keygate as the key check behind a front proxy (mode: authorize): a real nginx with
// auth_request in front of a real upstream, keygate answering its subrequests from a real
// redis-server; and the Envoy ext_authz HTTP contract, from the request shapes Envoy sends.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/nginx_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string keygate_config(std::uint16_t redis_port, const std::string& authorize) {
  return R"(threads: 1
listeners:
  - {address: 127.0.0.1, port: 0, mode: authorize, trusted_proxies: [127.0.0.1/32], authorize: )" +
         authorize + R"(}
admin: {address: 127.0.0.1, port: 0}
routes:
  - {name: hosted, match: {path_prefix: /hosted, host: api.example.com}, auth: none}
  - {name: public, match: {path_prefix: /public}, auth: none}
  - {name: read, match: {path_prefix: /read}, auth: {scopes_all: [read]}}
  - {name: write, match: {path_prefix: /write}, auth: {scopes_all: [write]}}
  - {name: live, match: {path_prefix: /live}, auth: {environments: [live]}}
  - {name: limited, match: {path_prefix: /limited}, auth: {}, rate_limits: [two-per-hour]}
rate_limits:
  policies:
    - {name: two-per-hour, per: key, algorithm: fixed_window, limit: 2, window: 1h}
keys:
  plans: [{name: default, max_keys: unlimited}]
  default_plan: default
cache: {positive_ttl: 30s, negative_ttl: 1s, stale_grace: 5m}
store: {kind: redis, redis: {host: 127.0.0.1, port: )" +
         std::to_string(redis_port) +
         R"(, command_timeout: 200ms, reconnect_min: 50ms, reconnect_max: 500ms}}
)";
}

// The nginx side of docs/forward-auth.md, as an operator would paste it.
std::string nginx_server(std::uint16_t upstream_port) {
  std::string conf = R"(
    location = /_keygate {
      internal;
      proxy_pass http://keygate;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
    location / {
      auth_request /_keygate;
      auth_request_set $keygate_key_id $upstream_http_x_keygate_key_id;
      auth_request_set $keygate_org $upstream_http_x_keygate_org;
      auth_request_set $keygate_environment $upstream_http_x_keygate_environment;
      auth_request_set $keygate_key_type $upstream_http_x_keygate_key_type;
      auth_request_set $keygate_scopes $upstream_http_x_keygate_scopes;
      auth_request_set $keygate_plan $upstream_http_x_keygate_plan;
      auth_request_set $keygate_status $upstream_http_x_keygate_status;
      auth_request_set $keygate_error $upstream_http_x_keygate_error;
      auth_request_set $keygate_retry_after $upstream_http_retry_after;
      auth_request_set $keygate_www_authenticate $upstream_http_www_authenticate;
      auth_request_set $keygate_limit $upstream_http_x_ratelimit_limit;
      auth_request_set $keygate_remaining $upstream_http_x_ratelimit_remaining;
      auth_request_set $keygate_reset $upstream_http_x_ratelimit_reset;
      proxy_set_header X-Keygate-Key-Id $keygate_key_id;
      proxy_set_header X-Keygate-Org $keygate_org;
      proxy_set_header X-Keygate-Environment $keygate_environment;
      proxy_set_header X-Keygate-Key-Type $keygate_key_type;
      proxy_set_header X-Keygate-Scopes $keygate_scopes;
      proxy_set_header X-Keygate-Plan $keygate_plan;
      proxy_set_header Authorization "";
      proxy_set_header X-Api-Key "";
      add_header X-RateLimit-Limit $keygate_limit always;
      add_header X-RateLimit-Remaining $keygate_remaining always;
      add_header X-RateLimit-Reset $keygate_reset always;
      error_page 401 403 = @keygate_denied;
      proxy_pass http://127.0.0.1:UPSTREAM;
    }
    location @keygate_denied {
      default_type application/json;
      add_header WWW-Authenticate $keygate_www_authenticate always;
      add_header Retry-After $keygate_retry_after always;
      add_header X-RateLimit-Limit $keygate_limit always;
      add_header X-RateLimit-Remaining $keygate_remaining always;
      add_header X-RateLimit-Reset $keygate_reset always;
      if ($keygate_status = 401) { return 401 $keygate_error; }
      if ($keygate_status = 403) { return 403 $keygate_error; }
      if ($keygate_status = 404) { return 404 $keygate_error; }
      if ($keygate_status = 429) { return 429 $keygate_error; }
      if ($keygate_status = 503) { return 503 $keygate_error; }
      return 500;
    }
)";
  return std::regex_replace(conf, std::regex("UPSTREAM"), std::to_string(upstream_port));
}

// Keep-alive connections to keygate: a check is then one request, not a TCP handshake too.
std::string nginx_http(std::uint16_t keygate_port) {
  return "  upstream keygate { server 127.0.0.1:" + std::to_string(keygate_port) +
         "; keepalive 16; }\n";
}

std::string create_key(const std::string& config_path, std::vector<std::string> extra) {
  std::vector<std::string> args = {"keys",  "create", "--config", config_path,
                                   "--org", "acme",   "--name",   "forward auth test"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = run_keygate_cli(args);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  std::smatch match;
  static const std::regex kKey(R"(\b([a-z]{2}_[a-z]+_[0-9A-Za-z]{40})\b)");
  return std::regex_search(result.stdout_text, match, kKey) ? std::string(match[1]) : "";
}

void expect_error(const HttpResponse& res, int status, const std::string& code) {
  EXPECT_EQ(res.status, status) << res.body;
  EXPECT_NE(res.body.find("\"code\":\"" + code + "\""), std::string::npos) << res.body;
}

class NginxForwardAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keygate_ = std::make_unique<KeygateProcess>(keygate_config(redis_.port(), "{flavor: nginx}"));
    nginx_ = std::make_unique<NginxProcess>(nginx_server(upstream_.port()),
                                            nginx_http(keygate_->proxy_port()));
  }
  std::uint16_t port() const { return nginx_->port(); }
  HttpResponse get(const std::string& target, const std::string& key) {
    return http_get(port(), target, {{"Authorization", "Bearer " + key}});
  }

  RedisServer redis_;
  EchoUpstream upstream_;
  std::unique_ptr<KeygateProcess> keygate_;
  std::unique_ptr<NginxProcess> nginx_;
};

TEST_F(NginxForwardAuthTest, AllowedRequestsReachTheUpstreamWithIdentityAndWithoutTheKey) {
  const auto key =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  const auto res = http_get(port(), "/read/orders?x=1",
                            {{"Authorization", "Bearer " + key},
                             {"X-Keygate-Org", "victim"},  // a client's claim nginx overrides
                             {"X-Api-Key", key}});
  ASSERT_EQ(res.status, 200) << res.body << nginx_->error_log();
  ASSERT_TRUE(upstream_.wait_for_requests(1));
  const auto seen = upstream_.last_request().value();
  EXPECT_EQ(seen.target, "/read/orders?x=1");
  EXPECT_EQ(seen.header("x-keygate-org").value_or(""), "acme");
  EXPECT_EQ(seen.header("x-keygate-scopes").value_or(""), "read");
  EXPECT_EQ(seen.header("x-keygate-environment").value_or(""), "live");
  EXPECT_EQ(seen.header("x-keygate-plan").value_or(""), "default");
  EXPECT_TRUE(seen.header("x-keygate-key-id").value_or("").starts_with("key_"));
  EXPECT_FALSE(seen.has_header("authorization"));
  EXPECT_FALSE(seen.has_header("x-api-key"));
  EXPECT_EQ(http_get(port(), "/public/x").status, 200);

  // nginx keeps its connection to keygate only after answers without a body: 20 checks, one
  // connection (the check answers carry none, refusals included).
  const auto before = http_get(keygate_->admin_port(), "/metrics").body;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(get("/read/x", key).status, 200);
    ASSERT_EQ(http_get(port(), "/read/x").status, 401);
  }
  const auto metric = [](const std::string& text) {
    const std::string name = "\nkeygate_client_connections_total ";
    const auto at = text.find(name);
    return at == std::string::npos ? -1L : std::stol(text.substr(at + name.size()));
  };
  const auto after = http_get(keygate_->admin_port(), "/metrics").body;
  EXPECT_LE(metric(after) - metric(before), 1) << after;
}

TEST_F(NginxForwardAuthTest, EveryRefusalReachesTheClientWithKeygatesStatusAndBody) {
  const auto test_key =
      create_key(keygate_->config_path(), {"--env", "test", "--type", "secret", "--scope", "read"});
  expect_error(http_get(port(), "/read/x"), 401, "missing_api_key");
  const auto missing = http_get(port(), "/read/x");
  EXPECT_EQ(missing.headers.value("www-authenticate"), R"(Bearer realm="keygate")");
  EXPECT_EQ(missing.headers.value("content-type"), "application/json");
  expect_error(get("/read/x", "sk_live_" + std::string(40, 'a')), 401, "invalid_api_key");
  expect_error(get("/write/x", test_key), 403, "insufficient_permissions");
  expect_error(get("/live/x", test_key), 403, "wrong_environment");
  expect_error(http_get(port(), "/nowhere"), 404, "route_not_found");
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(NginxForwardAuthTest, RateLimitsReachTheClientAs429WithRetryAfter) {
  const auto key = create_key(keygate_->config_path(), {"--env", "live", "--type", "secret"});
  for (int i = 0; i < 2; ++i) {
    const auto ok = get("/limited/x", key);
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.headers.value("x-ratelimit-limit"), "2");
    EXPECT_EQ(ok.headers.value("x-ratelimit-remaining"), std::to_string(1 - i));
  }
  const auto limited = get("/limited/x", key);
  expect_error(limited, 429, "rate_limit_exceeded");
  EXPECT_GT(std::stoi(limited.headers.value("retry-after").empty()
                          ? "0"
                          : limited.headers.value("retry-after")),
            0);
  EXPECT_EQ(limited.headers.value("x-ratelimit-remaining"), "0");
  EXPECT_EQ(upstream_.request_count(), 2u);
}

TEST_F(NginxForwardAuthTest, RevocationReachesTheFrontProxyWithinTheUsualBound) {
  const auto key =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  ASSERT_EQ(get("/read/x", key).status, 200);  // cached now
  const auto revoke = run_keygate_cli({"keys", "revoke", key, "--config", keygate_->config_path()});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.stderr_text;
  const auto revoked_at = Clock::now();
  HttpResponse res;
  while (Clock::now() - revoked_at < 5s && (res = get("/read/x", key)).status == 200) {
  }
  const auto took = std::chrono::duration<double, std::milli>(Clock::now() - revoked_at).count();
  expect_error(res, 401, "revoked_api_key");
  std::printf("revocation through nginx auth_request: %.1f ms\n", took);
  EXPECT_LT(took, 100.0);
}

TEST_F(NginxForwardAuthTest, ARedisOutageIs503NeverA401) {
  const auto warm =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  const auto cold =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  ASSERT_EQ(get("/read/x", warm).status, 200);
  redis_.kill();
  EXPECT_EQ(get("/read/x", warm).status, 200);  // within stale_grace
  const auto res = get("/read/x", cold);
  expect_error(res, 503, "store_unavailable");
  EXPECT_EQ(res.headers.value("retry-after"), "1");
}

// Envoy's ext_authz HTTP service, from the shapes its documentation gives: the original method,
// path_prefix + the original path and query, Host, the allowed headers (Authorization always),
// Content-Length 0. Envoy itself is not packaged for Debian or npm, so these requests are sent
// as raw bytes, as Envoy would send them.
class EnvoyExtAuthzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keygate_ = std::make_unique<KeygateProcess>(
        keygate_config(redis_.port(), "{flavor: envoy, path_prefix: /ext_authz}"));
  }
  HttpResponse check(const std::string& method, const std::string& path, const std::string& key,
                     const std::string& extra_headers = "") {
    RawConnection raw(keygate_->proxy_port());
    std::string request = method + " /ext_authz" + path +
                          " HTTP/1.1\r\nhost: api.example.com\r\n"
                          "x-forwarded-proto: https\r\nx-request-id: "
                          "6f8a5f0a-8d44-4a4b-9c5e-1d2f3a4b5c6d\r\nx-envoy-internal: true\r\n"
                          "x-forwarded-for: 203.0.113.7\r\nx-envoy-expected-rq-timeout-ms: 200\r\n";
    if (!key.empty()) request += "authorization: Bearer " + key + "\r\n";
    request += extra_headers + "content-length: 0\r\n\r\n";
    EXPECT_TRUE(raw.send(request));
    return raw.read_response(5s);
  }

  RedisServer redis_;
  std::unique_ptr<KeygateProcess> keygate_;
};

TEST_F(EnvoyExtAuthzTest, AllowIs200WithHeadersToAddAndTheCredentialToRemove) {
  const auto key =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  const auto res = check("DELETE", "/read/orders/7?dry=1", key);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers.value("x-keygate-org"), "acme");
  EXPECT_EQ(res.headers.value("x-keygate-scopes"), "read");
  EXPECT_EQ(res.headers.value("x-envoy-auth-headers-to-remove"), "authorization,x-api-key");
  EXPECT_EQ(res.headers.value("x-keygate-status"), "200");
}

// Envoy adds the answer's headers upstream: they name the key keygate validated, never what
// the check request claimed in any spelling.
TEST_F(EnvoyExtAuthzTest, TheAnswerNamesTheValidatedKeyWhateverTheCheckRequestClaims) {
  const auto key =
      create_key(keygate_->config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  const auto res = check("GET", "/read/x", key,
                         "x-keygate-org: victim\r\nx_keygate_org: victim\r\n"
                         "x-keygate-key-id: forged\r\nx-keygate-scopes: admin\r\n");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.headers.count("x-keygate-org"), 1u);
  EXPECT_EQ(res.headers.value("x-keygate-org"), "acme");
  EXPECT_NE(res.headers.value("x-keygate-key-id"), "forged");
  EXPECT_TRUE(res.headers.value("x-keygate-key-id").starts_with("key_"))
      << res.headers.value("x-keygate-key-id");
  EXPECT_EQ(res.headers.value("x-keygate-scopes"), "read");
  EXPECT_EQ(res.headers.count("x-keygate-scopes"), 1u);
  EXPECT_EQ(res.headers.count("x_keygate_org"), 0u);
}

TEST_F(EnvoyExtAuthzTest, DenyCarriesTheStatusBodyAndHeadersEnvoyPassesToTheClient) {
  auto res = check("GET", "/read/x", "");
  expect_error(res, 401, "missing_api_key");
  EXPECT_EQ(res.headers.value("www-authenticate"), R"(Bearer realm="keygate")");
  const auto key = create_key(keygate_->config_path(), {"--env", "live", "--type", "secret"});
  for (int i = 0; i < 2; ++i) ASSERT_EQ(check("GET", "/limited/x", key).status, 200);
  res = check("GET", "/limited/x", key);
  expect_error(res, 429, "rate_limit_exceeded");
  EXPECT_FALSE(res.headers.value("retry-after").empty());
  // A check outside the configured prefix is not a check request Envoy would send.
  RawConnection raw(keygate_->proxy_port());
  ASSERT_TRUE(raw.send("GET /read/x HTTP/1.1\r\nhost: a\r\n\r\n"));
  EXPECT_EQ(raw.read_response(5s).status, 400);
}

}  // namespace
}  // namespace keygate::testing

namespace keygate::testing {
namespace {

// Traefik's ForwardAuth: a GET with the original request in X-Forwarded-Method, -Uri, -Host;
// the answer's status, headers and body go to the client as they are.
TEST(TraefikForwardAuthTest, TheOriginalRequestComesInXForwardedHeaders) {
  RedisServer redis;
  KeygateProcess keygate(keygate_config(redis.port(), "{flavor: traefik}"));
  const auto key =
      create_key(keygate.config_path(), {"--env", "live", "--type", "secret", "--scope", "read"});
  auto check = [&](const std::string& method, const std::string& uri, const std::string& key) {
    HeaderList headers = {{"X-Forwarded-Method", method},
                          {"X-Forwarded-Proto", "https"},
                          {"X-Forwarded-Host", "api.example.com"},
                          {"X-Forwarded-Uri", uri},
                          {"X-Forwarded-For", "203.0.113.7"}};
    if (!key.empty()) headers.push_back({"Authorization", "Bearer " + key});
    return http_get(keygate.proxy_port(), "/", headers);
  };
  const auto allowed = check("POST", "/read/orders?page=2", key);
  ASSERT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_EQ(allowed.headers.value("x-keygate-org"), "acme");
  expect_error(check("GET", "/read/x", ""), 401, "missing_api_key");
  expect_error(check("GET", "/write/x", key), 403, "insufficient_permissions");
  for (int i = 0; i < 2; ++i) ASSERT_EQ(check("GET", "/limited/x", key).status, 200);
  expect_error(check("GET", "/limited/x", key), 429, "rate_limit_exceeded");
  // Routes match the original host, not the check request's own Host.
  EXPECT_EQ(check("GET", "/hosted/x", "").status, 200);
  const auto elsewhere = http_get(keygate.proxy_port(), "/",
                                  {{"X-Forwarded-Method", "GET"},
                                   {"X-Forwarded-Host", "other.example.com"},
                                   {"X-Forwarded-Uri", "/hosted/x"}});
  expect_error(elsewhere, 404, "route_not_found");
  // Without the original URI there is nothing to decide about.
  const auto bare = http_get(keygate.proxy_port(), "/read/x", {{"Authorization", "Bearer " + key}});
  EXPECT_EQ(bare.status, 400);
  EXPECT_NE(bare.body.find("X-Forwarded-Uri"), std::string::npos) << bare.body;

  // Usage counts decisions (a check request cannot know the upstream's status): 3 allowed, 2
  // refused for this key, from the client address the trusted front proxy vouched for.
  const auto deadline = Clock::now() + 10s;
  std::string usage;
  while (Clock::now() < deadline) {
    usage = run_keygate_cli({"keys", "usage", key, "--config", keygate.config_path(), "--json"})
                .stdout_text;
    if (usage.find("\"total_requests\":5") != std::string::npos) break;
  }
  EXPECT_NE(usage.find("\"total_requests\":5"), std::string::npos) << usage;
  EXPECT_NE(usage.find("\"successful_requests\":3"), std::string::npos) << usage;
  EXPECT_NE(usage.find("\"last_client_ip\":\"203.0.113.7\""), std::string::npos) << usage;
}

}  // namespace
}  // namespace keygate::testing
