#include "redis/backoff.h"

#include <algorithm>

namespace keygate::redis {

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  std::int64_t base = min_.count();
  for (int i = 0; i < attempts_ && base < max_.count(); ++i) base *= 2;
  base = std::min(base, static_cast<std::int64_t>(max_.count()));
  // Stop counting once the ceiling is reached, so attempts_ cannot overflow in a long outage.
  if (base < max_.count()) ++attempts_;
  std::uniform_int_distribution<std::int64_t> pick(base / 2, base);
  return std::chrono::milliseconds(std::max<std::int64_t>(min_.count(), pick(random_)));
}

}  // namespace keygate::redis
