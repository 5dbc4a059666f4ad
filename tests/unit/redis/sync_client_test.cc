// The blocking SyncClient against a real redis-server.
#include "redis/sync_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "tests/support/redis_server.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;
using test::config_for;

TEST(SyncClient, RoundTrip) {
  RedisServer server;
  std::string error;
  auto client = connect_sync(config_for(server), &error);
  ASSERT_TRUE(client) << error;
  EXPECT_EQ(client->command({"SET", "k", "v"}).reply.str, "OK");
  Result get = client->command({"GET", "k"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get.reply.str, "v");
  EXPECT_EQ(client->command({"INCRBY", "n", "5"}).reply.integer, 5);
  EXPECT_TRUE(client->command({"NOSUCHCOMMAND"}).reply.is_error());
}

TEST(SyncClient, TimesOutOnASlowServerAndRecovers) {
  RedisServer server;
  conf::RedisConfig config = config_for(server);
  config.command_timeout = 100ms;
  std::string error;
  auto client = connect_sync(config, &error);
  ASSERT_TRUE(client) << error;
  auto start = std::chrono::steady_clock::now();
  Result slow = client->command({"DEBUG", "SLEEP", "0.5"});
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(slow.status, Status::timeout);
  EXPECT_LT(waited, 400ms);
  // Once Redis is awake again a fresh connection serves commands; the late reply of the
  // abandoned one is never read as the answer to these.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  Result echo;
  do {
    echo = client->command({"ECHO", "fresh"});
  } while (!echo.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(echo.ok()) << client->last_error();
  EXPECT_EQ(echo.reply.str, "fresh");
  EXPECT_EQ(client->command({"ECHO", "next"}).reply.str, "next");
}

TEST(SyncClient, ReconnectsAfterTheServerRestarted) {
  RedisServer server;
  std::string error;
  auto client = connect_sync(config_for(server), &error);
  ASSERT_TRUE(client) << error;
  ASSERT_TRUE(client->command({"SET", "k", "1"}).ok());
  server.stop();
  EXPECT_EQ(client->command({"GET", "k"}).status, Status::disconnected);
  server.start();
  Result set = client->command({"SET", "k", "2"});
  EXPECT_TRUE(set.ok()) << client->last_error();
  // The idle connection was closed by the restart; the client notices and reconnects once.
  server.stop();
  server.start();
  EXPECT_EQ(client->command({"GET", "k"}).reply.type, Reply::Type::nil);
}

TEST(SyncClient, ReportsWhyItCannotConnect) {
  RedisServer server;
  std::uint16_t port = server.port();
  server.stop();
  conf::RedisConfig config;
  config.port = port;
  std::string error;
  EXPECT_FALSE(connect_sync(config, &error));
  EXPECT_NE(error.find(std::to_string(port)), std::string::npos) << error;
}

TEST(SyncClient, AuthenticatesAndSelects) {
  RedisServer server(RedisServer::Options{"pw", {}});
  ::setenv("KEYGATE_TEST_SYNC_PASSWORD", "pw", 1);
  ::setenv("KEYGATE_TEST_SYNC_WRONG", "wrong", 1);
  conf::RedisConfig config = config_for(server);
  config.password_env = "KEYGATE_TEST_SYNC_PASSWORD";
  config.database = 5;
  std::string error;
  auto client = connect_sync(config, &error);
  ASSERT_TRUE(client) << error;
  EXPECT_NE(client->command({"CLIENT", "INFO"}).reply.str.find(" db=5 "), std::string::npos);

  config.password_env = "KEYGATE_TEST_SYNC_WRONG";
  EXPECT_FALSE(connect_sync(config, &error));
  EXPECT_NE(error.find("AUTH"), std::string::npos) << error;
}

}  // namespace
}  // namespace keygate::redis
