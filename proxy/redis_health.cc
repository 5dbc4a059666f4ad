#include "proxy/redis_health.h"

#include <boost/asio/post.hpp>
#include <condition_variable>

namespace keygate::proxy {
namespace {

// How many workers still owe an answer. Shared, because a worker may answer after the scrape
// gave up waiting.
struct Gathering {
  std::mutex mutex;
  std::condition_variable answered;
  std::size_t outstanding = 0;
};

void add(RedisHealth::Snapshot& sum, const RedisHealth::Snapshot& one) {
  sum.workers += one.workers;
  sum.connected += one.connected;
  sum.client.commands += one.client.commands;
  sum.client.timeouts += one.client.timeouts;
  sum.client.disconnected += one.client.disconnected;
  sum.client.overloaded += one.client.overloaded;
  sum.client.late_replies += one.client.late_replies;
  sum.client.connects += one.client.connects;
  sum.client.stalls += one.client.stalls;
  sum.client.pending += one.client.pending;
  sum.limiter.checks += one.limiter.checks;
  sum.limiter.script_calls += one.limiter.script_calls;
  sum.limiter.incr_calls += one.limiter.incr_calls;
  sum.limiter.store_errors += one.limiter.store_errors;
  sum.limiter.breaker_rejected += one.limiter.breaker_rejected;
  sum.limiter.local_fallbacks += one.limiter.local_fallbacks;
  sum.limiter.lease_admitted += one.limiter.lease_admitted;
  sum.limiter.refusals_recalled += one.limiter.refusals_recalled;
  sum.breakers_closed += one.breakers_closed;
  sum.breakers_open += one.breakers_open;
  sum.breakers_half_open += one.breakers_half_open;
  sum.breaker_openings += one.breaker_openings;
}

// Worker thread.
RedisHealth::Snapshot observe(const std::shared_ptr<redis::Client>& client,
                              const std::shared_ptr<ratelimit::RedisLimiter>& limiter) {
  RedisHealth::Snapshot s;
  if (client) {
    s.workers = 1;
    s.connected = client->connected() ? 1 : 0;
    s.client = client->stats();
  }
  if (limiter) {
    s.limiter = limiter->stats();
    switch (limiter->breaker().state()) {
      case ratelimit::CircuitBreaker::State::closed:
        s.breakers_closed = 1;
        break;
      case ratelimit::CircuitBreaker::State::open:
        s.breakers_open = 1;
        break;
      case ratelimit::CircuitBreaker::State::half_open:
        s.breakers_half_open = 1;
        break;
    }
    s.breaker_openings = limiter->breaker().times_opened();
  }
  return s;
}

}  // namespace

void RedisHealth::add_worker(asio::io_context& io, std::weak_ptr<redis::Client> client,
                             std::weak_ptr<ratelimit::RedisLimiter> limiter) {
  std::lock_guard lock(mutex_);
  workers_.push_back({&io, std::move(client), std::move(limiter), std::make_shared<Slot>()});
}

bool RedisHealth::empty() const {
  std::lock_guard lock(mutex_);
  return workers_.empty();
}

RedisHealth::Snapshot RedisHealth::collect(std::chrono::milliseconds timeout) const {
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mutex_);
    workers = workers_;
  }
  auto gathering = std::make_shared<Gathering>();
  gathering->outstanding = workers.size();
  for (const Worker& worker : workers) {
    asio::post(*worker.io,
               [gathering, client = worker.client, limiter = worker.limiter, slot = worker.slot] {
                 const Snapshot now = observe(client.lock(), limiter.lock());
                 {
                   std::lock_guard lock(slot->mutex);
                   slot->last = now;
                 }
                 std::lock_guard lock(gathering->mutex);
                 --gathering->outstanding;
                 gathering->answered.notify_all();
               });
  }
  {
    std::unique_lock lock(gathering->mutex);
    gathering->answered.wait_for(lock, timeout, [&] { return gathering->outstanding == 0; });
  }
  Snapshot sum;
  for (const Worker& worker : workers) {
    std::lock_guard lock(worker.slot->mutex);
    add(sum, worker.slot->last);
  }
  return sum;
}

}  // namespace keygate::proxy
