#include "ratelimit/redis_limiter.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <vector>

#include "ratelimit/algorithms.h"
#include "ratelimit/counter_key.h"
#include "ratelimit/limiter_script.h"
#include "redis/cluster_slot.h"

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
  std::uint16_t slot = 0;       // the cluster slot of every counter in it (split_by_slot)
};

namespace {

constexpr std::size_t kMaxSpareBatches = 4;
// As the script's SLACK: a counter outlives its window by this much.
constexpr std::int64_t kExpirySlackMs = 1000;

bool is_lone_fixed_window(std::span<const EffectivePolicy> policies) {
  return policies.size() == 1 && policies[0].effective_algorithm() == Algorithm::fixed_window &&
         policies[0].lease == 0;
}

// TIME's answer, {seconds, microseconds}, in ms.
std::optional<std::int64_t> time_reply_ms(const redis::Result& result) {
  const redis::Reply& r = result.reply;
  if (!result.ok() || r.type != redis::Reply::Type::array || r.elements.size() != 2)
    return std::nullopt;
  std::int64_t parts[2];
  for (int i = 0; i < 2; ++i) {
    const std::string& text = r.elements[i].str;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parts[i]);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  }
  return parts[0] * 1000 + parts[1] / 1000;
}

}  // namespace

RedisLimiterOptions redis_limiter_options(const conf::RedisConfig& redis,
                                          const conf::RateLimitConfig& limits, Clock clock,
                                          std::shared_ptr<Limiter> local) {
  RedisLimiterOptions o;
  o.key_prefix = redis.key_prefix;
  o.timeout = redis.limiter_timeout;
  o.breaker_failures = limits.breaker_failures;
  o.breaker_open_for = limits.breaker_open_for;
  o.max_batch = static_cast<std::size_t>(redis.limiter_batch);
  o.split_by_slot = !redis.cluster_seeds.empty();
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
      store_clock_(!options_.server_time),
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
  if (store_clock_.sample_due(now)) sample_store_clock();
  if (is_lone_fixed_window(policies)) {
    if (const auto store_now = store_clock_.at(now)) {
      count(policies[0], subject, *store_now, std::move(done));
      return;
    }
  }
  // On a cluster every request's counters share one hash tag, hence one slot; requests of
  // different slots go to different batches, so one script call never spans slots and each
  // request still waits for exactly one reply.
  const std::uint16_t slot =
      options_.split_by_slot ? redis::key_slot("{" + hash_tag(subject) + "}") : 0;
  std::shared_ptr<Batch>* pending = nullptr;
  for (auto& batch : pending_)
    if (batch->slot == slot) pending = &batch;
  if (!pending) {
    std::shared_ptr<Batch> batch;
    if (spare_batches_.empty()) {
      batch = std::make_shared<Batch>();
    } else {
      batch = std::move(spare_batches_.back());
      spare_batches_.pop_back();
    }
    batch->script.reset(options_.server_time ? std::nullopt : std::optional(now));
    batch->slot = slot;
    pending_.push_back(std::move(batch));
    pending = &pending_.back();
  }
  Batch& batch = **pending;
  std::vector<LeaseTable::Ask> asks;
  leases_.prepare_asks(policies, subject, now, lease_sizes_, asks);
  batch.script.add(options_.key_prefix, policies, subject, lease_sizes_);
  batch.calls.push_back(
      Call{{policies.begin(), policies.end()}, subject, std::move(done), std::move(asks)});
  if (batch.calls.size() >= std::max<std::size_t>(1, options_.max_batch)) {
    std::shared_ptr<Batch> full = std::move(*pending);
    pending_.erase(pending_.begin() + (pending - pending_.data()));
    send_batch(std::move(full));
  } else if (!send_posted_) {
    send_posted_ = true;
    boost::asio::post(executor_, [self = shared_from_this()] {
      self->send_posted_ = false;
      self->send_pending();
    });
  }
}

void RedisLimiter::send_pending() {
  std::vector<std::shared_ptr<Batch>> batches = std::move(pending_);
  pending_.clear();
  for (auto& batch : batches) send_batch(std::move(batch));
}

void RedisLimiter::send_batch(std::shared_ptr<Batch> batch) {
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
  if (store_clock_.sample_due(options_.clock())) sample_store_clock();
}

void RedisLimiter::sample_store_clock() {
  store_clock_.sample_sent();
  client_->command({"TIME"}, options_.timeout,
                   [self = shared_from_this(), sent = options_.clock()](redis::Result result) {
                     if (const auto store_ms = time_reply_ms(result)) {
                       self->store_clock_.sample(sent, self->options_.clock(), *store_ms);
                     } else {
                       self->store_clock_.sample_failed();
                     }
                   });
}

std::string_view RedisLimiter::fixed_window_key(const EffectivePolicy& policy,
                                                const Subject& subject, std::int64_t index) {
  // Its memory is kept from key to key, unless a long one left it large.
  if (key_scratch_.capacity() > 4096) std::string().swap(key_scratch_);
  key_scratch_.clear();
  append_counter_key(key_scratch_, options_.key_prefix, policy, subject);
  key_scratch_ += ':';
  char digits[24];
  key_scratch_.append(digits, std::to_chars(digits, digits + sizeof digits, index).ptr);
  return key_scratch_;
}

void RedisLimiter::count(const EffectivePolicy& policy, const Subject& subject,
                         std::int64_t store_now, std::function<void(Decision)> done) {
  ++stats_.incr_calls;
  const std::int64_t anchor = policy.monthly_quota ? subject.org_created_at * 1000 : 0;
  const std::int64_t index = window_index(store_now, anchor, policy.effective_window_ms());
  const std::string_view args[] = {"INCR", fixed_window_key(policy, subject, index)};
  // The policy and the subject by reference: the caller keeps them until `done` has run
  // (limiter.h). The key is made again in the rare reply that needs it.
  client_->command(
      args, options_.timeout,
      [self = shared_from_this(), &policy, &subject, index, store_now, anchor,
       sent_at = options_.clock(), done = std::move(done)](redis::Result result) mutable {
        const std::span<const EffectivePolicy> policies(&policy, 1);
        if (!result.ok() || result.reply.type != redis::Reply::Type::integer ||
            result.reply.integer < 1) {
          ++self->stats_.store_errors;
          self->breaker_.on_failure();
          return self->on_store_failure(policies, subject, std::move(done));
        }
        self->breaker_.on_success();
        const auto charged = static_cast<std::uint64_t>(result.reply.integer);
        const Verdict verdict = fixed_window(charged - 1, policy.limit,
                                             policy.effective_window_ms(), anchor, store_now);
        if (charged == 1) {
          // The INCR created the counter: it expires with its window (and the slack), wherever
          // in the window it was created.
          const std::string ttl = std::to_string(verdict.reset_ms - store_now + kExpirySlackMs);
          const std::string_view expire[] = {"PEXPIRE",
                                             self->fixed_window_key(policy, subject, index), ttl};
          self->client_->command(expire, self->options_.timeout, [](redis::Result) {});
        }
        Decision decision = decide({make_policy_decision(policy, verdict)}, store_now);
        if (!decision.allowed()) self->refusals_.remember(policies, subject, decision, sent_at);
        done(std::move(decision));
      });
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
