#include "ratelimit/redis_limiter.h"

#include <algorithm>
#include <vector>

#include "ratelimit/limiter_script.h"

namespace keygate::ratelimit {

// What a script call needs once its reply arrives: copies, since the caller's policies and
// subject need not outlive check(), and the local fallback may need them.
struct RedisLimiter::Call {
  std::vector<EffectivePolicy> policies;
  Subject subject;
  std::function<void(Decision)> done;
  ScriptCall script;
};

RedisLimiterOptions redis_limiter_options(const conf::RedisConfig& redis,
                                          const conf::RateLimitConfig& limits, Clock clock,
                                          std::shared_ptr<Limiter> local) {
  RedisLimiterOptions o;
  o.key_prefix = redis.key_prefix;
  o.timeout = redis.limiter_timeout;
  o.breaker_failures = limits.breaker_failures;
  o.breaker_open_for = limits.breaker_open_for;
  o.clock = std::move(clock);
  o.local = std::move(local);
  return o;
}

RedisLimiter::RedisLimiter(std::shared_ptr<redis::Client> client, RedisLimiterOptions options)
    : client_(std::move(client)),
      options_(std::move(options)),
      script_(limiter_script_source()),
      breaker_(options_.breaker_failures, options_.breaker_open_for, options_.clock) {}

std::shared_ptr<RedisLimiter> make_redis_limiter(std::shared_ptr<redis::Client> client,
                                                 RedisLimiterOptions options) {
  return std::make_shared<RedisLimiter>(std::move(client), std::move(options));
}

void RedisLimiter::check(std::span<const EffectivePolicy> policies, const Subject& subject,
                         std::function<void(Decision)> done) {
  ++stats_.checks;
  if (policies.empty()) {
    done(decide({}, options_.clock()));
    return;
  }
  if (!breaker_.allow()) {
    ++stats_.breaker_rejected;
    on_store_failure(policies, subject, std::move(done));
    return;
  }
  auto call = std::make_shared<Call>();
  call->policies.assign(policies.begin(), policies.end());
  call->subject = subject;
  call->done = std::move(done);
  std::optional<std::int64_t> now;
  if (!options_.server_time) now = options_.clock();
  call->script = make_script_call(options_.key_prefix, policies, subject, now);
  const auto keys = call->script.key_views();
  const auto args = call->script.arg_views();
  script_.eval(
      *client_, keys, args, options_.timeout,
      [self = shared_from_this(), call](redis::Result result) { self->on_reply(*call, result); });
}

void RedisLimiter::preload() {
  script_.load(*client_, options_.timeout, {});
}

void RedisLimiter::on_reply(Call& call, const redis::Result& result) {
  if (result.ok()) {
    if (auto decision = parse_script_reply(result.reply, call.policies)) {
      breaker_.on_success();
      call.done(std::move(*decision));
      return;
    }
  }
  ++stats_.store_errors;
  breaker_.on_failure();
  on_store_failure(call.policies, call.subject, std::move(call.done));
}

void RedisLimiter::on_store_failure(std::span<const EffectivePolicy> policies,
                                    const Subject& subject, std::function<void(Decision)> done) {
  const std::int64_t now = options_.clock();
  switch (subject.on_store_failure) {
    case conf::LimitFailureMode::fail_closed:
      // Retry once the breaker would let a probe through; at least a second from now.
      done(store_failure_refused(now, std::max<std::int64_t>(1000, breaker_.open_remaining_ms())));
      return;
    case conf::LimitFailureMode::local:
      if (options_.local) {
        ++stats_.local_fallbacks;
        options_.local->check(policies, subject, [done = std::move(done)](Decision d) {
          d.store_error = true;
          d.local_fallback = true;
          done(std::move(d));
        });
        return;
      }
      [[fallthrough]];
    case conf::LimitFailureMode::fail_open:
      done(store_failure_allowed(now));
      return;
  }
}

}  // namespace keygate::ratelimit
