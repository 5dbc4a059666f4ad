#include "ratelimit/lease_table.h"

#include <cmath>

#include "ratelimit/counter_key.h"

namespace keygate::ratelimit {
namespace {

bool takes_leases(std::span<const EffectivePolicy> policies) {
  for (const EffectivePolicy& p : policies)
    if (p.lease > 0) return true;
  return false;
}

}  // namespace

std::optional<Decision> LeaseTable::try_admit(std::span<const EffectivePolicy> policies,
                                              const Subject& subject, std::int64_t now_ms) {
  if (policies.empty() || entries_.empty()) return std::nullopt;
  found_.clear();
  for (const EffectivePolicy& p : policies) {
    if (p.lease == 0) return std::nullopt;
    key_.clear();
    append_counter_identity(key_, p, subject);
    auto it = entries_.find(std::string_view(key_));
    if (it == entries_.end() || !usable(it->second, p, now_ms)) return std::nullopt;
    found_.push_back(&it->second);
  }
  std::vector<PolicyDecision> decisions;
  decisions.reserve(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    Lease& lease = *found_[i];
    --lease.left;
    Verdict v;
    v.remaining = lease.other_remaining + lease.left;
    v.reset_ms = lease.reset_ms;
    decisions.push_back(make_policy_decision(policies[i], v));
  }
  return decide(std::move(decisions), now_ms);
}

void LeaseTable::prepare_asks(std::span<const EffectivePolicy> policies, const Subject& subject,
                              std::int64_t now_ms, std::vector<std::uint64_t>& sizes,
                              std::vector<Ask>& asks) {
  sizes.clear();
  asks.clear();
  if (!takes_leases(policies)) return;
  sizes.assign(policies.size(), 0);
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const EffectivePolicy& p = policies[i];
    if (p.lease == 0) continue;
    key_.clear();
    append_counter_identity(key_, p, subject);
    auto it = entries_.find(std::string_view(key_));
    if (it == entries_.end()) {
      if (entries_.size() >= max_entries_) make_room(now_ms);
      if (entries_.size() >= max_entries_) continue;
      it = entries_.emplace(key_, Lease{}).first;
    }
    Lease& lease = it->second;
    // A live lease of this counter is still in use (another policy of the request had none
    // left): this request is charged in Redis like any other.
    if (lease.asked || usable(lease, p, now_ms)) continue;
    lease.asked = true;
    sizes[i] = p.lease;
    asks.push_back(Ask{i, key_});
  }
}

void LeaseTable::on_answer(const Ask& ask, const EffectivePolicy& policy,
                           const std::optional<Grant>& grant) {
  auto it = entries_.find(std::string_view(ask.counter));
  if (it == entries_.end()) return;
  Lease& lease = it->second;
  lease.asked = false;
  if (!grant || grant->requests == 0) return;
  const std::int64_t window = policy.effective_window_ms();
  const bool bucket = policy.effective_algorithm() == Algorithm::token_bucket;
  lease.limit = policy.limit;
  lease.window_ms = window;
  lease.bucket_size = policy.bucket_size();
  lease.left = grant->requests;
  lease.other_remaining =
      grant->remaining > grant->requests ? grant->remaining - grant->requests : 0;
  lease.reset_ms = grant->reset_ms;
  std::int64_t end = grant->reset_ms;  // windows: requests count in the window they were charged
  if (bucket) {
    // The bucket is full again once the leased tokens have dripped back too. A leased token
    // stays good for one window.
    lease.reset_ms += static_cast<std::int64_t>(
        std::ceil(static_cast<double>(grant->requests) * static_cast<double>(window) /
                  static_cast<double>(std::max<std::uint64_t>(1, policy.limit))));
    end = grant->store_now_ms + window;
  }
  // Measured from when the call was sent, on this process' clock: a clock skewed from Redis'
  // cannot stretch a lease past its window.
  lease.valid_until_ms = grant->sent_at_ms + (end - grant->store_now_ms);
}

void LeaseTable::make_room(std::int64_t now_ms) {
  if (now_ms < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms + kSweepEveryMs;
  std::erase_if(entries_, [now_ms](const auto& entry) {
    const Lease& lease = entry.second;
    return !lease.asked && (lease.left == 0 || now_ms >= lease.valid_until_ms);
  });
}

}  // namespace keygate::ratelimit
