// What a minimal file turns into: every value the file leaves out.
#include "conf/config_defaults.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/conf/load_helpers.h"

namespace keygate::conf {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using testing::load;
using testing::load_with_required;
using testing::loaded;

std::vector<std::string> prefix_strings(const Config& config) {
  std::vector<std::string> out;
  for (const auto& p : config.keys.prefixes)
    out.push_back(p.environment + "/" + p.type + "=" + p.prefix);
  return out;
}

TEST(ConfigDefaults, MinimalFileGetsTheDocumentedDefaults) {
  auto result = load_with_required("");
  const Config& config = loaded(result);
  EXPECT_EQ(config.source_path, "t.yaml");
  EXPECT_EQ(config.threads, 0);
  ASSERT_EQ(config.listeners.size(), 1u);
  EXPECT_EQ(config.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(config.listeners[0].port, 8080);
  EXPECT_EQ(config.admin.address, "127.0.0.1");
  EXPECT_TRUE(config.admin.enabled);
  EXPECT_EQ(config.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(config.limits.max_body_bytes, 10u * 1024 * 1024);
  EXPECT_EQ(config.keys.hash, KeysConfig::Hash::sha256);
  EXPECT_EQ(config.keys.default_plan, "");
  EXPECT_EQ(config.store.kind, StoreConfig::Kind::file);
  EXPECT_FALSE(config.store.redis_enabled);
  EXPECT_TRUE(config.rate_limits.policies.empty());
}

TEST(ConfigDefaults, PrefixesForEveryEnvironmentAndType) {
  const Config& config = loaded(load_with_required(""));
  EXPECT_THAT(prefix_strings(config),
              ElementsAre("test/public=pk_test_", "test/secret=sk_test_",
                          "test/restricted=rk_test_", "test/admin=ak_test_", "test/test=tk_test_",
                          "live/public=pk_live_", "live/secret=sk_live_",
                          "live/restricted=rk_live_", "live/admin=ak_live_", "live/test=tk_live_"));
}

TEST(ConfigDefaults, PrefixesForCustomTypesUseTheirFirstTwoLetters) {
  const Config& config =
      loaded(load_with_required("keys: {environments: [prod], types: [secret, service_acct]}\n"));
  EXPECT_THAT(prefix_strings(config),
              ElementsAre("prod/secret=sk_prod_", "prod/service_acct=se_prod_"));
  EXPECT_EQ(key_type_code("x"), "x");
  EXPECT_EQ(key_type_code("a_b"), "ab");
}

TEST(ConfigDefaults, ExplicitPrefixesReplaceTheGeneratedOnes) {
  const Config& config = loaded(load_with_required(
      "keys: {prefixes: [{environment: live, type: secret, prefix: acme_live_}]}\n"));
  EXPECT_THAT(prefix_strings(config), ElementsAre("live/secret=acme_live_"));
}

// Issue 10: a hidden "free" plan (1 key, 30000 calls) applied to every org of a file that
// configured no plans. Without plans there is no plan, no key maximum and no quota.
TEST(ConfigDefaults, NoPlansUnlessConfigured) {
  const Config& config = loaded(load_with_required(""));
  EXPECT_TRUE(config.keys.plans.empty());
  EXPECT_EQ(config.find_plan("free"), nullptr);
  EXPECT_EQ(config.keys.default_plan, "");
}

TEST(ConfigDefaults, ExplicitPlansReplaceTheDefaults) {
  const Config& config = loaded(load_with_required(
      "keys:\n"
      "  plans: [{name: hobby, max_keys: 3, monthly_quota: 1000}, {name: corp}]\n"
      "  default_plan: hobby\n"));
  ASSERT_EQ(config.keys.plans.size(), 2u);
  EXPECT_EQ(config.find_plan("free"), nullptr);
  const PlanConfig* hobby = config.find_plan("hobby");
  const PlanConfig* corp = config.find_plan("corp");
  ASSERT_NE(hobby, nullptr);
  ASSERT_NE(corp, nullptr);
  EXPECT_EQ(hobby->max_keys, 3u);
  EXPECT_EQ(hobby->monthly_quota, 1000u);
  EXPECT_EQ(corp->max_keys, std::nullopt);  // absent: unlimited
}

TEST(ConfigDefaults, RouteDefaults) {
  const Config& config =
      loaded(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                  "store: {kind: file, file: keys.yaml}\n"
                  "routes:\n"
                  "  - {match: {path_prefix: /a}, upstream: api}\n"
                  "  - {name: b, match: {path: /b, host: API.Example.com, methods: [get, Post]}, "
                  "upstream: api}\n"
                  "  - {match: {path_prefix: /c}, upstream: api}\n"));
  ASSERT_EQ(config.routes.size(), 3u);
  const RouteConfig& first = config.routes[0];
  EXPECT_EQ(first.name, "route-0");
  EXPECT_EQ(config.routes[2].name, "route-2");
  EXPECT_EQ(first.path_match, RouteConfig::PathMatch::prefix);
  EXPECT_EQ(first.path, "/a");
  EXPECT_TRUE(first.methods.empty());
  EXPECT_EQ(first.host, "");
  EXPECT_FALSE(first.max_body_bytes);
  EXPECT_FALSE(first.strip_prefix);
  EXPECT_EQ(first.limit_failure, LimitFailureMode::fail_open);
  EXPECT_TRUE(first.auth.required);
  ASSERT_EQ(first.auth.sources.size(), 2u);
  EXPECT_EQ(first.auth.sources[0].kind, KeySource::Kind::bearer);
  EXPECT_EQ(first.auth.sources[1].kind, KeySource::Kind::header);
  EXPECT_EQ(first.auth.sources[1].name, "x-api-key");
  EXPECT_EQ(first.mark.line, 4);
  EXPECT_EQ(first.mark.column, 5);

  const RouteConfig& second = config.routes[1];
  EXPECT_EQ(second.path_match, RouteConfig::PathMatch::exact);
  EXPECT_EQ(second.host, "api.example.com");
  EXPECT_THAT(second.methods, ElementsAre("GET", "POST"));
}

TEST(ConfigDefaults, RouteAuthParsing) {
  const Config& config =
      loaded(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                  "store: {kind: file, file: keys.yaml}\n"
                  "routes:\n"
                  "  - match: {path_prefix: /public}\n"
                  "    upstream: api\n"
                  "    auth: none\n"
                  "  - match: {path_prefix: /}\n"
                  "    upstream: api\n"
                  "    max_body: 1MiB\n"
                  "    auth:\n"
                  "      sources: [bearer, header:X-Api-Key, \"query:api_key\"]\n"
                  "      allow_query_for_secret_keys: true\n"
                  "      scopes_all: [read]\n"
                  "      scopes_any: [a, b]\n"
                  "      environments: [live]\n"
                  "      key_types: [secret]\n"));
  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_FALSE(config.routes[0].auth.required);
  const RouteAuthConfig& auth = config.routes[1].auth;
  EXPECT_TRUE(auth.required);
  ASSERT_EQ(auth.sources.size(), 3u);
  EXPECT_EQ(auth.sources[0].kind, KeySource::Kind::bearer);
  EXPECT_EQ(auth.sources[0].name, "authorization");
  EXPECT_EQ(auth.sources[1].kind, KeySource::Kind::header);
  EXPECT_EQ(auth.sources[1].name, "x-api-key");
  EXPECT_EQ(auth.sources[2].kind, KeySource::Kind::query);
  EXPECT_EQ(auth.sources[2].name, "api_key");
  EXPECT_TRUE(auth.allow_query_for_secret_keys);
  EXPECT_THAT(auth.scopes_all, ElementsAre("read"));
  EXPECT_THAT(auth.scopes_any, ElementsAre("a", "b"));
  EXPECT_THAT(auth.environments, ElementsAre("live"));
  EXPECT_THAT(auth.key_types, ElementsAre("secret"));
  EXPECT_EQ(config.routes[1].max_body_bytes, 1024u * 1024);
}

TEST(ConfigDefaults, UpstreamUrlIsSplitAndDefaultsApply) {
  const Config& config = loaded(
      load("upstreams:\n"
           "  - {name: a, url: \"http://Backend.internal/api/\"}\n"
           "  - {name: b, url: \"http://[::1]:8000\", connect_timeout: 250ms, max_connections: 0}\n"
           "routes: [{match: {path_prefix: /}, upstream: a}]\n"
           "store: {kind: file, file: keys.yaml}\n"));
  ASSERT_EQ(config.upstreams.size(), 2u);
  const UpstreamConfig& a = config.upstreams[0];
  EXPECT_EQ(a.url, "http://Backend.internal/api/");
  EXPECT_EQ(a.host, "backend.internal");
  EXPECT_EQ(a.port, 80);
  EXPECT_EQ(a.base_path, "/api");
  EXPECT_EQ(a.connect_timeout, milliseconds(2000));
  EXPECT_EQ(a.response_timeout, milliseconds(30000));
  EXPECT_EQ(a.mark.line, 2);
  const UpstreamConfig& b = config.upstreams[1];
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 8000);
  EXPECT_EQ(b.connect_timeout, milliseconds(250));
  EXPECT_EQ(b.max_connections, 0u);
  EXPECT_EQ(config.find_upstream("b"), &b);
}

TEST(ConfigDefaults, IdleConnectionsFollowASmallerConnectionLimit) {
  auto upstream_with = [](const std::string& fields) {
    return load("upstreams: [{name: api, url: \"http://a\", " + fields + "}]\n" +
                "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                "store: {kind: file, file: keys.yaml}\n");
  };
  const Config config = loaded(upstream_with("max_connections: 10"));
  ASSERT_EQ(config.upstreams.size(), 1u);
  EXPECT_EQ(config.upstreams[0].max_idle_connections, 10u);
  EXPECT_EQ(testing::only_error(upstream_with("max_connections: 10, max_idle_connections: 20")),
            "t.yaml:1:85: upstream max_idle_connections (20) cannot exceed max_connections (10)");
}

TEST(ConfigDefaults, MonthlyQuotaPolicyGetsA30DayFixedWindow) {
  const Config& config =
      loaded(load_with_required("rate_limits:\n"
                                "  policies:\n"
                                "    - {name: m, per: org, limit: 30000, monthly_quota: true}\n"
                                "    - {name: k, limit: 5, window: 1s}\n"));
  const RateLimitPolicyConfig* m = config.find_policy("m");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->algorithm, RateLimitPolicyConfig::Algorithm::fixed_window);
  EXPECT_EQ(m->window, std::chrono::hours(24 * 30));
  EXPECT_EQ(m->mark.line, 3);
  const RateLimitPolicyConfig* k = config.find_policy("k");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->per, RateLimitPolicyConfig::Counter::key);
  EXPECT_EQ(k->algorithm, RateLimitPolicyConfig::Algorithm::sliding_window);
  EXPECT_EQ(k->burst, 0u);
  EXPECT_FALSE(k->monthly_quota);
}

TEST(ConfigDefaults, RelativePathsResolveAgainstTheBaseDirectory) {
  const Config& config =
      loaded(load_config_string("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                                "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                                "store: {kind: file, file: data/../keys.yaml}\n"
                                "admin: {token_file: /run/secrets/admin}\n"
                                "keys: {hash: hmac-sha256, pepper_file: secrets/pepper}\n"
                                "access_log: {path: logs/access.log}\n",
                                "t.yaml", "/etc/keygate"));
  EXPECT_EQ(config.store.file_path, "/etc/keygate/keys.yaml");
  EXPECT_EQ(config.admin.token_file, "/run/secrets/admin");  // absolute: untouched
  EXPECT_EQ(config.keys.pepper_file, "/etc/keygate/secrets/pepper");
  EXPECT_EQ(config.access_log.path, "/etc/keygate/logs/access.log");
}

TEST(ConfigDefaults, StdoutAndStderrAreNotPaths) {
  const Config& config = loaded(load_with_required("access_log: {path: stderr}\n"));
  EXPECT_EQ(config.access_log.path, "stderr");
  EXPECT_EQ(config.admin.token_file, "");  // empty stays empty, not "/etc/keygate/"
}

TEST(ConfigDefaults, LoadFileResolvesAgainstTheFilesDirectory) {
  const std::string path = std::string(KEYGATE_SOURCE_DIR) + "/tests/testdata/minimal.yaml";
  const Config& config = loaded(load_config_file(path));
  EXPECT_EQ(config.source_path, path);
  EXPECT_EQ(config.store.file_path, std::string(KEYGATE_SOURCE_DIR) + "/tests/testdata/keys.yaml");
}

TEST(ConfigDefaults, RedisBlockBesideAFileStoreIsEnabled) {
  const Config& config =
      loaded(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                  "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                  "store: {kind: file, file: keys.yaml, redis: {host: cache.internal}}\n"));
  EXPECT_TRUE(config.store.redis_enabled);
  EXPECT_EQ(config.store.redis.host, "cache.internal");
  EXPECT_EQ(config.store.redis.port, 6379);
  EXPECT_EQ(config.store.redis.command_timeout, milliseconds(250));
  EXPECT_EQ(config.store.redis.limiter_batch, 64);
}

}  // namespace
}  // namespace keygate::conf
