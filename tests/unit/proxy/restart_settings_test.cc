// Which changed settings a reload reports as needing a restart, and that live ones are not.
#include "proxy/restart_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conf/config_loader.h"

namespace keygate::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kBase = R"(upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
)";

conf::Config load(const std::string& extra,
                  const std::string& store = "store: {kind: file, file: keys.json}\n") {
  auto result = conf::load_config_string(kBase + extra + store, "t.yaml", "/etc/keygate");
  EXPECT_TRUE(result.ok());
  return result.ok() ? *result.config : conf::Config{};
}

std::vector<std::string> diff(const std::string& before, const std::string& after) {
  return settings_needing_restart(load(before), load(after));
}

TEST(RestartSettings, LiveSettingsNeedNoRestart) {
  EXPECT_THAT(diff("",
                   "limits: {max_body: 1MiB, shutdown_delay: 1s}\n"
                   "rate_limits: {policies: [{name: p, limit: 5, window: 1s}]}\n"
                   "identity_headers: {org: X-Org}\nreadiness: {require_store: true}\n"),
              IsEmpty());
}

TEST(RestartSettings, EachRestartSettingIsNamed) {
  EXPECT_THAT(diff("", "threads: 3\n"), ElementsAre("threads"));
  EXPECT_THAT(diff("", "listeners: [{address: 127.0.0.1, port: 8080}]\n"),
              ElementsAre("listeners"));
  EXPECT_THAT(diff("", "admin: {port: 9191}\n"), ElementsAre("admin"));
  EXPECT_THAT(diff("", "access_log: {path: stderr}\n"), ElementsAre("access_log"));
  EXPECT_THAT(diff("", "cache: {positive_ttl: 1s}\n"), ElementsAre("cache"));
  EXPECT_THAT(diff("", "usage: {enabled: false}\n"), ElementsAre("usage"));
  EXPECT_THAT(diff("", "rate_limits: {replica_count: 4}\n"),
              ElementsAre("rate_limits.replica_count"));
  EXPECT_THAT(diff("", "rate_limits: {breaker: {failures: 9}}\n"),
              ElementsAre("rate_limits.breaker"));
  EXPECT_THAT(diff("", "keys: {hash: hmac-sha256, pepper_env: PEPPER}\n"),
              ElementsAre("keys.hash"));
}

TEST(RestartSettings, TheStoreIsOneSetting) {
  const auto file = load("");
  const auto redis = load("", "store: {kind: redis, redis: {host: 127.0.0.1}}\n");
  const auto other_redis = load("", "store: {kind: redis, redis: {host: 127.0.0.2}}\n");
  EXPECT_THAT(settings_needing_restart(file, redis), ElementsAre("store"));
  EXPECT_THAT(settings_needing_restart(redis, other_redis), ElementsAre("store"));
  EXPECT_THAT(settings_needing_restart(redis, redis), IsEmpty());
}

TEST(RestartSettings, SeveralAtOnceInReferenceOrder) {
  EXPECT_THAT(diff("", "usage: {enabled: false}\nthreads: 2\nadmin: {port: 1}\n"),
              ElementsAre("threads", "admin", "usage"));
}

}  // namespace
}  // namespace keygate::proxy
