// Metrics of the policy steps (authentication, rate limits, key store), declared in one place.
#pragma once

#include "proxy/metrics_registry.h"

namespace keygate::proxy {

class PolicyMetrics {
 public:
  explicit PolicyMetrics(MetricsRegistry& registry);

  Family<Counter>& auth_decisions;        // reason (ok, missing_api_key, ...)
  Family<Counter>& rate_limit_decisions;  // policy, outcome (allowed, limited, store_error)
  Family<Counter>& rate_limit_failures;   // mode (fail_open, fail_closed, local)
  Histogram& store_lookup_latency;        // key lookups that went to the store
  Counter& invalidations;                 // revocation/invalidation events received
  Counter& full_invalidations;            // whole-cache drops (resubscribe, file reload)
};

}  // namespace keygate::proxy
