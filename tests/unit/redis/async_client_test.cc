// The async Client against a real redis-server started by the fixture.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <optional>
#include <vector>

#include "redis/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;
using test::config_for;
using test::run_until;

class AsyncClientTest : public ::testing::Test {
 protected:
  std::shared_ptr<Client> connect(conf::RedisConfig config, ClientOptions options = {}) {
    auto client = make_client(io_.get_executor(), config, options);
    client->start();
    EXPECT_TRUE(run_until(io_, [&] { return client->connected(); }))
        << "not connected: " << client->last_error();
    return client;
  }
  std::shared_ptr<Client> connect() { return connect(config_for(server_)); }

  // Sends one command and runs the loop until its callback ran.
  Result call(Client& client, std::initializer_list<std::string_view> args,
              std::chrono::milliseconds timeout = 2s) {
    std::optional<Result> result;
    client.command(args, timeout, [&](Result r) { result = std::move(r); });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    return result.value_or(Result{Status::cancelled, {}});
  }

  RedisServer server_;
  boost::asio::io_context io_;
};

TEST_F(AsyncClientTest, SetGetRoundTrip) {
  auto client = connect();
  Result set = call(*client, {"SET", "greeting", "hello"});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.reply.type, Reply::Type::status);
  EXPECT_EQ(set.reply.str, "OK");
  Result get = call(*client, {"GET", "greeting"});
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get.reply.type, Reply::Type::string);
  EXPECT_EQ(get.reply.str, "hello");
  Result missing = call(*client, {"GET", "nothing"});
  EXPECT_EQ(missing.reply.type, Reply::Type::nil);
  Result error = call(*client, {"INCR", "greeting"});
  EXPECT_EQ(error.status, Status::ok);
  EXPECT_TRUE(error.reply.is_error());
  EXPECT_FALSE(error.ok());
  Result array = call(*client, {"MGET", "greeting", "nothing"});
  ASSERT_EQ(array.reply.elements.size(), 2u);
  EXPECT_EQ(array.reply.elements[0].str, "hello");
  EXPECT_EQ(array.reply.elements[1].type, Reply::Type::nil);
  // Binary-safe arguments.
  std::string binary("a\0b\r\n", 5);
  ASSERT_TRUE(call(*client, {"SET", "binary", binary}).ok());
  EXPECT_EQ(call(*client, {"GET", "binary"}).reply.str, binary);
}

TEST_F(AsyncClientTest, TenThousandPipelinedIncrsAnsweredInOrder) {
  auto client = connect();
  constexpr int kCount = 10000;
  std::vector<std::int64_t> seen;
  seen.reserve(kCount);
  for (int i = 0; i < kCount; ++i)
    client->command({"INCR", "counter"}, 5s, [&](Result r) {
      EXPECT_TRUE(r.ok());
      seen.push_back(r.reply.integer);
    });
  ASSERT_TRUE(run_until(io_, [&] { return seen.size() == kCount; }));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], i + 1) << "at " << i;
  EXPECT_EQ(client->stats().commands, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(client->stats().pending, 0u);
}

TEST_F(AsyncClientTest, CallbacksNeverRunInsideCommand) {
  auto client = make_client(io_.get_executor(), config_for(server_));
  bool ran = false;
  // Not started yet: disconnected, but reported later, from the executor.
  client->command({"PING"}, 1s, [&](Result r) {
    ran = true;
    EXPECT_EQ(r.status, Status::disconnected);
  });
  EXPECT_FALSE(ran);
  test::run_ready(io_);
  EXPECT_TRUE(ran);

  client->start();
  ASSERT_TRUE(run_until(io_, [&] { return client->connected(); }));
  ran = false;
  client->command({"PING"}, 1s, [&](Result r) {
    ran = true;
    EXPECT_EQ(r.reply.str, "PONG");
  });
  EXPECT_FALSE(ran);
  ASSERT_TRUE(run_until(io_, [&] { return ran; }));
}

TEST_F(AsyncClientTest, ACommandSentRightAfterStartWaitsForTheFirstConnection) {
  auto client = make_client(io_.get_executor(), config_for(server_));
  client->start();
  ASSERT_FALSE(client->connected());  // connecting takes at least one turn of the loop
  std::vector<std::string> replies;
  for (const char* value : {"a", "b"})
    client->command({"ECHO", value}, 5s, [&](Result r) { replies.push_back(r.reply.str); });
  EXPECT_EQ(client->stats().pending, 2u);
  ASSERT_TRUE(run_until(io_, [&] { return replies.size() == 2; }));
  EXPECT_EQ(replies, (std::vector<std::string>{"a", "b"}));  // in the order they were issued
}

TEST_F(AsyncClientTest, AfterAFailedFirstAttemptCommandsFailAtOnce) {
  conf::RedisConfig config = config_for(server_);
  server_.stop();
  config.reconnect_min = 10s;  // no second attempt during the test
  config.reconnect_max = 10s;
  auto client = make_client(io_.get_executor(), config);
  client->start();
  std::optional<Result> early;
  client->command({"PING"}, 5s, [&](Result r) { early = std::move(r); });
  // Held while the attempt was under way, then failed with it, long before its 5 s deadline.
  ASSERT_TRUE(run_until(
      io_, [&] { return early.has_value(); }, 2s));
  EXPECT_EQ(early->status, Status::disconnected);
  std::optional<Result> late;
  client->command({"PING"}, 5s, [&](Result r) { late = std::move(r); });
  test::run_ready(io_);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->status, Status::disconnected);
}

TEST_F(AsyncClientTest, DeadlinePassesWhileRedisIsBusyAndTheLateReplyIsDropped) {
  auto client = connect();
  ASSERT_TRUE(call(*client, {"SET", "k", "v"}).ok());
  std::optional<Result> sleep_result;
  client->command({"DEBUG", "SLEEP", "0.5"}, 3s, [&](Result r) { sleep_result = std::move(r); });
  int get_calls = 0;
  std::optional<Result> get_result;
  auto sent = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration waited{};
  client->command({"GET", "k"}, 50ms, [&](Result r) {
    ++get_calls;
    waited = std::chrono::steady_clock::now() - sent;
    get_result = std::move(r);
  });
  ASSERT_TRUE(run_until(io_, [&] { return get_result.has_value(); }));
  EXPECT_EQ(get_result->status, Status::timeout);
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, 400ms) << "the deadline must not wait for Redis";
  EXPECT_FALSE(sleep_result.has_value());

  // Redis wakes up and answers both; the GET's reply must reach nobody.
  ASSERT_TRUE(run_until(io_, [&] { return sleep_result.has_value(); }));
  EXPECT_TRUE(sleep_result->ok());
  ASSERT_TRUE(run_until(io_, [&] { return client->stats().late_replies == 1; }));
  EXPECT_EQ(get_calls, 1);
  EXPECT_EQ(client->stats().timeouts, 1u);
  // Replies still line up with their commands afterwards.
  EXPECT_EQ(call(*client, {"GET", "k"}).reply.str, "v");
  EXPECT_EQ(call(*client, {"ECHO", "after"}).reply.str, "after");
  EXPECT_EQ(get_calls, 1);
}

TEST_F(AsyncClientTest, MixedTimeoutsExpireIndependently) {
  auto client = connect();
  std::vector<Status> statuses(3, Status::ok);
  int done = 0;
  client->command({"DEBUG", "SLEEP", "0.3"}, 2s, [&](Result r) { statuses[0] = r.status, ++done; });
  client->command({"PING"}, 1s, [&](Result r) { statuses[1] = r.status, ++done; });
  client->command({"PING"}, 30ms, [&](Result r) { statuses[2] = r.status, ++done; });
  ASSERT_TRUE(run_until(io_, [&] { return done == 3; }));
  EXPECT_EQ(statuses[0], Status::ok);
  EXPECT_EQ(statuses[1], Status::ok);  // 1 s was enough
  EXPECT_EQ(statuses[2], Status::timeout);
}

TEST_F(AsyncClientTest, RedisStoppedFailsPendingAndNewCommands) {
  auto client = connect();
  std::optional<Result> blocked;
  client->command({"BLPOP", "never", "0"}, 30s, [&](Result r) { blocked = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return client->stats().pending == 1; }));
  test::run_ready(io_);  // let the BLPOP be written
  server_.stop();
  ASSERT_TRUE(run_until(
      io_, [&] { return blocked.has_value(); }, 5s));
  EXPECT_EQ(blocked->status, Status::disconnected);
  EXPECT_FALSE(client->connected());
  auto start = std::chrono::steady_clock::now();
  Result fresh = call(*client, {"PING"});
  EXPECT_EQ(fresh.status, Status::disconnected);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms) << "must fail at once";
  EXPECT_FALSE(client->last_error().empty());
  EXPECT_EQ(client->stats().pending, 0u);
}

TEST_F(AsyncClientTest, AbruptOutageFailsPending) {
  auto client = connect();
  std::optional<Result> blocked;
  client->command({"BLPOP", "never", "0"}, 30s, [&](Result r) { blocked = std::move(r); });
  test::run_ready(io_);
  server_.kill();
  ASSERT_TRUE(run_until(
      io_, [&] { return blocked.has_value(); }, 5s));
  EXPECT_EQ(blocked->status, Status::disconnected);
}

TEST_F(AsyncClientTest, ReconnectsByItselfWhenRedisComesBack) {
  auto client = connect();
  ASSERT_TRUE(call(*client, {"SET", "k", "1"}).ok());
  server_.stop();
  ASSERT_TRUE(run_until(
      io_, [&] { return !client->connected(); }, 5s));
  // Let a few reconnect attempts fail.
  run_until(
      io_, [] { return false; }, 300ms);
  EXPECT_FALSE(client->connected());
  server_.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return client->connected(); }, 5s))
      << client->last_error();
  Result set = call(*client, {"SET", "k", "2"});
  EXPECT_TRUE(set.ok());
  EXPECT_EQ(call(*client, {"GET", "k"}).reply.str, "2");
  EXPECT_EQ(client->stats().connects, 2u);
}

TEST_F(AsyncClientTest, ReplacesAConnectionThatStopsAnswering) {
  ClientOptions options;
  options.stall_timeout = 300ms;
  conf::RedisConfig config = config_for(server_);
  config.connect_timeout = 200ms;
  auto client = connect(config, options);
  server_.pause();  // like a partition: TCP still accepts, nothing answers
  std::optional<Result> first;
  client->command({"PING"}, 50ms, [&](Result r) { first = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return first.has_value(); }));
  EXPECT_EQ(first->status, Status::timeout);
  EXPECT_TRUE(client->connected()) << "one timeout alone is no reason to reconnect";
  ASSERT_TRUE(run_until(
      io_, [&] { return client->stats().stalls == 1; }, 3s));
  EXPECT_FALSE(client->connected());
  EXPECT_NE(client->last_error().find("presumed dead"), std::string::npos);
  EXPECT_EQ(client->stats().pending, 0u);
  // Reconnecting to the frozen server fails in the handshake, not later on a command.
  run_until(
      io_, [] { return false; }, 400ms);
  EXPECT_FALSE(client->connected());
  server_.resume();
  ASSERT_TRUE(run_until(
      io_, [&] { return client->connected(); }, 5s))
      << client->last_error();
  EXPECT_EQ(call(*client, {"PING"}).reply.str, "PONG");
}

TEST_F(AsyncClientTest, StopCancelsPendingAndIsIdempotent) {
  auto client = connect();
  std::optional<Result> blocked;
  client->command({"BLPOP", "never", "0"}, 30s, [&](Result r) { blocked = std::move(r); });
  test::run_ready(io_);
  client->stop();
  EXPECT_FALSE(blocked.has_value()) << "never inline";
  ASSERT_TRUE(run_until(io_, [&] { return blocked.has_value(); }));
  EXPECT_EQ(blocked->status, Status::cancelled);
  client->stop();
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(call(*client, {"PING"}).status, Status::cancelled);
}

TEST_F(AsyncClientTest, DestroyingTheClientStillCompletesPending) {
  auto client = connect();
  std::optional<Result> blocked;
  client->command({"BLPOP", "never", "0"}, 30s, [&](Result r) { blocked = std::move(r); });
  test::run_ready(io_);
  client.reset();
  ASSERT_TRUE(run_until(io_, [&] { return blocked.has_value(); }));
  EXPECT_EQ(blocked->status, Status::cancelled);
  // The connection is gone from the server too.
  ASSERT_TRUE(run_until(io_, [&] {
    return server_.command({"CLIENT", "LIST"}).str.find("cmd=blpop") == std::string::npos;
  }));
}

TEST_F(AsyncClientTest, TooManyPendingFailFast) {
  ClientOptions options;
  options.max_pending = 10;
  auto client = connect(config_for(server_), options);
  std::vector<Status> statuses;
  client->command({"DEBUG", "SLEEP", "0.2"}, 2s, [&](Result r) { statuses.push_back(r.status); });
  for (int i = 0; i < 20; ++i)
    client->command({"PING"}, 2s, [&](Result r) { statuses.push_back(r.status); });
  ASSERT_TRUE(run_until(io_, [&] { return statuses.size() == 21; }));
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), Status::overloaded), 11);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), Status::ok), 10);
  // The refused ones are reported first: they did not wait for Redis.
  EXPECT_EQ(statuses.front(), Status::overloaded);
  EXPECT_EQ(client->stats().overloaded, 11u);
}

TEST_F(AsyncClientTest, SelectsTheConfiguredDatabase) {
  conf::RedisConfig config = config_for(server_);
  config.database = 3;
  auto client = connect(config);
  Result info = call(*client, {"CLIENT", "INFO"});
  EXPECT_NE(info.reply.str.find(" db=3 "), std::string::npos) << info.reply.str;
}

TEST_F(AsyncClientTest, ResolvesAHostName) {
  conf::RedisConfig config = config_for(server_);
  config.host = "localhost";  // may resolve to ::1 first, where nothing listens
  auto client = connect(config);
  EXPECT_EQ(call(*client, {"PING"}).reply.str, "PONG");
}

TEST_F(AsyncClientTest, ConnectDeadlineCoversAServerThatNeverAnswers) {
  // A listener that accepts connections and never says anything: AUTH never completes.
  boost::asio::ip::tcp::acceptor silent(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::vector<boost::asio::ip::tcp::socket> accepted;
  std::function<void()> accept_next = [&] {
    silent.async_accept([&](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      accepted.push_back(std::move(s));
      accept_next();
    });
  };
  accept_next();
  ::setenv("KEYGATE_TEST_SILENT_PASSWORD", "secret", 1);
  conf::RedisConfig config;
  config.port = silent.local_endpoint().port();
  config.password_env = "KEYGATE_TEST_SILENT_PASSWORD";
  config.connect_timeout = 100ms;
  config.reconnect_min = 20ms;
  config.reconnect_max = 50ms;
  auto client = make_client(io_.get_executor(), config);
  client->start();
  ASSERT_TRUE(run_until(
      io_, [&] { return accepted.size() >= 2; }, 3s));
  EXPECT_FALSE(client->connected());
  EXPECT_NE(client->last_error().find("timed out"), std::string::npos) << client->last_error();
  client->stop();
}

TEST_F(AsyncClientTest, ACommandWaitingForTheFirstConnectionKeepsItsOwnDeadline) {
  // Accepts and never answers the handshake's PING, within a long connect deadline.
  boost::asio::ip::tcp::acceptor silent(io_, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket accepted(io_);
  silent.async_accept(accepted, [](boost::system::error_code) {});
  conf::RedisConfig config;
  config.port = silent.local_endpoint().port();
  config.connect_timeout = 10s;
  auto client = make_client(io_.get_executor(), config);
  client->start();
  std::optional<Result> result;
  const auto issued = std::chrono::steady_clock::now();
  client->command({"PING"}, 100ms, [&](Result r) { result = std::move(r); });
  ASSERT_TRUE(run_until(
      io_, [&] { return result.has_value(); }, 5s));
  EXPECT_EQ(result->status, Status::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - issued, 3s);
  EXPECT_EQ(client->stats().pending, 0u);
  client->stop();
}

class AuthTest : public ::testing::Test {
 protected:
  AuthTest() : server_(RedisServer::Options{"s3cret password", {}}) {
    ::setenv("KEYGATE_TEST_REDIS_PASSWORD", "s3cret password", 1);
    ::setenv("KEYGATE_TEST_WRONG_PASSWORD", "nope", 1);
  }
  RedisServer server_;
  boost::asio::io_context io_;
};

TEST_F(AuthTest, AuthenticatesWithThePasswordFromTheEnvironment) {
  conf::RedisConfig config = config_for(server_);
  config.password_env = "KEYGATE_TEST_REDIS_PASSWORD";
  config.database = 2;  // AUTH and SELECT pipelined in the handshake
  auto client = make_client(io_.get_executor(), config);
  client->start();
  ASSERT_TRUE(run_until(io_, [&] { return client->connected(); })) << client->last_error();
  std::optional<Result> result;
  client->command({"SET", "k", "v"}, 1s, [&](Result r) { result = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  EXPECT_TRUE(result->ok()) << result->reply.str;
}

TEST_F(AuthTest, AWrongPasswordNeverConnects) {
  conf::RedisConfig config = config_for(server_);
  config.password_env = "KEYGATE_TEST_WRONG_PASSWORD";
  auto client = make_client(io_.get_executor(), config);
  client->start();
  ASSERT_TRUE(run_until(io_, [&] { return !client->last_error().empty(); }));
  EXPECT_NE(client->last_error().find("AUTH"), std::string::npos) << client->last_error();
  EXPECT_FALSE(client->connected());
  // It keeps trying (the password may be fixed on the server) without ever being usable.
  run_until(
      io_, [] { return false; }, 200ms);
  EXPECT_FALSE(client->connected());
  EXPECT_EQ(client->stats().connects, 0u);
}

TEST_F(AuthTest, NoPasswordNeverConnectsAndSaysWhy) {
  auto client = make_client(io_.get_executor(), config_for(server_));
  client->start();
  // The handshake's PING is refused, so the misconfiguration shows at connect time.
  ASSERT_TRUE(run_until(io_, [&] { return !client->last_error().empty(); }));
  EXPECT_NE(client->last_error().find("NOAUTH"), std::string::npos) << client->last_error();
  EXPECT_FALSE(client->connected());
  std::optional<Result> result;
  client->command({"GET", "k"}, 1s, [&](Result r) { result = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  EXPECT_EQ(result->status, Status::disconnected);
}

}  // namespace
}  // namespace keygate::redis
