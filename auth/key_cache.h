// A bounded, thread-safe cache of key lookups, keyed by the key hash.
//
//   positive entries  a found key (and its org): fresh for positive_ttl; kept afterwards, for
//                     lookup_stale(), until stale_grace has passed or LRU evicts them.
//   negative entries  "no such key": fresh for negative_ttl. Capped separately
//                     (max_negative_entries, oldest evicted first) and never allowed to evict a
//                     positive entry, so a flood of random well-formed keys can neither grow
//                     memory nor push out the keys of real callers.
// Both together stay within max_entries. The cache is split into up to 16 shards (each with
// its own mutex, LRU list and share of both bounds), so LRU is approximate across shards.
//
// Memory (issue 14): an entry is one hash-map node of ~90 bytes (the hash as 32 raw bytes,
// LRU links, age, a shared_ptr) and the CompactKey it points to (~110 bytes, one allocation),
// whose org, environment, type, scopes and org record are shared with every key alike
// (KeyTraitsPool): ~220 bytes per cached key with the buckets (KeyCacheMemoryTest).
// Hashes are KeyHasher::hash() output (64 lowercase hex characters); anything else is never
// cached. Bucket positions are salted per process, so keys cannot be picked to collide.
//
// A hit copies one shared_ptr and allocates nothing. Time is passed in by the caller (steady
// clock), so tests never sleep.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "auth/compact_key.h"
#include "auth/key_hash.h"
#include "auth/key_record.h"
#include "auth/key_traits_pool.h"
#include "conf/config.h"

namespace keygate::auth {

class KeyCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  enum class Outcome { hit, negative_hit, miss };
  struct Result {
    Outcome outcome = Outcome::miss;
    std::shared_ptr<const CompactKey> key;  // set for hit; its org_record() may be null
  };

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t negative_hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t stale_hits = 0;
    std::uint64_t evictions = 0;  // entries dropped for room, not for age or invalidation
    std::size_t positive_entries = 0;
    std::size_t negative_entries = 0;
  };

  // Each shard holds at least kMinEntriesPerShard of each bound, so small caches (tests) get
  // one shard and exact LRU.
  static constexpr std::size_t kMaxShards = 16;
  static constexpr std::size_t kMinEntriesPerShard = 1024;

  explicit KeyCache(const conf::CacheConfig& config);
  ~KeyCache();
  KeyCache(const KeyCache&) = delete;
  KeyCache& operator=(const KeyCache&) = delete;

  // Fresh entries only; a fresh positive hit refreshes its LRU position.
  Result lookup(std::string_view hash, TimePoint now);
  // The same by the hash's bytes (KeyHasher::digest_into): the request path's form.
  Result lookup(const KeyDigest& hash, TimePoint now);
  // For store outages: a positive entry stored less than stale_grace ago, fresh or not.
  Result lookup_stale(std::string_view hash, TimePoint now);

  // The compact form of `key` (owned by `org`, which may be null), cached under `hash`,
  // replacing any entry for it. Returned also when it is not cached (a zero bound, a hash
  // that is not a KeyHasher hash), for the caller to decide with.
  std::shared_ptr<const CompactKey> put(std::string_view hash, const KeyRecord& key,
                                        const OrgRecord* org, TimePoint now);
  // Replaces a positive entry too (the store has forgotten the key). Dropped, not stored, when
  // the only way to make room would be to evict a positive entry.
  void put_negative(std::string_view hash, TimePoint now);

  // Returns whether an entry was removed.
  bool invalidate(std::string_view hash);
  // Drops positive entries of keys owned by `org_id` (a plan change); returns how many.
  std::size_t invalidate_org(std::string_view org_id);
  void invalidate_all();

  std::size_t size() const { return positive_size() + negative_size(); }
  std::size_t positive_size() const { return positive_count_.load(std::memory_order_relaxed); }
  std::size_t negative_size() const { return negative_count_.load(std::memory_order_relaxed); }
  std::size_t shard_count() const { return shards_.size(); }
  // Distinct KeyTraits in use: how well keys share what they have in common.
  std::size_t traits_count() const { return traits_.size(); }
  Stats stats() const;

 private:
  struct Shard;
  using RawHash = KeyDigest;
  Shard& shard_for(const RawHash& hash);

  const conf::CacheConfig config_;
  const std::uint64_t salt_;  // random per cache: where a hash lands cannot be predicted
  KeyTraitsPool traits_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t max_per_shard_ = 0;
  std::size_t max_negative_per_shard_ = 0;

  std::atomic<std::size_t> positive_count_{0};
  std::atomic<std::size_t> negative_count_{0};
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> negative_hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> stale_hits_{0};
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace keygate::auth
