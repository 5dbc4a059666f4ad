#include "proxy/request_steps.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "auth/auth_result.h"
#include "auth/credential.h"
#include "proxy/identity_headers.h"
#include "proxy/policy_metrics.h"
#include "proxy/worker.h"
#include "proxy/worker_services.h"
#include "ratelimit/headers.h"

namespace keygate::proxy {
namespace {

namespace http = boost::beast::http;

// Completes on the awaiting coroutine's executor, whatever thread the store answered on.
// The initiation runs only when the result is co_awaited, after this function returned: it
// captures by value (views and pointers into the awaiting frame, which stays alive).
auto async_validate(auth::KeyValidator& validator, std::string_view raw_key,
                    conf::KeySource::Kind source, const conf::RouteAuthConfig& route,
                    const asio::ip::address& client) {
  return asio::async_initiate<decltype(use_awaitable), void(auth::AuthDecision)>(
      [validator = &validator, raw_key, source, route = &route, client = &client](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        validator->validate(raw_key, source, *route, *client, [shared](auth::AuthDecision d) {
          auto ex = asio::get_associated_executor(*shared);
          asio::post(ex, [shared, d = std::move(d)]() mutable { (*shared)(std::move(d)); });
        });
      },
      use_awaitable);
}

// The limiter answers on the worker's executor, the coroutine's own: a decision that comes
// later (from Redis) resumes the request at once instead of queueing behind the turn's other
// handlers. One given before check() returned (breaker open, nothing to check) is posted, since
// the coroutine is still being suspended then.
auto async_limit(ratelimit::Limiter& limiter, std::span<const ratelimit::EffectivePolicy> policies,
                 const ratelimit::Subject& subject) {
  return asio::async_initiate<decltype(use_awaitable), void(ratelimit::Decision)>(
      [limiter = &limiter, policies, subject = &subject](auto handler) {
        using Handler = decltype(handler);
        struct Pending {
          Handler resume;
          bool initiating = true;
        };
        auto pending = std::make_shared<Pending>(Pending{std::move(handler)});
        limiter->check(policies, *subject, [pending](ratelimit::Decision d) {
          auto ex = asio::get_associated_executor(pending->resume);
          auto resume = [pending, d = std::move(d)]() mutable { pending->resume(std::move(d)); };
          if (pending->initiating)
            asio::post(ex, std::move(resume));
          else
            asio::dispatch(ex, std::move(resume));
        });
        pending->initiating = false;
      },
      use_awaitable);
}

std::optional<std::string_view> find_header(const Fields& fields, std::string_view name) {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return it->value();
}

// Every place the route accepts a key from is cleared, not only the one that authenticated:
// a second credential must not reach the upstream either.
void remove_credentials(RequestContext& ctx, const conf::RouteAuthConfig& auth) {
  for (const auto& source : auth.sources) {
    if (source.kind == conf::KeySource::Kind::query) {
      if (auth::query_of(ctx.target).find(source.name) != std::string_view::npos)
        ctx.target = auth::remove_query_param(ctx.target, source.name);
    } else {
      ctx.header.erase(source.name);
    }
  }
}

void add_identity_headers(Fields& fields, const conf::IdentityHeadersConfig& names,
                          const auth::CompactKey& key, const auth::OrgRecord* org,
                          std::string_view default_plan) {
  // insert, not set: clean_request_headers removed every client spelling of these already.
  for_each_identity_header(
      names, key, org, default_plan,
      [&](std::string_view name, std::string_view value) { fields.insert(name, value); });
}

void answer_auth_failure(RequestContext& ctx, auth::AuthCode code) {
  LocalAnswer answer;
  answer.status = static_cast<unsigned>(auth::http_status(code));
  answer.body = std::string(auth::error_body(code));
  if (answer.status == 401) {
    // RFC 6750 §3: tell the client how to authenticate.
    answer.headers.push_back(
        {"WWW-Authenticate",
         code == auth::AuthCode::missing_api_key
             ? std::string(R"(Bearer realm="keygate")")
             : std::string(R"(Bearer realm="keygate", error="invalid_token")")});
  } else if (answer.status == 503) {
    answer.headers.push_back({"Retry-After", "1"});
  }
  ctx.answer = std::move(answer);
  ctx.decision = auth::error_code(code);
}

auth::Credential find_credential(const RequestContext& ctx) {
  return auth::extract_credential(
      ctx.route.config->auth, [&](std::string_view name) { return find_header(ctx.header, name); },
      auth::query_of(ctx.target));
}

// The decision when it needs no store lookup (no key, a malformed one, a cached one).
std::optional<auth::AuthDecision> decide_without_store(WorkerServices& services,
                                                       const RequestContext& ctx,
                                                       const auth::Credential& credential) {
  if (!credential.found()) {
    auth::AuthDecision decision;
    decision.code =
        credential.oversized() ? auth::AuthCode::invalid_api_key : auth::AuthCode::missing_api_key;
    return decision;
  }
  return services.validator->try_validate(credential.raw(), credential.source(),
                                          ctx.route.config->auth, ctx.client_address);
}

// Records the decision; false (with the answer set) when the request is refused.
bool accept_authentication(WorkerServices& services, RequestContext& ctx,
                           const auth::AuthDecision& decision) {
  services.counters->auth_decision(auth::error_code(decision.code)).inc();
  // Identify the key in the access log even when it is refused (revoked, wrong scope, ...).
  ctx.key = decision.key;
  ctx.org = decision.org();
  if (decision.code != auth::AuthCode::ok) {
    answer_auth_failure(ctx, decision.code);
    return false;
  }
  // A check request (authorize mode) goes nowhere: its answer names the identity.
  if (!ctx.forwards) return true;
  remove_credentials(ctx, ctx.route.config->auth);
  add_identity_headers(ctx.header, ctx.snapshot.config->identity_headers, *decision.key, ctx.org,
                       ctx.snapshot.config->keys.default_plan);
  return true;
}

// The limits that apply to this request: its key's (plan, type, overrides) or, without a
// key, the route's anonymous ones. Null or empty: nothing to check.
ratelimit::PolicyList policies_for(WorkerServices& services, const RequestContext& ctx) {
  const auto& route = *ctx.route.config;
  if (ctx.key) {
    return services.policies->resolve(route, ctx.org ? std::string_view(ctx.org->plan) : "",
                                      ctx.key->type(), ctx.key->limit_overrides());
  }
  return services.policies->resolve_anonymous(route);
}

ratelimit::Subject limit_subject(const RequestContext& ctx) {
  const auto& route = *ctx.route.config;
  ratelimit::Subject subject;
  if (ctx.key) {
    subject.key_id = ctx.key->id();
    subject.org_id = ctx.key->org();
  }
  if (ctx.org) subject.org_created_at = ctx.org->created_at;
  subject.route = route.name;
  subject.client_ip = ctx.client_ip;
  subject.on_store_failure = route.limit_failure;
  return subject;
}

// Headers, metrics and, when refused, the answer.
void apply_limit_decision(WorkerServices& services, RequestContext& ctx,
                          const ratelimit::Decision& decision) {
  const auto& route = *ctx.route.config;
  const auto& config = *ctx.snapshot.config;
  ratelimit::append_rate_limit_headers(decision, config.rate_limits.draft_headers,
                                       ctx.rate_limit_fields);

  auto& metrics = *services.metrics;
  if (decision.store_error) {
    static constexpr const char* kModes[] = {"fail_open", "fail_closed", "local"};
    metrics.rate_limit_failures.with({kModes[static_cast<int>(route.limit_failure)]}).inc();
  }
  for (std::size_t i = 0; i < decision.policies.size(); ++i) {
    const auto& p = decision.policies[i];
    const int outcome = decision.store_error && !decision.local_fallback ? 2 : !p.allowed ? 1 : 0;
    services.counters->rate_limit_decision(p.name, outcome).inc();
  }
  if (!decision.allowed()) {
    LocalAnswer answer;
    answer.status = ratelimit::http_status(decision);
    answer.body = ratelimit::error_body(decision);
    ctx.answer = std::move(answer);
    ctx.decision = decision.outcome == ratelimit::Outcome::unavailable ? "rate_limit_unavailable"
                                                                       : "rate_limited";
  }
}

}  // namespace

bool request_steps_apply(Worker& worker, RequestContext& ctx) {
  // A client's identity headers, in any spelling, are gone already (clean_request_headers).
  auto* services = worker.services();
  if (!services) return false;
  if (ctx.route.config->auth.required) return true;
  const auto policies = policies_for(*services, ctx);
  return policies && !policies->empty();
}

awaitable<void> run_request_steps(Worker& worker, RequestContext& ctx) {
  auto* services = worker.services();
  // The steps are plain functions around at most two waits (a key the cache does not hold, a
  // rate limit Redis decides), so a request that needs neither never suspends.
  // No co_await inside a conditional expression: GCC 12 miscompiles it.
  if (ctx.route.config->auth.required) {
    const auto credential = find_credential(ctx);
    auto decision = decide_without_store(*services, ctx, credential);
    if (!decision) {
      const auto started = std::chrono::steady_clock::now();
      decision =
          co_await async_validate(*services->validator, credential.raw(), credential.source(),
                                  ctx.route.config->auth, ctx.client_address);
      services->metrics->store_lookup_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    if (!accept_authentication(*services, ctx, *decision)) co_return;
  }
  auto policies = policies_for(*services, ctx);
  if (!policies || policies->empty()) co_return;
  const auto subject = limit_subject(ctx);
  auto decision = services->limiter->decide_now(*policies, subject);
  if (!decision) decision = co_await async_limit(*services->limiter, *policies, subject);
  apply_limit_decision(*services, ctx, *decision);
}

void finish_request(Worker& worker, const RequestContext& ctx, unsigned status) {
  auto* services = worker.services();
  // Usage is per key: requests without a known key (missing, malformed, unknown) have no
  // owner to charge and show up in the auth metrics instead.
  if (!services || !services->usage || !ctx.key) return;
  auth::UsageEvent event;
  event.key_id = ctx.key->id();
  event.org = ctx.key->org();
  if (ctx.org) event.org_created_at = ctx.org->created_at;
  event.status = status;
  event.client_ip = ctx.client_ip;
  // Only forwarded requests are calls against the org's period, like the monthly quota
  // charges only what it admits; refusals still count for the key.
  event.reached_upstream = !ctx.answer.has_value();
  services->usage->record(event);
}

}  // namespace keygate::proxy
