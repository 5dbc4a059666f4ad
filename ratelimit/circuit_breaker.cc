#include "ratelimit/circuit_breaker.h"

#include <algorithm>

namespace keygate::ratelimit {

CircuitBreaker::CircuitBreaker(int failures_to_open, std::chrono::milliseconds open_for,
                               Clock clock)
    : failures_to_open_(std::max(1, failures_to_open)),
      open_for_ms_(std::max<std::int64_t>(0, open_for.count())),
      clock_(std::move(clock)) {}

bool CircuitBreaker::allow() {
  if (!is_open_) return true;
  if (probe_in_flight_ || clock_() < open_until_ms_) return false;
  probe_in_flight_ = true;
  return true;
}

void CircuitBreaker::on_success() {
  consecutive_failures_ = 0;
  is_open_ = false;
  probe_in_flight_ = false;
}

void CircuitBreaker::on_failure() {
  const std::int64_t now = clock_();
  if (is_open_) {
    // The probe failed (or a call sent before the breaker opened came back late).
    if (probe_in_flight_) open(now);
    return;
  }
  if (++consecutive_failures_ >= failures_to_open_) open(now);
}

void CircuitBreaker::open(std::int64_t now_ms) {
  is_open_ = true;
  probe_in_flight_ = false;
  open_until_ms_ = now_ms + open_for_ms_;
  ++times_opened_;
}

CircuitBreaker::State CircuitBreaker::state() const {
  if (!is_open_) return State::closed;
  return probe_in_flight_ || clock_() >= open_until_ms_ ? State::half_open : State::open;
}

std::int64_t CircuitBreaker::open_remaining_ms() const {
  if (!is_open_) return 0;
  return std::max<std::int64_t>(0, open_until_ms_ - clock_());
}

}  // namespace keygate::ratelimit
