// Usage recording off the request path: workers count into their UsageShard; a background
// thread flushes every flush_interval, merging the shards into one batch for the UsageStore.
//
// Guarantees (docs/usage.md):
//  - a batch is retried until the store takes it, under the same id, so a timeout that may
//    have applied it cannot count twice; what arrives meanwhile waits in a bounded backlog;
//  - a key's last use (last_used_at, last client IP) is written at most once per
//    last_used_interval; later uses within the interval wait and go out when it has passed;
//  - stop() flushes everything, deferred last uses included. A crash loses at most what was
//    recorded since the last successful flush: one flush interval while the store is healthy.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/usage_shard.h"
#include "auth/usage_store.h"
#include "conf/config.h"

namespace keygate::auth {

struct UsageRecorderOptions {
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds last_used_interval{60000};
  std::size_t max_keys_per_shard = 20000;  // distinct keys per worker between two flushes
  std::size_t max_pending_keys = 200000;   // keys waiting while the store is failing
  std::function<UnixSeconds()> clock;      // wall clock; default: the system clock
  // Flush thread: the store started failing (once per outage) / works again.
  std::function<void(const StoreStatus&)> on_flush_failed;
  std::function<void()> on_flush_recovered;
};

UsageRecorderOptions usage_recorder_options(const conf::UsageConfig& config);

class UsageRecorder {
 public:
  struct Stats {
    std::uint64_t flushes_ok = 0;
    std::uint64_t flushes_failed = 0;
    std::uint64_t dropped_requests = 0;   // over a bound; never written
    std::uint64_t dropped_last_uses = 0;  // deferred last uses over the bound
    std::size_t pending_keys = 0;         // keys whose counts wait for the store
    double last_flush_seconds = 0;        // how long the last flush took
    // Upper bound on the age of recorded usage not yet in the store: time since the start of
    // the last successful flush.
    double lag_seconds = 0;
  };

  UsageRecorder(std::unique_ptr<UsageStore> store, UsageRecorderOptions options);
  ~UsageRecorder();  // stop()
  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  // One per worker; any thread.
  std::shared_ptr<UsageShard> add_shard();

  void start();  // the flush thread
  // Stops the flush thread, then flushes everything once more (deferred last uses too).
  // Idempotent; recording after stop() is kept but never written.
  void stop();

  // One flush on the caller's thread (tests drive it with a manual clock). `final` writes
  // every deferred last use. True when nothing is left unwritten.
  bool flush(bool final = false);

  Stats stats() const;

 private:
  using SteadyClock = std::chrono::steady_clock;

  void run();
  void gate_last_uses(ShardTake& take, UnixSeconds now, bool final);
  std::string next_batch_id();

  std::unique_ptr<UsageStore> store_;
  UsageRecorderOptions options_;
  const UnixSeconds last_used_seconds_;

  mutable std::mutex shards_mutex_;
  std::vector<std::shared_ptr<UsageShard>> shards_;

  // Flush state: flush thread (or the caller of flush()) only, under flush_mutex_.
  std::mutex flush_mutex_;
  std::optional<UsageBatch> pending_;  // failed, to be retried under its own id
  UsageBatch backlog_;                 // recorded while `pending_` could not be written
  // Hash of the key id -> when its last use was written. Every key used within the last
  // last_used_interval is here, so not the id itself: 100k keys take ~4 MB instead of ~12
  // (issue 14). Two ids with one 64-bit hash (odds ~1e-9 among 100k keys) only delay the
  // second one's last use by up to an interval.
  std::unordered_map<std::uint64_t, UnixSeconds> last_use_written_;
  std::map<std::string, std::pair<std::string, LastUse>> deferred_;  // key id -> org, use
  std::string batch_prefix_;
  std::uint64_t batch_sequence_ = 0;
  bool failing_ = false;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;

  std::atomic<std::uint64_t> flushes_ok_{0};
  std::atomic<std::uint64_t> flushes_failed_{0};
  std::atomic<std::uint64_t> dropped_pending_{0};
  std::atomic<std::uint64_t> dropped_last_uses_{0};
  std::atomic<std::size_t> pending_keys_{0};
  std::atomic<double> last_flush_seconds_{0};
  std::atomic<SteadyClock::rep> last_success_start_;
};

}  // namespace keygate::auth
