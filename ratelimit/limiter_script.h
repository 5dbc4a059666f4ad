// The one Lua script that checks and charges every policy of a request in a single EVALSHA,
// and the encoding of its arguments and reply.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/decision.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"
#include "redis/reply.h"

namespace keygate::ratelimit {

// Lua source; its arithmetic mirrors algorithms.cc.
const std::string& limiter_script_source();

struct ScriptCall {
  std::vector<std::string> keys;  // one counter name per policy, all with one hash tag
  std::vector<std::string> args;  // now (or "" for the server clock), then 5 per policy

  std::vector<std::string_view> key_views() const { return {keys.begin(), keys.end()}; }
  std::vector<std::string_view> arg_views() const { return {args.begin(), args.end()}; }
};

// `now_ms` empty: the script reads the Redis server's clock (TIME).
ScriptCall make_script_call(std::string_view key_prefix, std::span<const EffectivePolicy> policies,
                            const Subject& subject, std::optional<std::int64_t> now_ms);

// Null when the reply is not the shape the script returns (treated as a store failure).
std::optional<Decision> parse_script_reply(const redis::Reply& reply,
                                           std::span<const EffectivePolicy> policies);

}  // namespace keygate::ratelimit
