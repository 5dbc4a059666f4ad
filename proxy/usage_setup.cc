#include "proxy/usage_setup.h"

#include "auth/usage_store.h"
#include "proxy/log.h"

namespace keygate::proxy {

std::unique_ptr<auth::UsageRecorder> start_usage_recorder(const conf::Config& config,
                                                          auth::KeyRepository* file_records) {
  if (!config.usage.enabled) return nullptr;
  // Not owned: the services own the key store and stop the recorder first.
  std::shared_ptr<auth::KeyRepository> records(std::shared_ptr<void>(), file_records);
  auth::StoreStatus error;
  std::unique_ptr<auth::UsageStore> store = auth::open_usage_store(config, records, error);
  if (!store) {
    log_error("usage recording off", {{"reason", error.message}});
    return nullptr;
  }
  auth::UsageRecorderOptions options = auth::usage_recorder_options(config.usage);
  options.on_flush_failed = [](const auth::StoreStatus& status) {
    log_warn("usage flush failed; keeping the counts and retrying every flush interval",
             {{"reason", status.message}});
  };
  options.on_flush_recovered = [] { log_info("usage flush recovered"); };
  auto recorder = std::make_unique<auth::UsageRecorder>(std::move(store), std::move(options));
  recorder->start();
  return recorder;
}

std::shared_ptr<AdminApi> make_admin_api(const conf::Config& config,
                                         std::shared_ptr<const auth::KeyHasher> hasher) {
  AdminToken token = AdminToken::load(config.admin);
  if (!token.problem().empty()) log_error("management API disabled", {{"reason", token.problem()}});
  AdminApiDependencies dependencies;
  dependencies.hasher = std::move(hasher);
  return std::make_shared<AdminApi>(std::make_shared<const conf::Config>(config), std::move(token),
                                    std::move(dependencies));
}

}  // namespace keygate::proxy
