#include "ratelimit/refusal_memory.h"

#include <algorithm>

#include "ratelimit/counter_key.h"

namespace keygate::ratelimit {

RefusalMemory::PolicyShape RefusalMemory::shape_of(const EffectivePolicy& policy) {
  return {policy.limit, policy.effective_window_ms(), policy.bucket_size()};
}

void RefusalMemory::build_key(std::span<const EffectivePolicy> policies, const Subject& subject) {
  key_.clear();
  for (const EffectivePolicy& p : policies) {
    append_counter_identity(key_, p, subject);
    key_.push_back('\n');  // identities are length-prefixed; this only separates them
  }
}

std::optional<Decision> RefusalMemory::recall(std::span<const EffectivePolicy> policies,
                                              const Subject& subject, std::int64_t now_ms) {
  if (entries_.empty() || policies.empty()) return std::nullopt;
  build_key(policies, subject);
  auto it = entries_.find(std::string_view(key_));
  if (it == entries_.end()) return std::nullopt;
  Refusal& refusal = it->second;
  bool same_policies = refusal.shapes.size() == policies.size();
  for (std::size_t i = 0; same_policies && i < policies.size(); ++i)
    same_policies = refusal.shapes[i] == shape_of(policies[i]);
  if (!same_policies || now_ms >= refusal.until_ms) {
    entries_.erase(it);
    return std::nullopt;
  }
  // The same answer, aged: what was due in N ms is due in N - elapsed.
  const std::int64_t elapsed = now_ms - refusal.decided_at_ms;
  std::vector<PolicyDecision> aged = refusal.decision.policies;
  for (PolicyDecision& p : aged) {
    if (p.allowed) continue;
    p.retry_after_ms = std::max<std::int64_t>(1, p.retry_after_ms - elapsed);
    p.retry_after_s = (p.retry_after_ms + 999) / 1000;
  }
  return decide(std::move(aged), refusal.decision.now_ms + elapsed);
}

void RefusalMemory::remember(std::span<const EffectivePolicy> policies, const Subject& subject,
                             const Decision& decision, std::int64_t now_ms) {
  if (decision.outcome != Outcome::rate_limited || decision.store_error || !decision.refused ||
      decision.policies.size() != policies.size())
    return;
  // The request passes once every refusing policy would let it: the latest of their times.
  std::int64_t wait_ms = 0;
  for (const PolicyDecision& p : decision.policies)
    if (!p.allowed) wait_ms = std::max(wait_ms, p.retry_after_ms);
  if (wait_ms <= 0) return;
  build_key(policies, subject);
  auto it = entries_.find(std::string_view(key_));
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) make_room(now_ms);
    if (entries_.size() >= max_entries_) return;
    it = entries_.emplace(key_, Refusal{}).first;
  }
  Refusal& refusal = it->second;
  refusal.shapes.clear();
  for (const EffectivePolicy& p : policies) refusal.shapes.push_back(shape_of(p));
  refusal.decision = decision;
  refusal.decided_at_ms = now_ms;
  refusal.until_ms = now_ms + wait_ms;
}

void RefusalMemory::make_room(std::int64_t now_ms) {
  if (now_ms < next_sweep_ms_) return;
  next_sweep_ms_ = now_ms + kSweepEveryMs;
  std::erase_if(entries_, [now_ms](const auto& entry) { return now_ms >= entry.second.until_ms; });
}

}  // namespace keygate::ratelimit
