// Names of rate-limit counters, shared by the Redis and the in-memory limiter.
//
// Layout: <prefix>rl:{<tag>}:<policy>:<kind>:<id>, e.g.
//   kg:rl:{org_1}:per-key-minute:key:key_abc
// Window-based algorithms append ":<window index>" (inside the Lua script, which knows the
// time). Every counter of one request carries the same hash tag, so in Redis Cluster they all
// live in one slot and one script can read and write them atomically. Only key ids, org ids,
// route names and client addresses appear: never a raw API key.
#pragma once

#include <string>
#include <string_view>

#include "ratelimit/policy.h"
#include "ratelimit/subject.h"

namespace keygate::ratelimit {

// The hash-tag content: the org when there is one, else the key id (a key without an org must
// still count in one place), else the client address (unauthenticated routes).
std::string hash_tag(const Subject& subject);

// The counter name of `policy` for `subject` under `prefix` (RedisConfig::key_prefix).
// A policy counted per key/org falls back to the next identity the request has (org -> key ->
// client ip), so anonymous requests are still limited rather than sharing one empty counter.
std::string counter_key(std::string_view prefix, const EffectivePolicy& policy,
                        const Subject& subject);
// The same, appended to `out` (the script's batches keep their names in one buffer, the INCR
// path its one key).
void append_counter_key(std::string& out, std::string_view prefix, const EffectivePolicy& policy,
                        const Subject& subject);

// Names the same counter as counter_key() does (whatever the prefix), in a form only for
// in-process tables: cheaper to build, since nothing needs escaping.
void append_counter_identity(std::string& out, const EffectivePolicy& policy,
                             const Subject& subject);

// Appends `value` with every byte outside [A-Za-z0-9._@-] percent-encoded, so ids cannot
// forge separators (':') or hash-tag braces.
void append_escaped(std::string& out, std::string_view value);

}  // namespace keygate::ratelimit
