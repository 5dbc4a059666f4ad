#include "proxy/service_metrics.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <utility>

namespace keygate::proxy {
namespace {

using Labels = std::initializer_list<std::pair<const char*, const char*>>;

class Text {
 public:
  void family(const char* name, const char* type, const char* help) {
    name_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // A family of one unlabelled sample.
  void single(const char* name, const char* type, const char* help, double value) {
    family(name, type, help);
    sample(value);
  }
  void sample(double value, Labels labels = {}) {
    out_ += name_;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += label;
        out_ += "=\"";
        out_ += label_value;  // fixed words only: nothing to escape
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    char buffer[64];
    if (std::floor(value) == value && std::fabs(value) < 1e15)
      std::snprintf(buffer, sizeof buffer, "%.0f", value);
    else
      std::snprintf(buffer, sizeof buffer, "%.9g", value);
    out_ += buffer;
    out_ += '\n';
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  const char* name_ = "";
};

double d(std::uint64_t value) {
  return static_cast<double>(value);
}

}  // namespace

std::string render_cache_metrics(const auth::KeyCache::Stats& stats) {
  Text text;
  text.family("keygate_key_cache_lookups_total", "counter",
              "Key cache lookups by result (stale_hit: served during a store outage)");
  text.sample(d(stats.hits), {{"result", "hit"}});
  text.sample(d(stats.negative_hits), {{"result", "negative_hit"}});
  text.sample(d(stats.misses), {{"result", "miss"}});
  text.sample(d(stats.stale_hits), {{"result", "stale_hit"}});
  text.single("keygate_key_cache_evictions_total", "counter",
              "Key cache entries dropped to make room", d(stats.evictions));
  return text.take();
}

std::string render_usage_metrics(const auth::UsageRecorder::Stats& stats) {
  Text text;
  text.family("keygate_usage_flushes_total", "counter", "Usage flushes to the store by result");
  text.sample(d(stats.flushes_ok), {{"result", "ok"}});
  text.sample(d(stats.flushes_failed), {{"result", "error"}});
  text.single("keygate_usage_flush_lag_seconds", "gauge",
              "Upper bound on the age of recorded usage not yet written to the store",
              stats.lag_seconds);
  text.single("keygate_usage_last_flush_duration_seconds", "gauge",
              "How long the last usage flush took", stats.last_flush_seconds);
  text.single("keygate_usage_pending_keys", "gauge",
              "Keys whose usage waits for the store after failed flushes", d(stats.pending_keys));
  text.single("keygate_usage_dropped_requests_total", "counter",
              "Requests left out of usage counts because a tracking bound was reached",
              d(stats.dropped_requests));
  text.single("keygate_usage_dropped_last_uses_total", "counter",
              "Deferred last-use updates dropped because their bound was reached",
              d(stats.dropped_last_uses));
  return text.take();
}

std::string render_redis_metrics(const RedisHealth::Snapshot& health) {
  Text text;
  text.family("keygate_redis_connections", "gauge",
              "Data-path Redis connections (one per worker) by state");
  text.sample(d(health.connected), {{"state", "up"}});
  text.sample(d(health.workers - health.connected), {{"state", "down"}});
  text.single("keygate_redis_commands_total", "counter",
              "Commands sent on the data-path Redis connections", d(health.client.commands));
  text.family("keygate_redis_errors_total", "counter",
              "Data-path Redis commands that failed, by reason");
  text.sample(d(health.client.timeouts), {{"reason", "timeout"}});
  text.sample(d(health.client.disconnected), {{"reason", "disconnected"}});
  text.sample(d(health.client.overloaded), {{"reason", "overloaded"}});
  text.single("keygate_redis_late_replies_total", "counter",
              "Redis replies that arrived after their deadline", d(health.client.late_replies));
  text.single("keygate_redis_connects_total", "counter", "Data-path Redis connections made",
              d(health.client.connects));
  text.single("keygate_redis_stalls_total", "counter",
              "Redis connections replaced because Redis stopped answering",
              d(health.client.stalls));
  text.single("keygate_redis_pending_commands", "gauge", "Redis commands sent and not yet answered",
              d(health.client.pending));
  text.family("keygate_rate_limit_circuit_state", "gauge",
              "Rate-limit circuit breakers (one per worker) by state");
  text.sample(d(health.breakers_closed), {{"state", "closed"}});
  text.sample(d(health.breakers_open), {{"state", "open"}});
  text.sample(d(health.breakers_half_open), {{"state", "half_open"}});
  text.single("keygate_rate_limit_circuit_openings_total", "counter",
              "Times a rate-limit circuit breaker opened", d(health.breaker_openings));
  text.single("keygate_rate_limit_script_calls_total", "counter",
              "Rate-limit script calls sent to Redis, each for one or more requests' checks",
              d(health.limiter.script_calls));
  text.single("keygate_rate_limit_incr_calls_total", "counter",
              "Rate-limit checks of a lone fixed window, each one INCR in Redis (no script)",
              d(health.limiter.incr_calls));
  text.single("keygate_rate_limit_lease_admitted_total", "counter",
              "Requests admitted from a lease (policies with `lease`), without a Redis call",
              d(health.limiter.lease_admitted));
  text.single("keygate_rate_limit_refusals_recalled_total", "counter",
              "Requests refused again without a Redis call, until the retry time Redis gave",
              d(health.limiter.refusals_recalled));
  text.single("keygate_rate_limit_script_errors_total", "counter",
              "Rate-limit scripts that failed in Redis or on the way",
              d(health.limiter.store_errors));
  text.single("keygate_rate_limit_circuit_rejected_total", "counter",
              "Rate-limit checks not sent to Redis because the circuit was open",
              d(health.limiter.breaker_rejected));
  return text.take();
}

}  // namespace keygate::proxy
