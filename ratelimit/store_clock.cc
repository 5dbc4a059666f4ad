#include "ratelimit/store_clock.h"

namespace keygate::ratelimit {

void StoreClock::sample(std::int64_t sent_ms, std::int64_t answered_ms, std::int64_t store_ms) {
  in_flight_ = false;
  sampled_at_ = answered_ms;
  const std::int64_t round_trip = answered_ms - sent_ms;
  // A slow answer says little about when Redis read its clock: keep a better offset if any.
  if (round_trip > kMaxRoundTripMs && offset_ms_) return;
  // Redis read its clock somewhere in the round trip: assume the middle.
  offset_ms_ = store_ms - (sent_ms + round_trip / 2);
}

}  // namespace keygate::ratelimit
