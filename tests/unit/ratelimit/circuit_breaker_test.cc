#include "ratelimit/circuit_breaker.h"

#include <gtest/gtest.h>

#include "tests/unit/ratelimit/test_util.h"

namespace keygate::ratelimit {
namespace {

using State = CircuitBreaker::State;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  testing::ManualClock clock_;
  CircuitBreaker breaker_{3, std::chrono::milliseconds(2000), clock_.clock()};

  void fail(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(breaker_.allow());
      breaker_.on_failure();
    }
  }
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailures) {
  fail(2);
  EXPECT_EQ(breaker_.state(), State::closed);
  fail(1);
  EXPECT_EQ(breaker_.state(), State::open);
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.open_remaining_ms(), 2000);
  EXPECT_EQ(breaker_.times_opened(), 1u);
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
  fail(2);
  ASSERT_TRUE(breaker_.allow());
  breaker_.on_success();
  fail(2);
  EXPECT_EQ(breaker_.state(), State::closed);
}

TEST_F(CircuitBreakerTest, HalfOpenLetsExactlyOneProbeThrough) {
  fail(3);
  clock_.advance(1999);
  EXPECT_FALSE(breaker_.allow());
  clock_.advance(1);
  EXPECT_EQ(breaker_.state(), State::half_open);
  EXPECT_TRUE(breaker_.allow());
  EXPECT_FALSE(breaker_.allow());
  EXPECT_FALSE(breaker_.allow());
  breaker_.on_success();
  EXPECT_EQ(breaker_.state(), State::closed);
  EXPECT_TRUE(breaker_.allow());
}

TEST_F(CircuitBreakerTest, AFailedProbeReopens) {
  fail(3);
  clock_.advance(2000);
  ASSERT_TRUE(breaker_.allow());
  breaker_.on_failure();
  EXPECT_EQ(breaker_.state(), State::open);
  EXPECT_EQ(breaker_.open_remaining_ms(), 2000);
  EXPECT_FALSE(breaker_.allow());
  EXPECT_EQ(breaker_.times_opened(), 2u);
}

TEST_F(CircuitBreakerTest, LateFailuresWhileOpenDoNotExtendIt) {
  fail(3);
  clock_.advance(1000);
  breaker_.on_failure();  // a call sent before the breaker opened
  EXPECT_EQ(breaker_.open_remaining_ms(), 1000);
}

}  // namespace
}  // namespace keygate::ratelimit
