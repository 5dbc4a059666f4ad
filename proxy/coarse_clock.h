// A monotonic clock read from the kernel's last tick, without touching the clock source. It
// is a few milliseconds coarse, which deadlines swept every 100 ms and idle ages measured in
// seconds do not notice, and on virtual machines it costs a fraction of steady_clock::now().
#pragma once

#include <time.h>

#include <chrono>

namespace keygate::proxy {

struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace keygate::proxy
