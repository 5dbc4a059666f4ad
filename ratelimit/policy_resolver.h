// Which policies cover a request: the route's, the plan's (with its monthly quota) and the
// key type's, deduplicated by name in that order, with the key's own overrides applied.
//
// Built once per Config (rebuilt on reload) and then read-only, so it is shared by every
// worker without locks. Every (route, plan, key type) combination is precomputed; a request
// whose key has no overrides gets a shared list without allocating.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/key_record.h"
#include "conf/config.h"
#include "ratelimit/policy.h"

namespace keygate::ratelimit {

using PolicyList = std::shared_ptr<const std::vector<EffectivePolicy>>;

class PolicyResolver {
 public:
  explicit PolicyResolver(conf::ConfigPtr config);

  // An authenticated request. `plan` is the org's plan (empty or unknown: keys.default_plan);
  // overrides naming a policy that does not apply are ignored: they adjust, never attach.
  PolicyList resolve(const conf::RouteConfig& route, std::string_view plan,
                     std::string_view key_type,
                     std::span<const auth::LimitOverride> overrides = {}) const;
  // A request on a route without authentication: only the route's own policies.
  PolicyList resolve_anonymous(const conf::RouteConfig& route) const;

  const conf::Config& config() const { return *config_; }

 private:
  struct PlanEntry {
    PolicyList base;  // key types without policies of their own
    std::map<std::string, PolicyList, std::less<>> by_type;
  };
  struct RouteEntry {
    PolicyList anonymous;
    std::map<std::string, PlanEntry, std::less<>> by_plan;
  };

  const conf::PlanConfig* plan_or_default(std::string_view plan) const;
  PolicyList build(const conf::RouteConfig& route, const conf::PlanConfig* plan,
                   std::string_view key_type) const;
  PolicyList lookup(const conf::RouteConfig& route, const conf::PlanConfig* plan,
                    std::string_view key_type) const;

  conf::ConfigPtr config_;
  // Keyed by address: routes of this Config. A route from another snapshot is built on demand.
  std::unordered_map<const conf::RouteConfig*, RouteEntry> routes_;
};

}  // namespace keygate::ratelimit
