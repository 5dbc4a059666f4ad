// Usage in Redis, beside the key records (names in docs/redis-schema.md, "Usage"):
//
//   <p>usage:{<org>}:key:<id>         hash     total, status_2xx, status_4xx, status_5xx,
//                                              last_used_at, last_client_ip
//   <p>usage:{<org>}:period:<start>   integer  calls of the org in the period starting <start>
//   <p>usage:{<org>}:batch:<batch>    string   "this batch was applied" (expires after a day)
//
// Every name of one org carries the org as hash tag, so one script per org (and per chunk of
// kKeysPerScript keys) adds a batch atomically, also in Redis Cluster. The script first sets
// the batch marker with NX: a retried batch finds it and changes nothing.
//
// last_used_at also goes into the key record. Records in Redis: read, edit with the record
// codec, and a compare-and-set script that bumps <p>org:<org>:rev, so a concurrent management
// write retries instead of overwriting it; no invalidation is published, since no proxy
// decision depends on last_used_at. Records in a key file (store.kind file with a store.redis
// block): through that repository's transaction.
//
// The connection is made lazily and remade after a transport failure. Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth/usage_store.h"
#include "conf/config.h"
#include "redis/script.h"
#include "redis/sync_client.h"

namespace keygate::auth {

namespace usage_redis_schema {
std::string key_usage(std::string_view prefix, std::string_view org, std::string_view key_id);
std::string org_period(std::string_view prefix, std::string_view org, UnixSeconds period_start);
std::string batch_marker(std::string_view prefix, std::string_view org, std::string_view batch);
}  // namespace usage_redis_schema

class RedisUsageStore final : public UsageStore {
 public:
  using Connect = std::function<std::unique_ptr<redis::SyncClient>(std::string* error)>;

  static constexpr std::size_t kKeysPerScript = 200;
  static constexpr UnixSeconds kKeyUsageTtlSeconds = 400 * 24 * 3600;  // refreshed on each write
  static constexpr UnixSeconds kBatchMarkerTtlSeconds = 24 * 3600;
  // From the last write: a period's count outlives the period by a whole period, so last
  // period's total stays readable after it ended.
  static constexpr UnixSeconds kPeriodTtlSeconds = 2 * kUsagePeriodSeconds + 24 * 3600;

  // `records`: the key repository when the records are not in this Redis (a file store);
  // null: they are. `connect` defaults to redis::connect_sync(config).
  explicit RedisUsageStore(const conf::RedisConfig& config,
                           std::shared_ptr<KeyRepository> records = nullptr, Connect connect = {});
  ~RedisUsageStore() override;

  StoreStatus apply(const UsageBatch& batch) override;
  StoreResult<KeyUsage> key_usage(const KeyRecord& key) override;
  StoreResult<std::uint64_t> org_calls(const std::string& org, UnixSeconds period_start) override;

 private:
  StoreStatus apply_org(const UsageBatch& batch, const std::string& org,
                        const std::vector<const std::pair<const std::string, KeyDelta>*>& keys,
                        const std::map<UnixSeconds, std::uint64_t>* periods);
  StoreStatus touch_record(const std::string& key_id, const std::string& org, UnixSeconds at);
  // One command or script; a transport failure drops the connection for the next call.
  StoreResult<redis::Reply> run(std::initializer_list<std::string_view> args);
  StoreResult<redis::Reply> eval(const redis::Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args);
  StoreResult<redis::Reply> checked(redis::Result result);
  StoreStatus ensure_connected();

  conf::RedisConfig config_;
  std::shared_ptr<KeyRepository> records_;
  Connect connect_;
  std::unique_ptr<redis::SyncClient> client_;
  std::string where_;
};

}  // namespace keygate::auth
