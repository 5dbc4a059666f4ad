// The Subscriber against a real redis-server.
#include <gtest/gtest.h>

#include <string>
#include <utility>
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

class SubscriberTest : public ::testing::Test {
 protected:
  std::shared_ptr<Subscriber> subscribe(std::vector<std::string> channels) {
    auto subscriber = make_subscriber(
        io_.get_executor(), config_for(server_), std::move(channels),
        [this](std::string_view channel, std::string_view payload) {
          messages_.emplace_back(channel, payload);
        },
        [this] { ++resubscribed_; });
    subscriber->start();
    return subscriber;
  }

  // PUBLISH until someone receives it: the count of receivers says the subscription is live.
  std::int64_t publish(std::string_view channel, std::string_view payload) {
    return server_.command({"PUBLISH", channel, payload}).integer;
  }

  RedisServer server_;
  boost::asio::io_context io_;
  std::vector<std::pair<std::string, std::string>> messages_;
  int resubscribed_ = 0;
};

TEST_F(SubscriberTest, MessagesArriveOnTheirChannels) {
  auto subscriber = subscribe({"keys", "limits"});
  ASSERT_TRUE(run_until(io_, [&] { return resubscribed_ == 1; })) << subscriber->last_error();
  EXPECT_TRUE(subscriber->connected());
  EXPECT_EQ(publish("keys", "revoked:abc"), 1);
  EXPECT_EQ(publish("limits", "reload"), 1);
  EXPECT_EQ(publish("other", "ignored"), 0);
  ASSERT_TRUE(run_until(io_, [&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[0], (std::pair<std::string, std::string>{"keys", "revoked:abc"}));
  EXPECT_EQ(messages_[1], (std::pair<std::string, std::string>{"limits", "reload"}));
  std::string binary("\0\r\n\xff", 4);
  publish("keys", binary);
  ASSERT_TRUE(run_until(io_, [&] { return messages_.size() == 3; }));
  EXPECT_EQ(messages_[2].second, binary);
}

TEST_F(SubscriberTest, ResubscribesAfterARestart) {
  auto subscriber = subscribe({"keys"});
  ASSERT_TRUE(run_until(io_, [&] { return resubscribed_ == 1; }));
  server_.stop();
  ASSERT_TRUE(run_until(
      io_, [&] { return !subscriber->connected(); }, 5s));
  server_.start();
  ASSERT_TRUE(run_until(
      io_, [&] { return resubscribed_ == 2; }, 5s))
      << subscriber->last_error();
  EXPECT_TRUE(subscriber->connected());
  EXPECT_EQ(publish("keys", "after restart"), 1);
  ASSERT_TRUE(run_until(io_, [&] { return messages_.size() == 1; }));
  EXPECT_EQ(messages_[0].second, "after restart");
}

TEST_F(SubscriberTest, StopEndsTheSubscription) {
  auto subscriber = subscribe({"keys"});
  ASSERT_TRUE(run_until(io_, [&] { return resubscribed_ == 1; }));
  subscriber->stop();
  subscriber->stop();
  EXPECT_FALSE(subscriber->connected());
  ASSERT_TRUE(run_until(io_, [&] { return publish("keys", "x") == 0; }));
  test::run_ready(io_);
  EXPECT_TRUE(messages_.empty());
}

}  // namespace
}  // namespace keygate::redis
