// RedisLimiter on a real 3-master Redis Cluster: a turn's checks are split into one script
// call per slot, so no call spans slots, and limits stay exact across several limiters.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>

#include "ratelimit/counter_key.h"
#include "ratelimit/redis_limiter.h"
#include "redis/cluster_slot.h"
#include "redis/redis_client.h"
#include "tests/support/redis_cluster.h"
#include "tests/unit/ratelimit/test_util.h"

namespace keygate::ratelimit {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisCluster;

template <class Done>
bool run_until(boost::asio::io_context& io, Done done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(2ms);
  }
  return true;
}

class RedisLimiterClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_.cluster_seeds = cluster_.seeds();
    redis_.command_timeout = 2000ms;
    redis_.limiter_timeout = 2000ms;  // a loaded test machine, not a latency target
    redis_.reconnect_min = 20ms;
    redis_.reconnect_max = 200ms;
  }

  std::shared_ptr<RedisLimiter> limiter(bool split) {
    auto client = redis::make_client(io_.get_executor(), redis_);
    client->start();
    EXPECT_TRUE(run_until(io_, [&] { return client->connected(); })) << client->last_error();
    clients_.push_back(client);
    conf::RateLimitConfig limits;
    RedisLimiterOptions options =
        redis_limiter_options(redis_, limits, [] { return std::int64_t{1'700'000'000'000}; }, {});
    options.split_by_slot = split;
    return make_redis_limiter(io_.get_executor(), client, options);
  }

  static Subject subject_of(int i) {
    Subject s;
    s.key_id = testing::kept("key_" + std::to_string(i));
    s.org_id = testing::kept("org_" + std::to_string(i));
    s.route = "api";
    s.client_ip = "10.0.0.1";
    return s;
  }

  RedisCluster cluster_;
  conf::RedisConfig redis_;
  boost::asio::io_context io_;
  std::vector<std::shared_ptr<redis::Client>> clients_;
};

TEST_F(RedisLimiterClusterTest, LimitsAreExactAcrossLimitersWithOneCallPerSlot) {
  EffectivePolicy per_key{"per-key", Counter::key, Algorithm::fixed_window, 5, 3'600'000};
  EffectivePolicy per_org{"per-org", Counter::org, Algorithm::sliding_window, 7, 3'600'000};
  std::vector<EffectivePolicy> policies{per_key, per_org};
  std::vector<std::shared_ptr<RedisLimiter>> limiters{limiter(true), limiter(true), limiter(true),
                                                      limiter(true)};
  constexpr int kSubjects = 40;
  constexpr int kRounds = 3;  // each round: every limiter checks every subject, in one turn
  std::set<std::uint16_t> slots;
  for (int i = 0; i < kSubjects; ++i)
    slots.insert(redis::key_slot("{" + hash_tag(subject_of(i)) + "}"));
  ASSERT_GT(slots.size(), 30u);  // the subjects really are spread over slots (and nodes)

  std::map<int, int> allowed;
  int answered = 0;
  int store_errors = 0;
  std::vector<Subject> subjects;  // valid until their decisions arrive (limiter.h)
  for (int i = 0; i < kSubjects; ++i) subjects.push_back(subject_of(i));
  for (int round = 0; round < kRounds; ++round) {
    for (auto& limiter : limiters)
      for (int i = 0; i < kSubjects; ++i)
        limiter->check(policies, subjects[i], [&, i](Decision d) {
          ++answered;
          if (d.store_error) ++store_errors;
          if (d.allowed()) ++allowed[i];
        });
    ASSERT_TRUE(run_until(io_, [&] {
      return answered == (round + 1) * kSubjects * static_cast<int>(limiters.size());
    }));
  }
  EXPECT_EQ(store_errors, 0);
  for (int i = 0; i < kSubjects; ++i) EXPECT_EQ(allowed[i], 5) << "subject " << i;
  // One script call per slot per turn (the slots of a turn's checks), never one for the lot.
  for (auto& limiter : limiters) {
    EXPECT_EQ(limiter->stats().store_errors, 0u);
    EXPECT_EQ(limiter->stats().script_calls, kRounds * slots.size());
  }
}

TEST_F(RedisLimiterClusterTest, UnsplitBatchesSpanSlotsAndFail) {
  // What split_by_slot prevents: Redis Cluster refuses a script whose keys span slots.
  EffectivePolicy per_key{"per-key", Counter::key, Algorithm::fixed_window, 5, 3'600'000};
  std::vector<EffectivePolicy> policies{per_key};
  auto unsplit = limiter(false);
  int answered = 0;
  int store_errors = 0;
  std::vector<Subject> subjects;
  for (int i = 0; i < 10; ++i) subjects.push_back(subject_of(i));
  for (int i = 0; i < 10; ++i)
    unsplit->check(policies, subjects[i], [&](Decision d) {
      ++answered;
      if (d.store_error) ++store_errors;
    });
  ASSERT_TRUE(run_until(io_, [&] { return answered == 10; }));
  EXPECT_EQ(store_errors, 10);
  EXPECT_EQ(unsplit->stats().script_calls, 1u);
}

}  // namespace
}  // namespace keygate::ratelimit
