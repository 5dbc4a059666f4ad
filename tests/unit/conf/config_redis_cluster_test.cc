// store.redis.cluster: the valid form and one test per invalid snippet, with its exact
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

TEST(ConfigRedisCluster, SeedsAreRead) {
  Config config = loaded(load_store(
      "store: {kind: file, file: keys.yaml, redis: {cluster: {seeds: [\"10.0.0.1:7000\", "
      "\"redis-1:7001\", \"[::1]:7002\"]}}}\n"));
  EXPECT_EQ(config.store.redis.cluster_seeds,
            (std::vector<std::string>{"10.0.0.1:7000", "redis-1:7001", "[::1]:7002"}));
}

TEST(ConfigRedisCluster, NoClusterMeansNoSeeds) {
  Config config = loaded(load_store("store: {kind: file, file: k.yaml, redis: {host: r}}\n"));
  EXPECT_TRUE(config.store.redis.cluster_seeds.empty());
}

TEST(ConfigRedisCluster, SeedsAreRequired) {
  EXPECT_EQ(only_error(load_store("store: {kind: file, file: k.yaml, redis: {cluster: {}}}\n")),
            "t.yaml:3:52: store redis cluster needs 'seeds'");
}

TEST(ConfigRedisCluster, SeedsMustNotBeEmpty) {
  EXPECT_EQ(
      only_error(load_store("store: {kind: file, file: k.yaml, redis: {cluster: {seeds: []}}}\n")),
      "t.yaml:3:60: store redis cluster seeds must list at least one host:port");
}

TEST(ConfigRedisCluster, SeedMustBeHostPort) {
  EXPECT_EQ(only_error(load_store(
                "store: {kind: file, file: k.yaml, redis: {cluster: {seeds: [redis-0]}}}\n")),
            "t.yaml:3:61: store redis cluster seed must be host:port, got 'redis-0'");
}

TEST(ConfigRedisCluster, SeedPortMustBeInRange) {
  EXPECT_EQ(only_error(load_store(
                "store: {kind: file, file: k.yaml, redis: {cluster: {seeds: [\"r:70000\"]}}}\n")),
            "t.yaml:3:61: store redis cluster seed must be host:port, got 'r:70000'");
}

TEST(ConfigRedisCluster, SeedListedTwice) {
  EXPECT_EQ(only_error(load_store("store: {kind: file, file: k.yaml, redis: {cluster: {seeds: "
                                  "[\"r:7000\", \"r:7000\"]}}}\n")),
            "t.yaml:3:71: store redis cluster seed 'r:7000' is listed twice");
}

TEST(ConfigRedisCluster, UnknownKeyInCluster) {
  EXPECT_THAT(
      error_strings(
          load_store("store: {kind: file, file: k.yaml, redis: {cluster: {seed: [\"r:1\"]}}}\n")),
      ElementsAre(
          "t.yaml:3:52: store redis cluster needs 'seeds'",
          "t.yaml:3:53: unknown key 'seed' in store redis cluster (did you mean 'seeds'?)"));
}

TEST(ConfigRedisCluster, HostCannotBeCombinedWithCluster) {
  EXPECT_EQ(
      only_error(load_store(
          "store: {kind: file, file: k.yaml, redis: {host: r, cluster: {seeds: [\"r:7000\"]}}}\n")),
      "t.yaml:3:49: store redis host cannot be combined with cluster (the nodes come from "
      "cluster seeds)");
}

TEST(ConfigRedisCluster, DatabaseCannotBeCombinedWithCluster) {
  EXPECT_EQ(only_error(load_store("store: {kind: file, file: k.yaml, redis: {database: 2, cluster: "
                                  "{seeds: [\"r:7000\"]}}}\n")),
            "t.yaml:3:53: store redis database cannot be combined with cluster (Redis Cluster has "
            "only database 0)");
}

TEST(ConfigRedisCluster, KeyRecordsMayLiveOnACluster) {
  Config config =
      loaded(load_store("store: {kind: redis, redis: {cluster: {seeds: [\"r:7000\"]}}}\n"));
  EXPECT_EQ(config.store.redis.cluster_seeds, std::vector<std::string>{"r:7000"});
}

}  // namespace
}  // namespace keygate::conf
