#include "ratelimit/decision.h"

#include <algorithm>

namespace keygate::ratelimit {
namespace {

// a.remaining / a.limit < b.remaining / b.limit, without division; limit 0 counts as empty.
bool closer_to_empty(const PolicyDecision& a, const PolicyDecision& b) {
  if (a.limit == 0 || b.limit == 0) return a.limit == 0 && b.limit != 0;
  const auto lhs = static_cast<unsigned __int128>(a.remaining) * b.limit;
  const auto rhs = static_cast<unsigned __int128>(b.remaining) * a.limit;
  return lhs < rhs;
}

// Among refusals, the one with the longest wait decides Retry-After and the error body; on a
// tie the quota wins, since "quota exceeded" tells the caller more than "rate limit".
bool refusal_outranks(const PolicyDecision& a, const PolicyDecision& b) {
  if (a.retry_after_ms != b.retry_after_ms) return a.retry_after_ms > b.retry_after_ms;
  return a.is_quota && !b.is_quota;
}

}  // namespace

PolicyDecision make_policy_decision(const EffectivePolicy& policy, const Verdict& verdict) {
  PolicyDecision d;
  d.name = policy.name;
  d.limit = policy.shown_limit();
  d.remaining = std::min(verdict.remaining, d.limit);
  d.reset_ms = verdict.reset_ms;
  d.reset_unix_s = ceil_seconds(verdict.reset_ms);
  d.window = std::chrono::milliseconds(policy.effective_window_ms());
  d.allowed = verdict.allowed;
  d.retry_after_ms = verdict.allowed ? 0 : std::max<std::int64_t>(verdict.retry_after_ms, 0);
  d.retry_after_s = ceil_seconds(d.retry_after_ms);
  d.is_quota = policy.monthly_quota;
  return d;
}

Decision decide(std::vector<PolicyDecision> policies, std::int64_t now_ms) {
  Decision d;
  d.now_ms = now_ms;
  d.policies = std::move(policies);
  for (std::size_t i = 0; i < d.policies.size(); ++i) {
    const PolicyDecision& p = d.policies[i];
    if (!p.allowed) {
      d.outcome = Outcome::rate_limited;
      if (!d.refused || refusal_outranks(p, d.policies[*d.refused])) d.refused = i;
      d.retry_after_s = std::max(d.retry_after_s, p.retry_after_s);
    }
    if (!d.closest || closer_to_empty(p, d.policies[*d.closest])) d.closest = i;
  }
  if (d.refused) d.closest = d.refused;
  return d;
}

Decision store_failure_allowed(std::int64_t now_ms) {
  Decision d;
  d.now_ms = now_ms;
  d.store_error = true;
  return d;
}

Decision store_failure_refused(std::int64_t now_ms, std::int64_t retry_after_ms) {
  Decision d;
  d.outcome = Outcome::unavailable;
  d.now_ms = now_ms;
  d.store_error = true;
  d.retry_after_s = std::max<std::int64_t>(1, ceil_seconds(retry_after_ms));
  return d;
}

}  // namespace keygate::ratelimit
