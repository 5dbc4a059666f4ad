// Stops sending rate-limit scripts to a Redis that keeps failing, so each request pays the
// route's failure mode at once instead of waiting out limiter_timeout.
//
// closed --(`failures` consecutive failures)--> open --(open_for elapses)--> half-open:
// exactly one probe goes through; its success closes the breaker, its failure reopens it.
// Not thread-safe: one breaker per worker, like the Redis connection it guards.
#pragma once

#include <chrono>
#include <cstdint>

#include "ratelimit/clock.h"

namespace keygate::ratelimit {

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };

  CircuitBreaker(int failures_to_open, std::chrono::milliseconds open_for, Clock clock);

  // Whether a call may go out now. In half-open state only the first caller gets true, and
  // it must report back with on_success() or on_failure().
  bool allow();
  void on_success();
  void on_failure();

  State state() const;
  // While open: milliseconds until a probe is allowed; else 0.
  std::int64_t open_remaining_ms() const;
  std::uint64_t times_opened() const { return times_opened_; }

 private:
  void open(std::int64_t now_ms);

  int failures_to_open_;
  std::int64_t open_for_ms_;
  Clock clock_;
  int consecutive_failures_ = 0;
  bool is_open_ = false;
  bool probe_in_flight_ = false;
  std::int64_t open_until_ms_ = 0;
  std::uint64_t times_opened_ = 0;
};

}  // namespace keygate::ratelimit
