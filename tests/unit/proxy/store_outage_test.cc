// An outage is counted and timed once however often reachability is observed.
#include "proxy/store_outage.h"

#include <gtest/gtest.h>

namespace keygate::proxy {
namespace {

using namespace std::chrono_literals;

TEST(StoreOutage, OneOutagePerTransitionWithItsDuration) {
  StoreOutage outage;
  const auto t0 = StoreOutage::Clock::now();
  outage.observe(true, "", t0);
  EXPECT_FALSE(outage.in_outage());
  for (int i = 0; i < 10; ++i) outage.observe(false, "redis unreachable", t0 + i * 250ms);
  EXPECT_TRUE(outage.in_outage());
  EXPECT_EQ(outage.outages(), 1u);
  EXPECT_EQ(outage.duration(t0 + 3s), 3000ms);
  outage.observe(true, "", t0 + 4s);
  EXPECT_FALSE(outage.in_outage());
  EXPECT_EQ(outage.duration(t0 + 5s), 0ms);
  outage.observe(false, "again", t0 + 6s);
  EXPECT_EQ(outage.outages(), 2u);
}

TEST(StoreOutage, SecondsText) {
  EXPECT_EQ(seconds_text(12345ms), "12.3");
  EXPECT_EQ(seconds_text(0ms), "0.0");
}

}  // namespace
}  // namespace keygate::proxy
