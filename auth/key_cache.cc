#include "auth/key_cache.h"

#include <algorithm>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace keygate::auth {

struct KeyCache::Shard {
  struct Entry {
    std::string hash;
    bool negative = false;
    std::shared_ptr<const KeyRecord> key;
    std::shared_ptr<const OrgRecord> org;
    TimePoint stored_at;
  };
  using List = std::list<Entry>;

  std::mutex mutex;
  List positives;  // most recently used first
  List negatives;  // newest first
  // Keys view Entry::hash; list nodes never move, so the views stay valid until erased.
  std::unordered_map<std::string_view, List::iterator> index;

  std::size_t size() const { return positives.size() + negatives.size(); }
};

namespace {

std::size_t shards_for(const conf::CacheConfig& config) {
  std::size_t smallest = config.max_entries;
  if (config.max_negative_entries > 0) smallest = std::min(smallest, config.max_negative_entries);
  return std::clamp<std::size_t>(smallest / KeyCache::kMinEntriesPerShard, 1, KeyCache::kMaxShards);
}

}  // namespace

KeyCache::KeyCache(const conf::CacheConfig& config) : config_(config) {
  const std::size_t count = shards_for(config);
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
  max_per_shard_ = config.max_entries / count;
  max_negative_per_shard_ = std::min(config.max_negative_entries / count, max_per_shard_);
}

KeyCache::~KeyCache() = default;

KeyCache::Shard& KeyCache::shard_for(std::string_view hash) {
  return *shards_[std::hash<std::string_view>{}(hash) % shards_.size()];
}

KeyCache::Result KeyCache::lookup(std::string_view hash, TimePoint now) {
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(hash);
  if (found != shard.index.end()) {
    const Shard::List::iterator entry = found->second;
    const auto age = now - entry->stored_at;
    if (entry->negative) {
      if (age < config_.negative_ttl) {
        negative_hits_.fetch_add(1, std::memory_order_relaxed);
        return {Outcome::negative_hit, nullptr, nullptr};
      }
      shard.index.erase(found);
      shard.negatives.erase(entry);
      negative_count_.fetch_sub(1, std::memory_order_relaxed);
    } else if (age < config_.positive_ttl) {
      shard.positives.splice(shard.positives.begin(), shard.positives, entry);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return {Outcome::hit, entry->key, entry->org};
    } else if (age >= config_.stale_grace) {
      // Too old even to bridge an outage.
      shard.index.erase(found);
      shard.positives.erase(entry);
      positive_count_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

KeyCache::Result KeyCache::lookup_stale(std::string_view hash, TimePoint now) {
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(hash);
  if (found == shard.index.end() || found->second->negative ||
      now - found->second->stored_at >= config_.stale_grace)
    return {};
  const Shard::List::iterator entry = found->second;
  shard.positives.splice(shard.positives.begin(), shard.positives, entry);
  stale_hits_.fetch_add(1, std::memory_order_relaxed);
  return {Outcome::hit, entry->key, entry->org};
}

void KeyCache::put(std::string_view hash, std::shared_ptr<const KeyRecord> key,
                   std::shared_ptr<const OrgRecord> org, TimePoint now) {
  if (!key || max_per_shard_ == 0) return;
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(hash); found != shard.index.end()) {
    const Shard::List::iterator entry = found->second;
    if (entry->negative) {
      shard.positives.splice(shard.positives.begin(), shard.negatives, entry);
      negative_count_.fetch_sub(1, std::memory_order_relaxed);
      positive_count_.fetch_add(1, std::memory_order_relaxed);
    } else {
      shard.positives.splice(shard.positives.begin(), shard.positives, entry);
    }
    entry->negative = false;
    entry->key = std::move(key);
    entry->org = std::move(org);
    entry->stored_at = now;
    return;
  }
  while (shard.size() >= max_per_shard_) {
    // Negative entries are cheaper to lose than a real caller's key.
    Shard::List& victims = shard.negatives.empty() ? shard.positives : shard.negatives;
    shard.index.erase(victims.back().hash);
    (victims.back().negative ? negative_count_ : positive_count_)
        .fetch_sub(1, std::memory_order_relaxed);
    victims.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.positives.push_front(
      Shard::Entry{std::string(hash), false, std::move(key), std::move(org), now});
  shard.index.emplace(shard.positives.front().hash, shard.positives.begin());
  positive_count_.fetch_add(1, std::memory_order_relaxed);
}

void KeyCache::put_negative(std::string_view hash, TimePoint now) {
  if (max_negative_per_shard_ == 0) return;
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(hash); found != shard.index.end()) {
    const Shard::List::iterator entry = found->second;
    if (!entry->negative) {
      shard.negatives.splice(shard.negatives.begin(), shard.positives, entry);
      positive_count_.fetch_sub(1, std::memory_order_relaxed);
      negative_count_.fetch_add(1, std::memory_order_relaxed);
    } else {
      shard.negatives.splice(shard.negatives.begin(), shard.negatives, entry);
    }
    entry->negative = true;
    entry->key.reset();
    entry->org.reset();
    entry->stored_at = now;
    return;
  }
  if (shard.negatives.size() >= max_negative_per_shard_ || shard.size() >= max_per_shard_) {
    if (shard.negatives.empty()) return;  // full of positives: keep them
    shard.index.erase(shard.negatives.back().hash);
    shard.negatives.pop_back();
    negative_count_.fetch_sub(1, std::memory_order_relaxed);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.negatives.push_front(Shard::Entry{std::string(hash), true, nullptr, nullptr, now});
  shard.index.emplace(shard.negatives.front().hash, shard.negatives.begin());
  negative_count_.fetch_add(1, std::memory_order_relaxed);
}

bool KeyCache::invalidate(std::string_view hash) {
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(hash);
  if (found == shard.index.end()) return false;
  const Shard::List::iterator entry = found->second;
  shard.index.erase(found);
  if (entry->negative) {
    shard.negatives.erase(entry);
    negative_count_.fetch_sub(1, std::memory_order_relaxed);
  } else {
    shard.positives.erase(entry);
    positive_count_.fetch_sub(1, std::memory_order_relaxed);
  }
  return true;
}

std::size_t KeyCache::invalidate_org(std::string_view org_id) {
  std::size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (auto it = shard->positives.begin(); it != shard->positives.end();) {
      if (it->key->org == org_id) {
        shard->index.erase(it->hash);
        it = shard->positives.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  }
  positive_count_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

void KeyCache::invalidate_all() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    positive_count_.fetch_sub(shard->positives.size(), std::memory_order_relaxed);
    negative_count_.fetch_sub(shard->negatives.size(), std::memory_order_relaxed);
    shard->index.clear();
    shard->positives.clear();
    shard->negatives.clear();
  }
}

KeyCache::Stats KeyCache::stats() const {
  Stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.negative_hits = negative_hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.stale_hits = stale_hits_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.positive_entries = positive_size();
  s.negative_entries = negative_size();
  return s;
}

}  // namespace keygate::auth
