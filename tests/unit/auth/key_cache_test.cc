#include "auth/key_cache.h"

#include <gtest/gtest.h>

#include <cctype>
#include <thread>

#include "auth/key_hash.h"

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

KeyRecord record(const std::string& id, const std::string& org = "org") {
  KeyRecord k;
  k.id = id;
  k.org = org;
  return k;
}

// The cache holds KeyHasher hashes only: stand-in names are hashed like raw keys would be.
std::string hash_of(std::string_view name) {
  return KeyHasher::sha256().hash(name);
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
  const OrgRecord org{"org", "free", 0};
  cache.put(hash_of("h1"), record("k1"), &org, t0);
  auto r = cache.lookup(hash_of("h1"), t0 + 29s);
  ASSERT_EQ(r.outcome, Outcome::hit);
  EXPECT_EQ(r.key->id(), "k1");
  ASSERT_NE(r.key->org_record(), nullptr);
  EXPECT_EQ(*r.key->org_record(), org);
  EXPECT_EQ(cache.lookup(hash_of("h1"), t0 + 30s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup(hash_of("unknown"), t0).outcome, Outcome::miss);
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
}

TEST_F(KeyCacheTest, TheDigestFindsWhatItsHexWasStoredUnder) {
  // The request path looks up by the hash's bytes; the store's replies are put by its hex.
  KeyCache cache(small_config());
  const OrgRecord org{"org", "free", 0};
  cache.put(hash_of("h1"), record("k1"), &org, t0);
  KeyDigest digest;
  ASSERT_TRUE(KeyHasher::sha256().digest_into("h1", digest));
  EXPECT_EQ(hex_digest(digest), hash_of("h1"));
  const auto r = cache.lookup(digest, t0 + 1s);
  ASSERT_EQ(r.outcome, Outcome::hit);
  EXPECT_EQ(r.key->id(), "k1");
  ASSERT_TRUE(KeyHasher::sha256().digest_into("h2", digest));
  EXPECT_EQ(cache.lookup(digest, t0 + 1s).outcome, Outcome::miss);
}

TEST_F(KeyCacheTest, NullOrgAllowed) {
  KeyCache cache(small_config());
  cache.put(hash_of("h1"), record("k1"), nullptr, t0);
  auto r = cache.lookup(hash_of("h1"), t0);
  EXPECT_EQ(r.outcome, Outcome::hit);
  EXPECT_EQ(r.key->org_record(), nullptr);
}

TEST_F(KeyCacheTest, NegativeHitUntilTtl) {
  KeyCache cache(small_config());
  cache.put_negative(hash_of("bad"), t0);
  EXPECT_EQ(cache.lookup(hash_of("bad"), t0 + 4s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup(hash_of("bad"), t0 + 5s).outcome, Outcome::miss);
  EXPECT_EQ(cache.negative_size(), 0u);  // expired negatives are dropped on sight
  EXPECT_EQ(cache.stats().negative_hits, 1u);
}

TEST_F(KeyCacheTest, NegativeBoundEvictsOldestNegative) {
  KeyCache cache(small_config());
  cache.put(hash_of("p1"), record("k1"), nullptr, t0);
  cache.put_negative(hash_of("n1"), t0);
  cache.put_negative(hash_of("n2"), t0 + 1s);
  cache.put_negative(hash_of("n3"), t0 + 2s);
  EXPECT_EQ(cache.negative_size(), 2u);
  EXPECT_EQ(cache.lookup(hash_of("n1"), t0 + 2s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup(hash_of("n2"), t0 + 2s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup(hash_of("n3"), t0 + 2s).outcome, Outcome::negative_hit);
  EXPECT_EQ(cache.lookup(hash_of("p1"), t0 + 2s).outcome, Outcome::hit);
}

TEST_F(KeyCacheTest, FloodOfUnknownKeysNeverEvictsPositives) {
  KeyCache cache(small_config());
  for (int i = 0; i < 4; ++i) cache.put(hash_of("p" + std::to_string(i)), record("k"), nullptr, t0);
  for (int i = 0; i < 1000; ++i) cache.put_negative(hash_of("n" + std::to_string(i)), t0);
  EXPECT_EQ(cache.positive_size(), 4u);
  EXPECT_EQ(cache.negative_size(), 0u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(cache.lookup(hash_of("p" + std::to_string(i)), t0).outcome, Outcome::hit);
}

TEST_F(KeyCacheTest, TotalBoundEvictsNegativesFirstThenLru) {
  KeyCache cache(small_config());
  cache.put_negative(hash_of("n1"), t0);
  cache.put_negative(hash_of("n2"), t0);
  cache.put(hash_of("p1"), record("k1"), nullptr, t0);
  cache.put(hash_of("p2"), record("k2"), nullptr, t0);
  EXPECT_EQ(cache.size(), 4u);
  cache.put(hash_of("p3"), record("k3"), nullptr, t0);  // evicts n1
  EXPECT_EQ(cache.negative_size(), 1u);
  cache.put(hash_of("p4"), record("k4"), nullptr, t0);  // evicts n2
  EXPECT_EQ(cache.negative_size(), 0u);
  EXPECT_EQ(cache.lookup(hash_of("p1"), t0).outcome, Outcome::hit);  // p1 now most recently used
  cache.put(hash_of("p5"), record("k5"), nullptr, t0);               // evicts LRU: p2
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.lookup(hash_of("p2"), t0).outcome, Outcome::miss);
  for (const char* h : {"p1", "p3", "p4", "p5"})
    EXPECT_EQ(cache.lookup(hash_of(h), t0).outcome, Outcome::hit);
  EXPECT_EQ(cache.stats().evictions, 3u);
}

TEST_F(KeyCacheTest, PutReplacesEntryOfEitherKind) {
  KeyCache cache(small_config());
  cache.put_negative(hash_of("h"), t0);
  cache.put(hash_of("h"), record("k1"), nullptr, t0 + 1s);
  EXPECT_EQ(cache.negative_size(), 0u);
  EXPECT_EQ(cache.positive_size(), 1u);
  EXPECT_EQ(cache.lookup(hash_of("h"), t0 + 1s).outcome, Outcome::hit);
  cache.put(hash_of("h"), record("k2"), nullptr, t0 + 2s);
  EXPECT_EQ(cache.lookup(hash_of("h"), t0 + 2s).key->id(), "k2");
  cache.put_negative(hash_of("h"), t0 + 3s);
  EXPECT_EQ(cache.positive_size(), 0u);
  EXPECT_EQ(cache.lookup(hash_of("h"), t0 + 3s).outcome, Outcome::negative_hit);
}

TEST_F(KeyCacheTest, Invalidate) {
  KeyCache cache(small_config());
  cache.put(hash_of("h1"), record("k1"), nullptr, t0);
  cache.put_negative(hash_of("n1"), t0);
  EXPECT_TRUE(cache.invalidate(hash_of("h1")));
  EXPECT_FALSE(cache.invalidate(hash_of("h1")));
  EXPECT_TRUE(cache.invalidate(hash_of("n1")));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup(hash_of("h1"), t0).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup_stale(hash_of("h1"), t0).outcome, Outcome::miss);
}

TEST_F(KeyCacheTest, InvalidateOrgAndAll) {
  KeyCache cache(small_config());
  cache.put(hash_of("a1"), record("k1", "org_a"), nullptr, t0);
  cache.put(hash_of("a2"), record("k2", "org_a"), nullptr, t0);
  cache.put(hash_of("b1"), record("k3", "org_b"), nullptr, t0);
  cache.put_negative(hash_of("n1"), t0);
  EXPECT_EQ(cache.invalidate_org("org_a"), 2u);
  EXPECT_EQ(cache.positive_size(), 1u);
  EXPECT_EQ(cache.lookup(hash_of("b1"), t0).outcome, Outcome::hit);
  cache.invalidate_all();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup(hash_of("b1"), t0).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup(hash_of("n1"), t0).outcome, Outcome::miss);
}

TEST_F(KeyCacheTest, StaleLookupWithinGrace) {
  KeyCache cache(small_config());
  cache.put(hash_of("h1"), record("k1"), nullptr, t0);
  cache.put_negative(hash_of("n1"), t0);
  EXPECT_EQ(cache.lookup(hash_of("h1"), t0 + 60s).outcome,
            Outcome::miss);  // TTL passed, entry kept
  auto stale = cache.lookup_stale(hash_of("h1"), t0 + 299s);
  ASSERT_EQ(stale.outcome, Outcome::hit);
  EXPECT_EQ(stale.key->id(), "k1");
  EXPECT_EQ(cache.lookup_stale(hash_of("h1"), t0 + 300s).outcome, Outcome::miss);
  EXPECT_EQ(cache.lookup_stale(hash_of("n1"), t0).outcome,
            Outcome::miss);  // negatives are never stale hits
  EXPECT_EQ(cache.stats().stale_hits, 1u);
}

TEST_F(KeyCacheTest, EntriesPastStaleGraceAreDropped) {
  KeyCache cache(small_config());
  cache.put(hash_of("h1"), record("k1"), nullptr, t0);
  EXPECT_EQ(cache.lookup(hash_of("h1"), t0 + 301s).outcome, Outcome::miss);
  EXPECT_EQ(cache.positive_size(), 0u);
}

TEST_F(KeyCacheTest, ZeroBoundsDisableCaching) {
  conf::CacheConfig c = small_config();
  c.max_entries = 0;
  c.max_negative_entries = 0;
  KeyCache cache(c);
  const auto key = cache.put(hash_of("h1"), record("k1"), nullptr, t0);
  cache.put_negative(hash_of("n1"), t0);
  EXPECT_EQ(cache.size(), 0u);
  // Not cached, but still what the caller decides with.
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->id(), "k1");
}

TEST_F(KeyCacheTest, OnlyKeyHasherHashesAreCached) {
  KeyCache cache(small_config());
  const auto key = cache.put("h1", record("k1"), nullptr, t0);
  ASSERT_NE(key, nullptr);
  cache.put_negative("n1", t0);
  const std::string upper = [&] {
    std::string text = hash_of("h2");
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
  }();
  cache.put(upper, record("k2"), nullptr, t0);
  cache.put(hash_of("h3").substr(1), record("k3"), nullptr, t0);
  for (char bad : {'g', 'G', '/', ':', '\0', '\xFF'}) {  // one non-digit anywhere is enough
    std::string text = hash_of("h4");
    text[text.size() - 1 - static_cast<unsigned char>(bad) % 64] = bad;
    cache.put(text, record("k4"), nullptr, t0);
  }
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.lookup("h1", t0).outcome, Outcome::miss);
  EXPECT_FALSE(cache.invalidate("n1"));
}

TEST_F(KeyCacheTest, TheCompactKeyKeepsWhatTheDataPathReads) {
  KeyCache cache(small_config());
  KeyRecord k = record("key_0123456789abcdef01234567", "acme");
  k.prefix = "sk_live_AbCdEf";
  k.environment = "live";
  k.type = "secret";
  k.scopes = {"pdf.read"};
  k.allowed_cidrs = {"10.0.0.0/8"};
  k.limit_overrides = {{"per-key", 5, std::nullopt}};
  k.status = KeyStatus::inactive;
  k.expires_at = 1234;
  k.grace_until = 99;
  const OrgRecord org{"acme", "pro", 42};
  cache.put(hash_of("h1"), k, &org, t0);
  const auto key = cache.lookup(hash_of("h1"), t0).key;
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->id(), k.id);
  EXPECT_EQ(key->prefix(), k.prefix);
  EXPECT_EQ(key->org(), "acme");
  EXPECT_EQ(key->environment(), "live");
  EXPECT_EQ(key->type(), "secret");
  EXPECT_EQ(key->scopes(), k.scopes);
  EXPECT_EQ(key->allowed_cidrs(), k.allowed_cidrs);
  EXPECT_EQ(key->limit_overrides(), k.limit_overrides);
  EXPECT_EQ(key->status(), KeyStatus::inactive);
  EXPECT_EQ(key->expires_at(), 1234);
  EXPECT_EQ(key->grace_until(), 99);
  ASSERT_NE(key->org_record(), nullptr);
  EXPECT_EQ(*key->org_record(), org);

  // Ids and prefixes longer than keygate's own spill to the heap, intact.
  k.id = std::string(300, 'i');
  k.prefix = std::string(70, 'p');
  cache.put(hash_of("h2"), k, nullptr, t0);
  const auto long_key = cache.lookup(hash_of("h2"), t0).key;
  ASSERT_NE(long_key, nullptr);
  EXPECT_EQ(long_key->id(), k.id);
  EXPECT_EQ(long_key->prefix(), k.prefix);
  EXPECT_EQ(long_key->expires_at(), 1234);
}

TEST_F(KeyCacheTest, KeysAlikeShareOneCopyOfWhatTheyHaveInCommon) {
  conf::CacheConfig c = small_config();
  c.max_entries = 1000;
  KeyCache cache(c);
  const OrgRecord acme{"acme", "pro", 0};
  for (int i = 0; i < 500; ++i)
    cache.put(hash_of("a" + std::to_string(i)), record("k" + std::to_string(i), "acme"), &acme, t0);
  EXPECT_EQ(cache.traits_count(), 1u);
  const auto first = cache.lookup(hash_of("a0"), t0).key;
  const auto last = cache.lookup(hash_of("a499"), t0).key;
  ASSERT_TRUE(first && last);
  EXPECT_EQ(first->traits(), last->traits());
  EXPECT_EQ(last->id(), "k499");

  // Anything different is different traits: another org, or the same org on another plan.
  cache.put(hash_of("b"), record("kb", "bolt"), nullptr, t0);
  const OrgRecord acme_upgraded{"acme", "enterprise", 0};
  cache.put(hash_of("a-new"), record("kn", "acme"), &acme_upgraded, t0);
  EXPECT_EQ(cache.traits_count(), 3u);
  EXPECT_EQ(cache.lookup(hash_of("a-new"), t0).key->org_record()->plan, "enterprise");
  EXPECT_EQ(first->org_record()->plan, "pro");

  // Traits go with the last key that uses them.
  cache.invalidate_all();
  EXPECT_EQ(cache.traits_count(), 1u);  // `first` and `last` still hold acme's
  EXPECT_EQ(first->org(), "acme");
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
        const std::string h = hash_of(std::to_string(t) + ":" + std::to_string(i));
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
