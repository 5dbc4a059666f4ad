// Metrics of the policy steps (authentication, rate limits, key store), declared in one place.
#pragma once

#include <array>
#include <map>
#include <string>
#include <string_view>

#include "proxy/metrics_registry.h"

namespace keygate::proxy {

class PolicyMetrics;

// Looking a labelled child up takes the family's lock and allocates the label vector, too
// much for every request: each worker keeps the children it used in this cache instead.
class PolicyCounterCache {
 public:
  explicit PolicyCounterCache(PolicyMetrics& metrics) : metrics_(metrics) {}
  Counter& auth_decision(std::string_view reason);
  // outcome: 0 allowed, 1 limited, 2 store_error
  Counter& rate_limit_decision(std::string_view policy, int outcome);

 private:
  PolicyMetrics& metrics_;
  std::map<std::string, Counter*, std::less<>> auth_;
  std::map<std::string, std::array<Counter*, 3>, std::less<>> limits_;
};

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
