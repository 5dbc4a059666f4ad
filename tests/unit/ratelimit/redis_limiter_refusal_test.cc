// Remembered refusals against a real redis-server: a refused request is refused again without
// Redis until its retry time, with the same answer aged, and never past what Redis would say —
// whatever the algorithm, whatever other replicas do meanwhile, and not once a policy changed.
#include <gtest/gtest.h>

#include "tests/unit/ratelimit/redis_limiter_fixture.h"

namespace keygate::ratelimit {
namespace {

using namespace std::chrono_literals;
using testing::evalsha_calls;
using testing::policy;
using testing::RedisLimiterTest;
using testing::subject;

class RedisLimiterRefusalTest : public RedisLimiterTest {
 protected:
  // decide_now() answering means no Redis call was made.
  std::optional<Decision> without_redis(const std::vector<EffectivePolicy>& policies,
                                        const Subject& s = subject()) {
    return limiter_->decide_now(policies, s);
  }
};

TEST_F(RedisLimiterRefusalTest, ARefusalIsRepeatedWithoutRedisUntilItsRetryTime) {
  const std::vector<EffectivePolicy> policies{
      policy("per-second-2", Algorithm::fixed_window, 2, 10000)};
  clock_.set(1'000'000);  // the start of a 10 s window
  ASSERT_TRUE(check(policies).allowed());
  ASSERT_TRUE(check(policies).allowed());
  EXPECT_FALSE(without_redis(policies));  // nothing refused yet
  const Decision refused = check(policies);
  ASSERT_EQ(refused.outcome, Outcome::rate_limited);
  EXPECT_EQ(refused.retry_after_s, 10);

  const auto calls = evalsha_calls(server_);
  clock_.advance(4000);
  const auto again = without_redis(policies);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->outcome, Outcome::rate_limited);
  EXPECT_EQ(again->retry_after_s, 6);  // aged by the 4 s that passed
  EXPECT_EQ(again->policies[0].remaining, 0u);
  EXPECT_EQ(again->policies[0].limit, 2u);
  EXPECT_EQ(evalsha_calls(server_), calls);
  EXPECT_EQ(limiter_->stats().refusals_recalled, 1u);

  // At the retry time Redis decides again, and the new window admits.
  clock_.advance(6000);
  EXPECT_FALSE(without_redis(policies));
  EXPECT_TRUE(check(policies).allowed());
}

TEST_F(RedisLimiterRefusalTest, OtherReplicasCannotMakeARememberedRefusalWrong) {
  // Sliding window and token bucket: their retry times come from the counters' state; another
  // replica can only add to the counters, never make room sooner.
  for (const auto& p : {policy("sliding-3", Algorithm::sliding_window, 3, 60000),
                        policy("bucket-3", Algorithm::token_bucket, 3, 60000)}) {
    SCOPED_TRACE(p.name);
    const std::vector<EffectivePolicy> policies{p};
    auto other = make_limiter(200ms);
    Decision d;
    while ((d = check(policies)).allowed()) {
    }
    const std::int64_t wait_ms = d.policies[0].retry_after_ms;
    ASSERT_GT(wait_ms, 0);
    // Until just before the retry time, the remembered answer and Redis's agree.
    for (std::int64_t step = 0; step < 5; ++step) {
      clock_.advance(wait_ms / 6);
      EXPECT_EQ(check(*other, policies).outcome, Outcome::rate_limited);
      const auto remembered = without_redis(policies);
      ASSERT_TRUE(remembered);
      EXPECT_EQ(remembered->outcome, Outcome::rate_limited);
    }
    clock_.advance(wait_ms);  // past it: Redis decides, and admits
    EXPECT_FALSE(without_redis(policies));
    EXPECT_TRUE(check(policies).allowed());
  }
}

TEST_F(RedisLimiterRefusalTest, AChangedPolicyOrAnotherSubjectIsAskedAgain) {
  std::vector<EffectivePolicy> policies{policy("one", Algorithm::fixed_window, 1, 60000)};
  ASSERT_TRUE(check(policies).allowed());
  ASSERT_FALSE(check(policies).allowed());
  ASSERT_TRUE(without_redis(policies));
  Subject other = subject();
  other.key_id = "key_other";
  EXPECT_FALSE(without_redis(policies, other));  // its own counter, never refused
  policies[0].limit = 5;                         // an override or a reload raised the limit
  EXPECT_FALSE(without_redis(policies));
  EXPECT_TRUE(check(policies).allowed());
}

}  // namespace
}  // namespace keygate::ratelimit
