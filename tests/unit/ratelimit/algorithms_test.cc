#include "ratelimit/algorithms.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace keygate::ratelimit {
namespace {

constexpr std::int64_t kStart = 1'700'000'040'000;  // a multiple of 1000 and of 60000

TEST(FloorDiv, RoundsTowardsMinusInfinity) {
  EXPECT_EQ(floor_div(7, 2), 3);
  EXPECT_EQ(floor_div(-7, 2), -4);
  EXPECT_EQ(floor_div(-8, 2), -4);
  EXPECT_EQ(floor_div(0, 5), 0);
  EXPECT_EQ(ceil_seconds(1), 1);
  EXPECT_EQ(ceil_seconds(1000), 1);
  EXPECT_EQ(ceil_seconds(1001), 2);
  EXPECT_EQ(ceil_seconds(0), 0);
  EXPECT_EQ(ceil_seconds(-1), 0);
  EXPECT_EQ(ceil_seconds(-1000), -1);
  EXPECT_EQ(ceil_seconds(-1500), -1);
}

// Found by fuzzing (tests/fuzz/resp_reply): the reset and retry times come from Redis's reply,
// and the old -floor_div(-ms, 1000) overflowed (undefined behaviour) on INT64_MIN.
TEST(CeilSeconds, IsDefinedForEveryInt64) {
  constexpr auto lo = std::numeric_limits<std::int64_t>::min();
  constexpr auto hi = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(ceil_seconds(lo), lo / 1000);
  EXPECT_EQ(ceil_seconds(hi), hi / 1000 + 1);
}

TEST(FixedWindow, AdmitsUpToTheLimitThenRefusesUntilTheWindowEnds) {
  const std::int64_t now = kStart + 250;
  Verdict v = fixed_window(0, 3, 1000, 0, now);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, 2u);
  EXPECT_EQ(v.reset_ms, kStart + 1000);
  v = fixed_window(2, 3, 1000, 0, now);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, 0u);
  v = fixed_window(3, 3, 1000, 0, now);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.remaining, 0u);
  EXPECT_EQ(v.retry_after_ms, 750);
}

TEST(FixedWindow, WindowBoundariesAreHalfOpen) {
  EXPECT_EQ(window_index(kStart - 1, 0, 1000), kStart / 1000 - 1);
  EXPECT_EQ(window_index(kStart, 0, 1000), kStart / 1000);
  EXPECT_EQ(fixed_window(5, 5, 1000, 0, kStart - 1).retry_after_ms, 1);
}

TEST(FixedWindow, LimitZeroNeverAdmits) {
  Verdict v = fixed_window(0, 0, 1000, 0, kStart);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.retry_after_ms, 1000);
}

TEST(MonthlyQuota, PeriodsAreAnchoredAtTheOrgCreation) {
  constexpr std::int64_t kPeriod = 30LL * 24 * 3600 * 1000;
  const std::int64_t created = 1'650'000'123'000;
  EXPECT_EQ(window_index(created, created, kPeriod), 0);
  EXPECT_EQ(window_index(created + kPeriod - 1, created, kPeriod), 0);
  EXPECT_EQ(window_index(created + kPeriod, created, kPeriod), 1);
  EXPECT_EQ(window_index(created - 1, created, kPeriod), -1);

  const std::int64_t now = created + 5 * kPeriod + 1234;
  Verdict v = fixed_window(100, 100, kPeriod, created, now);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reset_ms, created + 6 * kPeriod);
  EXPECT_EQ(v.retry_after_ms, kPeriod - 1234);
}

TEST(SlidingWindow, WeightsThePreviousWindowByWhatRemainsOfIt) {
  // 10 in the previous window, 30% into the current one: 7 of them still count.
  Verdict v = sliding_window({2, 10}, 10, 1000, kStart + 300);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, 10u - 2 - 7 - 1);
  v = sliding_window({3, 10}, 10, 1000, kStart + 300);
  EXPECT_FALSE(v.allowed);
  // Fits once floor(10 * (1000 - e) / 1000) <= 6, i.e. e > 300 -> e = 301.
  EXPECT_EQ(v.retry_after_ms, 1);
  v = sliding_window({3, 10}, 10, 1000, kStart + 299);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.retry_after_ms, 2);
}

TEST(SlidingWindow, ARefusalWithAFullCurrentWindowWaitsIntoTheNextOne) {
  Verdict v = sliding_window({10, 0}, 10, 1000, kStart + 900);
  EXPECT_FALSE(v.allowed);
  // Next window: floor(10 * (1000 - e) / 1000) <= 9 from e = 1.
  EXPECT_EQ(v.retry_after_ms, 100 + 1);
  EXPECT_EQ(v.reset_ms, kStart + 1000 + 1);
}

TEST(SlidingWindow, EmptyWindowsAdmitTheFullLimit) {
  Verdict v = sliding_window({0, 0}, 5, 1000, kStart);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.remaining, 4u);
  EXPECT_EQ(v.reset_ms, kStart + 1000);
}

// Simulates the sliding window with no further traffic: at `t`, the counts seen are those of
// the state recorded at `now`, shifted when t is in a later window.
bool sliding_fits_at(WindowCounts counts, std::uint64_t limit, std::int64_t w, std::int64_t now,
                     std::int64_t t) {
  const std::int64_t shift = floor_div(t, w) - floor_div(now, w);
  WindowCounts at = counts;
  if (shift == 1) at = {0, counts.current};
  if (shift >= 2) at = {0, 0};
  return sliding_window(at, limit, w, t).allowed;
}

TEST(SlidingWindow, RetryAfterIsExactlyTheFirstMomentThatFits) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 3000; ++i) {
    const std::int64_t w = std::uniform_int_distribution<std::int64_t>(10, 5000)(rng);
    const std::uint64_t limit = std::uniform_int_distribution<std::uint64_t>(1, 50)(rng);
    WindowCounts c{std::uniform_int_distribution<std::uint64_t>(0, limit)(rng),
                   std::uniform_int_distribution<std::uint64_t>(0, limit)(rng)};
    const std::int64_t now = kStart + std::uniform_int_distribution<std::int64_t>(0, w - 1)(rng);
    const Verdict v = sliding_window(c, limit, w, now);
    if (v.allowed) continue;
    ASSERT_GT(v.retry_after_ms, 0);
    EXPECT_TRUE(sliding_fits_at(c, limit, w, now, now + v.retry_after_ms))
        << "w=" << w << " limit=" << limit << " cur=" << c.current << " prev=" << c.previous;
    EXPECT_FALSE(sliding_fits_at(c, limit, w, now, now + v.retry_after_ms - 1))
        << "w=" << w << " limit=" << limit << " cur=" << c.current << " prev=" << c.previous;
  }
}

TEST(TokenBucket, AFullBucketAdmitsItsSizeAtOnceThenRefillsAtTheRate) {
  // 10 per second: one token every 100 ms.
  double tat = 0;
  bool has = false;
  std::int64_t now = kStart;
  for (int i = 0; i < 10; ++i) {
    GcraVerdict g = token_bucket(has, tat, 10, 1000, 10, now);
    ASSERT_TRUE(g.verdict.allowed) << i;
    EXPECT_EQ(g.verdict.remaining, static_cast<std::uint64_t>(9 - i));
    tat = g.new_tat;
    has = true;
  }
  GcraVerdict refused = token_bucket(has, tat, 10, 1000, 10, now);
  EXPECT_FALSE(refused.verdict.allowed);
  EXPECT_EQ(refused.verdict.retry_after_ms, 100);
  EXPECT_EQ(refused.verdict.reset_ms, kStart + 1000);
  EXPECT_FALSE(token_bucket(has, tat, 10, 1000, 10, now + 99).verdict.allowed);
  GcraVerdict later = token_bucket(has, tat, 10, 1000, 10, now + 100);
  EXPECT_TRUE(later.verdict.allowed);
  EXPECT_EQ(later.verdict.remaining, 0u);
  // After a full window the bucket is full again.
  EXPECT_EQ(token_bucket(has, tat, 10, 1000, 10, now + 1000).verdict.remaining, 9u);
}

TEST(TokenBucket, BurstBoundsTheBucketNotTheRate) {
  double tat = 0;
  bool has = false;
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    GcraVerdict g = token_bucket(has, tat, 60, 60000, 3, kStart);
    if (!g.verdict.allowed) continue;
    ++admitted;
    tat = g.new_tat;
    has = true;
  }
  EXPECT_EQ(admitted, 3);
  // Idle for a long time: still only 3 at once.
  admitted = 0;
  for (int i = 0; i < 10; ++i) {
    GcraVerdict g = token_bucket(has, tat, 60, 60000, 3, kStart + 3'600'000);
    if (!g.verdict.allowed) continue;
    ++admitted;
    tat = g.new_tat;
  }
  EXPECT_EQ(admitted, 3);
}

TEST(TokenBucket, RetryAfterIsNeverEarlyWithFractionalIntervals) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t limit = std::uniform_int_distribution<std::uint64_t>(1, 97)(rng);
    const std::int64_t w = std::uniform_int_distribution<std::int64_t>(1000, 120000)(rng);
    const std::uint64_t size = std::uniform_int_distribution<std::uint64_t>(1, limit)(rng);
    double tat = 0;
    bool has = false;
    std::int64_t now = kStart + std::uniform_int_distribution<std::int64_t>(0, 999)(rng);
    for (;;) {
      GcraVerdict g = token_bucket(has, tat, limit, w, size, now);
      if (!g.verdict.allowed) {
        const std::int64_t retry = g.verdict.retry_after_ms;
        ASSERT_TRUE(token_bucket(has, tat, limit, w, size, now + retry).verdict.allowed);
        ASSERT_FALSE(token_bucket(has, tat, limit, w, size, now + retry - 1).verdict.allowed);
        break;
      }
      tat = g.new_tat;
      has = true;
    }
  }
}

}  // namespace
}  // namespace keygate::ratelimit
