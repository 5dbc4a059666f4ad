#include "auth/key_cache.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>

namespace keygate::auth {
namespace {

// MurmurHash3's finaliser: every input bit moves every output bit.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t load64(const unsigned char* bytes) {
  std::uint64_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// Lowercase hex digit values, 0xFF for every other byte: hashes are random, so range tests
// per character would mispredict about every other branch.
constexpr std::array<std::uint8_t, 256> make_hex_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(0xFF);
  for (int i = 0; i < 10; ++i) table['0' + i] = static_cast<std::uint8_t>(i);
  for (int i = 0; i < 6; ++i) table['a' + i] = static_cast<std::uint8_t>(10 + i);
  return table;
}
constexpr auto kHexValue = make_hex_table();

std::uint64_t random_salt() {
  std::random_device device;
  return (std::uint64_t(device()) << 32) ^ device();
}

}  // namespace

struct KeyCache::Shard {
  struct Entry;
  using Node = std::pair<const RawHash, Entry>;
  struct Entry {
    Node* newer = nullptr;  // LRU links within `positives` or `negatives`
    Node* older = nullptr;
    std::shared_ptr<const CompactKey> key;  // null: a negative entry
    TimePoint stored_at;
  };

  // An intrusive list through the map's nodes, which never move until erased.
  struct List {
    Node* newest = nullptr;
    Node* oldest = nullptr;
    std::size_t size = 0;

    void push_front(Node* node) {
      node->second.newer = nullptr;
      node->second.older = newest;
      (newest ? newest->second.newer : oldest) = node;
      newest = node;
      ++size;
    }
    void unlink(Node* node) {
      Entry& e = node->second;
      (e.newer ? e.newer->second.older : newest) = e.older;
      (e.older ? e.older->second.newer : oldest) = e.newer;
      e.newer = e.older = nullptr;
      --size;
    }
    void move_to_front(Node* node) {
      unlink(node);
      push_front(node);
    }
  };

  // Noexcept and cheap, so the map stores no hash code in its nodes.
  struct Salted {
    std::uint64_t salt;
    std::size_t operator()(const RawHash& hash) const noexcept {
      return mix(load64(hash.data()) ^ salt);
    }
  };

  explicit Shard(std::uint64_t salt) : index(0, Salted{salt}) {}

  std::mutex mutex;
  std::unordered_map<RawHash, Entry, Salted> index;
  List positives;  // most recently used first
  List negatives;  // newest first

  std::size_t size() const { return positives.size + negatives.size; }
  List& list_of(const Node& node) { return node.second.key ? positives : negatives; }
  // Unlinks and erases; returns whether it was a positive entry.
  bool remove(Node* node) {
    const bool positive = node->second.key != nullptr;
    list_of(*node).unlink(node);
    index.erase(node->first);
    return positive;
  }
};

namespace {

// False for anything but 64 lowercase hex characters (KeyHasher::hash()).
bool decode(std::string_view hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 2 * out.size()) return false;
  unsigned invalid = 0;  // collects the 0xF0 bits only a non-digit carries
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned high = kHexValue[static_cast<unsigned char>(hex[2 * i])];
    const unsigned low = kHexValue[static_cast<unsigned char>(hex[2 * i + 1])];
    invalid |= high | low;
    out[i] = static_cast<unsigned char>(high << 4 | (low & 0x0F));
  }
  return (invalid & 0xF0) == 0;
}

std::size_t shards_for(const conf::CacheConfig& config) {
  std::size_t smallest = config.max_entries;
  if (config.max_negative_entries > 0) smallest = std::min(smallest, config.max_negative_entries);
  return std::clamp<std::size_t>(smallest / KeyCache::kMinEntriesPerShard, 1, KeyCache::kMaxShards);
}

}  // namespace

KeyCache::KeyCache(const conf::CacheConfig& config) : config_(config), salt_(random_salt()) {
  const std::size_t count = shards_for(config);
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>(salt_));
  max_per_shard_ = config.max_entries / count;
  max_negative_per_shard_ = std::min(config.max_negative_entries / count, max_per_shard_);
}

KeyCache::~KeyCache() = default;

KeyCache::Shard& KeyCache::shard_for(const RawHash& hash) {
  // Other bytes than the map's, so a shard's keys still spread over its buckets.
  return *shards_[mix(load64(hash.data() + 8) ^ salt_) % shards_.size()];
}

KeyCache::Result KeyCache::lookup(std::string_view hash, TimePoint now) {
  RawHash raw;
  if (!decode(hash, raw)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  return lookup(raw, now);
}

KeyCache::Result KeyCache::lookup(const KeyDigest& raw, TimePoint now) {
  Shard& shard = shard_for(raw);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(raw); found != shard.index.end()) {
    Shard::Node* node = &*found;
    const auto age = now - node->second.stored_at;
    if (!node->second.key) {
      if (age < config_.negative_ttl) {
        negative_hits_.fetch_add(1, std::memory_order_relaxed);
        return {Outcome::negative_hit, nullptr};
      }
      shard.remove(node);
      negative_count_.fetch_sub(1, std::memory_order_relaxed);
    } else if (age < config_.positive_ttl) {
      shard.positives.move_to_front(node);
      hits_.fetch_add(1, std::memory_order_relaxed);
      return {Outcome::hit, node->second.key};
    } else if (age >= config_.stale_grace) {
      // Too old even to bridge an outage.
      shard.remove(node);
      positive_count_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return {};
}

KeyCache::Result KeyCache::lookup_stale(std::string_view hash, TimePoint now) {
  RawHash raw;
  if (!decode(hash, raw)) return {};
  Shard& shard = shard_for(raw);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(raw);
  if (found == shard.index.end() || !found->second.key ||
      now - found->second.stored_at >= config_.stale_grace)
    return {};
  shard.positives.move_to_front(&*found);
  stale_hits_.fetch_add(1, std::memory_order_relaxed);
  return {Outcome::hit, found->second.key};
}

std::shared_ptr<const CompactKey> KeyCache::put(std::string_view hash, const KeyRecord& key,
                                                const OrgRecord* org, TimePoint now) {
  auto compact = std::make_shared<const CompactKey>(key, traits_.intern(KeyTraits::of(key, org)));
  RawHash raw;
  if (max_per_shard_ == 0 || !decode(hash, raw)) return compact;
  Shard& shard = shard_for(raw);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(raw); found != shard.index.end()) {
    Shard::Node* node = &*found;
    shard.list_of(*node).unlink(node);
    if (!node->second.key) {
      negative_count_.fetch_sub(1, std::memory_order_relaxed);
      positive_count_.fetch_add(1, std::memory_order_relaxed);
    }
    node->second.key = compact;
    node->second.stored_at = now;
    shard.positives.push_front(node);
    return compact;
  }
  while (shard.size() >= max_per_shard_) {
    // Negative entries are cheaper to lose than a real caller's key.
    Shard::List& victims = shard.negatives.size ? shard.negatives : shard.positives;
    (shard.remove(victims.oldest) ? positive_count_ : negative_count_)
        .fetch_sub(1, std::memory_order_relaxed);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  auto [it, inserted] = shard.index.try_emplace(raw);
  it->second.key = compact;
  it->second.stored_at = now;
  shard.positives.push_front(&*it);
  positive_count_.fetch_add(1, std::memory_order_relaxed);
  return compact;
}

void KeyCache::put_negative(std::string_view hash, TimePoint now) {
  RawHash raw;
  if (max_negative_per_shard_ == 0 || !decode(hash, raw)) return;
  Shard& shard = shard_for(raw);
  std::lock_guard lock(shard.mutex);
  if (const auto found = shard.index.find(raw); found != shard.index.end()) {
    Shard::Node* node = &*found;
    shard.list_of(*node).unlink(node);
    if (node->second.key) {
      positive_count_.fetch_sub(1, std::memory_order_relaxed);
      negative_count_.fetch_add(1, std::memory_order_relaxed);
    }
    node->second.key.reset();
    node->second.stored_at = now;
    shard.negatives.push_front(node);
    return;
  }
  if (shard.negatives.size >= max_negative_per_shard_ || shard.size() >= max_per_shard_) {
    if (!shard.negatives.size) return;  // full of positives: keep them
    shard.remove(shard.negatives.oldest);
    negative_count_.fetch_sub(1, std::memory_order_relaxed);
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  auto [it, inserted] = shard.index.try_emplace(raw);
  it->second.stored_at = now;
  shard.negatives.push_front(&*it);
  negative_count_.fetch_add(1, std::memory_order_relaxed);
}

bool KeyCache::invalidate(std::string_view hash) {
  RawHash raw;
  if (!decode(hash, raw)) return false;
  Shard& shard = shard_for(raw);
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(raw);
  if (found == shard.index.end()) return false;
  (shard.remove(&*found) ? positive_count_ : negative_count_)
      .fetch_sub(1, std::memory_order_relaxed);
  return true;
}

std::size_t KeyCache::invalidate_org(std::string_view org_id) {
  std::size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (Shard::Node* node = shard->positives.newest; node;) {
      Shard::Node* older = node->second.older;
      if (node->second.key->org() == org_id) {
        shard->remove(node);
        ++removed;
      }
      node = older;
    }
  }
  positive_count_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

void KeyCache::invalidate_all() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    positive_count_.fetch_sub(shard->positives.size, std::memory_order_relaxed);
    negative_count_.fetch_sub(shard->negatives.size, std::memory_order_relaxed);
    shard->index.clear();
    shard->positives = {};
    shard->negatives = {};
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
