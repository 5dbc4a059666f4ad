// Usage as the CLI and the admin API show it, computed once for both: a key's counters, and
// an org's calls in its current 30-day period against the plan's monthly quota.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "auth/key_manager.h"
#include "auth/usage_store.h"

namespace keygate::auth {

struct OrgUsageReport {
  OrgRecord org;
  UnixSeconds period_start = 0;
  UnixSeconds period_end = 0;  // exclusive: the next period starts here
  std::uint64_t calls = 0;
  std::optional<std::uint64_t> monthly_limit;  // the plan's monthly_quota; none: unlimited
  std::optional<std::uint64_t> remaining;      // monthly_limit - calls, never below 0
  std::size_t active_keys = 0;
  std::optional<std::size_t> max_keys;
};

// not_found when the org has no record (its period has no anchor).
KeyResult<OrgUsageReport> org_usage_report(KeyManager& manager, UsageStore& usage,
                                           const std::string& org);

// The key's counters; last_used_at falls back to the record's when the usage data has none.
KeyResult<KeyUsage> key_usage_report(UsageStore& usage, const KeyRecord& key);

// {"key_id","total_requests","successful_requests","failed_requests","client_error_requests",
//  "server_error_requests","last_used_at","last_client_ip"}; unset values are null.
boost::json::object usage_json(const KeyUsage& usage);
// {"org","plan","created_at","period_start","period_end","calls","monthly_limit","remaining",
//  "active_keys","max_keys"}; unlimited values are null.
boost::json::object usage_json(const OrgUsageReport& report);

}  // namespace keygate::auth
