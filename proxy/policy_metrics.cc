#include "proxy/policy_metrics.h"

namespace keygate::proxy {

PolicyMetrics::PolicyMetrics(MetricsRegistry& registry)
    : auth_decisions(registry.counter("keygate_auth_decisions_total",
                                      "Authentication decisions by reason", {"reason"})),
      rate_limit_decisions(registry.counter("keygate_rate_limit_decisions_total",
                                            "Rate-limit decisions by policy and outcome",
                                            {"policy", "outcome"})),
      rate_limit_failures(registry.counter(
          "keygate_rate_limit_store_failures_total",
          "Rate-limit checks the counter store could not answer, by the failure mode applied",
          {"mode"})),
      store_lookup_latency(
          registry
              .histogram("keygate_key_store_lookup_duration_seconds",
                         "Key lookups that missed the cache and asked the store", {},
                         {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1})
              .with({})),
      invalidations(registry
                        .counter("keygate_key_invalidations_total",
                                 "Key invalidations received (revoke, rotate, delete, ...)")
                        .with({})),
      full_invalidations(registry
                             .counter("keygate_key_cache_flushes_total",
                                      "Whole key-cache drops (store reload, resubscribe)")
                             .with({})) {}

Counter& PolicyCounterCache::auth_decision(std::string_view reason) {
  auto it = auth_.find(reason);
  if (it == auth_.end())
    it = auth_.emplace(std::string(reason), &metrics_.auth_decisions.with({std::string(reason)}))
             .first;
  return *it->second;
}

Counter& PolicyCounterCache::rate_limit_decision(std::string_view policy, int outcome) {
  static constexpr const char* kOutcomes[3] = {"allowed", "limited", "store_error"};
  auto it = limits_.find(policy);
  if (it == limits_.end()) {
    std::array<Counter*, 3> children{};
    for (int i = 0; i < 3; ++i)
      children[i] = &metrics_.rate_limit_decisions.with({std::string(policy), kOutcomes[i]});
    it = limits_.emplace(std::string(policy), children).first;
  }
  return *it->second[outcome];
}

}  // namespace keygate::proxy
