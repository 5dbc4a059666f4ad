// The glue between the proxy and the policy modules: the key store, the key cache and
// validator, the rate limiter and usage recording. SharedServices lives once per process;
// each worker gets a WorkerServices bound to its own io_context (its own Redis connection).
#pragma once

#include <memory>
#include <string>

#include "auth/key_validator.h"
#include "auth/usage_shard.h"
#include "conf/config.h"
#include "proxy/asio_aliases.h"
#include "proxy/policy_metrics.h"
#include "ratelimit/limiter.h"
#include "ratelimit/policy_resolver.h"

namespace keygate::proxy {

class AdminServer;
class ProxyMetrics;

// What a worker's requests use. Worker thread only.
struct WorkerServices {
  // Declared first so it goes last: what the validator refers to (the store lookup).
  std::shared_ptr<void> lookup_owner;
  std::unique_ptr<auth::KeyValidator> validator;
  std::shared_ptr<ratelimit::Limiter> limiter;
  std::shared_ptr<const ratelimit::PolicyResolver> policies;  // of the current config
  PolicyMetrics* metrics = nullptr;
  std::unique_ptr<PolicyCounterCache> counters;  // this worker's view of `metrics`
  std::shared_ptr<auth::UsageShard> usage;       // this worker's usage counts; null: usage off
  std::function<void()> on_destroy;              // releases per-worker connections
  ~WorkerServices() {
    if (on_destroy) on_destroy();
  }
};

class SharedServices {
 public:
  virtual ~SharedServices() = default;

  // Null with a reason when the configured store cannot be set up (bad pepper, ...).
  static std::shared_ptr<SharedServices> create(const conf::Config& config, ProxyMetrics& metrics,
                                                std::string* error);

  // Built on the worker's own thread-to-be; `io` is the worker's context.
  virtual std::shared_ptr<WorkerServices> for_worker(asio::io_context& io,
                                                     conf::ConfigPtr config) = 0;
  // Background work on the control thread: invalidation subscriber, store file watcher.
  virtual void start(asio::io_context& control) = 0;
  virtual void stop() = 0;
  // A new configuration: called on the control thread; each worker is updated through
  // `post_to_worker`.
  virtual void reload(conf::ConfigPtr config) = 0;
  // What must hold before any request can be served (the key file loaded, the store reached
  // once since start); false with the reason otherwise.
  virtual bool ready(std::string* reason) = 0;
  // Whether the store answers now: false with the reason during an outage, when requests are
  // still served from the key cache (stale grace) and with the routes' limit failure modes.
  virtual bool store_reachable(std::string* reason) = 0;
  virtual std::string metrics() = 0;  // extra Prometheus text
  virtual void install_admin_api(AdminServer& admin, const conf::Config& config) = 0;
};

}  // namespace keygate::proxy
