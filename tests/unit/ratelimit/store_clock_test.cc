// StoreClock: the offset between this process's clock and Redis' from TIME samples.
#include "ratelimit/store_clock.h"

#include <gtest/gtest.h>

namespace keygate::ratelimit {
namespace {

TEST(StoreClockTest, TrustingTheLocalClockNeedsNoSample) {
  StoreClock clock(true);
  EXPECT_EQ(clock.at(1234), 1234);
  EXPECT_FALSE(clock.sample_due(1234));
}

TEST(StoreClockTest, UnknownUntilTheFirstSampleThenOffsetFromTheRoundTripsMiddle) {
  StoreClock clock(false);
  EXPECT_EQ(clock.at(100), std::nullopt);
  EXPECT_TRUE(clock.sample_due(100));
  clock.sample_sent();
  EXPECT_FALSE(clock.sample_due(100));  // one in flight at a time
  clock.sample(100, 104, 5000);         // Redis read 5000 at local 102
  EXPECT_EQ(clock.at(102), 5000);
  EXPECT_EQ(clock.at(1102), 6000);
}

TEST(StoreClockTest, RefreshedEveryTenSecondsAndASlowAnswerKeepsABetterOffset) {
  StoreClock clock(false);
  clock.sample_sent();
  clock.sample(0, 2, 1001);  // offset 1000
  EXPECT_FALSE(clock.sample_due(StoreClock::kRefreshMs + 1));
  EXPECT_TRUE(clock.sample_due(StoreClock::kRefreshMs + 2));
  clock.sample_sent();
  // 500 ms round trip: says little about when Redis read its clock.
  clock.sample(StoreClock::kRefreshMs, StoreClock::kRefreshMs + 500, 99999999);
  EXPECT_EQ(clock.at(0), 1000);
  EXPECT_FALSE(clock.sample_due(StoreClock::kRefreshMs + 501));  // but it counts as a refresh
}

TEST(StoreClockTest, AFailedSampleIsRetriedAtTheNextCheck) {
  StoreClock clock(false);
  clock.sample_sent();
  clock.sample_failed();
  EXPECT_TRUE(clock.sample_due(0));
  EXPECT_EQ(clock.at(0), std::nullopt);
}

TEST(StoreClockTest, TheFirstSampleIsUsedHoweverSlow) {
  StoreClock clock(false);
  clock.sample_sent();
  clock.sample(0, 400, 10200);
  EXPECT_EQ(clock.at(200), 10200);
}

}  // namespace
}  // namespace keygate::ratelimit
