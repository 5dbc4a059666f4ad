#include "proxy/worker_services.h"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <mutex>

#include "auth/file_key_store.h"
#include "auth/key_cache.h"
#include "auth/key_hash.h"
#include "auth/redis_key_lookup.h"
#include "auth/redis_key_schema.h"
#include "proxy/admin_server.h"
#include "proxy/dir_watcher.h"
#include "proxy/log.h"
#include "proxy/policy_metrics.h"
#include "proxy/proxy_metrics.h"
#include "proxy/redis_health.h"
#include "proxy/service_metrics.h"
#include "proxy/usage_setup.h"
#include "ratelimit/in_memory_limiter.h"
#include "ratelimit/redis_limiter.h"
#include "redis/redis_client.h"

namespace keygate::proxy {
namespace {

ratelimit::InMemoryLimiterOptions local_limiter_options(const conf::Config& config,
                                                        bool stands_in_for_redis) {
  ratelimit::InMemoryLimiterOptions options;
  // Standing in for a shared store during an outage, each replica takes its share only.
  if (stands_in_for_redis)
    options.limit_divisor =
        static_cast<std::uint64_t>(std::max(1, config.rate_limits.replica_count));
  return options;
}

class Services final : public SharedServices {
 public:
  Services(const conf::Config& config, ProxyMetrics& metrics,
           std::shared_ptr<const auth::KeyHasher> hasher)
      : config_(config),
        hasher_(std::move(hasher)),
        cache_(std::make_shared<auth::KeyCache>(config.cache)),
        metrics_(metrics.registry) {
    const bool redis = config.store.kind == conf::StoreConfig::Kind::redis;
    local_limiter_ = std::make_shared<ratelimit::InMemoryLimiter>(
        ratelimit::system_clock(), local_limiter_options(config, redis));
    if (!redis) file_store_ = std::make_unique<auth::FileKeyStore>(config.store.file_path);
    metrics.registry.callback_gauge("keygate_key_cache_entries", "Keys held in the key cache",
                                    [cache = cache_] { return double(cache->positive_size()); });
    metrics.registry.callback_gauge("keygate_key_cache_negative_entries",
                                    "Unknown key hashes remembered by the key cache",
                                    [cache = cache_] { return double(cache->negative_size()); });
    usage_ = start_usage_recorder(config, file_store_.get());
  }

  bool load(std::string* error) {
    if (!file_store_) return true;
    const auto status = file_store_->reload();
    if (!status.ok()) {
      *error = status.message;
      return false;
    }
    return true;
  }

  std::shared_ptr<WorkerServices> for_worker(asio::io_context& io,
                                             conf::ConfigPtr config) override {
    auto services = std::make_shared<WorkerServices>();
    services->metrics = &metrics_;
    services->counters = std::make_unique<PolicyCounterCache>(metrics_);
    services->policies = std::make_shared<const ratelimit::PolicyResolver>(config);
    if (usage_) services->usage = usage_->add_shard();
    if (file_store_) {
      services->validator =
          std::make_unique<auth::KeyValidator>(config, cache_, hasher_, *file_store_);
      services->limiter = local_limiter_;
    } else {
      auto client = redis::make_client(io.get_executor(), config->store.redis);
      auto lookup = std::make_shared<auth::RedisKeyLookup>(client, config->store.redis);
      services->validator = std::make_unique<auth::KeyValidator>(config, cache_, hasher_, *lookup);
      auto limiter = ratelimit::make_redis_limiter(
          io.get_executor(), client,
          ratelimit::redis_limiter_options(config->store.redis, config->rate_limits,
                                           ratelimit::system_clock(), local_limiter_));
      redis_health_.add_worker(io, client, limiter);
      services->limiter = limiter;
      asio::post(io, [client, lookup] {
        client->start();
        lookup->preload();
      });
      // The lookup must outlive the validator that refers to it, and the client belongs to
      // the worker's thread.
      services->lookup_owner = lookup;
      services->on_destroy = [client] { client->stop(); };
      std::lock_guard lock(mutex_);
      clients_.push_back(client);
    }
    std::lock_guard lock(mutex_);
    workers_.push_back({&io, services});
    return services;
  }

  void start(asio::io_context& control) override {
    if (file_store_) {
      const std::filesystem::path path(config_.store.file_path);
      const auto dir = path.parent_path().string();
      file_watcher_ = std::make_unique<DirWatcher>(
          control, dir.empty() ? "." : dir, std::vector<std::string>{path.filename().string()},
          [this] { reload_file_store(); });
      std::string error;
      if (!file_watcher_->start(&error))
        log_warn("key file not watched; restart to pick up changes", {{"reason", error}});
      return;
    }
    subscriber_ = redis::make_subscriber(
        control.get_executor(), config_.store.redis,
        {auth::redis_schema::invalidation_channel(config_.store.redis.key_prefix)},
        [this](std::string_view, std::string_view hash) {
          cache_->invalidate(hash);
          metrics_.invalidations.inc();
        },
        [this] {
          // Messages published while we were disconnected are lost: start from scratch.
          cache_->invalidate_all();
          metrics_.full_invalidations.inc();
        });
    subscriber_->start();
  }

  void stop() override {
    if (subscriber_) subscriber_->stop();
    file_watcher_.reset();
    // Workers have stopped: this last flush writes everything they recorded.
    if (usage_) usage_->stop();
    // Each client's timers belong to its worker's io_context, which goes with the worker:
    // only the worker may hold the client from here on.
    std::lock_guard lock(mutex_);
    clients_.clear();
  }

  void reload(conf::ConfigPtr config) override {
    auto policies = std::make_shared<const ratelimit::PolicyResolver>(config);
    if (admin_api_) admin_api_->update_config(config);
    std::lock_guard lock(mutex_);
    for (auto& [io, weak] : workers_) {
      asio::post(*io, [weak = weak, config, policies] {
        if (auto services = weak.lock()) {
          services->validator->update_config(config);
          services->policies = policies;
        }
      });
    }
  }

  bool ready(std::string* reason) override {
    if (file_store_) {
      if (!file_loaded_.load()) {
        *reason = "key file not loaded";
        return false;
      }
      return true;
    }
    if (store_reached_.load()) return true;
    std::string unreachable;
    if (!store_reachable(&unreachable)) {
      *reason = "redis not reached since start";
      return false;
    }
    store_reached_ = true;
    return true;
  }

  bool store_reachable(std::string* reason) override {
    if (file_store_) return true;
    std::lock_guard lock(mutex_);
    for (const auto& client : clients_) {
      if (!client->connected()) {
        *reason = "redis unreachable";
        return false;
      }
    }
    return true;
  }

  std::string metrics() override {
    std::string text = render_cache_metrics(cache_->stats());
    if (usage_) text += render_usage_metrics(usage_->stats());
    if (!redis_health_.empty())
      text += render_redis_metrics(redis_health_.collect(std::chrono::milliseconds(200)));
    return text;
  }

  void install_admin_api(AdminServer& admin, const conf::Config& config) override {
    admin_api_ = make_admin_api(config, hasher_);
    admin.set_api([api = admin_api_](const AdminRequest& request) { return api->handle(request); });
  }

  void mark_loaded() { file_loaded_ = true; }

 private:
  void reload_file_store() {
    const auto status = file_store_->reload();
    if (!status.ok()) {
      log_error("key file reload refused; keeping the previous keys", {{"reason", status.message}});
      return;
    }
    cache_->invalidate_all();
    metrics_.full_invalidations.inc();
    log_info("key file reloaded");
  }

  const conf::Config config_;  // the store settings in force: they need a restart to change
  std::shared_ptr<const auth::KeyHasher> hasher_;
  std::shared_ptr<auth::KeyCache> cache_;
  PolicyMetrics metrics_;
  std::shared_ptr<ratelimit::InMemoryLimiter> local_limiter_;
  std::unique_ptr<auth::FileKeyStore> file_store_;
  std::unique_ptr<DirWatcher> file_watcher_;
  std::shared_ptr<redis::Subscriber> subscriber_;
  std::atomic<bool> file_loaded_{false};
  std::atomic<bool> store_reached_{false};  // Redis answered once: start-up is over
  std::mutex mutex_;
  std::vector<std::shared_ptr<redis::Client>> clients_;
  std::vector<std::pair<asio::io_context*, std::weak_ptr<WorkerServices>>> workers_;
  // Last: the recorder writes last_used_at through file_store_ until it is stopped.
  std::unique_ptr<auth::UsageRecorder> usage_;
  RedisHealth redis_health_;
  std::shared_ptr<AdminApi> admin_api_;
};

}  // namespace

std::shared_ptr<SharedServices> SharedServices::create(const conf::Config& config,
                                                       ProxyMetrics& metrics, std::string* error) {
  std::string hasher_error;
  auto hasher = auth::KeyHasher::create(config.keys, hasher_error);
  if (!hasher) {
    *error = hasher_error;
    return nullptr;
  }
  auto services = std::make_shared<Services>(
      config, metrics, std::make_shared<const auth::KeyHasher>(std::move(*hasher)));
  if (!services->load(error)) return nullptr;
  services->mark_loaded();
  return services;
}

}  // namespace keygate::proxy
