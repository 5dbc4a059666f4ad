#include "auth/usage_file_store.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>

#include "auth/locked_file.h"
#include "auth/usage_last_used.h"

namespace keygate::auth {
namespace {

// A usage document larger than this is refused (a few hundred thousand keys fit).
constexpr std::size_t kMaxUsageFileBytes = 128 * 1024 * 1024;

namespace json = boost::json;

constexpr std::size_t kPeriodsKept = 2;  // the current period and the one before it

UnixSeconds system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StoreStatus corrupt(const std::string& path, const std::string& why) {
  return StoreStatus::error(StoreErrc::corrupt, path + ": " + why);
}

// The document, or an empty one when the file does not exist yet.
StoreResult<json::object> read_document(const std::string& path) {
  auto text = locked_file::read(path, kMaxUsageFileBytes);
  if (!text.ok()) return {text.status, {}};
  json::object document;
  if (!text.value) return {StoreStatus::success(), std::move(document)};
  boost::system::error_code ec;
  json::value parsed = json::parse(*text.value, ec);
  if (ec) return {corrupt(path, "invalid JSON: " + ec.message()), {}};
  if (!parsed.is_object()) return {corrupt(path, "the document must be a JSON object"), {}};
  document = std::move(parsed.as_object());
  for (const char* section : {"keys", "orgs"}) {
    const json::value* value = document.if_contains(section);
    if (value && !value->is_object())
      return {corrupt(path, std::string("\"") + section + "\" must be an object"), {}};
  }
  const json::value* batches = document.if_contains("batches");
  if (batches && !batches->is_array()) return {corrupt(path, "\"batches\" must be an array"), {}};
  return {StoreStatus::success(), std::move(document)};
}

json::object& section(json::object& document, const char* name) {
  json::value& value = document[name];
  if (!value.is_object()) value = json::object();
  return value.as_object();
}

std::uint64_t number(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr) return 0;
  if (value->is_uint64()) return value->as_uint64();
  if (value->is_int64() && value->as_int64() > 0)
    return static_cast<std::uint64_t>(value->as_int64());
  return 0;
}

void add_to(json::object& entry, std::string_view field, std::uint64_t n) {
  entry[field] = number(entry, field) + n;
}

bool already_applied(const json::object& document, const std::string& id) {
  const json::value* batches = document.if_contains("batches");
  if (batches == nullptr || id.empty()) return false;
  for (const json::value& seen : batches->as_array())
    if (seen.is_string() && seen.as_string() == id) return true;
  return false;
}

void remember(json::object& document, const std::string& id) {
  if (id.empty()) return;
  json::value& value = document["batches"];
  if (!value.is_array()) value = json::array();
  json::array& batches = value.as_array();
  batches.push_back(json::string(id));
  while (batches.size() > FileUsageStore::kRememberedBatches) batches.erase(batches.begin());
}

void add_key(json::object& keys, const std::string& id, const KeyDelta& delta, UnixSeconds now) {
  json::value& slot = keys[id];
  if (!slot.is_object()) slot = json::object();
  json::object& entry = slot.as_object();
  entry["org"] = delta.org;
  add_to(entry, "total", delta.counts.total);
  add_to(entry, "status_2xx", delta.counts.status_2xx);
  add_to(entry, "status_4xx", delta.counts.status_4xx);
  add_to(entry, "status_5xx", delta.counts.status_5xx);
  if (delta.last_use) {
    const json::value* old = entry.if_contains("last_used_at");
    if (old == nullptr || !old->is_int64() || old->as_int64() <= delta.last_use->at) {
      entry["last_used_at"] = delta.last_use->at;
      entry["last_client_ip"] = delta.last_use->client_ip;
    }
  }
  entry["updated_at"] = now;
}

void add_org_calls(json::object& orgs, const std::string& org,
                   const std::map<UnixSeconds, std::uint64_t>& periods) {
  json::value& slot = orgs[org];
  if (!slot.is_object()) slot = json::object();
  json::object& entry = slot.as_object();
  for (const auto& [start, calls] : periods) add_to(entry, std::to_string(start), calls);
  // Only the latest periods matter: the current one, and the last one for a while after it.
  std::vector<long long> starts;
  for (const auto& item : entry) starts.push_back(std::atoll(std::string(item.key()).c_str()));
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 0; i + kPeriodsKept < starts.size(); ++i)
    entry.erase(std::to_string(starts[i]));
}

void forget_stale_keys(json::object& keys, UnixSeconds now) {
  for (auto it = keys.begin(); it != keys.end();) {
    const json::object* entry = it->value().if_object();
    const json::value* updated = entry ? entry->if_contains("updated_at") : nullptr;
    if (updated && updated->is_int64() &&
        updated->as_int64() < now - FileUsageStore::kForgetAfterSeconds)
      it = keys.erase(it);
    else
      ++it;
  }
}

}  // namespace

std::string usage_file_path(const std::string& key_file_path) {
  std::filesystem::path path(key_file_path);
  path.replace_extension(".usage.json");
  return path.string();
}

FileUsageStore::FileUsageStore(std::string path, std::shared_ptr<KeyRepository> records,
                               std::function<UnixSeconds()> clock,
                               std::chrono::milliseconds lock_timeout)
    : path_(std::move(path)),
      records_(std::move(records)),
      clock_(clock ? std::move(clock) : system_now),
      lock_timeout_(lock_timeout) {}

StoreStatus FileUsageStore::apply(const UsageBatch& batch) {
  if (batch.empty()) return StoreStatus::success();
  if (StoreStatus status = apply_counters(batch); !status.ok()) return status;
  if (!records_) return StoreStatus::success();
  // Record updates are idempotent (a time never moves backwards), so after a failure here the
  // retry may safely repeat them while the counters above are skipped by batch id.
  std::map<std::string, std::map<std::string, UnixSeconds>> by_org;
  for (const auto& [id, delta] : batch.keys)
    if (delta.last_use) by_org[delta.org][id] = delta.last_use->at;
  for (const auto& [org, uses] : by_org)
    if (StoreStatus status = write_last_used(*records_, org, uses); !status.ok()) return status;
  return StoreStatus::success();
}

StoreStatus FileUsageStore::apply_counters(const UsageBatch& batch) {
  auto held = locked_file::lock(path_, lock_timeout_);
  if (!held.ok()) return held.status;
  auto document = read_document(path_);
  if (!document.ok()) return document.status;
  json::object& doc = document.value;
  if (already_applied(doc, batch.id)) return StoreStatus::success();
  const UnixSeconds now = clock_();
  doc["version"] = 1;
  json::object& keys = section(doc, "keys");
  for (const auto& [id, delta] : batch.keys) add_key(keys, id, delta, now);
  forget_stale_keys(keys, now);
  json::object& orgs = section(doc, "orgs");
  for (const auto& [org, periods] : batch.org_calls) add_org_calls(orgs, org, periods);
  remember(doc, batch.id);
  return locked_file::replace(path_, json::serialize(doc) + "\n");
}

StoreResult<KeyUsage> FileUsageStore::key_usage(const KeyRecord& key) {
  auto document = read_document(path_);
  if (!document.ok()) return {document.status, {}};
  KeyUsage usage;
  usage.key_id = key.id;
  const json::value* keys = document.value.if_contains("keys");
  const json::value* slot = keys ? keys->as_object().if_contains(key.id) : nullptr;
  const json::object* entry = slot ? slot->if_object() : nullptr;
  if (entry == nullptr) return {StoreStatus::success(), std::move(usage)};
  usage.counts.total = number(*entry, "total");
  usage.counts.status_2xx = number(*entry, "status_2xx");
  usage.counts.status_4xx = number(*entry, "status_4xx");
  usage.counts.status_5xx = number(*entry, "status_5xx");
  if (const json::value* at = entry->if_contains("last_used_at"); at && at->is_int64())
    usage.last_used_at = at->as_int64();
  if (const json::value* ip = entry->if_contains("last_client_ip"); ip && ip->is_string())
    usage.last_client_ip = std::string(ip->as_string());
  return {StoreStatus::success(), std::move(usage)};
}

StoreResult<std::uint64_t> FileUsageStore::org_calls(const std::string& org,
                                                     UnixSeconds period_start) {
  auto document = read_document(path_);
  if (!document.ok()) return {document.status, 0};
  const json::value* orgs = document.value.if_contains("orgs");
  const json::value* slot = orgs ? orgs->as_object().if_contains(org) : nullptr;
  const json::object* entry = slot ? slot->if_object() : nullptr;
  if (entry == nullptr) return {StoreStatus::success(), 0};
  return {StoreStatus::success(), number(*entry, std::to_string(period_start))};
}

}  // namespace keygate::auth
