// One rate-limit policy as it applies to a request: a configured policy after plan, key-type
// and per-key overrides have been folded in. Cheap to copy; resolved once per
// (route, plan, key type) and shared.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "conf/config.h"

namespace keygate::ratelimit {

using Counter = conf::RateLimitPolicyConfig::Counter;
using Algorithm = conf::RateLimitPolicyConfig::Algorithm;

// Monthly quotas use 30-day periods (not calendar months) so every period has the same length
// and the reset is a simple function of the org's creation time.
inline constexpr std::int64_t kQuotaPeriodMs = 30LL * 24 * 60 * 60 * 1000;

// The name given to the quota synthesised from PlanConfig::monthly_quota.
inline constexpr const char* kMonthlyQuotaPolicy = "monthly_quota";

struct EffectivePolicy {
  std::string name;
  Counter per = Counter::key;
  Algorithm algorithm = Algorithm::sliding_window;
  std::uint64_t limit = 0;
  std::int64_t window_ms = 60000;
  std::uint64_t burst = 0;  // token bucket size; 0 = limit (follows a per-key limit override)
  // A fixed window of kQuotaPeriodMs anchored at the org's creation; algorithm and window_ms
  // are ignored.
  bool monthly_quota = false;
  // Requests' worth a worker may take from Redis at once and admit locally; 0: none.
  std::uint64_t lease = 0;

  std::uint64_t bucket_size() const { return burst != 0 ? burst : limit; }
  // The limit shown in headers: a token bucket counts `remaining` in tokens of its bucket.
  std::uint64_t shown_limit() const {
    return effective_algorithm() == Algorithm::token_bucket ? bucket_size() : limit;
  }
  // Never below 1 ms: every algorithm divides by it.
  std::int64_t effective_window_ms() const {
    return monthly_quota ? kQuotaPeriodMs : std::max<std::int64_t>(1, window_ms);
  }
  Algorithm effective_algorithm() const {
    return monthly_quota ? Algorithm::fixed_window : algorithm;
  }

  friend bool operator==(const EffectivePolicy&, const EffectivePolicy&) = default;
};

// From a configured policy, before any override.
EffectivePolicy make_policy(const conf::RateLimitPolicyConfig& config);

}  // namespace keygate::ratelimit
