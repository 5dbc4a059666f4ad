// Reconnect delays: exponential between a floor and a ceiling, with jitter.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace keygate::redis {

class Backoff {
 public:
  // `seed` is the random source, injected so tests see fixed delays.
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  // The delay before the next attempt, never below `min` nor above `max`; each call doubles the
  // base up to `max`. The result is drawn from [base/2, base] so replicas that lost Redis
  // together do not reconnect in step.
  std::chrono::milliseconds next();
  // After a successful connection the next failure starts again from `min`.
  void reset() { attempts_ = 0; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  int attempts_ = 0;
  std::mt19937_64 random_;
};

}  // namespace keygate::redis
