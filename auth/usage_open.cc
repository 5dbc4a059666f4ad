// The usage store matching config.store, apart from the stores themselves so that each stays
// free of the other's dependencies.
#include "auth/usage_file_store.h"
#include "auth/usage_redis_store.h"
#include "auth/usage_store.h"

namespace keygate::auth {

std::unique_ptr<UsageStore> open_usage_store(const conf::Config& config,
                                             std::shared_ptr<KeyRepository> records,
                                             StoreStatus& error) {
  // Usage lives in Redis whenever one is configured (also beside a file store), else in the
  // usage document beside the key file.
  const bool records_in_redis = config.store.kind == conf::StoreConfig::Kind::redis;
  if (records_in_redis || config.store.redis_enabled)
    return std::make_unique<RedisUsageStore>(config.store.redis,
                                             records_in_redis ? nullptr : std::move(records));
  if (config.store.file_path.empty()) {
    error =
        StoreStatus::error(StoreErrc::conflict, "store.kind is file but store.file names no file");
    return nullptr;
  }
  return std::make_unique<FileUsageStore>(usage_file_path(config.store.file_path),
                                          std::move(records));
}

}  // namespace keygate::auth
