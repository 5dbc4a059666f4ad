#include "ratelimit/redis_limiter.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <vector>

#include "ratelimit/limiter_script.h"

namespace keygate::ratelimit {

// What a check needs once the reply arrives: copies, since the caller's policies and subject
// need not outlive check(), and the local fallback may need them.
struct RedisLimiter::Call {
  std::vector<EffectivePolicy> policies;
  Subject subject;
  std::function<void(Decision)> done;
  std::vector<LeaseTable::Ask> lease_asks;
};

struct RedisLimiter::Batch {
  std::vector<Call> calls;
  ScriptBatch script;
  std::int64_t sent_at_ms = 0;  // local clock: leases are timed from here
};

namespace {
constexpr std::size_t kMaxSpareBatches = 4;
}

RedisLimiterOptions redis_limiter_options(const conf::RedisConfig& redis,
                                          const conf::RateLimitConfig& limits, Clock clock,
                                          std::shared_ptr<Limiter> local) {
  RedisLimiterOptions o;
  o.key_prefix = redis.key_prefix;
  o.timeout = redis.limiter_timeout;
  o.breaker_failures = limits.breaker_failures;
  o.breaker_open_for = limits.breaker_open_for;
  o.max_batch = static_cast<std::size_t>(redis.limiter_batch);
  o.clock = std::move(clock);
  o.local = std::move(local);
  return o;
}

RedisLimiter::RedisLimiter(boost::asio::any_io_executor executor,
                           std::shared_ptr<redis::Client> client, RedisLimiterOptions options)
    : executor_(std::move(executor)),
      client_(std::move(client)),
      options_(std::move(options)),
      script_(limiter_script_source()),
      breaker_(options_.breaker_failures, options_.breaker_open_for, options_.clock),
      leases_(options_.max_leases),
      refusals_(options_.max_refusals) {}

std::shared_ptr<RedisLimiter> make_redis_limiter(boost::asio::any_io_executor executor,
                                                 std::shared_ptr<redis::Client> client,
                                                 RedisLimiterOptions options) {
  return std::make_shared<RedisLimiter>(std::move(executor), std::move(client), std::move(options));
}

std::optional<Decision> RedisLimiter::decide_now(std::span<const EffectivePolicy> policies,
                                                 const Subject& subject) {
  const std::int64_t now = options_.clock();
  if (auto refused = refusals_.recall(policies, subject, now)) {
    ++stats_.checks;
    ++stats_.refusals_recalled;
    return refused;
  }
  auto decision = leases_.try_admit(policies, subject, now);
  if (decision) {
    ++stats_.checks;
    ++stats_.lease_admitted;
  }
  return decision;
}

void RedisLimiter::check(std::span<const EffectivePolicy> policies, const Subject& subject,
                         std::function<void(Decision)> done) {
  ++stats_.checks;
  const std::int64_t now = options_.clock();
  if (policies.empty()) {
    done(decide({}, now));
    return;
  }
  if (!breaker_.allow()) {
    ++stats_.breaker_rejected;
    on_store_failure(policies, subject, std::move(done));
    return;
  }
  if (!pending_) {
    if (spare_batches_.empty()) {
      pending_ = std::make_shared<Batch>();
    } else {
      pending_ = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
    pending_->script.reset(options_.server_time ? std::nullopt : std::optional(now));
  }
  std::vector<LeaseTable::Ask> asks;
  leases_.prepare_asks(policies, subject, now, lease_sizes_, asks);
  pending_->script.add(options_.key_prefix, policies, subject, lease_sizes_);
  pending_->calls.push_back(
      Call{{policies.begin(), policies.end()}, subject, std::move(done), std::move(asks)});
  if (pending_->calls.size() >= std::max<std::size_t>(1, options_.max_batch)) {
    send_batch();
  } else if (!send_posted_) {
    send_posted_ = true;
    boost::asio::post(executor_, [self = shared_from_this()] {
      self->send_posted_ = false;
      self->send_batch();
    });
  }
}

void RedisLimiter::send_batch() {
  if (!pending_) return;
  std::shared_ptr<Batch> batch = std::move(pending_);
  ++stats_.script_calls;
  batch->sent_at_ms = options_.clock();
  const auto keys = batch->script.key_views();
  const auto args = batch->script.arg_views();
  script_.eval(
      *client_, keys, args, options_.timeout,
      [self = shared_from_this(), batch](redis::Result result) { self->on_reply(batch, result); });
}

void RedisLimiter::preload() {
  script_.load(*client_, options_.timeout, {});
}

void RedisLimiter::on_reply(const std::shared_ptr<Batch>& batch, const redis::Result& result) {
  if (result.ok() && is_script_reply(result.reply, batch->script.policies())) {
    breaker_.on_success();
    const std::int64_t store_now = result.reply.elements[0].integer;
    std::size_t first = 0;
    for (Call& call : batch->calls) {
      Decision decision = decision_from_reply(result.reply, first, call.policies);
      for (const LeaseTable::Ask& ask : call.lease_asks) {
        const PolicyDecision& p = decision.policies[ask.policy];
        leases_.on_answer(ask, call.policies[ask.policy],
                          LeaseTable::Grant{lease_granted(result.reply, first + ask.policy),
                                            p.remaining, p.reset_ms, store_now, batch->sent_at_ms});
      }
      // Timed from when the call left (before Redis decided): the memory lets go no later than
      // Redis would.
      if (!decision.allowed())
        refusals_.remember(call.policies, call.subject, decision, batch->sent_at_ms);
      call.done(std::move(decision));
      first += call.policies.size();
    }
  } else {
    ++stats_.store_errors;
    breaker_.on_failure();
    for (Call& call : batch->calls) {
      for (const LeaseTable::Ask& ask : call.lease_asks)
        leases_.on_answer(ask, call.policies[ask.policy], std::nullopt);
      on_store_failure(call.policies, call.subject, std::move(call.done));
    }
  }
  batch->calls.clear();
  if (spare_batches_.size() < kMaxSpareBatches) spare_batches_.push_back(batch);
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
