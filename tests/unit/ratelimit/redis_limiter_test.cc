// RedisLimiter against a real redis-server: the same decisions as the in-memory limiter, one
// EVALSHA per check, and the failure modes and circuit breaker when Redis goes away.
#include "ratelimit/redis_limiter.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/ratelimit/redis_limiter_fixture.h"

namespace keygate::ratelimit {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;
using testing::check_in_one_turn;
using testing::evalsha_calls;
using testing::monthly;
using testing::policy;
using testing::RedisLimiterTest;
using testing::run_until;
using testing::subject;

// `recalled`: the refusal came from the limiter's memory (refusal_memory.h), which keeps the
// verdict and the refusing policy exact; what it shows of the other policies is as of the
// refusal Redis gave.
void expect_same(const Decision& redis, const Decision& memory, int step, bool recalled = false) {
  ASSERT_EQ(redis.outcome, memory.outcome) << "step " << step;
  ASSERT_EQ(redis.policies.size(), memory.policies.size());
  EXPECT_EQ(redis.now_ms, memory.now_ms);
  EXPECT_EQ(redis.retry_after_s, memory.retry_after_s) << "step " << step;
  EXPECT_EQ(redis.refused, memory.refused) << "step " << step;
  EXPECT_EQ(redis.closest, memory.closest) << "step " << step;
  for (std::size_t i = 0; i < redis.policies.size(); ++i) {
    const PolicyDecision& r = redis.policies[i];
    const PolicyDecision& m = memory.policies[i];
    EXPECT_EQ(r.allowed, m.allowed) << "step " << step << " " << r.name;
    if (recalled && r.allowed) continue;
    EXPECT_EQ(r.limit, m.limit) << "step " << step << " " << r.name;
    EXPECT_EQ(r.remaining, m.remaining) << "step " << step << " " << r.name;
    EXPECT_EQ(r.reset_ms, m.reset_ms) << "step " << step << " " << r.name;
    EXPECT_EQ(r.retry_after_ms, m.retry_after_ms) << "step " << step << " " << r.name;
  }
  EXPECT_FALSE(redis.store_error);
}

TEST_F(RedisLimiterTest, DecidesExactlyLikeTheInMemoryLimiter) {
  InMemoryLimiter memory(clock_.clock());
  const std::vector<std::vector<EffectivePolicy>> sets{
      {policy("fixed", Algorithm::fixed_window, 5, 2000)},
      {policy("sliding", Algorithm::sliding_window, 7, 3000)},
      {policy("bucket", Algorithm::token_bucket, 7, 3000, Counter::key, 3)},
      {policy("per-key", Algorithm::sliding_window, 6, 5000),
       policy("per-org", Algorithm::token_bucket, 13, 7000, Counter::org),
       policy("route", Algorithm::fixed_window, 20, 10000, Counter::route),
       policy("ip", Algorithm::sliding_window, 9, 4000, Counter::client_ip), monthly(40)},
  };
  const std::vector<Subject> subjects{subject("key_a", "org_1"), subject("key_b", "org_1"),
                                      subject("key_c", "org_2"), subject("", "")};
  std::mt19937_64 rng(11);
  int step = 0;
  for (const auto& policies : sets) {
    for (int i = 0; i < 150; ++i, ++step) {
      clock_.advance(std::uniform_int_distribution<std::int64_t>(0, 700)(rng));
      const Subject& s = subjects[std::uniform_int_distribution<std::size_t>(0, 3)(rng)];
      const auto recalled_before = limiter_->stats().refusals_recalled;
      const Decision from_redis = check(policies, s);
      const Decision from_memory = memory.check_now(policies, s);
      expect_same(from_redis, from_memory, step,
                  limiter_->stats().refusals_recalled != recalled_before);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST_F(RedisLimiterTest, OneEvalshaPerCheckWhateverThePolicyCount) {
  const std::vector<EffectivePolicy> policies{
      policy("a", Algorithm::sliding_window, 100, 60000),
      policy("b", Algorithm::token_bucket, 100, 60000, Counter::org),
      policy("c", Algorithm::fixed_window, 100, 60000, Counter::route), monthly(1000)};
  ASSERT_TRUE(check(policies).allowed());  // the first use also loads the script
  ASSERT_EQ(server_.command({"CONFIG", "RESETSTAT"}).str, "OK");
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(check(policies).allowed());
  EXPECT_EQ(evalsha_calls(server_), 20);
  const redis::Reply info = server_.command({"INFO", "commandstats"});
  EXPECT_EQ(info.str.find("cmdstat_eval:"), std::string::npos);
  EXPECT_EQ(info.str.find("cmdstat_script"), std::string::npos);
}

TEST_F(RedisLimiterTest, CountersAreHashTaggedAndExpire) {
  const std::vector<EffectivePolicy> policies{
      policy("per-key-minute", Algorithm::sliding_window, 60, 60000),
      policy("bucket", Algorithm::token_bucket, 10, 1000, Counter::org)};
  ASSERT_TRUE(check(policies).allowed());
  const std::string window_key =
      "kg:rl:{org_1}:per-key-minute:key:key_abc:" + std::to_string(clock_.now() / 60000);
  EXPECT_EQ(server_.command({"GET", window_key}).str, "1");
  const redis::Reply ttl = server_.command({"PTTL", window_key});
  EXPECT_GT(ttl.integer, 60000);
  EXPECT_LE(ttl.integer, 2 * 60000 + 1000);
  const redis::Reply bucket_ttl = server_.command({"PTTL", "kg:rl:{org_1}:bucket:org:org_1"});
  EXPECT_GT(bucket_ttl.integer, 0);
  EXPECT_LE(bucket_ttl.integer, 100 + 1000);
  EXPECT_EQ(server_.command({"DBSIZE"}).integer, 2);
}

TEST_F(RedisLimiterTest, ARefusalLeavesEveryCounterUntouched) {
  const std::vector<EffectivePolicy> policies{policy("per-key", Algorithm::fixed_window, 2, 60000),
                                              monthly(100)};
  ASSERT_TRUE(check(policies).allowed());
  ASSERT_TRUE(check(policies).allowed());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(check(policies).outcome, Outcome::rate_limited);
  EXPECT_EQ(org_1_quota_used(), "2");
}

TEST_F(RedisLimiterTest, ServerTimeModeUsesTheRedisClock) {
  RedisLimiterOptions options;
  options.timeout = 200ms;
  options.clock = clock_.clock();  // far from the real time on purpose
  auto limiter = make_redis_limiter(io_.get_executor(), client_, options);
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 5, 60000)};
  const Decision d = check(*limiter, policies);
  ASSERT_TRUE(d.allowed());
  const auto real_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  EXPECT_NEAR(static_cast<double>(d.now_ms), static_cast<double>(real_now), 5000.0);
  EXPECT_GT(d.policies[0].reset_ms, d.now_ms);
  EXPECT_LE(d.policies[0].reset_ms, d.now_ms + 60000);
}

TEST_F(RedisLimiterTest, FailOpenAllowsAndFlagsTheStoreError) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 1, 60000)};
  server_.stop();
  const Decision d = check(policies, with_mode(conf::LimitFailureMode::fail_open));
  EXPECT_TRUE(d.allowed());
  EXPECT_TRUE(d.store_error);
  EXPECT_TRUE(d.policies.empty());
  EXPECT_EQ(limiter_->stats().store_errors, 1u);
}

TEST_F(RedisLimiterTest, FailClosedRefusesAsUnavailableWithRetryAfter) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 1, 60000)};
  server_.stop();
  const Decision d = check(policies, with_mode(conf::LimitFailureMode::fail_closed));
  EXPECT_EQ(d.outcome, Outcome::unavailable);
  EXPECT_TRUE(d.store_error);
  EXPECT_GE(d.retry_after_s, 1);
}

TEST_F(RedisLimiterTest, LocalFallsBackToInMemoryWithLimitsDividedByReplicas) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 4, 60000)};
  server_.stop();
  const Subject s = with_mode(conf::LimitFailureMode::local);
  Decision first = check(policies, s);
  EXPECT_TRUE(first.allowed());
  EXPECT_TRUE(first.store_error);
  EXPECT_TRUE(first.local_fallback);
  EXPECT_EQ(first.policies[0].limit, 2u);
  EXPECT_TRUE(check(policies, s).allowed());
  Decision third = check(policies, s);
  EXPECT_EQ(third.outcome, Outcome::rate_limited);
  EXPECT_TRUE(third.local_fallback);
}

TEST_F(RedisLimiterTest, BreakerOpensThenProbesAndRecoversAfterRestart) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 50, 60000)};
  ASSERT_TRUE(check(policies).allowed());
  server_.stop();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(check(policies).store_error);
  EXPECT_EQ(limiter_->breaker().state(), CircuitBreaker::State::open);
  EXPECT_EQ(limiter_->stats().store_errors, 3u);

  // While open nothing is sent: the decision comes inline.
  bool inline_done = false;
  limiter_->check(policies, with_mode(conf::LimitFailureMode::fail_closed), [&](Decision d) {
    inline_done = true;
    EXPECT_EQ(d.outcome, Outcome::unavailable);
    EXPECT_EQ(d.retry_after_s, 2);  // until the breaker lets a probe through
  });
  EXPECT_TRUE(inline_done);
  EXPECT_EQ(limiter_->stats().breaker_rejected, 1u);

  server_.start();
  ASSERT_TRUE(run_until(io_, [&] { return client_->connected(); }));
  // Still open until open_for has passed, even though Redis is back.
  EXPECT_TRUE(check(policies).store_error);
  clock_.advance(2000);
  const Decision probe = check(policies);
  EXPECT_FALSE(probe.store_error);
  EXPECT_TRUE(probe.allowed());
  EXPECT_EQ(limiter_->breaker().state(), CircuitBreaker::State::closed);
  // Redis lost its data on restart (no persistence): counting started again.
  EXPECT_EQ(probe.policies[0].remaining, 49u);
}

TEST_F(RedisLimiterTest, ASlowRedisTimesOutAtTheLimiterDeadline) {
  auto limiter = make_limiter(30ms);
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 5, 60000)};
  ASSERT_TRUE(check(*limiter, policies).allowed());
  ASSERT_EQ(server_.command({"CLIENT", "PAUSE", "300", "ALL"}).str, "OK");
  const auto started = std::chrono::steady_clock::now();
  const Decision d = check(*limiter, policies, with_mode(conf::LimitFailureMode::fail_closed));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(d.outcome, Outcome::unavailable);
  EXPECT_LT(took, 250ms);
  EXPECT_EQ(limiter->stats().store_errors, 1u);
}

// Starts `subjects.size()` checks in one turn of the event loop (nothing runs in between),
// then waits for every decision.
TEST_F(RedisLimiterTest, BatchedChecksDecideExactlyLikeTheInMemoryLimiter) {
  InMemoryLimiter memory(clock_.clock());
  const std::vector<EffectivePolicy> policies{
      policy("per-key", Algorithm::sliding_window, 6, 5000),
      policy("per-org", Algorithm::token_bucket, 13, 7000, Counter::org, 4),
      policy("route", Algorithm::fixed_window, 20, 10000, Counter::route), monthly(60)};
  const std::vector<Subject> subjects{subject("key_a", "org_1"), subject("key_b", "org_1"),
                                      subject("key_c", "org_2")};
  std::mt19937_64 rng(5);
  for (int step = 0; step < 60; ++step) {
    clock_.advance(std::uniform_int_distribution<std::int64_t>(0, 1500)(rng));
    std::vector<Subject> turn(std::uniform_int_distribution<std::size_t>(1, 8)(rng));
    for (auto& s : turn) s = subjects[std::uniform_int_distribution<std::size_t>(0, 2)(rng)];
    const auto from_redis = check_in_one_turn(io_, *limiter_, policies, turn);
    for (std::size_t i = 0; i < turn.size(); ++i)
      expect_same(from_redis[i], memory.check_now(policies, turn[i]), step);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_F(RedisLimiterTest, ChecksOfOneTurnShareOneScriptCallAndAreDecidedInOrder) {
  const std::vector<EffectivePolicy> policies{
      policy("minute", Algorithm::fixed_window, 4, 60000),
      policy("smooth", Algorithm::token_bucket, 100, 60000),
      policy("sliding", Algorithm::sliding_window, 50, 60000)};
  ASSERT_TRUE(check(policies, subject("warm-up")).allowed());  // loads the script
  ASSERT_EQ(server_.command({"CONFIG", "RESETSTAT"}).str, "OK");
  const auto calls_before = limiter_->stats().script_calls;

  const auto decisions =
      check_in_one_turn(io_, *limiter_, policies, std::vector<Subject>(10, subject()));
  EXPECT_EQ(evalsha_calls(server_), 1);
  EXPECT_EQ(limiter_->stats().script_calls, calls_before + 1);
  // Exactly as ten calls one after the other would decide.
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    ASSERT_EQ(d.policies.size(), 3u);
    EXPECT_FALSE(d.store_error);
    if (i < 4) {
      EXPECT_TRUE(d.allowed()) << i;
      EXPECT_EQ(d.policies[0].remaining, 3 - i) << i;
      EXPECT_EQ(d.policies[2].remaining, 49 - i) << i;
    } else {
      EXPECT_EQ(d.outcome, Outcome::rate_limited) << i;
      EXPECT_EQ(d.refused, 0u) << i;
      // Refused requests charged nothing: the other policies still show four uses.
      EXPECT_EQ(d.policies[2].remaining, 45u) << i;
    }
  }
}

TEST_F(RedisLimiterTest, ARefusedRequestInABatchLeavesTheSharedQuotaToTheOthers) {
  const std::vector<EffectivePolicy> policies{policy("per-key", Algorithm::fixed_window, 1, 60000),
                                              monthly(100)};
  ASSERT_TRUE(check(policies, subject("warm-up", "org_warm")).allowed());
  const auto decisions = check_in_one_turn(io_, *limiter_, policies,
                                           {subject("key_a"), subject("key_a"), subject("key_b")});
  EXPECT_TRUE(decisions[0].allowed());
  EXPECT_EQ(decisions[1].outcome, Outcome::rate_limited);
  EXPECT_TRUE(decisions[2].allowed());
  EXPECT_EQ(decisions[2].policies[1].remaining, 98u);  // key_a's first call and key_b's
  EXPECT_EQ(org_1_quota_used(), "2");
}

TEST_F(RedisLimiterTest, ABatchHoldsAtMostMaxBatchChecks) {
  RedisLimiterOptions options;
  options.timeout = 200ms;
  options.server_time = false;
  options.clock = clock_.clock();
  options.max_batch = 4;
  auto limiter = make_redis_limiter(io_.get_executor(), client_, options);
  const std::vector<EffectivePolicy> policies{
      policy("minute", Algorithm::sliding_window, 100, 60000)};
  ASSERT_TRUE(check(*limiter, policies).allowed());
  ASSERT_EQ(server_.command({"CONFIG", "RESETSTAT"}).str, "OK");
  const auto decisions =
      check_in_one_turn(io_, *limiter, policies, std::vector<Subject>(10, subject()));
  EXPECT_EQ(evalsha_calls(server_), 3);  // 4 + 4 + 2
  for (std::size_t i = 0; i < decisions.size(); ++i)
    EXPECT_EQ(decisions[i].policies.at(0).remaining, 98 - i) << i;
}

TEST_F(RedisLimiterTest, AFailedBatchAnswersEachCheckByItsRoutesFailureMode) {
  const std::vector<EffectivePolicy> policies{
      policy("minute", Algorithm::sliding_window, 5, 60000)};
  ASSERT_TRUE(check(policies).allowed());
  server_.stop();
  const auto decisions = check_in_one_turn(
      io_, *limiter_, policies,
      {with_mode(conf::LimitFailureMode::fail_open), with_mode(conf::LimitFailureMode::fail_closed),
       with_mode(conf::LimitFailureMode::local)});
  EXPECT_TRUE(decisions[0].allowed());
  EXPECT_EQ(decisions[1].outcome, Outcome::unavailable);
  EXPECT_TRUE(decisions[2].allowed());
  EXPECT_TRUE(decisions[2].local_fallback);
  for (const Decision& d : decisions) EXPECT_TRUE(d.store_error);
  EXPECT_EQ(limiter_->stats().store_errors, 1u);      // one failed call,
  EXPECT_EQ(limiter_->breaker().times_opened(), 0u);  // one failure for the breaker
}

std::int64_t incrs_run(const RedisServer& server) {
  const redis::Reply info = server.command({"INFO", "commandstats"});
  const auto at = info.str.find("cmdstat_incr:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(info.str.substr(at + std::string_view("cmdstat_incr:calls=").size()));
}

TEST_F(RedisLimiterTest, ALoneFixedWindowIsCountedByIncrWithoutTheScript) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 3, 60000)};
  InMemoryLimiter memory(clock_.clock());
  for (int i = 0; i < 4; ++i) {
    expect_same(check(policies), memory.check_now(policies, subject()), i);
    clock_.advance(1000);
  }
  EXPECT_EQ(evalsha_calls(server_), 0);
  EXPECT_EQ(incrs_run(server_), 4);
  EXPECT_EQ(limiter_->stats().incr_calls, 4u);
  const std::string counter =
      "kg:rl:{org_1}:minute:key:key_abc:" + std::to_string(clock_.now() / 60000);
  // The refused fourth request is counted too (nothing reads a fixed window but INCR).
  EXPECT_EQ(server_.command({"GET", counter}).str, "4");
  // The first INCR set the expiry: the window's end (seen from then) plus the slack.
  const redis::Reply ttl = server_.command({"PTTL", counter});
  EXPECT_GT(ttl.integer, 0);
  EXPECT_LE(ttl.integer, 60000 + 1000);
  // Refused again from memory until the window ends; then a new window, a new counter.
  EXPECT_EQ(check(policies).outcome, Outcome::rate_limited);
  EXPECT_EQ(incrs_run(server_), 4);
  clock_.advance(60000);
  EXPECT_TRUE(check(policies).allowed());
  EXPECT_EQ(incrs_run(server_), 5);
}

TEST_F(RedisLimiterTest, ALoneFixedWindowIsCountedOnTheRedisClock) {
  RedisLimiterOptions options;
  options.timeout = 200ms;
  options.clock = clock_.clock();  // hours away from Redis' clock on purpose
  auto limiter = make_redis_limiter(io_.get_executor(), client_, options);
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 5, 60000)};
  // The first check goes to the script (Redis' TIME not sampled yet), the later ones by INCR
  // once it was: all to the one counter of Redis' current window.
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions.push_back(check(*limiter, policies));
  EXPECT_EQ(limiter->stats().script_calls, 1u);
  EXPECT_EQ(limiter->stats().incr_calls, 2u);
  const auto real_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(decisions[i].now_ms), static_cast<double>(real_now), 5000.0);
    EXPECT_EQ(decisions[i].policies[0].remaining, 4 - i) << i;
  }
}

TEST_F(RedisLimiterTest, ALoneFixedWindowFailsByItsRoutesFailureMode) {
  const std::vector<EffectivePolicy> policies{policy("minute", Algorithm::fixed_window, 5, 60000)};
  ASSERT_TRUE(check(policies).allowed());
  server_.stop();
  const Decision open = check(policies, with_mode(conf::LimitFailureMode::fail_open));
  EXPECT_TRUE(open.allowed());
  EXPECT_TRUE(open.store_error);
  const Decision closed = check(policies, with_mode(conf::LimitFailureMode::fail_closed));
  EXPECT_EQ(closed.outcome, Outcome::unavailable);
  const Decision local = check(policies, with_mode(conf::LimitFailureMode::local));
  EXPECT_TRUE(local.local_fallback);
  EXPECT_EQ(limiter_->stats().store_errors, 3u);
}

TEST_F(RedisLimiterTest, NoPoliciesNeedsNoRoundTrip) {
  bool done = false;
  limiter_->check({}, subject(), [&](Decision d) {
    done = true;
    EXPECT_TRUE(d.allowed());
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace keygate::ratelimit
