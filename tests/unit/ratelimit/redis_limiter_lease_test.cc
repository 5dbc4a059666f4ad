// Leases against a real redis-server: granted far from a limit and spent without Redis, never
// past the limit however the requests are spread over replicas, none for a refused request,
// and none outliving the window they were charged in.
#include <gtest/gtest.h>

#include "tests/unit/ratelimit/redis_limiter_fixture.h"

namespace keygate::ratelimit {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;
using testing::evalsha_calls;
using testing::monthly;
using testing::policy;
using testing::RedisLimiterTest;
using testing::subject;

EffectivePolicy leased(EffectivePolicy p, std::uint64_t lease) {
  p.lease = lease;
  return p;
}

// What one counter of key_abc holds in Redis now (window algorithms: the current window's).
std::string counter_value(const RedisServer& server, const EffectivePolicy& p, std::int64_t now,
                          const Subject& s = subject()) {
  std::string name = counter_key("kg:", p, s);
  if (p.effective_algorithm() != Algorithm::token_bucket)
    name += ":" + std::to_string(window_index(now, 0, p.effective_window_ms()));
  return server.command({"GET", name}).str;
}

class RedisLimiterLeaseTest : public RedisLimiterTest {
 protected:
  struct Answer {
    Decision decision;
    bool from_lease = false;  // decided by decide_now(): no Redis call
  };
  Answer check_noting_lease(RedisLimiter& limiter, const std::vector<EffectivePolicy>& policies,
                            const Subject& s = subject()) {
    if (auto now = limiter.decide_now(policies, s)) return {*now, true};
    return {check(limiter, policies, s), false};
  }
  bool from_lease(const std::vector<EffectivePolicy>& policies) {
    return check_noting_lease(*limiter_, policies).from_lease;
  }
};

TEST_F(RedisLimiterLeaseTest, FarFromTheLimitALeaseAdmitsLaterRequestsWithoutRedis) {
  const std::vector<EffectivePolicy> policies{
      leased(policy("hourly", Algorithm::sliding_window, 10000, 3600000), 50)};
  const Decision first = check(policies);
  ASSERT_TRUE(first.allowed());
  EXPECT_EQ(first.policies[0].remaining, 9999u);
  EXPECT_EQ(counter_value(server_, policies[0], clock_.now()), "51");  // the request + 50
  ASSERT_EQ(server_.command({"CONFIG", "RESETSTAT"}).str, "OK");

  for (std::uint64_t i = 1; i <= 50; ++i) {
    const auto [d, leased] = check_noting_lease(*limiter_, policies);
    ASSERT_TRUE(leased) << i;
    EXPECT_TRUE(d.allowed());
    EXPECT_EQ(d.policies[0].remaining, 9999 - i);
    EXPECT_EQ(d.policies[0].reset_ms, first.policies[0].reset_ms);
  }
  EXPECT_EQ(evalsha_calls(server_), 0);
  EXPECT_EQ(limiter_->stats().lease_admitted, 50u);
  // Spent: the next request asks Redis again, and takes a new lease with it.
  EXPECT_FALSE(from_lease(policies));
  EXPECT_EQ(evalsha_calls(server_), 1);
  EXPECT_EQ(counter_value(server_, policies[0], clock_.now()), "102");
}

TEST_F(RedisLimiterLeaseTest, ReplicasTogetherAdmitExactlyTheLimit) {
  // Four limiters with their own leases stand for four replicas; the requests alternate.
  const std::vector<EffectivePolicy> policies{
      leased(policy("minute", Algorithm::fixed_window, 200, 60000), 20)};
  std::vector<std::shared_ptr<RedisLimiter>> replicas;
  for (int i = 0; i < 4; ++i) replicas.push_back(make_limiter(200ms));
  int admitted = 0;
  for (int i = 0; i < 400; ++i) {
    if (check(*replicas[i % 4], policies).allowed()) ++admitted;
  }
  EXPECT_EQ(admitted, 200);
  EXPECT_EQ(counter_value(server_, policies[0], clock_.now()), "200");
  std::uint64_t from_leases = 0;
  for (const auto& r : replicas) from_leases += r->stats().lease_admitted;
  EXPECT_GT(from_leases, 50u);
}

TEST_F(RedisLimiterLeaseTest, NearTheLimitEveryRequestIsDecidedInRedis) {
  // A grant takes at most 1/16 of what remains: with 15 left there is nothing to lease.
  const std::vector<EffectivePolicy> policies{
      leased(policy("minute", Algorithm::fixed_window, 16, 60000), 100)};
  ASSERT_TRUE(check(policies).allowed());
  EXPECT_EQ(counter_value(server_, policies[0], clock_.now()), "1");
  ASSERT_EQ(server_.command({"CONFIG", "RESETSTAT"}).str, "OK");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(check(policies).allowed(), i < 15) << i;
  // 15 admitted and the first refusal in Redis; the 4 refusals after it from memory.
  EXPECT_EQ(evalsha_calls(server_), 16);
  EXPECT_EQ(limiter_->stats().refusals_recalled, 4u);
  EXPECT_EQ(limiter_->stats().lease_admitted, 0u);
}

TEST_F(RedisLimiterLeaseTest, ARefusedRequestTakesNoLeaseOfItsOtherPolicies) {
  const EffectivePolicy per_key = policy("per-key", Algorithm::fixed_window, 1, 60000);
  const EffectivePolicy per_org =
      leased(policy("per-org", Algorithm::fixed_window, 10000, 60000, Counter::org), 100);
  ASSERT_TRUE(check({per_key}).allowed());  // key_abc's one request of the minute
  const Decision refused = check({per_key, per_org});
  EXPECT_EQ(refused.outcome, Outcome::rate_limited);
  EXPECT_EQ(counter_value(server_, per_org, clock_.now()), "");  // the org was charged nothing
  // Another key of the org takes the lease the refused request did not.
  ASSERT_TRUE(check({per_key, per_org}, subject("key_other")).allowed());
  EXPECT_EQ(counter_value(server_, per_org, clock_.now()), "101");
}

TEST_F(RedisLimiterLeaseTest, ALeaseEndsWithTheWindowItWasChargedIn) {
  const std::vector<EffectivePolicy> policies{
      leased(policy("minute", Algorithm::fixed_window, 10000, 60000), 50)};
  ASSERT_TRUE(check(policies).allowed());
  ASSERT_TRUE(from_lease(policies));
  clock_.set((clock_.now() / 60000 + 1) * 60000);  // the next window
  EXPECT_FALSE(from_lease(policies));
}

TEST_F(RedisLimiterLeaseTest, AChangedLimitOrWindowVoidsTheLease) {
  EffectivePolicy p = leased(policy("minute", Algorithm::fixed_window, 10000, 60000), 50);
  ASSERT_TRUE(check({p}).allowed());
  ASSERT_TRUE(from_lease({p}));
  p.limit = 20000;  // e.g. a per-key override
  EXPECT_FALSE(from_lease({p}));
  ASSERT_TRUE(from_lease({p}));  // that call took a lease for the new limit
  p.window_ms = 120000;
  EXPECT_FALSE(from_lease({p}));
}

TEST_F(RedisLimiterLeaseTest, ATokenBucketLeaseIsChargedToTheBucket) {
  const EffectivePolicy bucket =
      leased(policy("smooth", Algorithm::token_bucket, 6000, 60000, Counter::key, 1000), 30);
  const Decision first = check({bucket});
  ASSERT_TRUE(first.allowed());
  EXPECT_EQ(first.policies[0].remaining, 999u);
  for (std::uint64_t i = 1; i <= 30; ++i) {
    const auto [d, leased] = check_noting_lease(*limiter_, {bucket});
    ASSERT_TRUE(leased) << i;
    EXPECT_EQ(d.policies[0].remaining, 999 - i);
  }
  // Another replica sees the 31 requests as used.
  auto other = make_limiter(200ms);
  EXPECT_EQ(check(*other, {bucket}).policies[0].remaining, 968u);
}

TEST_F(RedisLimiterLeaseTest, LeasesKeepAdmittingWhileRedisIsDown) {
  const std::vector<EffectivePolicy> policies{
      leased(policy("minute", Algorithm::fixed_window, 10000, 60000), 50)};
  ASSERT_TRUE(check(policies).allowed());
  server_.stop();
  const auto [d, leased] = check_noting_lease(*limiter_, policies);
  EXPECT_TRUE(leased);
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.store_error);  // counted in Redis when the lease was granted
}

TEST_F(RedisLimiterLeaseTest, AQuotaLeaseIsCountedInTheOrgsPeriod) {
  const std::vector<EffectivePolicy> policies{leased(monthly(30000), 100)};
  ASSERT_TRUE(check(policies).allowed());
  EXPECT_EQ(org_1_quota_used(), "101");
  EXPECT_TRUE(from_lease(policies));
  EXPECT_EQ(org_1_quota_used(), "101");
}

}  // namespace
}  // namespace keygate::ratelimit
