#include "proxy/plan_summary.h"

#include "proxy/log.h"

namespace keygate::proxy {

std::string plans_summary(const conf::KeysConfig& keys) {
  if (keys.plans.empty()) return "none (no key maximum, no monthly quota)";
  std::string text;
  for (const conf::PlanConfig& plan : keys.plans) {
    if (!text.empty()) text += ", ";
    text += plan.name + " (max_keys ";
    text += plan.max_keys ? std::to_string(*plan.max_keys) : "unlimited";
    text += ", monthly_quota ";
    text += plan.monthly_quota ? std::to_string(*plan.monthly_quota) : "none";
    if (!plan.rate_limits.empty()) {
      text += ", rate_limits";
      for (const std::string& policy : plan.rate_limits) text += " " + policy;
    }
    text += ")";
  }
  return text;
}

void log_plans(const conf::KeysConfig& keys) {
  const std::string summary = plans_summary(keys);
  if (keys.plans.empty())
    log_info("plans", {{"plans", summary}});
  else
    log_info("plans", {{"plans", summary}, {"default_plan", keys.default_plan}});
}

}  // namespace keygate::proxy
