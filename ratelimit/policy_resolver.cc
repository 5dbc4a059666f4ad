#include "ratelimit/policy_resolver.h"

#include <algorithm>

namespace keygate::ratelimit {
namespace {

class ListBuilder {
 public:
  explicit ListBuilder(const conf::Config& config) : config_(config) {}

  void add_named(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      // Unknown names are rejected when the config is loaded; skip rather than fail here.
      if (const auto* policy = config_.find_policy(name)) add(make_policy(*policy));
    }
  }

  void add(EffectivePolicy policy) {
    const bool seen = std::any_of(list_.begin(), list_.end(),
                                  [&](const EffectivePolicy& p) { return p.name == policy.name; });
    if (!seen) list_.push_back(std::move(policy));
  }

  PolicyList finish() { return std::make_shared<const std::vector<EffectivePolicy>>(list_); }

 private:
  const conf::Config& config_;
  std::vector<EffectivePolicy> list_;
};

EffectivePolicy monthly_quota_policy(std::uint64_t quota) {
  EffectivePolicy p;
  p.name = kMonthlyQuotaPolicy;
  p.per = Counter::org;  // all keys of an org share its quota
  p.algorithm = Algorithm::fixed_window;
  p.limit = quota;
  p.window_ms = kQuotaPeriodMs;
  p.monthly_quota = true;
  return p;
}

bool applies(const auth::LimitOverride& o, const std::vector<EffectivePolicy>& list) {
  return std::any_of(list.begin(), list.end(),
                     [&](const EffectivePolicy& p) { return p.name == o.policy; });
}

}  // namespace

PolicyResolver::PolicyResolver(conf::ConfigPtr config) : config_(std::move(config)) {
  for (const conf::RouteConfig& route : config_->routes) {
    RouteEntry& entry = routes_[&route];
    entry.anonymous = build(route, nullptr, {});
    for (const conf::PlanConfig& plan : config_->keys.plans) {
      PlanEntry& by_plan = entry.by_plan[plan.name];
      by_plan.base = build(route, &plan, {});
      for (const auto& [type, names] : config_->keys.type_rate_limits)
        by_plan.by_type[type] = build(route, &plan, type);
    }
  }
}

const conf::PlanConfig* PolicyResolver::plan_or_default(std::string_view plan) const {
  // An org whose plan is missing from the config gets the default plan's limits, never none.
  for (const conf::PlanConfig& candidate : config_->keys.plans)
    if (!plan.empty() && candidate.name == plan) return &candidate;
  return config_->find_plan(config_->keys.default_plan);
}

PolicyList PolicyResolver::build(const conf::RouteConfig& route, const conf::PlanConfig* plan,
                                 std::string_view key_type) const {
  ListBuilder builder(*config_);
  builder.add_named(route.rate_limits);
  if (plan) {
    builder.add_named(plan->rate_limits);
    if (plan->monthly_quota) builder.add(monthly_quota_policy(*plan->monthly_quota));
  }
  if (!key_type.empty()) {
    const auto& types = config_->keys.type_rate_limits;
    if (auto it = types.find(std::string(key_type)); it != types.end())
      builder.add_named(it->second);
  }
  return builder.finish();
}

PolicyList PolicyResolver::lookup(const conf::RouteConfig& route, const conf::PlanConfig* plan,
                                  std::string_view key_type) const {
  auto route_it = routes_.find(&route);
  if (route_it == routes_.end() || plan == nullptr) return build(route, plan, key_type);
  const auto& plans = route_it->second.by_plan;
  auto plan_it = plans.find(plan->name);
  if (plan_it == plans.end()) return build(route, plan, key_type);
  const auto& types = plan_it->second.by_type;
  auto type_it = types.find(key_type);
  return type_it != types.end() ? type_it->second : plan_it->second.base;
}

PolicyList PolicyResolver::resolve(const conf::RouteConfig& route, std::string_view plan,
                                   std::string_view key_type,
                                   std::span<const auth::LimitOverride> overrides) const {
  PolicyList list = lookup(route, plan_or_default(plan), key_type);
  const bool any = std::any_of(overrides.begin(), overrides.end(),
                               [&](const auth::LimitOverride& o) { return applies(o, *list); });
  if (!any) return list;

  auto adjusted = std::make_shared<std::vector<EffectivePolicy>>(*list);
  for (const auth::LimitOverride& o : overrides) {
    for (EffectivePolicy& p : *adjusted) {
      if (p.name != o.policy) continue;
      if (o.limit) p.limit = *o.limit;
      // A quota's period is fixed at 30 days; only its size can be overridden.
      if (o.window_ms && *o.window_ms > 0 && !p.monthly_quota) p.window_ms = *o.window_ms;
    }
  }
  return adjusted;
}

PolicyList PolicyResolver::resolve_anonymous(const conf::RouteConfig& route) const {
  auto it = routes_.find(&route);
  return it != routes_.end() ? it->second.anonymous : build(route, nullptr, {});
}

}  // namespace keygate::ratelimit
