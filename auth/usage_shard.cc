#include "auth/usage_shard.h"

namespace keygate::auth {

UsageShard::UsageShard(std::size_t max_keys, std::function<UnixSeconds()> clock)
    : max_keys_(max_keys), clock_(std::move(clock)) {}

void UsageShard::record(const UsageEvent& event) noexcept {
  try {
    const UnixSeconds now = clock_();
    std::lock_guard lock(mutex_);
    auto key = keys_.find(event.key_id);
    if (key == keys_.end()) {
      if (keys_.size() >= max_keys_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      key = keys_.emplace(std::string(event.key_id), Tally{}).first;
      key->second.org.assign(event.org);
    }
    Tally& tally = key->second;
    tally.counts.add(event.status);
    tally.last_at = now;
    tally.last_ip.assign(event.client_ip);  // reuses its capacity after the first request

    if (!event.reached_upstream || !event.org_created_at || event.org.empty()) return;
    const UnixSeconds start = usage_period_start(*event.org_created_at, now);
    auto org = orgs_.find(event.org);
    if (org == orgs_.end())
      org = orgs_.emplace(std::string(event.org), std::vector<PeriodCalls>{}).first;
    for (PeriodCalls& period : org->second) {
      if (period.start == start) {
        ++period.calls;
        return;
      }
    }
    org->second.push_back({start, 1});
  } catch (...) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

void UsageShard::take_into(ShardTake& out) {
  KeyTable keys;
  OrgTable orgs;
  {
    std::lock_guard lock(mutex_);
    keys.swap(keys_);
    orgs.swap(orgs_);
  }
  for (auto& [id, tally] : keys) {
    KeyDelta& delta = out.counts.keys[id];
    delta.org = tally.org;
    delta.counts.add(tally.counts);
    LastUse& last = out.last_uses[id];
    if (last.at <= tally.last_at) last = {tally.last_at, std::move(tally.last_ip)};
  }
  for (auto& [org, periods] : orgs)
    for (const PeriodCalls& period : periods)
      if (period.calls > 0) out.counts.org_calls[org][period.start] += period.calls;
}

}  // namespace keygate::auth
