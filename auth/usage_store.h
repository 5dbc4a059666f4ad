// Where usage counters live: Redis beside the key records (usage_redis_store.h) or a usage
// document beside the key file (usage_file_store.h). Formats in docs/redis-schema.md and
// docs/usage.md.
//
// Writes come from the recorder's flush thread, reads from the CLI and the admin API thread.
// Every call blocks on I/O; none throws. An instance is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/key_repository.h"
#include "auth/usage_types.h"
#include "conf/config.h"

namespace keygate::auth {

class UsageStore {
 public:
  virtual ~UsageStore() = default;

  // Adds the batch's counters and org calls, records its last uses (in the usage data and
  // as the key records' last_used_at, never moving either backwards), all at most once per
  // batch id. A failure may have applied part of the batch: retry with the same id.
  virtual StoreStatus apply(const UsageBatch& batch) = 0;

  // Zeros (and no last use) for a key nothing was recorded for.
  virtual StoreResult<KeyUsage> key_usage(const KeyRecord& key) = 0;
  // Calls of `org` in the period starting at `period_start`; 0 when none were recorded.
  virtual StoreResult<std::uint64_t> org_calls(const std::string& org,
                                               UnixSeconds period_start) = 0;
};

// The usage document of a file store: "keys.json" -> "keys.usage.json", in the same
// directory.
std::string usage_file_path(const std::string& key_file_path);

// The usage store matching config.store: Redis when store.redis is configured (with either
// store kind), else the document beside the key file. `records` is the key repository, where
// last_used_at is written when the records live in a file (may be null for a reader that
// never applies).
// Null with `error` set when it cannot be opened (Redis connects lazily, so only a
// misconfiguration fails here).
std::unique_ptr<UsageStore> open_usage_store(const conf::Config& config,
                                             std::shared_ptr<KeyRepository> records,
                                             StoreStatus& error);

// open_usage_store, or a test's replacement.
using UsageStoreOpener = std::function<std::unique_ptr<UsageStore>(
    const conf::Config& config, std::shared_ptr<KeyRepository> records, StoreStatus& error)>;

}  // namespace keygate::auth
