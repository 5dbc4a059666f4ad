// Redis health for /metrics. Each worker's Redis connection and rate-limit circuit breaker
// belong to the worker's thread and are not thread-safe, so a scrape asks every worker for a
// snapshot on its own thread and waits a bounded time; a worker that does not answer in time
// (busy, or already stopped) contributes its previous snapshot, so counters never go back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "proxy/asio_aliases.h"
#include "ratelimit/redis_limiter.h"
#include "redis/redis_client.h"

namespace keygate::proxy {

class RedisHealth {
 public:
  struct Snapshot {
    std::size_t workers = 0;  // that answered
    std::size_t connected = 0;
    redis::ClientStats client;  // summed over workers
    ratelimit::RedisLimiter::Stats limiter;
    std::size_t breakers_closed = 0;
    std::size_t breakers_open = 0;
    std::size_t breakers_half_open = 0;
    std::uint64_t breaker_openings = 0;
  };

  // Any thread, before the worker runs or while it does.
  void add_worker(asio::io_context& io, std::weak_ptr<redis::Client> client,
                  std::weak_ptr<ratelimit::RedisLimiter> limiter);
  bool empty() const;

  // Blocks the caller (the admin thread) for at most `timeout`.
  Snapshot collect(std::chrono::milliseconds timeout) const;

 private:
  struct Slot {
    std::mutex mutex;
    Snapshot last;  // of this worker alone
  };
  struct Worker {
    asio::io_context* io;
    std::weak_ptr<redis::Client> client;
    std::weak_ptr<ratelimit::RedisLimiter> limiter;
    std::shared_ptr<Slot> slot;
  };
  mutable std::mutex mutex_;
  std::vector<Worker> workers_;
};

}  // namespace keygate::proxy
