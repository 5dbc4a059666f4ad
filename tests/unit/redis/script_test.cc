// Script: EVALSHA with loading on first use and after Redis forgot the script.
#include "redis/script.h"

#include <gtest/gtest.h>

#include <optional>

#include "tests/support/redis_server.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;
using test::config_for;
using test::run_until;

constexpr const char* kEcho = "return {KEYS[1], ARGV[1], #KEYS, #ARGV}";

class ScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = make_client(io_.get_executor(), config_for(server_));
    client_->start();
    ASSERT_TRUE(run_until(io_, [&] { return client_->connected(); }));
  }

  Result eval(const Script& script, std::vector<std::string_view> keys,
              std::vector<std::string_view> args) {
    std::optional<Result> result;
    script.eval(*client_, keys, args, 1s, [&](Result r) { result = std::move(r); });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    return result.value_or(Result{Status::cancelled, {}});
  }

  static void expect_echo(const Result& result, std::string_view key, std::string_view arg) {
    ASSERT_TRUE(result.ok()) << to_string(result.status) << " " << result.reply.str;
    ASSERT_EQ(result.reply.elements.size(), 4u);
    EXPECT_EQ(result.reply.elements[0].str, key);
    EXPECT_EQ(result.reply.elements[1].str, arg);
  }

  bool exists_in_redis(const Script& script) {
    Reply reply = server_.command({"SCRIPT", "EXISTS", script.sha()});
    return reply.elements.size() == 1 && reply.elements[0].integer == 1;
  }

  RedisServer server_;
  boost::asio::io_context io_;
  std::shared_ptr<Client> client_;
};

TEST_F(ScriptTest, LoadsOnFirstUseThenRunsBySha) {
  Script script(kEcho);
  EXPECT_TRUE(script.sha().empty());
  expect_echo(eval(script, {"key-1"}, {"arg-1"}), "key-1", "arg-1");
  EXPECT_EQ(script.sha().size(), 40u);
  EXPECT_TRUE(exists_in_redis(script));
  // A copy shares what was learnt.
  Script copy = script;
  EXPECT_EQ(copy.sha(), script.sha());
  expect_echo(eval(copy, {"key-2"}, {"arg-2"}), "key-2", "arg-2");
}

TEST_F(ScriptTest, SurvivesScriptFlush) {
  Script script(kEcho);
  expect_echo(eval(script, {"a"}, {"b"}), "a", "b");
  ASSERT_EQ(server_.command({"SCRIPT", "FLUSH"}).str, "OK");
  ASSERT_FALSE(exists_in_redis(script));
  // NOSCRIPT, reload and retry, invisible to the caller.
  expect_echo(eval(script, {"c"}, {"d"}), "c", "d");
  EXPECT_TRUE(exists_in_redis(script));
}

TEST_F(ScriptTest, ManyKeysAndArguments) {
  Script script("return #KEYS * 1000 + #ARGV");
  std::vector<std::string> storage;
  for (int i = 0; i < 40; ++i) storage.push_back("item-" + std::to_string(i));
  std::vector<std::string_view> keys(storage.begin(), storage.begin() + 25);
  std::vector<std::string_view> args(storage.begin() + 25, storage.end());
  Result result = eval(script, keys, args);
  EXPECT_EQ(result.reply.integer, 25015);
  server_.command({"SCRIPT", "FLUSH"});
  EXPECT_EQ(eval(script, keys, args).reply.integer, 25015);
}

TEST_F(ScriptTest, ScriptErrorsComeBackAsErrorReplies) {
  Script script("return redis.call('INCR', KEYS[1])");
  server_.command({"SET", "text", "abc"});
  Result result = eval(script, {"text"}, {});
  EXPECT_EQ(result.status, Status::ok);
  EXPECT_TRUE(result.reply.is_error());
}

TEST_F(ScriptTest, LoadAheadOfTime) {
  Script script(kEcho);
  std::optional<Result> loaded;
  script.load(*client_, 1s, [&](Result r) { loaded = std::move(r); });
  ASSERT_TRUE(run_until(io_, [&] { return loaded.has_value(); }));
  EXPECT_TRUE(loaded->ok());
  EXPECT_EQ(script.sha(), loaded->reply.str);
}

TEST_F(ScriptTest, SyncClientToo) {
  std::string error;
  auto sync = connect_sync(config_for(server_), &error);
  ASSERT_TRUE(sync) << error;
  Script script(kEcho);
  expect_echo(
      script.eval(*sync, std::vector<std::string_view>{"k"}, std::vector<std::string_view>{"v"}),
      "k", "v");
  server_.command({"SCRIPT", "FLUSH"});
  expect_echo(
      script.eval(*sync, std::vector<std::string_view>{"k2"}, std::vector<std::string_view>{"v2"}),
      "k2", "v2");
}

}  // namespace
}  // namespace keygate::redis
