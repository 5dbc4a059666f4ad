// The cluster Client against a real 3-master Redis Cluster started by the fixture: routing by
// slot, MOVED and ASK followed, scripts reloaded per node, pub/sub across nodes.
#include "redis/cluster_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "redis/cluster_slot.h"
#include "redis/redis_client.h"
#include "redis/script.h"
#include "redis/sync_client.h"
#include "tests/support/redis_cluster.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisCluster;
using test::run_until;

class ClusterClientTest : public ::testing::Test {
 protected:
  // One cluster for the suite (forming one takes a second or two). A cluster that cannot be
  // formed fails every test in SetUp; it never turns into a skip.
  static void SetUpTestSuite() {
    try {
      cluster_ = new RedisCluster();
    } catch (const std::exception& e) {
      setup_error_ = new std::string(e.what());
    }
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "cannot start the Redis Cluster: "
                                 << (setup_error_ ? *setup_error_ : "unknown");
  }

  conf::RedisConfig config() const {
    conf::RedisConfig config;
    config.cluster_seeds = cluster_->seeds();
    config.command_timeout = 2000ms;
    config.connect_timeout = 1000ms;
    config.reconnect_min = 20ms;
    config.reconnect_max = 200ms;
    return config;
  }

  std::shared_ptr<Client> connect() {
    auto client = make_client(io_.get_executor(), config());
    client->start();
    EXPECT_TRUE(run_until(io_, [&] { return client->connected(); }))
        << "not connected: " << client->last_error();
    return client;
  }

  Result call(Client& client, std::span<const std::string_view> args,
              std::chrono::milliseconds timeout = 2s) {
    std::optional<Result> result;
    client.command(args, timeout, [&](Result r) { result = std::move(r); });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    return result.value_or(Result{Status::cancelled, {}});
  }
  Result call(Client& client, std::initializer_list<std::string_view> args) {
    return call(client, std::span<const std::string_view>(args.begin(), args.size()));
  }

  // A key of this test (unique name) whose slot is served by master `index`.
  std::string key_on(int index, const std::string& stem) {
    for (int i = 0;; ++i) {
      std::string key = stem + ":" + std::to_string(i);
      if (cluster_->owner_of(key_slot(key)) == index) return key;
    }
  }

  static RedisCluster* cluster_;
  static std::string* setup_error_;
  boost::asio::io_context io_;
};

RedisCluster* ClusterClientTest::cluster_ = nullptr;
std::string* ClusterClientTest::setup_error_ = nullptr;

TEST_F(ClusterClientTest, CommandsGoToTheNodeOwningTheSlot) {
  auto client = connect();
  std::vector<int> per_node(cluster_->masters(), 0);
  for (int i = 0; i < 60; ++i) {
    std::string key = "route:" + std::to_string(i);
    std::string value = "v" + std::to_string(i);
    ASSERT_TRUE(call(*client, {"SET", key, value}).ok());
    int owner = cluster_->owner_of(key_slot(key));
    ASSERT_GE(owner, 0);
    ++per_node[owner];
    // Stored on its owner, where a plain connection reads it without any redirect.
    Reply direct = cluster_->master(owner).command({"GET", key});
    EXPECT_EQ(direct.str, value) << key << " on node " << owner;
    EXPECT_EQ(call(*client, {"GET", key}).reply.str, value);
  }
  for (int count : per_node) EXPECT_GT(count, 0);  // the keys really spread over the cluster
  EXPECT_EQ(cluster_stats(*client).moved, 0u);
  EXPECT_GE(cluster_stats(*client).map_refreshes, 1u);
}

TEST_F(ClusterClientTest, KeylessCommandsAndPublishWork) {
  auto client = connect();
  Result ping = call(*client, {"PING"});
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping.reply.str, "PONG");
  Result published = call(*client, {"PUBLISH", "nobody-listens", "x"});
  ASSERT_TRUE(published.ok());
  EXPECT_EQ(published.reply.type, Reply::Type::integer);
}

TEST_F(ClusterClientTest, MovedUpdatesTheMapAndRetriesOnce) {
  auto client = connect();
  std::string key = key_on(0, "moved");
  std::uint16_t slot = key_slot(key);
  ASSERT_TRUE(call(*client, {"SET", key, "before"}).ok());
  cluster_->migrate(slot, 0, 1);  // behind the client's back
  cluster_->wait_until_stable();
  Result read = call(*client, {"GET", key});
  ASSERT_TRUE(read.ok()) << read.reply.str;
  EXPECT_EQ(read.reply.str, "before");
  EXPECT_EQ(cluster_stats(*client).moved, 1u);
  // The map now knows: the next command goes straight to the new owner.
  ASSERT_TRUE(call(*client, {"SET", key, "after"}).ok());
  EXPECT_EQ(cluster_stats(*client).moved, 1u);
  EXPECT_EQ(cluster_->master(1).command({"GET", key}).str, "after");
  cluster_->migrate(slot, 1, 0);
  cluster_->wait_until_stable();
}

TEST_F(ClusterClientTest, AskIsFollowedWithAsking) {
  auto client = connect();
  std::string moved = key_on(0, "ask");
  std::uint16_t slot = key_slot(moved);
  ASSERT_TRUE(call(*client, {"SET", moved, "migrated"}).ok());
  cluster_->begin_migration(slot, 0, 2);  // the key now lives on node 2; the slot on node 0
  Result read = call(*client, {"GET", moved});
  ASSERT_TRUE(read.ok()) << read.reply.str;
  EXPECT_EQ(read.reply.str, "migrated");
  EXPECT_EQ(cluster_stats(*client).ask, 1u);
  // ASK is one-off: the map still says node 0, and the next command asks again.
  ASSERT_TRUE(call(*client, {"GET", moved}).ok());
  EXPECT_EQ(cluster_stats(*client).ask, 2u);
  EXPECT_EQ(cluster_stats(*client).moved, 0u);
  cluster_->finish_migration(slot, 2);
  cluster_->wait_until_stable();
  EXPECT_EQ(call(*client, {"GET", moved}).reply.str, "migrated");
  cluster_->migrate(slot, 2, 0);
  cluster_->wait_until_stable();
}

TEST_F(ClusterClientTest, ScriptsAreReloadedOnTheNodeThatForgotThem) {
  auto client = connect();
  Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  for (int node = 0; node < cluster_->masters(); ++node) {
    std::string key = key_on(node, "script");
    std::vector<std::string_view> keys = {key};
    std::vector<std::string_view> args = {"5"};
    std::optional<Result> first;
    script.eval(*client, keys, args, 2s, [&](Result r) { first = std::move(r); });
    ASSERT_TRUE(run_until(io_, [&] { return first.has_value(); }));
    ASSERT_TRUE(first->ok()) << first->reply.str;
    EXPECT_EQ(first->reply.integer, 5);
    // This node forgets every script: the next EVALSHA gets NOSCRIPT, which must be answered by
    // loading the script there.
    ASSERT_FALSE(cluster_->master(node).command({"SCRIPT", "FLUSH"}).is_error());
    std::optional<Result> second;
    script.eval(*client, keys, args, 2s, [&](Result r) { second = std::move(r); });
    ASSERT_TRUE(run_until(io_, [&] { return second.has_value(); }));
    ASSERT_TRUE(second->ok()) << second->reply.str;
    EXPECT_EQ(second->reply.integer, 10);
  }
}

TEST_F(ClusterClientTest, SubscriberHearsPublishesFromAnyNode) {
  std::vector<std::string> heard;
  bool resubscribed = false;
  auto subscriber = make_subscriber(
      io_.get_executor(), config(), {"cluster-test"},
      [&](std::string_view, std::string_view payload) { heard.emplace_back(payload); },
      [&] { resubscribed = true; });
  subscriber->start();
  ASSERT_TRUE(run_until(io_, [&] { return subscriber->connected() && resubscribed; }));
  for (int node = 0; node < cluster_->masters(); ++node)
    cluster_->master(node).command({"PUBLISH", "cluster-test", "from-" + std::to_string(node)});
  ASSERT_TRUE(run_until(io_, [&] { return heard.size() == 3; })) << heard.size();
  // Each node forwards over its own cluster bus link: the order of arrival is not defined.
  std::sort(heard.begin(), heard.end());
  EXPECT_EQ(heard, (std::vector<std::string>{"from-0", "from-1", "from-2"}));
  subscriber->stop();
}

TEST_F(ClusterClientTest, NoSeedAnsweringMeansDisconnectedNotAHang) {
  conf::RedisConfig dead = config();
  dead.cluster_seeds = {"127.0.0.1:1"};
  auto client = make_client(io_.get_executor(), dead);
  client->start();
  Result result = call(*client, {"GET", "x"});
  EXPECT_EQ(result.status, Status::disconnected);
  EXPECT_FALSE(client->connected());
}

}  // namespace
}  // namespace keygate::redis

namespace keygate::redis {
namespace {

// The blocking client (CLI, admin API, usage flushes) on the same cluster.
class ClusterSyncClientTest : public ::testing::Test {
 protected:
  conf::RedisConfig config() const {
    conf::RedisConfig config;
    config.cluster_seeds = cluster_.seeds();
    config.command_timeout = 2000ms;
    return config;
  }
  RedisCluster cluster_;
};

TEST_F(ClusterSyncClientTest, RoutesFollowsMovedAndAskAndRunsScripts) {
  std::string error;
  auto client = connect_sync(config(), &error);
  ASSERT_TRUE(client) << error;
  for (int i = 0; i < 30; ++i) {
    std::string key = "sync:" + std::to_string(i);
    ASSERT_TRUE(client->command({"SET", key, key}).ok());
    int owner = cluster_.owner_of(key_slot(key));
    EXPECT_EQ(cluster_.master(owner).command({"GET", key}).str, key);
  }
  const std::string key = "sync:0";
  const std::uint16_t slot = key_slot(key);
  const int from = cluster_.owner_of(slot);
  const int to = (from + 1) % cluster_.masters();
  cluster_.begin_migration(slot, from, to);
  Result asked = client->command({"GET", key});
  ASSERT_TRUE(asked.ok()) << asked.reply.str;
  EXPECT_EQ(asked.reply.str, key);
  cluster_.finish_migration(slot, to);
  cluster_.wait_until_stable();  // every node agrees, so the old owner answers MOVED
  Result moved = client->command({"GET", key});
  ASSERT_TRUE(moved.ok()) << moved.reply.str;
  EXPECT_EQ(moved.reply.str, key);

  Script script("return redis.call('GET', KEYS[1])");
  std::vector<std::string_view> keys = {key};
  Result first = script.eval(*client, keys, {});
  ASSERT_TRUE(first.ok()) << first.reply.str;
  EXPECT_EQ(first.reply.str, key);
  ASSERT_FALSE(cluster_.master(to).command({"SCRIPT", "FLUSH"}).is_error());
  Result reloaded = script.eval(*client, keys, {});
  ASSERT_TRUE(reloaded.ok()) << reloaded.reply.str;
  EXPECT_EQ(reloaded.reply.str, key);
}

TEST_F(ClusterSyncClientTest, NoSeedAnsweringFailsWithTheReason) {
  conf::RedisConfig dead = config();
  dead.cluster_seeds = {"127.0.0.1:1"};
  dead.connect_timeout = 200ms;
  std::string error;
  EXPECT_FALSE(connect_sync(dead, &error));
  EXPECT_NE(error.find("127.0.0.1:1"), std::string::npos) << error;
}

}  // namespace
}  // namespace keygate::redis
