#include "proxy/store_outage.h"

#include <cstdio>

#include "proxy/log.h"

namespace keygate::proxy {

std::string seconds_text(std::chrono::milliseconds duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

void StoreOutage::observe(bool reachable, const std::string& reason, Clock::time_point now) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::int64_t started = started_ns_.load();
  if (!reachable && started == 0) {
    started_ns_ = now_ns == 0 ? 1 : now_ns;
    ++outages_;
    log_warn(
        "store unreachable; serving validated keys from the cache (stale grace) and "
        "limits by each route's rate_limit_failure",
        {{"reason", reason}});
  } else if (reachable && started != 0) {
    started_ns_ = 0;
    const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(now_ns - started));
    log_info("store reachable again",
             {{"outage_seconds", std::chrono::duration<double>(lasted).count()}});
  }
}

std::chrono::milliseconds StoreOutage::duration(Clock::time_point now) const {
  const std::int64_t started = started_ns_.load();
  if (started == 0) return std::chrono::milliseconds(0);
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds(now_ns - started));
}

}  // namespace keygate::proxy
