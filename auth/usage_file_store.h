// Usage of a file store: one JSON document beside the key file ("keys.json" ->
// "keys.usage.json"), format in docs/usage.md. The key file itself only receives
// last_used_at, through the key repository (at most once per last_used_interval per key),
// so counters that change every second never make the proxy reload its keys.
//
// Each apply() is one locked read-modify-replace of the document; batch ids already applied
// are remembered (the last kRememberedBatches), which makes a retried batch a no-op.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "auth/usage_store.h"

namespace keygate::auth {

class FileUsageStore final : public UsageStore {
 public:
  static constexpr std::size_t kRememberedBatches = 64;
  // Key entries not updated for this long are dropped (deleted keys leave no trace forever).
  static constexpr UnixSeconds kForgetAfterSeconds = 400 * 24 * 3600;

  // `records` receives last_used_at; null: only the document is written. `clock` stamps
  // entries for expiry (default: the system clock).
  FileUsageStore(std::string path, std::shared_ptr<KeyRepository> records,
                 std::function<UnixSeconds()> clock = {},
                 std::chrono::milliseconds lock_timeout = std::chrono::seconds(10));

  const std::string& path() const { return path_; }

  StoreStatus apply(const UsageBatch& batch) override;
  StoreResult<KeyUsage> key_usage(const KeyRecord& key) override;
  StoreResult<std::uint64_t> org_calls(const std::string& org, UnixSeconds period_start) override;

 private:
  StoreStatus apply_counters(const UsageBatch& batch);

  std::string path_;
  std::shared_ptr<KeyRepository> records_;
  std::function<UnixSeconds()> clock_;
  std::chrono::milliseconds lock_timeout_;
};

}  // namespace keygate::auth
