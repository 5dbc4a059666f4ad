// Sentinel: the replies parsed, then the async Client, the Subscriber and the blocking client
// against a real group (1 master, 1 replica, 3 sentinels) through a failover.
#include "redis/sentinel.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "redis/redis_client.h"
#include "redis/sync_client.h"
#include "tests/support/redis_sentinel.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisSentinelGroup;
using test::run_until;
using Clock = std::chrono::steady_clock;

Reply string(std::string text) {
  return Reply{Reply::Type::string, 0, std::move(text), {}};
}

Reply array(std::vector<Reply> elements) {
  return Reply{Reply::Type::array, 0, {}, std::move(elements)};
}

TEST(SentinelReplies, MasterAddress) {
  auto address = parse_master_address(array({string("10.0.0.7"), string("6380")}));
  ASSERT_TRUE(address);
  EXPECT_EQ(address->to_string(), "10.0.0.7:6380");
  EXPECT_FALSE(parse_master_address(Reply{}));  // nil: the sentinel does not know the name
  EXPECT_FALSE(parse_master_address(array({string("10.0.0.7")})));
  EXPECT_FALSE(parse_master_address(array({string("10.0.0.7"), string("0")})));
  EXPECT_FALSE(parse_master_address(array({string("10.0.0.7"), string("70000")})));
  EXPECT_FALSE(parse_master_address(array({string("10.0.0.7"), string("63x")})));
  EXPECT_FALSE(parse_master_address(array({string(""), string("6379")})));
}

TEST(SentinelReplies, Role) {
  EXPECT_TRUE(is_master_role(array({string("master"), Reply{Reply::Type::integer, 10, {}, {}}})));
  EXPECT_FALSE(is_master_role(array({string("slave"), string("127.0.0.1")})));
  EXPECT_EQ(role_name(array({string("slave")})), "slave");
  EXPECT_FALSE(is_master_role(Reply{Reply::Type::error, 0, "ERR unknown command", {}}));
  EXPECT_EQ(role_name(Reply{}), "unknown");
}

TEST(SentinelReplies, SwitchMaster) {
  auto moved = parse_switch_master("mymaster 127.0.0.1 6379 127.0.0.1 6380", "mymaster");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->to_string(), "127.0.0.1:6380");
  EXPECT_FALSE(parse_switch_master("other 127.0.0.1 6379 127.0.0.1 6380", "mymaster"));
  EXPECT_FALSE(parse_switch_master("mymaster 127.0.0.1 6379 127.0.0.1", "mymaster"));
  EXPECT_FALSE(parse_switch_master("mymaster 127.0.0.1 6379 127.0.0.1 x", "mymaster"));
  EXPECT_FALSE(parse_switch_master("mymasterx 127.0.0.1 6379 127.0.0.1 6380", "mymaster"));
}

conf::RedisConfig sentinel_config(const RedisSentinelGroup& group) {
  conf::RedisConfig config;
  config.sentinel_master = group.master_name();
  config.sentinels = group.sentinel_addresses();
  config.command_timeout = 2000ms;
  config.connect_timeout = 1000ms;
  config.reconnect_min = 20ms;
  config.reconnect_max = 200ms;
  return config;
}

// Runs `io`, writing through `client` again and again, until the value is on `server`; the
// time it took.
std::chrono::milliseconds until_write_lands(boost::asio::io_context& io, Client& client,
                                            const keygate::testing::RedisServer& server,
                                            const std::string& value, std::chrono::seconds limit) {
  const auto start = Clock::now();
  bool landed = false;
  bool in_flight = false;
  run_until(
      io,
      [&] {
        if (!landed && !in_flight) {
          in_flight = true;
          client.command({"SET", "sentinel-test", value}, 500ms, [&](Result result) {
            in_flight = false;
            if (result.ok()) landed = server.command({"GET", "sentinel-test"}).str == value;
          });
        }
        return landed;
      },
      limit);
  EXPECT_TRUE(landed) << client.last_error();
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

class SentinelGroupTest : public ::testing::Test {
 protected:
  RedisSentinelGroup group_;
  boost::asio::io_context io_;
};

TEST_F(SentinelGroupTest, ClientAndSubscriberFollowTheMasterThroughAFailover) {
  auto client = make_client(io_.get_executor(), sentinel_config(group_));
  client->start();
  int resubscribed = 0;
  std::vector<std::string> messages;
  auto subscriber = make_subscriber(
      io_.get_executor(), sentinel_config(group_), {"news"},
      [&](std::string_view, std::string_view payload) { messages.emplace_back(payload); },
      [&] { ++resubscribed; });
  subscriber->start();
  until_write_lands(io_, *client, group_.server(0), "before", 10s);
  ASSERT_TRUE(run_until(io_, [&] { return resubscribed == 1; })) << subscriber->last_error();

  // A forced failover: the old master stays up (and takes writes) until the sentinels demote
  // it; the client must move on the +switch-master announcement, not on a dropped connection.
  ASSERT_FALSE(
      group_.sentinel(0).command({"SENTINEL", "FAILOVER", group_.master_name()}).is_error());
  ASSERT_TRUE(run_until(
      io_, [&] { return group_.named_master() == 1; }, 30s));
  const auto took = until_write_lands(io_, *client, group_.server(1), "after", 10s);
  EXPECT_LE(took.count(), 2000);
  EXPECT_EQ(group_.server(1).command({"ROLE"}).elements.at(0).str, "master");
  std::printf(
      "[ figures  ] forced failover: the client wrote on the new master %lld ms after a "
      "sentinel named it\n",
      static_cast<long long>(took.count()));

  // The subscriber moved too (a new subscription), and hears what the new master publishes.
  ASSERT_TRUE(run_until(
      io_, [&] { return resubscribed >= 2; }, 10s))
      << subscriber->last_error();
  ASSERT_TRUE(run_until(io_, [&] {
    return group_.server(1).command({"PUBLISH", "news", "hello"}).integer >= 1 && !messages.empty();
  }));
  EXPECT_EQ(messages.back(), "hello");
  client->stop();
  subscriber->stop();
}

TEST_F(SentinelGroupTest, BlockingClientFollowsTheMaster) {
  std::string error;
  auto client = connect_sync(sentinel_config(group_), &error);
  ASSERT_TRUE(client) << error;
  ASSERT_TRUE(client->command({"SET", "sync-test", "one"}).ok());
  EXPECT_EQ(group_.server(0).command({"GET", "sync-test"}).str, "one");
  ASSERT_FALSE(
      group_.sentinel(0).command({"SENTINEL", "FAILOVER", group_.master_name()}).is_error());
  ASSERT_TRUE(group_.wait_for_master(1, 30000));
  const auto switched = Clock::now();
  // The old master is still up and still takes writes until the sentinels demote it; the client
  // asks the sentinels again when its answer is over a second old (or on READONLY, or when the
  // connection drops), so within about a second its writes land on the new master.
  bool moved = false;
  while (!moved && Clock::now() < switched + 5s) {
    Result result = client->command({"SET", "sync-test", "two"});
    EXPECT_TRUE(result.ok()) << client->last_error() << " " << result.reply.str;
    moved = group_.server(1).command({"GET", "sync-test"}).str == "two";
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - switched);
  EXPECT_TRUE(moved);
  EXPECT_LE(took.count(), 2000);
  std::printf("[ figures  ] blocking client on the new master %lld ms after the sentinels agreed\n",
              static_cast<long long>(took.count()));
}

TEST_F(SentinelGroupTest, FollowsAKilledMasterWithASentinelFrozen) {
  // The first sentinel listed accepts connections (the kernel does) and answers nothing: the
  // clients must move on to the others, within their deadlines.
  group_.sentinel(0).pause();
  auto client = make_client(io_.get_executor(), sentinel_config(group_));
  client->start();
  until_write_lands(io_, *client, group_.server(0), "before", 10s);

  group_.server(0).kill();
  const auto killed = Clock::now();
  // The two other sentinels are a quorum and a majority: they promote the replica.
  const std::string replica = std::to_string(group_.server(1).port());
  ASSERT_TRUE(run_until(
      io_,
      [&] {
        Reply named = group_.sentinel(1).command(
            {"SENTINEL", "get-master-addr-by-name", group_.master_name()});
        return named.elements.size() == 2 && named.elements[1].str == replica;
      },
      30s));
  const auto took = until_write_lands(io_, *client, group_.server(1), "after", 10s);
  EXPECT_LE(took.count(), 2000);
  std::printf(
      "[ figures  ] master killed, a sentinel frozen: the client wrote on the new master "
      "%lld ms after the kill\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count()));

  std::string error;
  auto blocking = connect_sync(sentinel_config(group_), &error);
  ASSERT_TRUE(blocking) << error;
  EXPECT_TRUE(blocking->command({"SET", "sync-test", "after"}).ok()) << blocking->last_error();
  EXPECT_EQ(group_.server(1).command({"GET", "sync-test"}).str, "after");
  client->stop();
  group_.sentinel(0).resume();
}

TEST_F(SentinelGroupTest, ANamedServerThatIsNotTheMasterIsRefused) {
  // Sentinels told that the replica is the master of "wrong": their answer is wrong, ROLE is
  // right.
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(group_.sentinel(i)
                     .command({"SENTINEL", "MONITOR", "wrong", "127.0.0.1",
                               std::to_string(group_.server(1).port()), "2"})
                     .is_error());
  conf::RedisConfig config = sentinel_config(group_);
  config.sentinel_master = "wrong";
  std::string error;
  EXPECT_FALSE(connect_sync(config, &error));
  EXPECT_NE(error.find("is not the master (ROLE: slave)"), std::string::npos) << error;

  auto client = make_client(io_.get_executor(), config);
  client->start();
  EXPECT_TRUE(run_until(io_, [&] {
    return client->last_error().find("is not the master (ROLE: slave)") != std::string::npos;
  })) << client->last_error();
  EXPECT_FALSE(client->connected());
  client->stop();
}

TEST_F(SentinelGroupTest, AnUnknownMasterNameIsReported) {
  conf::RedisConfig config = sentinel_config(group_);
  config.sentinel_master = "nobody";
  std::string error;
  EXPECT_FALSE(connect_sync(config, &error));
  EXPECT_NE(error.find("does not know a master named 'nobody'"), std::string::npos) << error;
  auto client = make_client(io_.get_executor(), config);
  client->start();
  EXPECT_TRUE(run_until(io_, [&] {
    return client->last_error().find("does not know a master named 'nobody'") != std::string::npos;
  })) << client->last_error();
  client->stop();
}

}  // namespace
}  // namespace keygate::redis
