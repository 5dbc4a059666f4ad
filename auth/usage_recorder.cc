#include "auth/usage_recorder.h"

#include <functional>
#include <random>
#include <string_view>

namespace keygate::auth {
namespace {

UnixSeconds system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Unique across restarts and replicas sharing a store, so batch markers never collide.
std::string random_token() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 4; ++i) {
    const unsigned value = device();
    for (int shift = 28; shift >= 0; shift -= 4) token += kHex[(value >> shift) & 0xf];
  }
  return token;
}

}  // namespace

UsageRecorderOptions usage_recorder_options(const conf::UsageConfig& config) {
  UsageRecorderOptions options;
  options.flush_interval = config.flush_interval;
  options.last_used_interval = config.last_used_interval;
  return options;
}

UsageRecorder::UsageRecorder(std::unique_ptr<UsageStore> store, UsageRecorderOptions options)
    : store_(std::move(store)),
      options_(std::move(options)),
      last_used_seconds_((options_.last_used_interval.count() + 999) / 1000),
      batch_prefix_(random_token()),
      last_success_start_(SteadyClock::now().time_since_epoch().count()) {
  if (!options_.clock) options_.clock = system_now;
}

UsageRecorder::~UsageRecorder() {
  stop();
}

std::shared_ptr<UsageShard> UsageRecorder::add_shard() {
  auto shard = std::make_shared<UsageShard>(options_.max_keys_per_shard, options_.clock);
  std::lock_guard lock(shards_mutex_);
  shards_.push_back(shard);
  return shard;
}

void UsageRecorder::start() {
  std::lock_guard lock(wake_mutex_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { run(); });
}

void UsageRecorder::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  flush(true);
}

void UsageRecorder::run() {
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flush_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush(false);
    lock.lock();
  }
}

std::string UsageRecorder::next_batch_id() {
  return batch_prefix_ + "-" + std::to_string(++batch_sequence_);
}

void UsageRecorder::gate_last_uses(ShardTake& take, UnixSeconds now, bool final) {
  const auto id_hash = [](const std::string& id) -> std::uint64_t {
    return std::hash<std::string_view>{}(id);
  };
  auto due = [&](const std::string& id) {
    if (final) return true;
    const auto written = last_use_written_.find(id_hash(id));
    return written == last_use_written_.end() || now - written->second >= last_used_seconds_;
  };
  auto emit = [&](const std::string& id, const std::string& org, LastUse use) {
    KeyDelta& delta = take.counts.keys[id];
    delta.org = org;
    delta.last_use = std::move(use);
    last_use_written_[id_hash(id)] = now;
  };
  for (auto& [id, use] : take.last_uses) {
    const std::string& org = take.counts.keys[id].org;
    if (due(id)) {
      deferred_.erase(id);
      emit(id, org, std::move(use));
      continue;
    }
    auto waiting = deferred_.find(id);
    if (waiting != deferred_.end()) {
      if (waiting->second.second.at <= use.at) waiting->second = {org, std::move(use)};
    } else if (deferred_.size() < options_.max_pending_keys) {
      deferred_.emplace(id, std::make_pair(org, std::move(use)));
    } else {
      dropped_last_uses_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (!due(it->first)) {
      ++it;
      continue;
    }
    emit(it->first, it->second.first, std::move(it->second.second));
    it = deferred_.erase(it);
  }
  // An entry whose interval has passed says nothing "not found" would not: drop it, so the
  // table holds only keys used within the last interval. (A use still deferred here is not
  // due, so its entry is younger than that.)
  std::erase_if(last_use_written_,
                [&](const auto& entry) { return now - entry.second >= last_used_seconds_; });
}

bool UsageRecorder::flush(bool final) {
  std::lock_guard lock(flush_mutex_);
  const auto started = SteadyClock::now();
  const UnixSeconds now = options_.clock();

  ShardTake take;
  {
    std::vector<std::shared_ptr<UsageShard>> shards;
    {
      std::lock_guard shards_lock(shards_mutex_);
      shards = shards_;
    }
    for (const auto& shard : shards) shard->take_into(take);
  }
  gate_last_uses(take, now, final);

  auto finish = [&](bool ok, const StoreStatus& status) {
    last_flush_seconds_.store(std::chrono::duration<double>(SteadyClock::now() - started).count(),
                              std::memory_order_relaxed);
    pending_keys_.store((pending_ ? pending_->keys.size() : 0) + backlog_.keys.size(),
                        std::memory_order_relaxed);
    if (ok) {
      flushes_ok_.fetch_add(1, std::memory_order_relaxed);
      last_success_start_.store(started.time_since_epoch().count(), std::memory_order_relaxed);
      if (failing_ && options_.on_flush_recovered) options_.on_flush_recovered();
      failing_ = false;
    } else {
      flushes_failed_.fetch_add(1, std::memory_order_relaxed);
      if (!failing_ && options_.on_flush_failed) options_.on_flush_failed(status);
      failing_ = true;
    }
    return ok;
  };

  if (pending_) {
    const StoreStatus status = store_->apply(*pending_);
    if (!status.ok()) {
      dropped_pending_.fetch_add(backlog_.merge(take.counts, options_.max_pending_keys),
                                 std::memory_order_relaxed);
      return finish(false, status);
    }
    pending_.reset();
  }
  UsageBatch batch = std::move(backlog_);
  backlog_ = {};
  dropped_pending_.fetch_add(batch.merge(take.counts, options_.max_pending_keys),
                             std::memory_order_relaxed);
  if (batch.empty()) return finish(true, {});
  batch.id = next_batch_id();
  const StoreStatus status = store_->apply(batch);
  if (!status.ok()) {
    pending_ = std::move(batch);
    return finish(false, status);
  }
  return finish(true, {});
}

UsageRecorder::Stats UsageRecorder::stats() const {
  Stats stats;
  stats.flushes_ok = flushes_ok_.load(std::memory_order_relaxed);
  stats.flushes_failed = flushes_failed_.load(std::memory_order_relaxed);
  stats.dropped_requests = dropped_pending_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(shards_mutex_);
    for (const auto& shard : shards_) stats.dropped_requests += shard->dropped();
  }
  stats.dropped_last_uses = dropped_last_uses_.load(std::memory_order_relaxed);
  stats.pending_keys = pending_keys_.load(std::memory_order_relaxed);
  stats.last_flush_seconds = last_flush_seconds_.load(std::memory_order_relaxed);
  const SteadyClock::time_point last_start{
      SteadyClock::duration(last_success_start_.load(std::memory_order_relaxed))};
  stats.lag_seconds = std::chrono::duration<double>(SteadyClock::now() - last_start).count();
  return stats;
}

}  // namespace keygate::auth
