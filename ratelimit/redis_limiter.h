// Rate limits shared by every replica: an EVALSHA runs limiter_script.cc, which reads every
// counter of a request, decides, and charges all of them only if all allow.
//
// Batching: the checks made during one turn of the worker's event loop go to Redis as one
// script call (at most max_batch requests each), sent once the turn's other handlers have run;
// a lone request is sent at the end of the turn it arrived in, so nothing waits for company.
// The script takes the requests in order, so the decisions are those of one call per request,
// at a fraction of Redis' cost (a script call costs Redis more than the counters it touches).
// On a Redis Cluster (split_by_slot) the checks of one turn are grouped by the slot of their
// hash tag, one script call per slot, so no call spans slots (behind a cluster proxy that does
// not know this, set max_batch to 1 instead).
//
// One RedisLimiter per worker thread, wrapping that worker's redis::Client: check() must be
// called on the client's executor, and `done` runs there (inline when the circuit breaker is
// open or there is nothing to check).
//
// Leases: for policies with `lease` > 0 the script may grant a worker that many requests at
// once, which later requests of the same counters use without Redis (lease_table.h).
//
// A lone fixed window (a per-key limit on its own, or a quota on its own) without a lease needs
// no script: a plain INCR is atomic by itself, and with one policy there is nothing to charge
// all-or-nothing. Redis runs an INCR for about a quarter of what a request costs it inside the
// script. Such a counter keeps counting refused requests instead of taking them back (nothing
// reads a fixed window's count but the next INCR, and any count over the limit refuses alike);
// the INCR that creates it is followed, once answered, by a PEXPIRE for its window. Its window is
// picked from the store's clock as StoreClock estimates it; until there is an estimate the
// script decides.
//
// Refusals: a request Redis refused is refused again without Redis until its retry time, when
// it is checked against the same counters (refusal_memory.h says why that is exact).
//
// Time: by default the script reads Redis' own clock (TIME), so replicas whose clocks are
// skewed still agree on window boundaries and resets. `server_time = false` sends this
// process's clock instead (tests drive it by hand).
//
// Failures (timeout after limiter_timeout, disconnection, error reply) count towards the
// circuit breaker and are answered with the route's LimitFailureMode: fail_open allows,
// fail_closed refuses with Outcome::unavailable (503) and a Retry-After, local asks `local`
// (an InMemoryLimiter with limits divided by replica_count). Every such Decision has
// store_error set so it can be counted.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"
#include "ratelimit/circuit_breaker.h"
#include "ratelimit/clock.h"
#include "ratelimit/lease_table.h"
#include "ratelimit/limiter.h"
#include "ratelimit/refusal_memory.h"
#include "ratelimit/store_clock.h"
#include "redis/redis_client.h"
#include "redis/script.h"

namespace keygate::ratelimit {

struct RedisLimiterOptions {
  std::string key_prefix = "kg:";
  std::chrono::milliseconds timeout{20};
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_open_for{2000};
  bool server_time = true;
  std::size_t max_batch = 64;        // requests per script call; 1 sends each check on its own
  bool split_by_slot = false;        // Redis Cluster: one script call per slot of a turn's checks
  std::size_t max_leases = 16384;    // counters with a lease (lease_table.h), per worker
  std::size_t max_refusals = 16384;  // refusals remembered (refusal_memory.h), per worker
  Clock clock;  // required: the breaker's clock, and the script's when !server_time
  std::shared_ptr<Limiter> local;  // for LimitFailureMode::local; null: behave as fail_open
};

RedisLimiterOptions redis_limiter_options(const conf::RedisConfig& redis,
                                          const conf::RateLimitConfig& limits, Clock clock,
                                          std::shared_ptr<Limiter> local);

class RedisLimiter final : public Limiter, public std::enable_shared_from_this<RedisLimiter> {
 public:
  struct Stats {
    std::uint64_t checks = 0;
    std::uint64_t script_calls = 0;      // EVALSHA calls sent, each for a batch of checks
    std::uint64_t incr_calls = 0;        // INCRs sent for lone fixed windows
    std::uint64_t store_errors = 0;      // failed script calls and INCRs
    std::uint64_t breaker_rejected = 0;  // not sent: breaker open
    std::uint64_t local_fallbacks = 0;
    std::uint64_t lease_admitted = 0;     // decided from a lease, without Redis
    std::uint64_t refusals_recalled = 0;  // refused again without Redis, until their retry time
  };

  // `executor` is the client's: batches are sent from a handler posted to it.
  RedisLimiter(boost::asio::any_io_executor executor, std::shared_ptr<redis::Client> client,
               RedisLimiterOptions options);

  // In Redis (asking for leases where policies take them); leases are decide_now()'s.
  void check(std::span<const EffectivePolicy> policies, const Subject& subject,
             std::function<void(Decision)> done) override;
  // From a remembered refusal (refusal_memory.h) or from leases (lease_table.h).
  std::optional<Decision> decide_now(std::span<const EffectivePolicy> policies,
                                     const Subject& subject) override;
  // Loads the script now (e.g. once connected), so the first request pays one round trip.
  void preload();

  const Stats& stats() const { return stats_; }
  const CircuitBreaker& breaker() const { return breaker_; }

 private:
  struct Call;
  struct Batch;

  void send_pending();
  void send_batch(std::shared_ptr<Batch> batch);
  void on_reply(const std::shared_ptr<Batch>& batch, const redis::Result& result);
  // The lone fixed window of `policy`, counted by INCR at the store's time `store_now`.
  void count(const EffectivePolicy& policy, const Subject& subject, std::int64_t store_now,
             std::function<void(Decision)> done);
  // The INCR counter of `policy`'s window number `index`, written into key_scratch_: a
  // command's arguments need to live only until command() returns.
  std::string_view fixed_window_key(const EffectivePolicy& policy, const Subject& subject,
                                    std::int64_t index);
  void sample_store_clock();
  void on_store_failure(std::span<const EffectivePolicy> policies, const Subject& subject,
                        std::function<void(Decision)> done);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<redis::Client> client_;
  RedisLimiterOptions options_;
  redis::Script script_;
  CircuitBreaker breaker_;
  StoreClock store_clock_;
  Stats stats_;
  LeaseTable leases_;
  RefusalMemory refusals_;
  std::vector<std::uint64_t> lease_sizes_;  // scratch: what the request being added asks for
  std::string key_scratch_;                 // scratch: fixed_window_key's
  // Checks of this turn, not sent yet: one batch, or one per slot on a cluster (at most one
  // per request, so bounded by the turn's requests).
  std::vector<std::shared_ptr<Batch>> pending_;
  // Answered batches kept for reuse with their buffers, so a steady load allocates none.
  std::vector<std::shared_ptr<Batch>> spare_batches_;
  bool send_posted_ = false;
};

std::shared_ptr<RedisLimiter> make_redis_limiter(boost::asio::any_io_executor executor,
                                                 std::shared_ptr<redis::Client> client,
                                                 RedisLimiterOptions options);

}  // namespace keygate::ratelimit
