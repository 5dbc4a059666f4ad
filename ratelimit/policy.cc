#include "ratelimit/policy.h"

namespace keygate::ratelimit {

EffectivePolicy make_policy(const conf::RateLimitPolicyConfig& config) {
  EffectivePolicy policy;
  policy.name = config.name;
  policy.per = config.per;
  policy.algorithm = config.algorithm;
  policy.limit = config.limit;
  policy.window_ms = config.window.count();
  policy.burst = config.burst;
  policy.monthly_quota = config.monthly_quota;
  policy.lease = config.lease;
  return policy;
}

}  // namespace keygate::ratelimit
