// store.redis.sentinel: the valid form and one test per invalid snippet, with its exact
// `file:line:col: message`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/conf/load_helpers.h"

namespace keygate::conf {
namespace {

using ::testing::ElementsAre;
using testing::error_strings;
using testing::load_store;
using testing::loaded;
using testing::only_error;

TEST(ConfigRedisSentinel, MasterNameAndSentinelsAreRead) {
  Config config = loaded(
      load_store("store: {kind: redis, redis: {database: 2, sentinel: {master_name: mymaster, "
                 "sentinels: [\"10.0.0.1:26379\", \"sentinel-2:26379\", \"[::1]:26380\"]}}}\n"));
  EXPECT_EQ(config.store.redis.sentinel_master, "mymaster");
  EXPECT_EQ(config.store.redis.sentinels,
            (std::vector<std::string>{"10.0.0.1:26379", "sentinel-2:26379", "[::1]:26380"}));
  // Unlike a cluster, a Sentinel-managed Redis has every database.
  EXPECT_EQ(config.store.redis.database, 2);
  EXPECT_TRUE(config.store.redis.cluster_seeds.empty());
}

TEST(ConfigRedisSentinel, NoSentinelMeansNoSentinels) {
  Config config = loaded(load_store("store: {kind: redis, redis: {host: r}}\n"));
  EXPECT_TRUE(config.store.redis.sentinels.empty());
  EXPECT_TRUE(config.store.redis.sentinel_master.empty());
}

TEST(ConfigRedisSentinel, MasterNameIsRequired) {
  EXPECT_EQ(only_error(load_store(
                "store: {kind: redis, redis: {sentinel: {sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:40: store redis sentinel needs 'master_name'");
}

TEST(ConfigRedisSentinel, MasterNameMustNotBeEmpty) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: \"\", "
                                  "sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:54: store redis sentinel master_name must be a non-empty name without "
            "spaces");
}

TEST(ConfigRedisSentinel, MasterNameMustNotHaveSpaces) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: \"my "
                                  "master\", sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:54: store redis sentinel master_name must be a non-empty name without "
            "spaces");
}

TEST(ConfigRedisSentinel, SentinelsAreRequired) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: m}}}\n")),
            "t.yaml:3:40: store redis sentinel needs 'sentinels'");
}

TEST(ConfigRedisSentinel, SentinelsMustNotBeEmpty) {
  EXPECT_EQ(only_error(load_store(
                "store: {kind: redis, redis: {sentinel: {master_name: m, sentinels: []}}}\n")),
            "t.yaml:3:68: store redis sentinels must list at least one host:port");
}

TEST(ConfigRedisSentinel, SentinelMustBeHostPort) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: m, "
                                  "sentinels: [sentinel-1]}}}\n")),
            "t.yaml:3:69: store redis sentinel must be host:port, got 'sentinel-1'");
}

TEST(ConfigRedisSentinel, SentinelPortMustBeInRange) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: m, "
                                  "sentinels: [\"s:0\"]}}}\n")),
            "t.yaml:3:69: store redis sentinel must be host:port, got 's:0'");
}

TEST(ConfigRedisSentinel, SentinelListedTwice) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {sentinel: {master_name: m, "
                                  "sentinels: [\"s:26379\", \"s:26379\"]}}}\n")),
            "t.yaml:3:80: store redis sentinel 's:26379' is listed twice");
}

TEST(ConfigRedisSentinel, UnknownKeyInSentinel) {
  EXPECT_THAT(error_strings(load_store("store: {kind: redis, redis: {sentinel: {master_name: m, "
                                       "sentinel: [\"s:26379\"]}}}\n")),
              ElementsAre("t.yaml:3:40: store redis sentinel needs 'sentinels'",
                          "t.yaml:3:57: unknown key 'sentinel' in store redis sentinel (did you "
                          "mean 'sentinels'?)"));
}

TEST(ConfigRedisSentinel, HostCannotBeCombinedWithSentinel) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {host: r, sentinel: {master_name: "
                                  "m, sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:36: store redis host cannot be combined with sentinel (the master's address "
            "comes from the sentinels)");
}

TEST(ConfigRedisSentinel, PortCannotBeCombinedWithSentinel) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {port: 6380, sentinel: "
                                  "{master_name: m, sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:36: store redis port cannot be combined with sentinel (the master's address "
            "comes from the sentinels)");
}

TEST(ConfigRedisSentinel, ClusterCannotBeCombinedWithSentinel) {
  EXPECT_EQ(only_error(load_store("store: {kind: redis, redis: {cluster: {seeds: [\"r:7000\"]}, "
                                  "sentinel: {master_name: m, sentinels: [\"s:26379\"]}}}\n")),
            "t.yaml:3:70: store redis sentinel cannot be combined with cluster (a cluster fails "
            "over by itself; choose one)");
}

TEST(ConfigRedisSentinel, SentinelMustBeAMap) {
  EXPECT_THAT(only_error(load_store("store: {kind: redis, redis: {sentinel: [\"s:26379\"]}}\n")),
              ::testing::HasSubstr("store redis sentinel"));
}

}  // namespace
}  // namespace keygate::conf
