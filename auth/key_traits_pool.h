// One shared KeyTraits per distinct set of values, so that 100k keys of one org with the same
// environment, type and scopes hold one copy of them, not 100k (see compact_key.h).
//
// The pool only remembers traits (weak references): they live as long as a CompactKey (cached,
// or held by a request) uses them. Forgotten entries are swept whenever the pool has doubled
// since the last sweep, so it stays within about twice the traits in use, which the key
// cache's own bound limits. Thread-safe; used on store answers only, never on a cache hit.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "auth/compact_key.h"

namespace keygate::auth {

class KeyTraitsPool {
 public:
  // The pooled traits equal to `traits`, pooling these if there are none.
  std::shared_ptr<const KeyTraits> intern(KeyTraits traits);
  // Pooled traits in use.
  std::size_t size() const;

 private:
  static constexpr std::size_t kFirstSweep = 1024;

  mutable std::mutex mutex_;
  std::unordered_multimap<std::size_t, std::weak_ptr<const KeyTraits>> by_hash_;
  std::size_t sweep_at_ = kFirstSweep;
};

}  // namespace keygate::auth
