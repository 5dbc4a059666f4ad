// API keys at the proxy, over real sockets: the real keygate binary, a real upstream, the
// embedded file store and a real redis-server.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string routes_yaml() {
  return R"(routes:
  - {name: public, match: {path_prefix: /public/}, upstream: api, auth: none}
  - name: read
    match: {path_prefix: /read/}
    upstream: api
    auth: {sources: [bearer, "header:x-api-key", "query:api_key"], scopes_all: [read]}
  - name: write
    match: {path_prefix: /write/}
    upstream: api
    auth: {scopes_all: [read, write]}
  - name: any-scope
    match: {path_prefix: /any/}
    upstream: api
    auth: {scopes_any: [admin, billing]}
  - name: live-only
    match: {path_prefix: /live/}
    upstream: api
    auth: {environments: [live]}
  - name: public-keys
    match: {path_prefix: /widget/}
    upstream: api
    auth: {key_types: [public], sources: [bearer, "query:api_key"]}
  - name: query-secret
    match: {path_prefix: /qs/}
    upstream: api
    auth: {sources: ["query:api_key"], allow_query_for_secret_keys: true}
)";
}

std::string base_config(std::uint16_t upstream_port, const std::string& store) {
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams:
  - {name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}
)" + routes_yaml() +
         R"(keys:
  plans:
    - {name: free, max_keys: 1}
    - {name: growth, max_keys: 5}
    - {name: enterprise, max_keys: unlimited}
  default_plan: enterprise
cache: {positive_ttl: 30s, negative_ttl: 2s, stale_grace: 5m}
)" + store;
}

const std::string kFileStore = "store: {kind: file, file: keys.json}\n";

std::string redis_store(std::uint16_t port) {
  return "store: {kind: redis, redis: {host: 127.0.0.1, port: " + std::to_string(port) +
         ", command_timeout: 200ms, reconnect_min: 50ms, reconnect_max: 500ms}}\n";
}

// Runs `keygate keys ...` against a config and returns the raw key it printed.
std::string create_key(const std::string& config_path, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"keys", "create", "--config", config_path};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = run_keygate_cli(args);
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text << result.stdout_text;
  std::smatch match;
  static const std::regex kKey(R"(\b([a-z]{2}_[a-z]+_[0-9A-Za-z]{40})\b)");
  if (!std::regex_search(result.stdout_text, match, kKey)) {
    ADD_FAILURE() << "no key in: " << result.stdout_text;
    return {};
  }
  return match[1];
}

CliResult keys_cli(const std::string& config_path, std::vector<std::string> args) {
  args.insert(args.begin() + 2, {"--config", config_path});
  return run_keygate_cli(args);
}

// The key id of a raw key, via `keys show --json`.
std::string key_id(const std::string& config_path, const std::string& raw) {
  auto result = keys_cli(config_path, {"keys", "show", raw, "--json"});
  std::smatch match;
  static const std::regex kId(R"re("id"\s*:\s*"(key_[0-9a-f]+)")re");
  if (!std::regex_search(result.stdout_text, match, kId)) {
    ADD_FAILURE() << "no id in: " << result.stdout_text << result.stderr_text;
    return {};
  }
  return match[1];
}

HttpResponse get_with_key(std::uint16_t port, const std::string& target, const std::string& key) {
  return http_get(port, target, {{"Authorization", "Bearer " + key}});
}

void expect_error(const HttpResponse& res, int status, const std::string& type,
                  const std::string& code) {
  EXPECT_EQ(res.status, status) << res.body << res.error;
  EXPECT_NE(res.body.find("\"type\":\"" + type + "\""), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"code\":\"" + code + "\""), std::string::npos) << res.body;
}

// Polls until `target` with `key` answers `status`; returns how long that took.
std::optional<Clock::duration> wait_for_status(std::uint16_t port, const std::string& target,
                                               const std::string& key, int status,
                                               Clock::duration timeout = 10s) {
  const auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (get_with_key(port, target, key).status == status) return Clock::now() - start;
  }
  return std::nullopt;
}

class FileStoreAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KeygateOptions options;
    options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
    keygate_ = std::make_unique<KeygateProcess>(base_config(upstream_.port(), kFileStore), options);
    config_ = keygate_->config_path();
  }
  std::uint16_t port() const { return keygate_->proxy_port(); }
  std::string live_secret(std::vector<std::string> scopes = {"read"}) {
    std::vector<std::string> args = {"--org", "acme", "--name", "svc",
                                     "--env", "live", "--type", "secret"};
    for (const auto& s : scopes) args.insert(args.end(), {"--scope", s});
    auto raw = create_key(config_, args);
    // The file watcher reloads asynchronously: poll until the key authenticates somewhere.
    EXPECT_TRUE(wait_for_status(port(), "/live/x", raw, 200)) << "new key never accepted";
    return raw;
  }

  EchoUpstream upstream_;
  std::unique_ptr<KeygateProcess> keygate_;
  std::string config_;
};

TEST_F(FileStoreAuthTest, MissingKeyIs401WithWwwAuthenticate) {
  auto res = http_get(port(), "/read/x");
  expect_error(res, 401, "authentication_error", "missing_api_key");
  EXPECT_NE(res.headers.value("www-authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(FileStoreAuthTest, RefusedHeadRequestHasNoBodyAndKeepsTheConnection) {
  RawConnection raw(port());
  ASSERT_TRUE(raw.send("HEAD /read/x HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto refused = raw.read_response(5s, /*head_request=*/true);
  EXPECT_EQ(refused.status, 401) << refused.error;
  EXPECT_NE(refused.headers.value("content-length"), "0");
  // Had a body been sent, it would now be read as the next response's status line.
  ASSERT_TRUE(raw.send("GET /public/x HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(raw.read_response(5s).status, 200);
}

TEST_F(FileStoreAuthTest, MalformedAndUnknownKeysAre401Invalid) {
  expect_error(get_with_key(port(), "/read/x", "not-a-key"), 401, "authentication_error",
               "invalid_api_key");
  auto raw = live_secret();
  // One character changed: the checksum catches it without any store lookup.
  std::string typo = raw;
  typo[12] = typo[12] == 'a' ? 'b' : 'a';
  expect_error(get_with_key(port(), "/read/x", typo), 401, "authentication_error",
               "invalid_api_key");
  expect_error(get_with_key(port(), "/read/x", std::string(300, 'k')), 401, "authentication_error",
               "invalid_api_key");
  EXPECT_EQ(upstream_.request_count(), 1u);  // only live_secret's readiness probe got through
}

TEST_F(FileStoreAuthTest, ValidKeyIsForwardedWithIdentityAndWithoutCredential) {
  auto raw = live_secret({"read", "write"});
  const auto id = key_id(config_, raw);
  upstream_.clear();
  auto res = http_get(port(), "/read/items?x=1",
                      {{"Authorization", "Bearer " + raw},
                       {"X-Keygate-Org", "spoofed-org"},
                       {"X-Keygate-Key-Id", "spoofed"},
                       {"X-Keygate-Scopes", "admin"}});
  ASSERT_EQ(res.status, 200) << res.body;
  auto seen = upstream_.last_request().value();
  EXPECT_FALSE(seen.has_header("authorization"));
  EXPECT_EQ(seen.header("x-keygate-key-id").value_or(""), id);
  EXPECT_EQ(seen.header("x-keygate-org").value_or(""), "acme");
  EXPECT_EQ(seen.header("x-keygate-environment").value_or(""), "live");
  EXPECT_EQ(seen.header("x-keygate-key-type").value_or(""), "secret");
  EXPECT_EQ(seen.header("x-keygate-scopes").value_or(""), "read,write");
  EXPECT_EQ(seen.header_count("x-keygate-org"), 1u);
  for (const auto& [name, value] : seen.headers) EXPECT_EQ(value.find(raw), std::string::npos);
  EXPECT_EQ(seen.target.find(raw), std::string::npos);
}

TEST_F(FileStoreAuthTest, SpoofedIdentityHeadersAreRemovedOnPublicRoutes) {
  auto res = http_get(port(), "/public/x", {{"X-Keygate-Org", "evil"}, {"X-Keygate-Key-Id", "k"}});
  ASSERT_EQ(res.status, 200);
  auto seen = upstream_.last_request().value();
  EXPECT_FALSE(seen.has_header("x-keygate-org"));
  EXPECT_FALSE(seen.has_header("x-keygate-key-id"));
}

TEST_F(FileStoreAuthTest, EveryKeySourceWorksAndIsStripped) {
  auto raw = live_secret();
  upstream_.clear();
  ASSERT_EQ(http_get(port(), "/read/a", {{"x-api-key", raw}}).status, 200);
  EXPECT_FALSE(upstream_.last_request()->has_header("x-api-key"));

  // A secret key in the query string is refused unless the route allows it.
  expect_error(http_get(port(), "/read/b?api_key=" + raw + "&keep=1"), 403, "authorization_error",
               "key_type_not_allowed");
  upstream_.clear();
  ASSERT_EQ(http_get(port(), "/qs/b?first=0&api_key=" + raw + "&keep=1").status, 200);
  EXPECT_EQ(upstream_.last_request()->target, "/qs/b?first=0&keep=1");
}

TEST_F(FileStoreAuthTest, PublicKeyInQueryString) {
  auto raw = create_key(config_, {"--org", "acme", "--name", "widget", "--env", "live", "--type",
                                  "public", "--scope", "read"});
  ASSERT_TRUE(wait_for_status(port(), "/widget/x", raw, 200));
  upstream_.clear();
  ASSERT_EQ(http_get(port(), "/widget/embed?api_key=" + raw).status, 200);
  EXPECT_EQ(upstream_.last_request()->target, "/widget/embed");
  // A secret key is not a public key.
  auto secret = live_secret();
  expect_error(get_with_key(port(), "/widget/x", secret), 403, "authorization_error",
               "key_type_not_allowed");
}

TEST_F(FileStoreAuthTest, ScopesEnvironmentsAndNetworks) {
  auto reader = live_secret({"read"});
  expect_error(get_with_key(port(), "/write/x", reader), 403, "authorization_error",
               "insufficient_permissions");
  expect_error(get_with_key(port(), "/any/x", reader), 403, "authorization_error",
               "insufficient_permissions");
  auto billing = live_secret({"billing"});
  EXPECT_EQ(get_with_key(port(), "/any/x", billing).status, 200);

  auto test_key = create_key(config_, {"--org", "acme", "--name", "t", "--env", "test", "--type",
                                       "secret", "--scope", "read"});
  ASSERT_TRUE(wait_for_status(port(), "/read/x", test_key, 200));
  expect_error(get_with_key(port(), "/live/x", test_key), 403, "authorization_error",
               "wrong_environment");

  auto fenced = create_key(config_, {"--org", "acme", "--name", "fenced", "--env", "live", "--type",
                                     "secret", "--scope", "read", "--cidr", "10.0.0.0/8"});
  ASSERT_TRUE(wait_for_status(port(), "/read/x", fenced, 403));
  expect_error(get_with_key(port(), "/read/x", fenced), 403, "authorization_error",
               "ip_not_allowed");
}

TEST_F(FileStoreAuthTest, LifecycleRevokeDeactivateExpireRotate) {
  auto raw = live_secret();
  ASSERT_EQ(keys_cli(config_, {"keys", "deactivate", raw}).exit_code, 0);
  ASSERT_TRUE(wait_for_status(port(), "/read/x", raw, 401));
  expect_error(get_with_key(port(), "/read/x", raw), 401, "authentication_error",
               "inactive_api_key");
  ASSERT_EQ(keys_cli(config_, {"keys", "activate", raw}).exit_code, 0);
  ASSERT_TRUE(wait_for_status(port(), "/read/x", raw, 200));

  ASSERT_EQ(keys_cli(config_, {"keys", "revoke", raw}).exit_code, 0);
  ASSERT_TRUE(wait_for_status(port(), "/read/x", raw, 401));
  expect_error(get_with_key(port(), "/read/x", raw), 401, "authentication_error",
               "revoked_api_key");
  // Revocation is a soft delete: the record stays for audit.
  auto shown = keys_cli(config_, {"keys", "show", raw, "--json"});
  EXPECT_NE(shown.stdout_text.find("revoked_at"), std::string::npos) << shown.stdout_text;

  auto expiring = live_secret();
  ASSERT_EQ(keys_cli(config_, {"keys", "expire", expiring, "--in", "1s"}).exit_code, 0);
  ASSERT_TRUE(wait_for_status(port(), "/read/x", expiring, 401, 15s));
  expect_error(get_with_key(port(), "/read/x", expiring), 401, "authentication_error",
               "expired_api_key");
}

TEST_F(FileStoreAuthTest, RotationKeepsTheOldKeyUntilTheGraceDeadline) {
  auto old_key = live_secret();
  auto rotated = keys_cli(config_, {"keys", "rotate", old_key, "--grace", "2s"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.stderr_text;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(rotated.stdout_text, match,
                                std::regex(R"(\b(sk_live_[0-9A-Za-z]{40})\b)")));
  const std::string new_key = match[1];
  ASSERT_TRUE(wait_for_status(port(), "/read/x", new_key, 200));
  EXPECT_EQ(get_with_key(port(), "/read/x", old_key).status, 200);  // inside the grace
  ASSERT_TRUE(wait_for_status(port(), "/read/x", old_key, 401, 15s));
  expect_error(get_with_key(port(), "/read/x", old_key), 401, "authentication_error",
               "revoked_api_key");
  EXPECT_EQ(get_with_key(port(), "/read/x", new_key).status, 200);
}

TEST_F(FileStoreAuthTest, PlanMaximaAreEnforcedByTheCli) {
  ASSERT_EQ(keys_cli(config_, {"orgs", "create", "tiny", "--plan", "free"}).exit_code, 0);
  create_key(config_, {"--org", "tiny", "--name", "one", "--env", "live", "--type", "secret"});
  auto second = keys_cli(config_, {"keys", "create", "--org", "tiny", "--name", "two", "--env",
                                   "live", "--type", "secret"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE((second.stderr_text + second.stdout_text).find("free"), std::string::npos)
      << second.stderr_text;
}

TEST_F(FileStoreAuthTest, RawKeysNeverReachTheLogsOrTheStoreFile) {
  auto raw = live_secret();
  get_with_key(port(), "/read/x", raw);
  get_with_key(port(), "/write/x", raw);
  http_get(port(), "/qs/x?api_key=" + raw);
  // Give the access log its flush interval, polling for the line rather than sleeping blind.
  const auto id = key_id(config_, raw);
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && keygate_->stdout_text().find("/qs/x") == std::string::npos)
    std::this_thread::sleep_for(20ms);
  const auto out = keygate_->stdout_text();
  ASSERT_NE(out.find(id), std::string::npos) << "the access log names the key by id";
  EXPECT_EQ(out.find(raw), std::string::npos);
  EXPECT_EQ(keygate_->stderr_text().find(raw), std::string::npos);
  EXPECT_EQ(read_text_file(keygate_->path("keys.json")).find(raw), std::string::npos);
}

// ---- Redis store ----

class RedisAuthTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeygateProcess> start_keygate() {
    return std::make_unique<KeygateProcess>(
        base_config(upstream_.port(), redis_store(redis_.port())));
  }
  RedisServer redis_;
  EchoUpstream upstream_;
};

TEST_F(RedisAuthTest, RevocationReachesEverySidecarQuickly) {
  auto a = start_keygate();
  auto b = start_keygate();
  std::vector<double> millis;
  for (int round = 0; round < 5; ++round) {
    auto raw =
        create_key(a->config_path(), {"--org", "acme", "--name", "r" + std::to_string(round),
                                      "--env", "live", "--type", "secret", "--scope", "read"});
    // Warm both caches: from now on they would answer without asking Redis.
    ASSERT_EQ(get_with_key(a->proxy_port(), "/read/x", raw).status, 200);
    ASSERT_EQ(get_with_key(b->proxy_port(), "/read/x", raw).status, 200);
    ASSERT_EQ(keys_cli(a->config_path(), {"keys", "revoke", raw}).exit_code, 0);
    const auto revoked_at = Clock::now();
    auto on_a = wait_for_status(a->proxy_port(), "/read/x", raw, 401, 5s);
    auto on_b = wait_for_status(b->proxy_port(), "/read/x", raw, 401, 5s);
    ASSERT_TRUE(on_a && on_b) << "a sidecar kept accepting a revoked key";
    millis.push_back(std::chrono::duration<double, std::milli>(Clock::now() - revoked_at).count());
    expect_error(get_with_key(b->proxy_port(), "/read/x", raw), 401, "authentication_error",
                 "revoked_api_key");
  }
  std::sort(millis.begin(), millis.end());
  std::printf("revocation reached both sidecars in (ms): min %.1f median %.1f max %.1f\n",
              millis.front(), millis[millis.size() / 2], millis.back());
  EXPECT_LT(millis[millis.size() / 2], 100.0);
}

TEST_F(RedisAuthTest, RedisOutageIs503NeverA401AndRecoversWithoutRestart) {
  auto keygate = start_keygate();
  const auto port = keygate->proxy_port();
  auto cached = create_key(keygate->config_path(), {"--org", "acme", "--name", "cached", "--env",
                                                    "live", "--type", "secret", "--scope", "read"});
  auto uncached = create_key(
      keygate->config_path(),
      {"--org", "acme", "--name", "cold", "--env", "live", "--type", "secret", "--scope", "read"});
  ASSERT_EQ(get_with_key(port, "/read/x", cached).status, 200);
  ASSERT_EQ(http_get(keygate->admin_port(), "/readyz").status, 200);

  redis_.kill();
  // Recently validated: keeps working. Never seen: 503 with Retry-After, not 401.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get_with_key(port, "/read/x", cached).status, 200);
  auto cold = get_with_key(port, "/read/x", uncached);
  expect_error(cold, 503, "service_unavailable", "store_unavailable");
  EXPECT_TRUE(cold.headers.has("retry-after"));
  const auto deadline = Clock::now() + 10s;
  // Still serving (stale grace, fail-open limits): ready, unless readiness.require_store
  // (tests/integration/readiness_test.cc).
  EXPECT_EQ(http_get(keygate->admin_port(), "/readyz").status, 200);

  redis_.start();  // same port, empty: the records are gone with the old process
  auto fresh = create_key(keygate->config_path(), {"--org", "acme", "--name", "fresh", "--env",
                                                   "live", "--type", "secret", "--scope", "read"});
  ASSERT_TRUE(wait_for_status(port, "/read/x", fresh, 200, 15s)) << "no recovery after restart";
  while (Clock::now() < deadline + 10s &&
         http_get(keygate->admin_port(), "/readyz").status != 200) {
  }
  EXPECT_EQ(http_get(keygate->admin_port(), "/readyz").status, 200);
}

TEST_F(RedisAuthTest, RawKeyIsNeverStoredInRedis) {
  auto keygate = start_keygate();
  auto raw = create_key(keygate->config_path(),
                        {"--org", "acme", "--name", "k", "--env", "live", "--type", "secret"});
  ASSERT_FALSE(raw.empty());
  auto keys = redis_.command({"KEYS", "*"});
  ASSERT_FALSE(keys.elements.empty());
  for (const auto& name : keys.elements) {
    EXPECT_EQ(name.str.find(raw), std::string::npos);
    auto type = redis_.command({"TYPE", name.str});
    if (type.str == "string") {
      EXPECT_EQ(redis_.command({"GET", name.str}).str.find(raw), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace keygate::testing
