// What the key cache allocates per entry, counted by glibc's malloc (mallinfo2): the
// allocation side of issue 14 (100k cached keys within 64 MiB RSS), without the noise of a
// whole process. tests/integration/memory_test.cc measures the RSS of the real binary.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <string>
#include <vector>

#include "auth/key_cache.h"
#include "auth/key_hash.h"

namespace keygate::auth {
namespace {

using namespace std::chrono_literals;

std::size_t allocated_bytes() {
  return mallinfo2().uordblks;
}

// A record as `keygate keys create` makes it (see bench/seed_keys.py).
KeyRecord typical_record(int i, const std::string& hash) {
  KeyRecord k;
  char id[32];
  std::snprintf(id, sizeof id, "key_%024x", i);
  k.id = id;
  k.hash = hash;
  k.prefix = "sk_live_AbCdEf";
  k.name = "service key " + std::to_string(i);
  k.org = "acme";
  k.environment = "live";
  k.type = "secret";
  k.scopes = {"pdf.read", "pdf.generate"};
  k.created_at = 1700000000;
  k.created_by = "ci@example.com";
  return k;
}

TEST(KeyCacheMemoryTest, ACachedKeyAllocatesAboutTwoHundredBytes) {
  constexpr int kKeys = 20000;
  conf::CacheConfig config;
  config.max_entries = 2 * kKeys;  // room in every shard: nothing is evicted
  KeyCache cache(config);
  const KeyHasher hasher = KeyHasher::sha256();
  std::vector<std::string> hashes;
  for (int i = 0; i < kKeys; ++i) hashes.push_back(hasher.hash("key " + std::to_string(i)));
  const OrgRecord org{"acme", "pro", 1700000000};
  const auto now = KeyCache::TimePoint(1000s);

  const std::size_t before = allocated_bytes();
  for (int i = 0; i < kKeys; ++i) cache.put(hashes[i], typical_record(i, hashes[i]), &org, now);
  const std::size_t after = allocated_bytes();
  if (after <= before) GTEST_SKIP() << "malloc statistics unavailable (sanitizer build?)";
  ASSERT_EQ(cache.positive_size(), std::size_t(kKeys));
  EXPECT_EQ(cache.traits_count(), 1u);

  const double per_key = double(after - before) / kKeys;
  std::printf("%.0f bytes allocated per cached key\n", per_key);
  // One map node (~96), one CompactKey (~112) and the bucket array. Before: ~1 KB.
  EXPECT_LT(per_key, 256.0);

  // Lookups allocate nothing.
  const std::size_t before_lookups = allocated_bytes();
  for (int i = 0; i < kKeys; ++i)
    ASSERT_EQ(cache.lookup(hashes[i], now + 1s).outcome, KeyCache::Outcome::hit);
  EXPECT_EQ(allocated_bytes(), before_lookups);
}

}  // namespace
}  // namespace keygate::auth
