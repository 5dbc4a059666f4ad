#include "auth/key_traits_pool.h"

#include <algorithm>
#include <iterator>

namespace keygate::auth {

std::shared_ptr<const KeyTraits> KeyTraitsPool::intern(KeyTraits traits) {
  const std::size_t hash = hash_value(traits);
  std::lock_guard lock(mutex_);
  auto [first, last] = by_hash_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (auto pooled = it->second.lock(); pooled && *pooled == traits) return pooled;
  }
  // Not make_shared: a forgotten entry's weak reference would pin the whole block until swept.
  std::shared_ptr<const KeyTraits> pooled(new KeyTraits(std::move(traits)));
  if (by_hash_.size() >= sweep_at_) {
    std::erase_if(by_hash_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max(kFirstSweep, 2 * by_hash_.size());
  }
  by_hash_.emplace(hash, pooled);
  return pooled;
}

std::size_t KeyTraitsPool::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      by_hash_.begin(), by_hash_.end(), [](const auto& entry) { return !entry.second.expired(); }));
}

}  // namespace keygate::auth
