// Usage aggregation, bounds and flushing, with a manual clock and a fake store: no sleeping,
// no threads except where the flush thread itself is under test.
#include "auth/usage_recorder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/unit/auth/usage_test_fakes.h"

namespace keygate::auth {
namespace {

using testing::FakeUsageStore;

constexpr UnixSeconds kCreated = 1'714'557'600;  // 2024-05-01T10:00:00Z
constexpr UnixSeconds kDay = 24 * 3600;

class UsageRecorderTest : public ::testing::Test {
 protected:
  void make(UsageRecorderOptions options = {}) {
    options.clock = [this] { return now_.load(); };
    recorder_ = std::make_unique<UsageRecorder>(std::make_unique<FakeUsageStore>(state_),
                                                std::move(options));
    shard_ = recorder_->add_shard();
  }
  void SetUp() override { make(); }

  static UsageEvent event(std::string_view key, unsigned status, bool forwarded = true,
                          std::string_view ip = "10.0.0.1") {
    UsageEvent e;
    e.key_id = key;
    e.org = "acme";
    e.org_created_at = kCreated;
    e.status = status;
    e.client_ip = ip;
    e.reached_upstream = forwarded;
    return e;
  }

  std::atomic<UnixSeconds> now_{kCreated + 5 * kDay};
  std::shared_ptr<FakeUsageStore::State> state_ = std::make_shared<FakeUsageStore::State>();
  FakeUsageStore view_{state_};
  std::unique_ptr<UsageRecorder> recorder_;
  std::shared_ptr<UsageShard> shard_;
};

TEST(UsagePeriod, AnchoredAtCreationIn30DayPeriods) {
  EXPECT_EQ(usage_period_start(kCreated, kCreated), kCreated);
  EXPECT_EQ(usage_period_start(kCreated, kCreated + 30 * kDay - 1), kCreated);
  EXPECT_EQ(usage_period_start(kCreated, kCreated + 30 * kDay), kCreated + 30 * kDay);
  EXPECT_EQ(usage_period_start(kCreated, kCreated + 95 * kDay), kCreated + 90 * kDay);
  EXPECT_EQ(usage_period_start(kCreated, kCreated - 100), kCreated);  // clock behind
}

TEST_F(UsageRecorderTest, CountsByStatusClass) {
  for (unsigned status : {200u, 201u, 404u, 429u, 500u, 503u, 302u, 0u})
    shard_->record(event("key_a", status));
  ASSERT_TRUE(recorder_->flush());
  const KeyCounts counts = view_.counts("key_a");
  EXPECT_EQ(counts.total, 8u);
  EXPECT_EQ(counts.status_2xx, 2u);
  EXPECT_EQ(counts.status_4xx, 2u);
  EXPECT_EQ(counts.status_5xx, 2u);
  EXPECT_EQ(counts.failed(), 6u);  // 3xx and "no response" fail without a class
}

TEST_F(UsageRecorderTest, OrgCallsCountForwardedRequestsInThePeriodOfTheRequest) {
  shard_->record(event("key_a", 200));
  shard_->record(event("key_a", 500));         // forwarded: the upstream failed
  shard_->record(event("key_a", 429, false));  // refused by keygate: not a call
  UsageEvent orphan = event("key_b", 200);
  orphan.org_created_at.reset();  // no org record: no period to count in
  shard_->record(orphan);
  now_ = kCreated + 31 * kDay;  // the next period
  shard_->record(event("key_a", 200));
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.calls("acme", kCreated), 2u);
  EXPECT_EQ(view_.calls("acme", kCreated + 30 * kDay), 1u);
  EXPECT_EQ(view_.counts("key_a").total, 4u);
  EXPECT_EQ(view_.counts("key_b").total, 1u);
}

TEST_F(UsageRecorderTest, MergesShards) {
  auto other = recorder_->add_shard();
  shard_->record(event("key_a", 200));
  other->record(event("key_a", 404));
  other->record(event("key_b", 200));
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.counts("key_a").total, 2u);
  EXPECT_EQ(view_.counts("key_a").status_4xx, 1u);
  EXPECT_EQ(view_.counts("key_b").total, 1u);
  ASSERT_EQ(state_->applied.size(), 1u);  // one batch per flush
}

TEST_F(UsageRecorderTest, BoundDropsNewKeysButKeepsCountingTrackedOnes) {
  UsageRecorderOptions options;
  options.max_keys_per_shard = 2;
  make(options);
  shard_->record(event("key_a", 200));
  shard_->record(event("key_b", 200));
  shard_->record(event("key_c", 200));  // a third distinct key: over the bound
  shard_->record(event("key_a", 200));
  EXPECT_EQ(shard_->dropped(), 1u);
  EXPECT_EQ(recorder_->stats().dropped_requests, 1u);
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.counts("key_a").total, 2u);
  EXPECT_EQ(view_.counts("key_c").total, 0u);
  // The bound is per flush interval: after a flush there is room again.
  shard_->record(event("key_c", 200));
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.counts("key_c").total, 1u);
}

TEST_F(UsageRecorderTest, LastUseWrittenAtMostOncePerIntervalAndNeverLost) {
  UsageRecorderOptions options;
  options.last_used_interval = std::chrono::seconds(60);
  make(options);
  const UnixSeconds t0 = now_;
  shard_->record(event("key_a", 200, true, "10.0.0.1"));
  ASSERT_TRUE(recorder_->flush());  // first use: written at once
  now_ = t0 + 10;
  shard_->record(event("key_a", 200, true, "10.0.0.2"));
  ASSERT_TRUE(recorder_->flush());
  now_ = t0 + 30;
  shard_->record(event("key_a", 200, true, "10.0.0.3"));
  ASSERT_TRUE(recorder_->flush());
  ASSERT_EQ(view_.last_uses("key_a").size(), 1u) << "within the interval: deferred";
  EXPECT_EQ(view_.counts("key_a").total, 3u) << "counters are not deferred";

  now_ = t0 + 61;  // the interval passed: the latest deferred use goes out, without traffic
  ASSERT_TRUE(recorder_->flush());
  auto uses = view_.last_uses("key_a");
  ASSERT_EQ(uses.size(), 2u);
  EXPECT_EQ(uses[1].at, t0 + 30);
  EXPECT_EQ(uses[1].client_ip, "10.0.0.3");

  now_ = t0 + 70;
  shard_->record(event("key_a", 200, true, "10.0.0.4"));
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.last_uses("key_a").size(), 2u);
  recorder_->stop();  // shutdown writes what was deferred
  uses = view_.last_uses("key_a");
  ASSERT_EQ(uses.size(), 3u);
  EXPECT_EQ(uses[2].at, t0 + 70);
  EXPECT_EQ(uses[2].client_ip, "10.0.0.4");
}

TEST_F(UsageRecorderTest, FailedBatchIsRetriedUnderItsIdWhileNewCountsWait) {
  state_->fail_next = 1;
  for (int i = 0; i < 3; ++i) shard_->record(event("key_a", 200));
  EXPECT_FALSE(recorder_->flush());
  EXPECT_EQ(recorder_->stats().pending_keys, 1u);
  EXPECT_EQ(recorder_->stats().flushes_failed, 1u);
  shard_->record(event("key_a", 404));
  shard_->record(event("key_b", 200));
  ASSERT_TRUE(recorder_->flush());
  ASSERT_EQ(state_->attempts.size(), 3u);
  EXPECT_EQ(state_->attempts[0], state_->attempts[1]) << "the retry reuses the failed batch's id";
  EXPECT_NE(state_->attempts[1], state_->attempts[2]);
  EXPECT_EQ(view_.counts("key_a").total, 4u);
  EXPECT_EQ(view_.counts("key_a").status_4xx, 1u);
  EXPECT_EQ(view_.counts("key_b").total, 1u);
  EXPECT_EQ(recorder_->stats().pending_keys, 0u);
}

TEST_F(UsageRecorderTest, AWriteWhoseReplyWasLostIsNotCountedTwice) {
  state_->apply_then_fail_next = 1;
  shard_->record(event("key_a", 200));
  shard_->record(event("key_a", 200));
  EXPECT_FALSE(recorder_->flush());
  EXPECT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.counts("key_a").total, 2u);
  EXPECT_EQ(view_.calls("acme", kCreated), 2u);
}

TEST_F(UsageRecorderTest, OutageBacklogIsBounded) {
  UsageRecorderOptions options;
  options.max_pending_keys = 2;
  make(options);
  state_->fail_next = 100;
  shard_->record(event("key_a", 200));
  EXPECT_FALSE(recorder_->flush());  // key_a pending
  shard_->record(event("key_b", 200));
  shard_->record(event("key_c", 200));
  shard_->record(event("key_d", 200));
  EXPECT_FALSE(recorder_->flush());  // backlog holds 2 of the 3 new keys
  EXPECT_EQ(recorder_->stats().pending_keys, 3u);
  EXPECT_EQ(recorder_->stats().dropped_requests, 1u);
  state_->fail_next = 0;
  ASSERT_TRUE(recorder_->flush());
  EXPECT_EQ(view_.counts("key_a").total + view_.counts("key_b").total +
                view_.counts("key_c").total + view_.counts("key_d").total,
            3u);
}

TEST_F(UsageRecorderTest, LagGrowsDuringAnOutageAndResetsAfter) {
  std::vector<std::string> events;
  UsageRecorderOptions options;
  options.on_flush_failed = [&](const StoreStatus&) { events.push_back("failed"); };
  options.on_flush_recovered = [&] { events.push_back("recovered"); };
  make(options);
  state_->fail_next = 2;
  shard_->record(event("key_a", 200));
  EXPECT_FALSE(recorder_->flush());
  EXPECT_FALSE(recorder_->flush());
  const double lag = recorder_->stats().lag_seconds;
  EXPECT_TRUE(recorder_->flush());
  EXPECT_LE(recorder_->stats().lag_seconds, lag);
  EXPECT_EQ(events, (std::vector<std::string>{"failed", "recovered"})) << "once per outage";
}

TEST_F(UsageRecorderTest, StopFlushesWhatTheWorkersRecorded) {
  UsageRecorderOptions options;
  options.flush_interval = std::chrono::hours(1);  // only stop() can flush
  make(options);
  recorder_->start();
  shard_->record(event("key_a", 200));
  shard_->record(event("key_a", 503));
  recorder_->stop();
  EXPECT_EQ(view_.counts("key_a").total, 2u);
  EXPECT_EQ(view_.counts("key_a").status_5xx, 1u);
  recorder_->stop();  // idempotent
  EXPECT_EQ(state_->applied.size(), 1u);
}

TEST_F(UsageRecorderTest, FlushThreadWritesEveryInterval) {
  UsageRecorderOptions options;
  options.flush_interval = std::chrono::milliseconds(5);
  make(options);
  recorder_->start();
  shard_->record(event("key_a", 200));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (view_.counts("key_a").total == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(view_.counts("key_a").total, 1u);
  EXPECT_GE(recorder_->stats().flushes_ok, 1u);
}

TEST(UsageBatch, MergeAddsCountersKeepsTheLatestUseAndHonoursTheBound) {
  UsageBatch a, b;
  a.keys["key_a"] = {"acme", {2, 1, 1, 0}, LastUse{100, "1.1.1.1"}};
  b.keys["key_a"] = {"acme", {3, 3, 0, 0}, LastUse{90, "2.2.2.2"}};
  b.keys["key_b"] = {"acme", {5, 5, 0, 0}, std::nullopt};
  b.org_calls["acme"][kCreated] = 4;
  EXPECT_EQ(a.merge(b, 1), 5u) << "key_b does not fit";
  EXPECT_EQ(a.keys["key_a"].counts.total, 5u);
  EXPECT_EQ(a.keys["key_a"].last_use->client_ip, "1.1.1.1");
  EXPECT_EQ(a.org_calls["acme"][kCreated], 4u);
}

}  // namespace
}  // namespace keygate::auth
