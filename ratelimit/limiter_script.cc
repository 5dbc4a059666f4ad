#include "ratelimit/limiter_script.h"

#include "ratelimit/counter_key.h"

namespace keygate::ratelimit {
namespace {

// Window-based counters are named KEYS[i] .. ':' .. <window index>. Those names are not declared
// in KEYS, but they carry the same hash tag as the declared ones, so in Redis Cluster they are
// in the same slot and the script stays single-slot.
constexpr std::string_view kSource = R"lua(
-- keygate rate limiter: checks every policy of one request, charges all of them or none.
-- KEYS[i]   counter name of policy i (window algorithms append ':' .. window index)
-- ARGV[1]   now in Unix ms, or '' for the Redis server's clock
-- ARGV[...] 5 per policy: algorithm (f|s|t), limit, window_ms, bucket size, anchor_ms
-- Returns {now_ms, then per policy: allowed (0|1), remaining, reset_ms, retry_after_ms}.
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

-- Counters expire at the same absolute time whichever request in their window writes
-- them, so the TTL is set once, by the write that creates the counter.
local function incr_with_ttl(key, ttl)
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ttl) end
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

local out = {0}
local writes = {}
local all = true
for i = 1, #KEYS do
  local a = 1 + (i - 1) * 5
  local algo = ARGV[a + 1]
  local limit = tonumber(ARGV[a + 2])
  local w = tonumber(ARGV[a + 3])
  local size = tonumber(ARGV[a + 4])
  local anchor = tonumber(ARGV[a + 5])
  local allowed, remaining, reset, retry = false, 0, 0, 0
  local write = nil
  if algo == 'f' then
    local idx = math.floor((now - anchor) / w)
    local key = idx_name(KEYS[i], idx)
    local count = tonumber(redis.call('GET', key) or '0')
    reset = anchor + (idx + 1) * w
    allowed = count + 1 <= limit
    if allowed then remaining = limit - count - 1 else retry = reset - now end
    write = {'incr', key, reset - now + SLACK}
  elseif algo == 's' then
    local idx = math.floor(now / w)
    local start = idx * w
    local e = now - start
    local key = idx_name(KEYS[i], idx)
    local counts = redis.call('MGET', key, idx_name(KEYS[i], idx - 1))
    local cur = tonumber(counts[1] or '0')
    local prev = tonumber(counts[2] or '0')
    local used = cur + math.floor(prev * (w - e) / w)
    reset = start + w
    allowed = used + 1 <= limit
    if allowed then
      remaining = limit - used - 1
    else
      if limit == 0 then
        retry = 2 * w - e
      elseif cur + 1 <= limit then
        retry = first_fitting(cur, prev, w, limit, e + 1, w) - e
      else
        retry = (w - e) + first_fitting(0, cur, w, limit, 0, w)
      end
      reset = math.max(reset, now + retry)
    end
    -- still needed as the previous window throughout the next one
    write = {'incr', key, (start + w) - now + w + SLACK}
  else
    local tat = tonumber(redis.call('GET', KEYS[i]) or '')
    if limit == 0 or size == 0 then
      retry = w
      reset = now + w
    else
      local emission = w / limit
      local tolerance = emission * size
      local start = now
      if tat then start = math.max(tat, now) end
      local new_tat = start + emission
      allowed = new_tat - now <= tolerance + EPS
      if allowed then
        remaining = math.floor((tolerance - (new_tat - now) + EPS) / emission)
        reset = math.ceil(new_tat)
        write = {'tat', KEYS[i], math.ceil(new_tat - now) + SLACK, new_tat}
      else
        local at = math.ceil(start + emission - tolerance - EPS)
        for _ = 1, 4 do
          if (math.max(start, at) + emission) - at <= tolerance + EPS then break end
          at = at + 1
        end
        retry = math.max(1, at - now)
        reset = math.ceil(start)
      end
    end
  end
  if not allowed then all = false end
  writes[i] = write
  out[#out + 1] = allowed and 1 or 0
  out[#out + 1] = remaining
  out[#out + 1] = reset
  out[#out + 1] = retry
end

if all then
  for i = 1, #KEYS do
    local wr = writes[i]
    if wr[1] == 'incr' then
      incr_with_ttl(wr[2], wr[3])
    else
      -- %.17g: Lua's default number format would round the fractional TAT
      redis.call('SET', wr[2], string.format('%.17g', wr[4]), 'PX', wr[3])
    end
  end
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

ScriptCall make_script_call(std::string_view key_prefix, std::span<const EffectivePolicy> policies,
                            const Subject& subject, std::optional<std::int64_t> now_ms) {
  ScriptCall call;
  call.keys.reserve(policies.size());
  call.args.reserve(1 + 5 * policies.size());
  call.args.push_back(now_ms ? std::to_string(*now_ms) : std::string());
  for (const EffectivePolicy& p : policies) {
    call.keys.push_back(counter_key(key_prefix, p, subject));
    call.args.emplace_back(1, algorithm_code(p));
    call.args.push_back(std::to_string(p.limit));
    call.args.push_back(std::to_string(p.effective_window_ms()));
    call.args.push_back(std::to_string(p.bucket_size()));
    call.args.push_back(std::to_string(p.monthly_quota ? subject.org_created_at * 1000 : 0));
  }
  return call;
}

std::optional<Decision> parse_script_reply(const redis::Reply& reply,
                                           std::span<const EffectivePolicy> policies) {
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 1 + 4 * policies.size())
    return std::nullopt;
  for (const redis::Reply& e : reply.elements)
    if (e.type != redis::Reply::Type::integer) return std::nullopt;

  std::vector<PolicyDecision> decisions;
  decisions.reserve(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const redis::Reply* r = &reply.elements[1 + 4 * i];
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
