// LeaseTable on its own: one ask per counter at a time, a bound on the counters it tracks, and
// leases that stop at the end of their window on this process' clock.
#include "ratelimit/lease_table.h"

#include <gtest/gtest.h>

#include "tests/unit/ratelimit/test_util.h"

namespace keygate::ratelimit {
namespace {

using testing::policy;
using testing::subject;

EffectivePolicy minute(std::uint64_t lease) {
  EffectivePolicy p = policy("minute", Algorithm::fixed_window, 1000, 60000);
  p.lease = lease;
  return p;
}

struct Asked {
  std::vector<std::uint64_t> sizes;
  std::vector<LeaseTable::Ask> asks;
};

Asked prepare(LeaseTable& table, const std::vector<EffectivePolicy>& policies, const Subject& s,
              std::int64_t now) {
  Asked a;
  table.prepare_asks(policies, s, now, a.sizes, a.asks);
  return a;
}

// Redis granted `requests` at `now`, with the window ending at 60000.
void grant(LeaseTable& table, const LeaseTable::Ask& ask, const EffectivePolicy& p,
           std::uint64_t requests, std::int64_t now) {
  table.on_answer(ask, p, LeaseTable::Grant{requests, 900, 60000, now, now});
}

TEST(LeaseTableTest, PoliciesWithoutLeasesAskForNothing) {
  LeaseTable table(10);
  const Asked a = prepare(table, {minute(0)}, subject(), 0);
  EXPECT_TRUE(a.sizes.empty());
  EXPECT_TRUE(a.asks.empty());
  EXPECT_EQ(table.size(), 0u);
}

TEST(LeaseTableTest, OneAskPerCounterAtATime) {
  LeaseTable table(10);
  const std::vector<EffectivePolicy> policies{minute(0), minute(40)};
  const Asked first = prepare(table, policies, subject(), 0);
  EXPECT_EQ(first.sizes, (std::vector<std::uint64_t>{0, 40}));
  ASSERT_EQ(first.asks.size(), 1u);
  EXPECT_EQ(first.asks[0].policy, 1u);
  // While the first ask is out, a second request of the same counter asks for nothing.
  EXPECT_EQ(prepare(table, policies, subject(), 0).sizes, (std::vector<std::uint64_t>{0, 0}));
  // A failed call lets the next request ask again.
  table.on_answer(first.asks[0], policies[1], std::nullopt);
  EXPECT_EQ(prepare(table, policies, subject(), 0).asks.size(), 1u);
}

TEST(LeaseTableTest, AdmitsUntilSpentThenNotAtAll) {
  LeaseTable table(10);
  const std::vector<EffectivePolicy> policies{minute(3)};
  const Asked a = prepare(table, policies, subject(), 0);
  grant(table, a.asks[0], policies[0], 3, 0);
  for (std::uint64_t left = 2;; --left) {
    const auto d = table.try_admit(policies, subject(), 10);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->policies[0].remaining, 897 + left);  // 900 - 3 others, plus what is left
    if (left == 0) break;
  }
  EXPECT_FALSE(table.try_admit(policies, subject(), 10).has_value());
}

TEST(LeaseTableTest, ALeaseEndsWhenItsWindowDoesOnTheLocalClock) {
  LeaseTable table(10);
  const std::vector<EffectivePolicy> policies{minute(5)};
  const Asked a = prepare(table, policies, subject(), 0);
  // Sent at local 1000 while Redis' clock read 5000: the lease lasts the 55 s the window had
  // left, counted from the send, whatever the skew.
  table.on_answer(a.asks[0], policies[0], LeaseTable::Grant{5, 900, 60000, 5000, 1000});
  EXPECT_TRUE(table.try_admit(policies, subject(), 55999).has_value());
  EXPECT_FALSE(table.try_admit(policies, subject(), 56000).has_value());
}

TEST(LeaseTableTest, HoldsAtMostMaxEntriesCountersAndDropsEndedOnesForRoom) {
  LeaseTable table(2);
  const std::vector<EffectivePolicy> policies{minute(5)};
  for (const char* key : {"key_a", "key_b"}) {
    const Asked a = prepare(table, policies, subject(key), 0);
    ASSERT_EQ(a.asks.size(), 1u) << key;
    grant(table, a.asks[0], policies[0], 5, 0);
  }
  EXPECT_EQ(prepare(table, policies, subject("key_c"), 0).sizes[0], 0u);  // full
  EXPECT_EQ(table.size(), 2u);
  // Once the leases have ended there is room again.
  EXPECT_EQ(prepare(table, policies, subject("key_c"), 60000).sizes[0], 5u);
  EXPECT_EQ(table.size(), 1u);
}

TEST(LeaseTableTest, AFullTableIsSweptAtMostOnceASecond) {
  LeaseTable table(1);
  const std::vector<EffectivePolicy> policies{minute(5)};
  const Asked a = prepare(table, policies, subject("key_a"), 0);
  // A lease that ends at 300 ms.
  table.on_answer(a.asks[0], policies[0], LeaseTable::Grant{5, 900, 300, 0, 0});
  EXPECT_EQ(prepare(table, policies, subject("key_b"), 100).sizes[0], 0u);  // swept: none ended
  EXPECT_EQ(prepare(table, policies, subject("key_b"), 400).sizes[0], 0u);  // too soon to sweep
  EXPECT_EQ(prepare(table, policies, subject("key_b"), 1100).sizes[0], 5u);
}

}  // namespace
}  // namespace keygate::ratelimit
