#include "ratelimit/decision.h"

#include <gtest/gtest.h>

namespace keygate::ratelimit {
namespace {

PolicyDecision pd(std::string name, std::uint64_t limit, std::uint64_t remaining,
                  std::int64_t retry_ms = -1, bool quota = false) {
  PolicyDecision p;
  p.name = std::move(name);
  p.limit = limit;
  p.remaining = remaining;
  p.allowed = retry_ms < 0;
  p.retry_after_ms = p.allowed ? 0 : retry_ms;
  p.retry_after_s = ceil_seconds(p.retry_after_ms);
  p.is_quota = quota;
  return p;
}

TEST(Decide, AllowedWhenEveryPolicyAllows) {
  Decision d = decide({pd("a", 10, 5), pd("b", 100, 20)}, 1000);
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.refused.has_value());
  EXPECT_EQ(d.retry_after_s, 0);
  EXPECT_EQ(d.now_ms, 1000);
}

TEST(Decide, ClosestIsTheLowestRemainingRatio) {
  // 5/10 = 0.5, 20/100 = 0.2, 3/5 = 0.6
  Decision d = decide({pd("a", 10, 5), pd("b", 100, 20), pd("c", 5, 3)}, 0);
  EXPECT_EQ(*d.closest, 1u);
  // Ties go to the first listed.
  d = decide({pd("a", 10, 5), pd("b", 20, 10)}, 0);
  EXPECT_EQ(*d.closest, 0u);
}

TEST(Decide, RetryAfterIsTheLongestWaitRoundedUp) {
  Decision d = decide({pd("a", 10, 0, 1500), pd("b", 100, 50), pd("c", 5, 0, 200)}, 0);
  EXPECT_EQ(d.outcome, Outcome::rate_limited);
  EXPECT_EQ(*d.refused, 0u);
  EXPECT_EQ(d.retry_after_s, 2);
  EXPECT_EQ(*d.closest, 0u);
}

TEST(Decide, QuotaWinsATieForTheRefusal) {
  Decision d = decide({pd("minute", 10, 0, 5000), pd("monthly_quota", 100, 0, 5000, true)}, 0);
  EXPECT_EQ(*d.refused, 1u);
}

TEST(Decide, StoreFailures) {
  Decision open = store_failure_allowed(5);
  EXPECT_TRUE(open.allowed());
  EXPECT_TRUE(open.store_error);
  Decision closed = store_failure_refused(5, 1);
  EXPECT_EQ(closed.outcome, Outcome::unavailable);
  EXPECT_TRUE(closed.store_error);
  EXPECT_EQ(closed.retry_after_s, 1);
  EXPECT_EQ(store_failure_refused(5, 2001).retry_after_s, 3);
}

TEST(MakePolicyDecision, RoundsResetAndRetryUp) {
  EffectivePolicy p;
  p.name = "x";
  p.limit = 10;
  p.window_ms = 60000;
  Verdict v;
  v.allowed = false;
  v.reset_ms = 1'700'000'000'001;
  v.retry_after_ms = 1001;
  PolicyDecision d = make_policy_decision(p, v);
  EXPECT_EQ(d.reset_unix_s, 1'700'000'001);
  EXPECT_EQ(d.retry_after_s, 2);
  EXPECT_EQ(d.window.count(), 60000);
  EXPECT_FALSE(d.is_quota);
}

}  // namespace
}  // namespace keygate::ratelimit
