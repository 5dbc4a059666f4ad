#include "ratelimit/in_memory_limiter.h"

#include <algorithm>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ratelimit/algorithms.h"
#include "ratelimit/counter_key.h"

namespace keygate::ratelimit {
namespace {

// Counters outlive their window by this much, as in Redis, so a reader a moment late still
// sees them; it only delays freeing memory.
constexpr std::int64_t kExpirySlackMs = 1000;

struct Entry {
  std::string key;
  Algorithm algorithm = Algorithm::fixed_window;
  std::int64_t window_index = 0;
  std::uint64_t current = 0;
  std::uint64_t previous = 0;
  double tat = 0;
  std::int64_t expires_ms = 0;

  bool live(Algorithm algo, std::int64_t now_ms) const {
    // A policy whose algorithm changed on reload starts afresh rather than misreading state.
    return expires_ms > now_ms && algorithm == algo;
  }
  void reset(Algorithm algo) {
    algorithm = algo;
    window_index = 0;
    current = previous = 0;
    tat = 0;
    expires_ms = 0;
  }
};

std::uint64_t divide_up(std::uint64_t value, std::uint64_t divisor) {
  if (divisor <= 1 || value == 0) return value;
  return std::max<std::uint64_t>(1, value / divisor + (value % divisor != 0));
}

// One policy's share of a check.
struct Work {
  EffectivePolicy policy;  // after limit_divisor
  std::string key;
  std::size_t shard = 0;
  std::int64_t window_index = 0;
  Verdict verdict;
  double new_tat = 0;
  std::int64_t ttl_ms = 0;
};

}  // namespace

struct InMemoryLimiter::Shard {
  std::mutex mutex;
  std::list<Entry> lru;  // front: most recently charged
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru
  std::size_t inserts_since_sweep = 0;

  const Entry* find_live(std::string_view key, Algorithm algo, std::int64_t now_ms) const {
    auto it = index.find(key);
    if (it == index.end() || !it->second->live(algo, now_ms)) return nullptr;
    return &*it->second;
  }

  void erase(std::list<Entry>::iterator it) {
    index.erase(it->key);  // before the string it views goes away
    lru.erase(it);
  }

  std::size_t sweep(std::int64_t now_ms) {
    std::size_t removed = 0;
    for (auto it = lru.begin(); it != lru.end();) {
      auto next = std::next(it);
      if (it->expires_ms <= now_ms) {
        erase(it);
        ++removed;
      }
      it = next;
    }
    return removed;
  }

  Entry& upsert(std::string_view key, Algorithm algo, std::int64_t now_ms, std::size_t capacity,
                std::atomic<std::uint64_t>& evictions) {
    if (auto it = index.find(key); it != index.end()) {
      lru.splice(lru.begin(), lru, it->second);
      Entry& entry = *it->second;
      if (!entry.live(algo, now_ms)) entry.reset(algo);
      return entry;
    }
    // Sweeping every capacity/2 inserts keeps the cost O(1) per insert on average.
    if (++inserts_since_sweep >= std::max<std::size_t>(1, capacity / 2)) {
      sweep(now_ms);
      inserts_since_sweep = 0;
    }
    while (index.size() >= capacity && !lru.empty()) {
      if (lru.back().expires_ms > now_ms) evictions.fetch_add(1, std::memory_order_relaxed);
      erase(std::prev(lru.end()));
    }
    lru.emplace_front();
    Entry& entry = lru.front();
    entry.key.assign(key);
    entry.reset(algo);
    index.emplace(entry.key, lru.begin());
    return entry;
  }
};

InMemoryLimiter::InMemoryLimiter(Clock clock, InMemoryLimiterOptions options)
    : clock_(std::move(clock)), options_(options) {
  const std::size_t max_entries = std::max<std::size_t>(1, options_.max_entries);
  const std::size_t count = std::clamp<std::size_t>(options_.shards, 1, max_entries);
  shard_capacity_ = max_entries / count;
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

InMemoryLimiter::~InMemoryLimiter() = default;

InMemoryLimiter::Shard& InMemoryLimiter::shard_for(std::string_view key) {
  return *shards_[std::hash<std::string_view>{}(key) % shards_.size()];
}

void InMemoryLimiter::check(std::span<const EffectivePolicy> policies, const Subject& subject,
                            std::function<void(Decision)> done) {
  done(check_now(policies, subject));
}

Decision InMemoryLimiter::check_now(std::span<const EffectivePolicy> policies,
                                    const Subject& subject) {
  const std::int64_t now = clock_();
  std::vector<Work> work(policies.size());
  std::vector<std::size_t> shard_order;
  shard_order.reserve(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    Work& w = work[i];
    w.policy = policies[i];
    w.policy.limit = divide_up(w.policy.limit, options_.limit_divisor);
    w.policy.burst = divide_up(w.policy.burst, options_.limit_divisor);
    w.key = counter_key("", w.policy, subject);
    w.shard = std::hash<std::string_view>{}(w.key) % shards_.size();
    shard_order.push_back(w.shard);
  }
  // Locking in index order makes the whole check atomic without risking deadlock.
  std::sort(shard_order.begin(), shard_order.end());
  shard_order.erase(std::unique(shard_order.begin(), shard_order.end()), shard_order.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shard_order.size());
  for (std::size_t s : shard_order) locks.emplace_back(shards_[s]->mutex);

  bool all_allowed = true;
  for (Work& w : work) {
    const EffectivePolicy& p = w.policy;
    const Algorithm algo = p.effective_algorithm();
    const std::int64_t window = p.effective_window_ms();
    const Entry* e = shards_[w.shard]->find_live(w.key, algo, now);
    switch (algo) {
      case Algorithm::fixed_window: {
        const std::int64_t anchor = p.monthly_quota ? subject.org_created_at * 1000 : 0;
        w.window_index = window_index(now, anchor, window);
        const std::uint64_t count = e && e->window_index == w.window_index ? e->current : 0;
        w.verdict = fixed_window(count, p.limit, window, anchor, now);
        break;
      }
      case Algorithm::sliding_window: {
        w.window_index = window_index(now, 0, window);
        WindowCounts counts;
        if (e && e->window_index == w.window_index) counts = {e->current, e->previous};
        if (e && e->window_index == w.window_index - 1) counts = {0, e->current};
        w.verdict = sliding_window(counts, p.limit, window, now);
        break;
      }
      case Algorithm::token_bucket: {
        const GcraVerdict g =
            token_bucket(e != nullptr, e ? e->tat : 0.0, p.limit, window, p.bucket_size(), now);
        w.verdict = g.verdict;
        w.new_tat = g.new_tat;
        w.ttl_ms = g.ttl_ms;
        break;
      }
    }
    all_allowed = all_allowed && w.verdict.allowed;
  }

  if (all_allowed) {
    for (const Work& w : work) {
      const Algorithm algo = w.policy.effective_algorithm();
      const std::int64_t window = w.policy.effective_window_ms();
      Entry& e = shards_[w.shard]->upsert(w.key, algo, now, shard_capacity_, evictions_);
      switch (algo) {
        case Algorithm::fixed_window:
          if (e.window_index != w.window_index) e.current = 0;
          e.window_index = w.window_index;
          ++e.current;
          e.expires_ms = w.verdict.reset_ms + kExpirySlackMs;
          break;
        case Algorithm::sliding_window:
          if (e.window_index == w.window_index - 1) {
            e.previous = e.current;
            e.current = 0;
          } else if (e.window_index != w.window_index) {
            e.previous = e.current = 0;
          }
          e.window_index = w.window_index;
          ++e.current;
          // The count is still needed as "previous" throughout the next window.
          e.expires_ms = (w.window_index + 2) * window + kExpirySlackMs;
          break;
        case Algorithm::token_bucket:
          e.tat = w.new_tat;
          e.expires_ms = now + w.ttl_ms + kExpirySlackMs;
          break;
      }
    }
  }
  locks.clear();

  std::vector<PolicyDecision> decisions;
  decisions.reserve(work.size());
  for (const Work& w : work) {
    decisions.push_back(make_policy_decision(w.policy, w.verdict));
  }
  return decide(std::move(decisions), now);
}

std::size_t InMemoryLimiter::sweep() {
  const std::int64_t now = clock_();
  std::size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    removed += shard->sweep(now);
  }
  return removed;
}

std::size_t InMemoryLimiter::size() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->index.size();
  }
  return total;
}

}  // namespace keygate::ratelimit
