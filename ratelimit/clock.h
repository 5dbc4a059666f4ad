// The one source of time for rate limiting, injected so tests move time by hand instead of
// sleeping.
#pragma once

#include <cstdint>
#include <functional>

namespace keygate::ratelimit {

// Wall-clock milliseconds since the Unix epoch. Wall clock, not steady: windows, resets and
// monthly periods are calendar facts shared with other replicas and with Redis.
using Clock = std::function<std::int64_t()>;

Clock system_clock();

}  // namespace keygate::ratelimit
