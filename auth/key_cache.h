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
// Time is passed in by the caller (steady clock), so tests never sleep.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "auth/key_record.h"
#include "conf/config.h"

namespace keygate::auth {

class KeyCache {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  enum class Outcome { hit, negative_hit, miss };
  struct Result {
    Outcome outcome = Outcome::miss;
    std::shared_ptr<const KeyRecord> key;  // set for hit
    std::shared_ptr<const OrgRecord> org;  // may be null even for a hit
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
  // For store outages: a positive entry stored less than stale_grace ago, fresh or not.
  Result lookup_stale(std::string_view hash, TimePoint now);

  // `key` must not be null. Replaces any entry for `hash`.
  void put(std::string_view hash, std::shared_ptr<const KeyRecord> key,
           std::shared_ptr<const OrgRecord> org, TimePoint now);
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
  Stats stats() const;

 private:
  struct Shard;
  Shard& shard_for(std::string_view hash);

  const conf::CacheConfig config_;
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
