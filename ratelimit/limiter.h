// The rate-limit check the proxy calls once per request, whatever stores the counters.
#pragma once

#include <functional>
#include <optional>
#include <span>

#include "ratelimit/decision.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"

namespace keygate::ratelimit {

class Limiter {
 public:
  virtual ~Limiter() = default;

  // Checks one request against every policy and charges it to all of them only if all allow
  // (a request the key limit refuses must not use up the org's quota). `done` runs exactly
  // once, possibly before check() returns. `policies` and `subject` must stay valid until it
  // has run (or been destroyed unrun): a request waits for its decision anyway, and copying
  // them for every check in Redis would cost the data path allocations for nothing.
  virtual void check(std::span<const EffectivePolicy> policies, const Subject& subject,
                     std::function<void(Decision)> done) = 0;

  // The decision, when it can be made without waiting (a lease, an in-process counter); none:
  // ask check(), which does not look again. What it decides is charged like check() would.
  virtual std::optional<Decision> decide_now(std::span<const EffectivePolicy> policies,
                                             const Subject& subject) = 0;
};

}  // namespace keygate::ratelimit
