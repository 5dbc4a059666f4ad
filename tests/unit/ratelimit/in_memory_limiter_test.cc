#include "ratelimit/in_memory_limiter.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "tests/unit/ratelimit/test_util.h"

namespace keygate::ratelimit {
namespace {

using testing::ManualClock;
using testing::monthly;
using testing::policy;
using testing::subject;

class InMemoryLimiterTest : public ::testing::Test {
 protected:
  ManualClock clock_{1'700'000'040'000};  // start of a minute
  InMemoryLimiter limiter_{clock_.clock()};

  Decision check(const std::vector<EffectivePolicy>& policies, const Subject& s = subject()) {
    return limiter_.check_now(policies, s);
  }
};

TEST_F(InMemoryLimiterTest, FixedWindowCountsAndRollsOver) {
  const std::vector<EffectivePolicy> p{policy("minute", Algorithm::fixed_window, 3, 60000)};
  for (int i = 0; i < 3; ++i) {
    Decision d = check(p);
    ASSERT_TRUE(d.allowed());
    EXPECT_EQ(d.policies[0].remaining, static_cast<std::uint64_t>(2 - i));
  }
  clock_.advance(59'999);
  Decision refused = check(p);
  EXPECT_EQ(refused.outcome, Outcome::rate_limited);
  EXPECT_EQ(refused.retry_after_s, 1);
  EXPECT_EQ(refused.policies[0].retry_after_ms, 1);
  clock_.advance(1);
  Decision next = check(p);
  EXPECT_TRUE(next.allowed());
  EXPECT_EQ(next.policies[0].remaining, 2u);
}

TEST_F(InMemoryLimiterTest, CallbackRunsInline) {
  const std::vector<EffectivePolicy> p{policy("minute", Algorithm::fixed_window, 1, 60000)};
  bool ran = false;
  limiter_.check(p, subject(), [&](Decision d) {
    ran = true;
    EXPECT_TRUE(d.allowed());
  });
  EXPECT_TRUE(ran);
}

TEST_F(InMemoryLimiterTest, SlidingWindowCarriesThePreviousWindowWeighted) {
  const std::vector<EffectivePolicy> p{policy("minute", Algorithm::sliding_window, 10, 60000)};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(check(p).allowed());
  EXPECT_FALSE(check(p).allowed());
  // Half-way through the next window half of the previous 10 still count.
  clock_.advance(60000 + 30000);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(check(p).allowed()) << i;
  Decision refused = check(p);
  ASSERT_FALSE(refused.allowed());
  // One millisecond later floor(10 * 29999 / 60000) = 4 of them count.
  EXPECT_EQ(refused.policies[0].retry_after_ms, 1);
  EXPECT_EQ(refused.retry_after_s, 1);
  clock_.advance(1);
  ASSERT_TRUE(check(p).allowed());
  // Now 6 + floor(10 * (60000 - e) / 60000) <= 9 only once e > 36000.
  refused = check(p);
  ASSERT_FALSE(refused.allowed());
  EXPECT_EQ(refused.policies[0].retry_after_ms, 6000);
  EXPECT_EQ(refused.retry_after_s, 6);
  EXPECT_EQ(refused.policies[0].reset_ms, clock_.now() - 30001 + 60000);
  clock_.advance(5999);
  EXPECT_FALSE(check(p).allowed());
  clock_.advance(1);
  EXPECT_TRUE(check(p).allowed());
}

TEST_F(InMemoryLimiterTest, TokenBucketRefills) {
  const std::vector<EffectivePolicy> p{
      policy("burst", Algorithm::token_bucket, 60, 60000, Counter::key, 5)};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(check(p).allowed());
  Decision refused = check(p);
  ASSERT_FALSE(refused.allowed());
  EXPECT_EQ(refused.policies[0].limit, 5u);  // shown in bucket tokens
  EXPECT_EQ(refused.retry_after_s, 1);
  clock_.advance(1000);
  EXPECT_TRUE(check(p).allowed());
  EXPECT_FALSE(check(p).allowed());
}

TEST_F(InMemoryLimiterTest, MonthlyQuotaResetsAtTheOrgsPeriodBoundary) {
  const std::int64_t created_s = 1'690'000'000;
  const std::int64_t boundary = created_s * 1000 + 4 * kQuotaPeriodMs;
  clock_.set(boundary - 10);
  const std::vector<EffectivePolicy> p{monthly(2)};
  const Subject s = subject("key_abc", "org_1", created_s);
  ASSERT_TRUE(check(p, s).allowed());
  ASSERT_TRUE(check(p, s).allowed());
  Decision refused = check(p, s);
  ASSERT_FALSE(refused.allowed());
  EXPECT_TRUE(refused.policies[0].is_quota);
  EXPECT_EQ(refused.policies[0].reset_ms, boundary);
  EXPECT_EQ(refused.policies[0].window.count(), kQuotaPeriodMs);
  clock_.set(boundary);
  Decision fresh = check(p, s);
  EXPECT_TRUE(fresh.allowed());
  EXPECT_EQ(fresh.policies[0].reset_ms, boundary + kQuotaPeriodMs);
}

TEST_F(InMemoryLimiterTest, QuotaIsSharedByTheOrgsKeys) {
  const std::vector<EffectivePolicy> p{monthly(3)};
  EXPECT_TRUE(check(p, subject("key_a")).allowed());
  EXPECT_TRUE(check(p, subject("key_b")).allowed());
  EXPECT_TRUE(check(p, subject("key_c")).allowed());
  EXPECT_FALSE(check(p, subject("key_d")).allowed());
  EXPECT_TRUE(check(p, subject("key_a", "org_2")).allowed());
}

TEST_F(InMemoryLimiterTest, ARefusedRequestIsChargedToNoPolicy) {
  const std::vector<EffectivePolicy> p{policy("per-key", Algorithm::fixed_window, 2, 60000),
                                       monthly(100)};
  ASSERT_TRUE(check(p).allowed());
  ASSERT_TRUE(check(p).allowed());
  for (int i = 0; i < 5; ++i) {
    Decision d = check(p);
    ASSERT_EQ(d.outcome, Outcome::rate_limited);
    EXPECT_EQ(*d.refused, 0u);
    EXPECT_TRUE(d.policies[1].allowed);
  }
  // The org's quota saw only the two admitted requests.
  Decision other_key = check(p, subject("key_other"));
  ASSERT_TRUE(other_key.allowed());
  EXPECT_EQ(other_key.policies[1].remaining, 100u - 3);
}

TEST_F(InMemoryLimiterTest, RetryAfterIsNeverEarly) {
  std::mt19937_64 rng(3);
  const std::vector<std::vector<EffectivePolicy>> sets{
      {policy("fixed", Algorithm::fixed_window, 7, 10000)},
      {policy("sliding", Algorithm::sliding_window, 7, 10000)},
      {policy("bucket", Algorithm::token_bucket, 7, 10000, Counter::key, 3)},
      {policy("sliding", Algorithm::sliding_window, 5, 3000),
       policy("bucket", Algorithm::token_bucket, 20, 60000, Counter::org, 4)},
  };
  for (const auto& p : sets) {
    for (int round = 0; round < 200; ++round) {
      clock_.advance(std::uniform_int_distribution<std::int64_t>(0, 2500)(rng));
      Decision d = check(p);
      if (d.allowed()) continue;
      clock_.advance(d.retry_after_s * 1000);
      ASSERT_TRUE(check(p).allowed()) << p[0].name << " round " << round;
    }
  }
}

TEST_F(InMemoryLimiterTest, LocalStandInDividesLimitsByReplicas) {
  InMemoryLimiter local(clock_.clock(), {.max_entries = 100, .shards = 4, .limit_divisor = 3});
  const std::vector<EffectivePolicy> p{policy("minute", Algorithm::fixed_window, 10, 60000)};
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += local.check_now(p, subject()).allowed();
  EXPECT_EQ(admitted, 4);  // ceil(10 / 3)
  const std::vector<EffectivePolicy> tiny{policy("tiny", Algorithm::fixed_window, 1, 60000)};
  EXPECT_TRUE(local.check_now(tiny, subject()).allowed());  // never divided down to zero
}

TEST_F(InMemoryLimiterTest, EntriesAreCappedAndExpiredOnesSwept) {
  InMemoryLimiter small(clock_.clock(), {.max_entries = 64, .shards = 4});
  const std::vector<EffectivePolicy> p{policy("minute", Algorithm::fixed_window, 5, 60000)};
  for (int i = 0; i < 1000; ++i) small.check_now(p, subject("key_" + std::to_string(i)));
  EXPECT_LE(small.size(), 64u);
  EXPECT_GT(small.evictions(), 0u);
  clock_.advance(2 * 60000);
  const std::size_t before = small.size();
  EXPECT_EQ(small.sweep(), before);
  EXPECT_EQ(small.size(), 0u);
}

TEST_F(InMemoryLimiterTest, InsertsSweepExpiredEntriesBeforeEvictingLiveOnes) {
  InMemoryLimiter small(clock_.clock(), {.max_entries = 32, .shards = 1});
  const std::vector<EffectivePolicy> p{policy("second", Algorithm::fixed_window, 5, 1000)};
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 16; ++i) small.check_now(p, subject("key_" + std::to_string(i)));
    clock_.advance(5000);  // everything from this round has expired
  }
  EXPECT_LE(small.size(), 32u);
  EXPECT_EQ(small.evictions(), 0u);
}

TEST_F(InMemoryLimiterTest, ConcurrentChecksNeverAdmitMoreThanTheLimit) {
  const std::vector<EffectivePolicy> p{
      policy("minute", Algorithm::fixed_window, 500, 60000),
      policy("org", Algorithm::sliding_window, 700, 60000, Counter::org)};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 400; ++i) admitted += check(p).allowed();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 500);
}

TEST_F(InMemoryLimiterTest, OverridingAlgorithmOnReloadStartsAfresh) {
  std::vector<EffectivePolicy> p{policy("minute", Algorithm::fixed_window, 1, 60000)};
  ASSERT_TRUE(check(p).allowed());
  ASSERT_FALSE(check(p).allowed());
  p[0].algorithm = Algorithm::token_bucket;
  EXPECT_TRUE(check(p).allowed());
}

TEST_F(InMemoryLimiterTest, EmptyPolicyListIsAllowed) {
  Decision d = check({});
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.closest.has_value());
}

}  // namespace
}  // namespace keygate::ratelimit
