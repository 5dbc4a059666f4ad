// Prometheus text for what the shared services count themselves (and the registry does not
// own): key-cache lookups, usage flushing, Redis connections and the rate-limit circuit
// breakers. Appended to the registry's output by SharedServices::metrics(); every family
// here has fixed, bounded label values.
#pragma once

#include <string>

#include "auth/key_cache.h"
#include "auth/usage_recorder.h"
#include "proxy/redis_health.h"

namespace keygate::proxy {

std::string render_cache_metrics(const auth::KeyCache::Stats& stats);
std::string render_usage_metrics(const auth::UsageRecorder::Stats& stats);
std::string render_redis_metrics(const RedisHealth::Snapshot& health);

}  // namespace keygate::proxy
