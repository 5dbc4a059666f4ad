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
};

struct RedisLimiter::Batch {
  std::vector<Call> calls;
  ScriptBatch script;
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
      breaker_(options_.breaker_failures, options_.breaker_open_for, options_.clock) {}

std::shared_ptr<RedisLimiter> make_redis_limiter(boost::asio::any_io_executor executor,
                                                 std::shared_ptr<redis::Client> client,
                                                 RedisLimiterOptions options) {
  return std::make_shared<RedisLimiter>(std::move(executor), std::move(client), std::move(options));
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
  if (!pending_) {
    if (spare_batches_.empty()) {
      pending_ = std::make_shared<Batch>();
    } else {
      pending_ = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
    std::optional<std::int64_t> now;
    if (!options_.server_time) now = options_.clock();
    pending_->script.reset(now);
  }
  pending_->script.add(options_.key_prefix, policies, subject);
  pending_->calls.push_back(Call{{policies.begin(), policies.end()}, subject, std::move(done)});
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
    std::size_t first = 0;
    for (Call& call : batch->calls) {
      call.done(decision_from_reply(result.reply, first, call.policies));
      first += call.policies.size();
    }
  } else {
    ++stats_.store_errors;
    breaker_.on_failure();
    for (Call& call : batch->calls)
      on_store_failure(call.policies, call.subject, std::move(call.done));
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
