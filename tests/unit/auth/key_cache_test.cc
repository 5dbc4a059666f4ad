#include "auth/key_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace keygate::auth {
namespace {

using namespace std::chrono_literals;
using Outcome = KeyCache::Outcome;

conf::CacheConfig small_config() {
  conf::CacheConfig c;
  c.positive_ttl = 30s;
  c.negative_ttl = 5s;
  c.max_entries = 4;
  c.max_negative_entries = 2;
  c.stale_grace = 300s;
  return c;
}

std::shared_ptr<const KeyRecord> record(const std::string& id, const std::string& org = "org") {
  auto k = std::make_shared<KeyRecord>();
  k->id = id;
  k->org = org;
  return k;
}

class KeyCacheTest : public ::testing::Test {
 protected:
  KeyCache::TimePoint t0 = KeyCache::TimePoint(1000s);
};

TEST_F(KeyCacheTest, SmallCacheUsesOneShard) {
  EXPECT_EQ(KeyCache(small_config()).shard_count(), 1u);
  EXPECT_EQ(KeyCache(conf::CacheConfig{}).shard_count(), 9u);  // 10000 negatives / 1024
  conf::CacheConfig big;
  big.max_negative_entries = 1'000'000;
  EXPECT_EQ(KeyCache(big).shard_count(), KeyCache::kMaxShards);
}

TEST_F(KeyCacheTest, PositiveHitUntilTtl) {
  KeyCache cache(small_config());
  auto org = std::make_shared<OrgRecord>(OrgRecord{"org", "free", 0});
  cache.put("h1", record("k1"), org, t0);
  auto r = cache.lookup("h1", t0 + 29s);
  ASSERT_EQ(r.outcome, Outcome::hit);
  EXPECT_EQ(r.key->id, "k1");
  EXPECT_EQ(r.org, org);
  EXPECT_EQ(cache.lookup("h1", t0 + 30s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup("unknown", t0).outcome, Outcome::miss);
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
}

TEST_F(KeyCacheTest, NullOrgAllowed) {
  KeyCache cache(small_config());
  cache.put("h1", record("k1"), nullptr, t0);
  auto r = cache.lookup("h1", t0);
  EXPECT_EQ(r.outcome, Outcome::hit);
  EXPECT_EQ(r.org, nullptr);
}

TEST_F(KeyCacheTest, NegativeHitUntilTtl) {
  KeyCache cache(small_config());
  cache.put_negative("bad", t0);
  EXPECT_EQ(cache.lookup("bad", t0 + 4s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup("bad", t0 + 5s).outcome, Outcome::miss);
  EXPECT_EQ(cache.negative_size(), 0u);  // expired negatives are dropped on sight
  EXPECT_EQ(cache.stats().negative_hits, 1u);
}

TEST_F(KeyCacheTest, NegativeBoundEvictsOldestNegative) {
  KeyCache cache(small_config());
  cache.put("p1", record("k1"), nullptr, t0);
  cache.put_negative("n1", t0);
  cache.put_negative("n2", t0 + 1s);
  cache.put_negative("n3", t0 + 2s);
  EXPECT_EQ(cache.negative_size(), 2u);
  EXPECT_EQ(cache.lookup("n1", t0 + 2s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup("n2", t0 + 2s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup("n3", t0 + 2s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup("p1", t0 + 2s).outcome, Outcome::hit);
}

TEST_F(KeyCacheTest, FloodOfUnknownKeysNeverEvictsPositives) {
  KeyCache cache(small_config());
  for (int i = 0; i < 4; ++i) cache.put("p" + std::to_string(i), record("k"), nullptr, t0);
  for (int i = 0; i < 1000; ++i) cache.put_negative("n" + std::to_string(i), t0);
  EXPECT_EQ(cache.positive_size(), 4u);
  EXPECT_EQ(cache.negative_size(), 0u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(cache.lookup("p" + std::to_string(i), t0).outcome, Outcome::hit);
}

TEST_F(KeyCacheTest, TotalBoundEvictsNegativesFirstThenLru) {
  KeyCache cache(small_config());
  cache.put_negative("n1", t0);
  cache.put_negative("n2", t0);
  cache.put("p1", record("k1"), nullptr, t0);
  cache.put("p2", record("k2"), nullptr, t0);
  EXPECT_EQ(cache.size(), 4u);
  cache.put("p3", record("k3"), nullptr, t0);  // evicts n1
  EXPECT_EQ(cache.negative_size(), 1u);
  cache.put("p4", record("k4"), nullptr, t0);  // evicts n2
  EXPECT_EQ(cache.negative_size(), 0u);
  EXPECT_EQ(cache.lookup("p1", t0).outcome, Outcome::hit);  // p1 now most recently used
  cache.put("p5", record("k5"), nullptr, t0);               // evicts LRU: p2
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.lookup("p2", t0).outcome, Outcome::miss);
  for (const char* h : {"p1", "p3", "p4", "p5"})
    EXPECT_EQ(cache.lookup(h, t0).outcome, Outcome::hit);
  EXPECT_EQ(cache.stats().evictions, 3u);
}

TEST_F(KeyCacheTest, PutReplacesEntryOfEitherKind) {
  KeyCache cache(small_config());
  cache.put_negative("h", t0);
  cache.put("h", record("k1"), nullptr, t0 + 1s);
  EXPECT_EQ(cache.negative_size(), 0u);
  EXPECT_EQ(cache.positive_size(), 1u);
  EXPECT_EQ(cache.lookup("h", t0 + 1s).outcome, Outcome::hit);
  cache.put("h", record("k2"), nullptr, t0 + 2s);
  EXPECT_EQ(cache.lookup("h", t0 + 2s).key->id, "k2");
  cache.put_negative("h", t0 + 3s);
  EXPECT_EQ(cache.positive_size(), 0u);
  EXPECT_EQ(cache.lookup("h", t0 + 3s).outcome, Outcome::negative_hit);
}

TEST_F(KeyCacheTest, Invalidate) {
  KeyCache cache(small_config());
  cache.put("h1", record("k1"), nullptr, t0);
  cache.put_negative("n1", t0);
  EXPECT_TRUE(cache.invalidate("h1"));
  EXPECT_FALSE(cache.invalidate("h1"));
  EXPECT_TRUE(cache.invalidate("n1"));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup("h1", t0).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup_stale("h1", t0).outcome, Outcome::miss);
}

TEST_F(KeyCacheTest, InvalidateOrgAndAll) {
  KeyCache cache(small_config());
  cache.put("a1", record("k1", "org_a"), nullptr, t0);
  cache.put("a2", record("k2", "org_a"), nullptr, t0);
  cache.put("b1", record("k3", "org_b"), nullptr, t0);
  cache.put_negative("n1", t0);
  EXPECT_EQ(cache.invalidate_org("org_a"), 2u);
  EXPECT_EQ(cache.positive_size(), 1u);
  EXPECT_EQ(cache.lookup("b1", t0).outcome, Outcome::hit);
  cache.invalidate_all();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup("b1", t0).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup("n1", t0).outcome, Outcome::miss);
}

TEST_F(KeyCacheTest, StaleLookupWithinGrace) {
  KeyCache cache(small_config());
  cache.put("h1", record("k1"), nullptr, t0);
  cache.put_negative("n1", t0);
  EXPECT_EQ(cache.lookup("h1", t0 + 60s).outcome, Outcome::miss);  // TTL passed, entry kept
  auto stale = cache.lookup_stale("h1", t0 + 299s);
  ASSERT_EQ(stale.outcome, Outcome::hit);
  EXPECT_EQ(stale.key->id, "k1");
  EXPECT_EQ(cache.lookup_stale("h1", t0 + 300s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup_stale("n1", t0).outcome, Outcome::miss);  // negatives are never stale hits
  EXPECT_EQ(cache.stats().stale_hits, 1u);
}

TEST_F(KeyCacheTest, EntriesPastStaleGraceAreDropped) {
  KeyCache cache(small_config());
  cache.put("h1", record("k1"), nullptr, t0);
  EXPECT_EQ(cache.lookup("h1", t0 + 301s).outcome, Outcome::miss);
  EXPECT_EQ(cache.positive_size(), 0u);
}

TEST_F(KeyCacheTest, ZeroBoundsDisableCaching) {
  conf::CacheConfig c = small_config();
  c.max_entries = 0;
  c.max_negative_entries = 0;
  KeyCache cache(c);
  cache.put("h1", record("k1"), nullptr, t0);
  cache.put_negative("n1", t0);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(KeyCacheTest, ConcurrentUseStaysWithinBounds) {
  conf::CacheConfig c;
  c.max_entries = 4096;
  c.max_negative_entries = 2048;
  KeyCache cache(c);
  ASSERT_EQ(cache.shard_count(), 2u);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        const std::string h = std::to_string(t) + ":" + std::to_string(i);
        if (i % 2) {
          cache.put(h, record(h), nullptr, t0);
        } else {
          cache.put_negative(h, t0);
        }
        cache.lookup(h, t0);
        if (i % 7 == 0) cache.invalidate(h);
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.size(), 4096u);
  EXPECT_LE(cache.negative_size(), 2048u);
  EXPECT_GT(cache.positive_size(), 0u);
}

}  // namespace
}  // namespace keygate::auth
