// rate_limits and usage: what is counted, and how usage is written back.
#include "conf/section_parsers.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

// Monthly quotas run over a 30-day period anchored at the org's creation.
constexpr Duration kQuotaPeriod = std::chrono::hours(24 * 30);
// A lease is held by one worker; more than this would let one worker sit on a large share.
constexpr std::int64_t kMaxLease = 1000000;

void parse_policy(const YamlValue& item, ParseContext& ctx) {
  using Policy = RateLimitPolicyConfig;
  auto map = YamlMap::open(
      item, {"name", "per", "algorithm", "limit", "window", "burst", "monthly_quota", "lease"},
      ctx.diag);
  if (!map) return;
  Policy policy;
  policy.mark = item.mark;
  if (map->require("name") && map->read("name", policy.name)) {
    if (policy.name.empty())
      ctx.diag.error(map->get("name").mark, "rate limit policy name must not be empty");
    ctx.names.define(NameKind::policy, policy.name, map->get("name").mark, ctx.diag);
  }
  map->read_enum<Policy::Counter>("per", policy.per,
                                  {{"key", Policy::Counter::key},
                                   {"org", Policy::Counter::org},
                                   {"route", Policy::Counter::route},
                                   {"client_ip", Policy::Counter::client_ip}});
  map->read_enum<Policy::Algorithm>("algorithm", policy.algorithm,
                                    {{"sliding_window", Policy::Algorithm::sliding_window},
                                     {"fixed_window", Policy::Algorithm::fixed_window},
                                     {"token_bucket", Policy::Algorithm::token_bucket}});
  map->read_integer("limit", policy.limit, 1);
  const bool window_read = map->read_duration("window", policy.window);
  if (map->read_integer("burst", policy.burst, 1) &&
      policy.algorithm != Policy::Algorithm::token_bucket) {
    ctx.diag.error(map->get("burst").mark,
                   "rate limit policy burst only applies to algorithm token_bucket");
  }
  map->read("monthly_quota", policy.monthly_quota);
  map->read_integer("lease", policy.lease, 0, kMaxLease);

  if (policy.monthly_quota) {
    const std::string label = "monthly_quota policy '" + policy.name + "'";
    if (policy.per != Policy::Counter::org) {
      ctx.diag.error(map->has("per") ? map->get("per").mark : item.mark,
                     label + " must count per org (all keys of an org share the quota)");
    }
    if (!map->has("algorithm")) {
      policy.algorithm = Policy::Algorithm::fixed_window;
    } else if (policy.algorithm != Policy::Algorithm::fixed_window) {
      ctx.diag.error(map->get("algorithm").mark, label + " must use algorithm fixed_window");
    }
    if (!map->has("window")) {
      policy.window = kQuotaPeriod;
    } else if (window_read && policy.window != kQuotaPeriod) {
      ctx.diag.error(map->get("window").mark,
                     label + " counts over 30 days: set window to 30d or leave it out");
    }
  }
  ctx.config.rate_limits.policies.push_back(std::move(policy));
}

void parse_breaker(const YamlValue& value, RateLimitConfig& limits, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"failures", "open_for"}, ctx.diag);
  if (!map) return;
  map->read_integer("failures", limits.breaker_failures, 1);
  map->read_duration("open_for", limits.breaker_open_for);
}

}  // namespace

void parse_rate_limits(const YamlValue& value, ParseContext& ctx) {
  auto map =
      YamlMap::open(value, {"draft_headers", "replica_count", "breaker", "policies"}, ctx.diag);
  if (!map) return;
  RateLimitConfig& limits = ctx.config.rate_limits;
  map->read("draft_headers", limits.draft_headers);
  map->read_integer("replica_count", limits.replica_count, 1);
  parse_breaker(map->get("breaker"), limits, ctx);
  for (const YamlValue& item : read_list(map->get("policies"), "rate limit policy", ctx.diag))
    parse_policy(item, ctx);
}

void parse_usage(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"enabled", "flush_interval", "last_used_interval"}, ctx.diag);
  if (!map) return;
  map->read("enabled", ctx.config.usage.enabled);
  map->read_duration("flush_interval", ctx.config.usage.flush_interval);
  map->read_duration("last_used_interval", ctx.config.usage.last_used_interval);
}

}  // namespace keygate::conf
