#include "auth/usage_report.h"

namespace keygate::auth {
namespace {

template <class T>
KeyResult<T> store_failure(const StoreStatus& status) {
  KeyResult<T> result;
  result.code =
      status.code == StoreErrc::not_found ? KeyErrc::not_found : KeyErrc::store_unavailable;
  result.message = status.message;
  return result;
}

const conf::PlanConfig* find_plan(const conf::KeysConfig& keys, const std::string& name) {
  for (const conf::PlanConfig& plan : keys.plans)
    if (plan.name == name) return &plan;
  return nullptr;
}

template <class T>
boost::json::value or_null(const std::optional<T>& value) {
  if (!value) return nullptr;
  return boost::json::value(*value);
}

}  // namespace

KeyResult<OrgUsageReport> org_usage_report(KeyManager& manager, UsageStore& usage,
                                           const std::string& org) {
  KeyResult<OrgUsageReport> result;
  KeyResult<OrgRecord> record = manager.get_org(org);
  if (!record.ok()) {
    result.code = record.code;
    result.message = record.code == KeyErrc::not_found ? "no org " + org : record.message;
    return result;
  }
  KeyResult<KeyManager::Usage> keys = manager.usage(org);
  if (!keys.ok()) return {keys.code, keys.message, {}};

  OrgUsageReport& report = result.value;
  report.org = std::move(record.value);
  report.period_start = usage_period_start(report.org.created_at, manager.now());
  report.period_end = report.period_start + kUsagePeriodSeconds;
  StoreResult<std::uint64_t> calls = usage.org_calls(org, report.period_start);
  if (!calls.ok()) return store_failure<OrgUsageReport>(calls.status);
  report.calls = calls.value;
  // Like the rate limiter: an org on a plan the configuration lost gets the default plan.
  const conf::KeysConfig& config = manager.keys_config();
  const conf::PlanConfig* plan = find_plan(config, report.org.plan);
  if (plan == nullptr) plan = find_plan(config, config.default_plan);
  if (plan != nullptr && plan->monthly_quota) {
    report.monthly_limit = *plan->monthly_quota;
    report.remaining =
        *plan->monthly_quota > report.calls ? *plan->monthly_quota - report.calls : 0;
  }
  report.active_keys = keys.value.active;
  report.max_keys = keys.value.max_keys;
  return result;
}

KeyResult<KeyUsage> key_usage_report(UsageStore& usage, const KeyRecord& key) {
  StoreResult<KeyUsage> read = usage.key_usage(key);
  if (!read.ok()) return store_failure<KeyUsage>(read.status);
  KeyResult<KeyUsage> result;
  result.value = std::move(read.value);
  if (!result.value.last_used_at) result.value.last_used_at = key.last_used_at;
  return result;
}

boost::json::object usage_json(const KeyUsage& usage) {
  boost::json::object object;
  object["key_id"] = usage.key_id;
  object["total_requests"] = usage.counts.total;
  object["successful_requests"] = usage.counts.status_2xx;
  object["failed_requests"] = usage.counts.failed();
  object["client_error_requests"] = usage.counts.status_4xx;
  object["server_error_requests"] = usage.counts.status_5xx;
  object["last_used_at"] = or_null(usage.last_used_at);
  if (usage.last_client_ip.empty())
    object["last_client_ip"] = nullptr;
  else
    object["last_client_ip"] = usage.last_client_ip;
  return object;
}

boost::json::object usage_json(const OrgUsageReport& report) {
  boost::json::object object;
  object["org"] = report.org.id;
  if (report.org.plan.empty())
    object["plan"] = nullptr;  // no plans configured
  else
    object["plan"] = report.org.plan;
  object["created_at"] = report.org.created_at;
  object["period_start"] = report.period_start;
  object["period_end"] = report.period_end;
  object["calls"] = report.calls;
  object["monthly_limit"] = or_null(report.monthly_limit);
  object["remaining"] = or_null(report.remaining);
  object["active_keys"] = report.active_keys;
  object["max_keys"] = or_null(report.max_keys);
  return object;
}

}  // namespace keygate::auth
