// Refusals Redis gave, remembered per worker until their Retry-After, so that a client hammering
// a spent limit is answered 429 without a Redis call per request.
//
// Why it stays exact: a refused request charges no counter (the script is all-or-nothing), and
// until the refusing counter's retry time Redis can only refuse that request again — counters
// only fill up as other replicas admit requests, and a window or bucket only frees capacity at
// the time the retry time already accounts for. The memory is keyed by the counters of every
// policy the request is checked against, and a change of a policy's limit, window or bucket
// (an override, a reload) voids it. What it does not see: a counter reset by hand in Redis
// before the retry time, which takes effect here only once that time has passed.
//
// One table per worker thread; not thread-safe. Bounded by `max_entries`: when full, ended
// refusals are dropped (at most once a second), and until there is room nothing new is kept.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ratelimit/decision.h"
#include "ratelimit/identity_hash.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"

namespace keygate::ratelimit {

class RefusalMemory {
 public:
  explicit RefusalMemory(std::size_t max_entries) : max_entries_(max_entries) {}

  // The refusal still in force for exactly these policies and subject, with its retry times
  // brought to `now_ms` (this process's clock); nullopt when there is none.
  std::optional<Decision> recall(std::span<const EffectivePolicy> policies, const Subject& subject,
                                 std::int64_t now_ms);

  // After Redis refused: keeps `decision` until its longest-refusing policy lets the request
  // through. `now_ms` is this process's clock when the answer arrived.
  void remember(std::span<const EffectivePolicy> policies, const Subject& subject,
                const Decision& decision, std::int64_t now_ms);

  std::size_t size() const { return entries_.size(); }

 private:
  struct PolicyShape {
    std::uint64_t limit = 0;
    std::int64_t window_ms = 0;
    std::uint64_t bucket_size = 0;
    bool operator==(const PolicyShape&) const = default;
  };
  struct Refusal {
    std::vector<PolicyShape> shapes;  // the policies as they were when Redis refused
    Decision decision;
    std::int64_t decided_at_ms = 0;  // local clock
    std::int64_t until_ms = 0;       // local clock
  };

  static PolicyShape shape_of(const EffectivePolicy& policy);
  void build_key(std::span<const EffectivePolicy> policies, const Subject& subject);
  void make_room(std::int64_t now_ms);
  static constexpr std::int64_t kSweepEveryMs = 1000;

  const std::size_t max_entries_;
  std::unordered_map<std::string, Refusal, IdentityHash, std::equal_to<>> entries_;
  std::string key_;  // scratch: the counters of the request being looked up
  std::int64_t next_sweep_ms_ = 0;
};

}  // namespace keygate::ratelimit
