// The answer of a rate-limit check: one PolicyDecision per effective policy and the verdict
// over all of them. Plain data; headers.h turns it into response headers and bodies.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/algorithms.h"
#include "ratelimit/policy.h"

namespace keygate::ratelimit {

struct PolicyDecision {
  std::string name;
  std::uint64_t limit = 0;  // token bucket: the bucket size, the unit `remaining` counts in
  std::uint64_t remaining = 0;
  std::int64_t reset_ms = 0;      // Unix ms when the counter is full again
  std::int64_t reset_unix_s = 0;  // reset_ms rounded up
  std::chrono::milliseconds window{0};
  bool allowed = true;
  std::int64_t retry_after_ms = 0;  // 0 when allowed
  std::int64_t retry_after_s = 0;   // retry_after_ms rounded up
  bool is_quota = false;            // a monthly quota (its own 429 code)
};

enum class Outcome {
  allowed,
  rate_limited,  // 429: a policy refused
  unavailable,   // 503: the counter store failed and the route is fail_closed
};

struct Decision {
  Outcome outcome = Outcome::allowed;
  std::vector<PolicyDecision> policies;  // same order as the policies checked
  // rate_limited: the refusing policy that makes the caller wait longest.
  std::optional<std::size_t> refused;
  // The policy to show in X-RateLimit-*: the refused one, else the lowest remaining/limit.
  std::optional<std::size_t> closest;
  // rate_limited: max over refusing policies, whole seconds, rounded up; unavailable: when to
  // try again (at least 1).
  std::int64_t retry_after_s = 0;
  std::int64_t now_ms = 0;      // the time the decision was made at (the store's clock)
  bool store_error = false;     // the shared store failed; the failure mode decided
  bool local_fallback = false;  // decided by the in-memory limiter standing in for Redis

  bool allowed() const { return outcome == Outcome::allowed; }
};

PolicyDecision make_policy_decision(const EffectivePolicy& policy, const Verdict& verdict);

// Combines per-policy results: refused if any refuses, with `refused`, `closest` and
// `retry_after_s` filled in.
Decision decide(std::vector<PolicyDecision> policies, std::int64_t now_ms);

// The counter store failed and no policy could be checked.
Decision store_failure_allowed(std::int64_t now_ms);
Decision store_failure_refused(std::int64_t now_ms, std::int64_t retry_after_ms);

}  // namespace keygate::ratelimit
