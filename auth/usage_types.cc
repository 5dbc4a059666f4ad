#include "auth/usage_types.h"

namespace keygate::auth {

UnixSeconds usage_period_start(UnixSeconds created_at, UnixSeconds now) {
  if (now <= created_at) return created_at;
  return created_at + (now - created_at) / kUsagePeriodSeconds * kUsagePeriodSeconds;
}

void KeyCounts::add(unsigned status, std::uint64_t n) {
  total += n;
  switch (status / 100) {
    case 2:
      status_2xx += n;
      break;
    case 4:
      status_4xx += n;
      break;
    case 5:
      status_5xx += n;
      break;
    default:
      break;
  }
}

void KeyCounts::add(const KeyCounts& other) {
  total += other.total;
  status_2xx += other.status_2xx;
  status_4xx += other.status_4xx;
  status_5xx += other.status_5xx;
}

std::uint64_t UsageBatch::merge(const UsageBatch& other, std::size_t max_keys) {
  std::uint64_t dropped = 0;
  for (const auto& [id, delta] : other.keys) {
    auto it = keys.find(id);
    if (it == keys.end()) {
      if (keys.size() >= max_keys) {
        dropped += delta.counts.total;
        continue;
      }
      keys.emplace(id, delta);
      continue;
    }
    KeyDelta& mine = it->second;
    mine.counts.add(delta.counts);
    if (delta.last_use && (!mine.last_use || mine.last_use->at <= delta.last_use->at))
      mine.last_use = delta.last_use;
  }
  // Org entries are few (bounded by the keys that produced them) and carry the calls the
  // quota view shows, so they are never dropped.
  for (const auto& [org, periods] : other.org_calls)
    for (const auto& [start, calls] : periods) org_calls[org][start] += calls;
  return dropped;
}

}  // namespace keygate::auth
