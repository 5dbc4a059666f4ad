// Store outages as an operator sees them: polled reachability turned into one log line when an
// outage begins and one when it ends (with how long it lasted), never a line per request, and
// the state /readyz and /metrics report. observe() runs on one thread (the control thread);
// the getters may be called from any thread (the admin thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace keygate::proxy {

class StoreOutage {
 public:
  using Clock = std::chrono::steady_clock;

  // Logs "store unreachable" on the first unreachable observation after a reachable one (or
  // at start) and "store reachable again" with outage_seconds on the way back.
  void observe(bool reachable, const std::string& reason, Clock::time_point now = Clock::now());

  bool in_outage() const { return started_ns_.load() != 0; }
  // 0 when the store is reachable.
  std::chrono::milliseconds duration(Clock::time_point now = Clock::now()) const;
  std::uint64_t outages() const { return outages_.load(); }

 private:
  std::atomic<std::int64_t> started_ns_{0};  // steady clock; 0: no outage
  std::atomic<std::uint64_t> outages_{0};
};

// "12.3": seconds with one decimal, for logs and /readyz.
std::string seconds_text(std::chrono::milliseconds duration);

}  // namespace keygate::proxy
