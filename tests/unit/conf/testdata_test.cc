// Every example configuration in tests/testdata loads, and says what it claims to.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/unit/conf/load_helpers.h"

namespace keygate::conf {
namespace {

using std::chrono::milliseconds;
using testing::error_strings;
using testing::loaded;

std::string testdata(const std::string& name) {
  return std::string(KEYGATE_SOURCE_DIR) + "/tests/testdata/" + name;
}

TEST(Testdata, EveryYamlFileLoads) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testdata(""))) {
    if (entry.path().extension() != ".yaml") continue;
    // Key record files live beside the configs; they are not configurations.
    if (entry.path().filename().string().starts_with("keys")) continue;
    auto result = load_config_file(entry.path().string());
    EXPECT_TRUE(result.ok()) << entry.path() << ": "
                             << ::testing::PrintToString(error_strings(result));
    ++files;
  }
  EXPECT_GE(files, 3);
}

TEST(Testdata, FullSetsEveryOption) {
  const Config& config = loaded(load_config_file(testdata("full.yaml")));
  EXPECT_EQ(config.threads, 2);
  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_EQ(config.listeners[1].address, "::");
  EXPECT_EQ(config.admin.token_env, "KEYGATE_ADMIN_TOKEN");
  EXPECT_EQ(config.admin.token_file, testdata("secrets/admin-token"));
  ASSERT_EQ(config.upstreams.size(), 2u);
  EXPECT_EQ(config.upstreams[1].host, "legacy.internal");
  EXPECT_EQ(config.upstreams[1].port, 8000);
  EXPECT_EQ(config.upstreams[1].base_path, "/base");
  EXPECT_EQ(config.upstreams[1].response_timeout, milliseconds(120000));
  ASSERT_EQ(config.routes.size(), 3u);
  EXPECT_EQ(config.routes[1].host, "api.example.com");
  EXPECT_EQ(config.routes[2].max_body_bytes, 100u * 1000 * 1000);
  EXPECT_EQ(config.routes[2].limit_failure, LimitFailureMode::fail_closed);
  EXPECT_EQ(config.keys.prefixes.size(), 7u);
  EXPECT_EQ(config.keys.hash, KeysConfig::Hash::hmac_sha256);
  EXPECT_EQ(config.keys.plans.size(), 6u);
  ASSERT_NE(config.find_plan("scale-business"), nullptr);
  EXPECT_EQ(config.find_plan("scale-business")->max_keys, 25u);
  ASSERT_EQ(config.keys.type_rate_limits.count("public"), 1u);
  EXPECT_THAT(config.keys.type_rate_limits.at("public"), ::testing::ElementsAre("per-key-minute"));
  EXPECT_EQ(config.cache.stale_grace, milliseconds(300000));
  EXPECT_TRUE(config.store.redis_enabled);
  EXPECT_EQ(config.store.redis.reconnect_max, milliseconds(5000));
  EXPECT_EQ(config.store.redis.limiter_batch, 32);
  EXPECT_EQ(config.rate_limits.policies.size(), 4u);
  ASSERT_NE(config.find_policy("per-ip-second"), nullptr);
  EXPECT_EQ(config.find_policy("per-ip-second")->burst, 10u);
  EXPECT_EQ(config.find_policy("per-ip-second")->lease, 0u);
  ASSERT_NE(config.find_policy("legacy-route"), nullptr);
  EXPECT_EQ(config.find_policy("legacy-route")->lease, 25u);
  EXPECT_EQ(config.rate_limits.breaker_failures, 5);
  EXPECT_EQ(config.usage.last_used_interval, milliseconds(60000));
}

TEST(Testdata, RedisStore) {
  const Config& config = loaded(load_config_file(testdata("redis.yaml")));
  EXPECT_EQ(config.store.kind, StoreConfig::Kind::redis);
  EXPECT_TRUE(config.store.redis_enabled);
  EXPECT_EQ(config.store.redis.host, "redis.internal");
  EXPECT_EQ(config.store.redis.database, 1);
  EXPECT_EQ(config.store.redis.password_env, "REDIS_PASSWORD");
  EXPECT_EQ(config.store.file_path, "");
  EXPECT_EQ(config.rate_limits.replica_count, 3);
  ASSERT_EQ(config.routes.size(), 2u);
  EXPECT_EQ(config.routes[1].limit_failure, LimitFailureMode::local);
}

}  // namespace
}  // namespace keygate::conf
