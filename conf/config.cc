#include "conf/config.h"

namespace keygate::conf {
namespace {
template <class Items>
auto find_named(const Items& items, const std::string& name) -> decltype(&items.front()) {
  for (const auto& item : items)
    if (item.name == name) return &item;
  return nullptr;
}
}  // namespace

const UpstreamConfig* Config::find_upstream(const std::string& name) const {
  return find_named(upstreams, name);
}
const RateLimitPolicyConfig* Config::find_policy(const std::string& name) const {
  return find_named(rate_limits.policies, name);
}
const PlanConfig* Config::find_plan(const std::string& name) const {
  return find_named(keys.plans, name);
}

}  // namespace keygate::conf
