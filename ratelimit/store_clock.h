// The counter store's clock as this process can tell it without asking each time: its own
// clock plus the offset a TIME answer showed.
//
// The script reads Redis' TIME itself, so replicas with skewed clocks agree on windows. A lone
// fixed window is counted with a plain INCR instead (redis_limiter.h), which cannot read TIME:
// its window is picked from this estimate. The error is at most half the round trip of the
// sample (well under a millisecond beside Redis), and only decides which side of a boundary a
// request falls on in that instant. Samples are refreshed every kRefreshMs; one whose round
// trip is over kMaxRoundTripMs is used only while there is no better one.
#pragma once

#include <cstdint>
#include <optional>

namespace keygate::ratelimit {

class StoreClock {
 public:
  static constexpr std::int64_t kRefreshMs = 10000;
  static constexpr std::int64_t kMaxRoundTripMs = 20;

  // `trust_local`: the store's clock is this process's (RedisLimiterOptions::server_time off).
  explicit StoreClock(bool trust_local)
      : offset_ms_(trust_local ? std::optional(0) : std::nullopt), trust_local_(trust_local) {}

  // The store's time at local time `local_ms`; nullopt until a sample came back.
  std::optional<std::int64_t> at(std::int64_t local_ms) const {
    if (!offset_ms_) return std::nullopt;
    return local_ms + *offset_ms_;
  }

  // Whether a TIME should be sent now (none in flight, and the last sample is old or missing).
  bool sample_due(std::int64_t local_ms) const {
    return !trust_local_ && !in_flight_ && (!sampled_at_ || local_ms - *sampled_at_ >= kRefreshMs);
  }
  void sample_sent() { in_flight_ = true; }
  void sample_failed() { in_flight_ = false; }
  // TIME answered `store_ms`; it was sent at local `sent_ms` and answered at `answered_ms`.
  void sample(std::int64_t sent_ms, std::int64_t answered_ms, std::int64_t store_ms);

 private:
  std::optional<std::int64_t> offset_ms_;
  std::optional<std::int64_t> sampled_at_;
  bool trust_local_;
  bool in_flight_ = false;
};

}  // namespace keygate::ratelimit
