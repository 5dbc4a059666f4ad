// Rate-limit counters in this process's memory: for the embedded file store (one replica) and
// as the `local` stand-in when Redis fails (then each replica admits limit / replica_count).
//
// Thread-safe: counters are spread over mutex-protected shards; a check locks the shards of its
// counters in index order, so it is atomic across policies without deadlock. Bounded: at most
// max_entries counters; expired ones are swept as inserts go (amortised O(1)), and when a shard
// is full of live counters the least recently used one is evicted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ratelimit/clock.h"
#include "ratelimit/limiter.h"

namespace keygate::ratelimit {

struct InMemoryLimiterOptions {
  std::size_t max_entries = 100000;
  std::size_t shards = 16;
  // Standing in for a shared store on one of N replicas: every limit is divided by N, rounded
  // up, so the fleet as a whole stays near the configured limit.
  std::uint64_t limit_divisor = 1;
};

class InMemoryLimiter final : public Limiter {
 public:
  explicit InMemoryLimiter(Clock clock, InMemoryLimiterOptions options = {});
  ~InMemoryLimiter() override;

  // Runs `done` inline.
  void check(std::span<const EffectivePolicy> policies, const Subject& subject,
             std::function<void(Decision)> done) override;
  std::optional<Decision> decide_now(std::span<const EffectivePolicy> policies,
                                     const Subject& subject) override {
    return check_now(policies, subject);
  }
  Decision check_now(std::span<const EffectivePolicy> policies, const Subject& subject);

  // Drops every expired counter; returns how many. Call from a timer to return memory early.
  std::size_t sweep();
  std::size_t size() const;
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Shard;

  Shard& shard_for(std::string_view key);

  Clock clock_;
  InMemoryLimiterOptions options_;
  std::size_t shard_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace keygate::ratelimit
