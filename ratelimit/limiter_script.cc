#include "ratelimit/limiter_script.h"

#include <algorithm>

#include "ratelimit/counter_key.h"

namespace keygate::ratelimit {
namespace {

// Window-based counters are named KEYS[i] .. ':' .. <window index>. Those names are not declared
// in KEYS, but they carry the same hash tag as the declared ones, so in Redis Cluster they are
// in the same slot and the script stays single-slot.
constexpr std::string_view kSource = R"lua(
-- keygate rate limiter: checks the policies of one or more requests; each request is charged to
-- all of its policies or to none. Requests are taken in order, so a later one sees what an
-- earlier one charged: one call of a batch of N requests decides exactly as N calls would.
-- KEYS      counter names, request after request (window algorithms append ':' .. index)
-- ARGV[1]   now in Unix ms, or '' for the Redis server's clock
-- then per request: its policy count n, and 5 per policy: algorithm (f|s|t), limit, window_ms,
--           bucket size, anchor_ms
-- Returns {now_ms, then per policy of every request: allowed (0|1), remaining, reset_ms,
-- retry_after_ms}.
-- The arithmetic mirrors ratelimit/algorithms.cc operation for operation: change both.
local SLACK = 1000
local EPS = 0.001

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end

local function idx_name(base, idx)
  return base .. ':' .. string.format('%d', idx)
end

local function sliding_fits(cur, prev, w, limit, e)
  return cur + math.floor(prev * (w - e) / w) + 1 <= limit
end

local function first_fitting(cur, prev, w, limit, lo, hi)
  while lo < hi do
    local mid = lo + math.floor((hi - lo) / 2)
    if sliding_fits(cur, prev, w, limit, mid) then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- One policy. Returns allowed, remaining, reset, retry_after, then the write that charges it
-- (kind 'incr' or 'tat', counter name, ttl, new tat), applied only if the whole request fits.
local function check(base, algo, limit, w, size, anchor)
  if algo == 'f' then
    local idx = math.floor((now - anchor) / w)
    local key = idx_name(base, idx)
    local count = tonumber(redis.call('GET', key) or '0')
    local reset = anchor + (idx + 1) * w
    if count + 1 <= limit then
      return true, limit - count - 1, reset, 0, 'incr', key, reset - now + SLACK
    end
    return false, 0, reset, reset - now
  elseif algo == 's' then
    local idx = math.floor(now / w)
    local start = idx * w
    local e = now - start
    local key = idx_name(base, idx)
    local counts = redis.call('MGET', key, idx_name(base, idx - 1))
    local cur = tonumber(counts[1] or '0')
    local prev = tonumber(counts[2] or '0')
    local used = cur + math.floor(prev * (w - e) / w)
    local reset = start + w
    if used + 1 <= limit then
      -- still needed as the previous window throughout the next one
      return true, limit - used - 1, reset, 0, 'incr', key, (start + w) - now + w + SLACK
    end
    local retry
    if limit == 0 then
      retry = 2 * w - e
    elseif cur + 1 <= limit then
      retry = first_fitting(cur, prev, w, limit, e + 1, w) - e
    else
      retry = (w - e) + first_fitting(0, cur, w, limit, 0, w)
    end
    return false, 0, math.max(reset, now + retry), retry
  end
  local tat = tonumber(redis.call('GET', base) or '')
  if limit == 0 or size == 0 then return false, 0, now + w, w end
  local emission = w / limit
  local tolerance = emission * size
  local start = now
  if tat then start = math.max(tat, now) end
  local new_tat = start + emission
  if new_tat - now <= tolerance + EPS then
    return true, math.floor((tolerance - (new_tat - now) + EPS) / emission), math.ceil(new_tat), 0,
      'tat', base, math.ceil(new_tat - now) + SLACK, new_tat
  end
  local at = math.ceil(start + emission - tolerance - EPS)
  for _ = 1, 4 do
    if (math.max(start, at) + emission) - at <= tolerance + EPS then break end
    at = at + 1
  end
  return false, 0, math.ceil(start), math.max(1, at - now)
end

local out = {0}
local kinds, keys, ttls, tats = {}, {}, {}, {}
local a, k = 2, 0
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local all = true
  for i = 1, n do
    local p = a + 1 + (i - 1) * 5
    local allowed, remaining, reset, retry, kind, key, ttl, new_tat = check(KEYS[k + i], ARGV[p],
      tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]), tonumber(ARGV[p + 3]), tonumber(ARGV[p + 4]))
    if not allowed then all = false end
    kinds[i], keys[i], ttls[i], tats[i] = kind, key, ttl, new_tat
    out[#out + 1] = allowed and 1 or 0
    out[#out + 1] = remaining
    out[#out + 1] = reset
    out[#out + 1] = retry
  end
  if all then
    for i = 1, n do
      if kinds[i] == 'incr' then
        -- Counters expire at the same absolute time whichever request in their window writes
        -- them, so the TTL is set once, by the write that creates the counter.
        if redis.call('INCR', keys[i]) == 1 then redis.call('PEXPIRE', keys[i], ttls[i]) end
      else
        -- %.17g: Lua's default number format would round the fractional TAT
        redis.call('SET', keys[i], string.format('%.17g', tats[i]), 'PX', ttls[i])
      end
    end
  end
  a = a + 1 + 5 * n
  k = k + n
end
out[1] = now
return out
)lua";

char algorithm_code(const EffectivePolicy& p) {
  switch (p.effective_algorithm()) {
    case Algorithm::fixed_window:
      return 'f';
    case Algorithm::sliding_window:
      return 's';
    case Algorithm::token_bucket:
      return 't';
  }
  return 'f';
}

}  // namespace

const std::string& limiter_script_source() {
  static const std::string source(kSource);
  return source;
}

ScriptBatch::ScriptBatch(std::optional<std::int64_t> now_ms) {
  args_.push_back(now_ms ? std::to_string(*now_ms) : std::string());
}

void ScriptBatch::add(std::string_view key_prefix, std::span<const EffectivePolicy> policies,
                      const Subject& subject) {
  ++requests_;
  policies_ += policies.size();
  args_.push_back(std::to_string(policies.size()));
  for (const EffectivePolicy& p : policies) {
    keys_.push_back(counter_key(key_prefix, p, subject));
    args_.emplace_back(1, algorithm_code(p));
    args_.push_back(std::to_string(p.limit));
    args_.push_back(std::to_string(p.effective_window_ms()));
    args_.push_back(std::to_string(p.bucket_size()));
    args_.push_back(std::to_string(p.monthly_quota ? subject.org_created_at * 1000 : 0));
  }
}

bool is_script_reply(const redis::Reply& reply, std::size_t policy_count) {
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 1 + 4 * policy_count)
    return false;
  return std::all_of(reply.elements.begin(), reply.elements.end(),
                     [](const redis::Reply& e) { return e.type == redis::Reply::Type::integer; });
}

Decision decision_from_reply(const redis::Reply& reply, std::size_t first,
                             std::span<const EffectivePolicy> policies) {
  std::vector<PolicyDecision> decisions;
  decisions.reserve(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const redis::Reply* r = &reply.elements[1 + 4 * (first + i)];
    Verdict v;
    v.allowed = r[0].integer != 0;
    v.remaining = r[1].integer > 0 ? static_cast<std::uint64_t>(r[1].integer) : 0;
    v.reset_ms = r[2].integer;
    v.retry_after_ms = r[3].integer;
    decisions.push_back(make_policy_decision(policies[i], v));
  }
  return decide(std::move(decisions), reply.elements[0].integer);
}

}  // namespace keygate::ratelimit
