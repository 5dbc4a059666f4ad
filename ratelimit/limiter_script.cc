#include "ratelimit/limiter_script.h"

#include <algorithm>
#include <charconv>

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
-- ARGV[2]   the number of distinct policies S, then 6 per policy: algorithm (f|s|t), limit,
--           window_ms, bucket size, anchor_ms, lease (most to grant; 0 grants nothing)
-- then per request: its policy count n, and the n numbers (1..S) of its policies
-- Returns {now_ms, then per policy of every request: allowed (0|1), remaining, reset_ms, and
-- retry_after_ms when refused or the lease granted when allowed}.
-- A lease is charged to the counter like that many more requests, after the request itself and
-- only when the whole request is allowed; it never takes more than 1/LEASE_SHARE of what
-- remains, so the last requests before a limit are decided one by one. `remaining` counts the
-- granted requests as not yet used: they are the caller's to use.
-- The arithmetic of one request mirrors ratelimit/algorithms.cc operation for operation: change
-- both.
-- Globals read once: a local is a register, a global a table lookup per use. Numbers given
-- to redis.call are formatted by Redis with "%.17g" (a costly printf per argument): constant
-- arguments go as strings.
local KEYS, ARGV, call = KEYS, ARGV, redis.call
local floor, ceil, min, max = math.floor, math.ceil, math.min, math.max
local SLACK = 1000
local EPS = 0.001
local LEASE_SHARE = 16

local now
if ARGV[1] == '' then
  local t = call('TIME')
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end

-- Policies by their number as sent (a string: no conversion per use). A window's index is the
-- same for every request of the call, so its counter suffixes (and a fixed window's reset) are
-- computed once per policy.
local policies = {}
local s = tonumber(ARGV[2])
for i = 1, s do
  local a = 3 + (i - 1) * 6
  local p = {algo = ARGV[a], limit = tonumber(ARGV[a + 1]), w = tonumber(ARGV[a + 2]),
             size = tonumber(ARGV[a + 3]), anchor = tonumber(ARGV[a + 4]),
             lease = tonumber(ARGV[a + 5])}
  if p.algo == 'f' then
    p.idx = floor((now - p.anchor) / p.w)
    p.reset = p.anchor + (p.idx + 1) * p.w
  elseif p.algo == 's' then
    p.idx = floor(now / p.w)
    p.prev_suffix = ':' .. string.format('%d', p.idx - 1)
  end
  if p.idx then p.suffix = ':' .. string.format('%d', p.idx) end
  policies[tostring(i)] = p
end

local function sliding_fits(cur, prev, w, limit, e)
  return cur + floor(prev * (w - e) / w) + 1 <= limit
end

local function first_fitting(cur, prev, w, limit, lo, hi)
  while lo < hi do
    local mid = lo + floor((hi - lo) / 2)
    if sliding_fits(cur, prev, w, limit, mid) then hi = mid else lo = mid + 1 end
  end
  return lo
end

-- Takes back a fixed window's charge; a counter that only the refused request created goes.
local function refund(key)
  if call('INCRBY', key, '-1') == 0 then call('DEL', key) end
end

-- One policy. Returns allowed, remaining, reset, retry_after, then the write that charges it
-- (kind 'incr' or 'tat', counter name, ttl, new tat), applied only if the whole request fits,
-- or kind 'charged' and the counter name: a fixed window is charged at once (one INCRBY instead
-- of a GET and an INCRBY) and refunded if the request is refused, by it or by another policy.
-- The script runs atomically, so nothing sees the charge that is taken back.
local function check(base, p)
  local limit, w = p.limit, p.w
  if p.algo == 'f' then
    local key = base .. p.suffix
    local count = call('INCRBY', key, '1')
    local reset = p.reset
    -- Counters expire at the same absolute time whichever request in their window writes them,
    -- so the TTL is set by the write that creates the counter.
    if count == 1 then call('PEXPIRE', key, reset - now + SLACK) end
    if count <= limit then return true, limit - count, reset, 0, 'charged', key end
    refund(key)
    return false, 0, reset, reset - now
  elseif p.algo == 's' then
    local start = p.idx * w
    local e = now - start
    local key = base .. p.suffix
    local counts = call('MGET', key, base .. p.prev_suffix)
    local cur = tonumber(counts[1] or '0')
    local prev = tonumber(counts[2] or '0')
    local used = cur + floor(prev * (w - e) / w)
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
    return false, 0, max(reset, now + retry), retry
  end
  local tat = tonumber(call('GET', base) or '')
  local size = p.size
  if limit == 0 or size == 0 then return false, 0, now + w, w end
  local emission = w / limit
  local tolerance = emission * size
  local start = now
  if tat then start = max(tat, now) end
  local new_tat = start + emission
  if new_tat - now <= tolerance + EPS then
    return true, floor((tolerance - (new_tat - now) + EPS) / emission), ceil(new_tat), 0,
      'tat', base, ceil(new_tat - now) + SLACK, new_tat, emission
  end
  local at = ceil(start + emission - tolerance - EPS)
  for _ = 1, 4 do
    if (max(start, at) + emission) - at <= tolerance + EPS then break end
    at = at + 1
  end
  return false, 0, ceil(start), max(1, at - now)
end

-- Charges an allowed policy (a fixed window has been charged already) with its lease, and
-- returns the lease granted.
local function commit(kind, key, ttl, tat, emission, remaining, lease)
  local grant = 0
  if lease > 0 then grant = min(lease, floor(remaining / LEASE_SHARE)) end
  if kind == 'charged' then
    if grant > 0 then call('INCRBY', key, grant) end
  elseif kind == 'incr' then
    local charge = 1 + grant  -- the write that creates the counter sets its TTL
    if call('INCRBY', key, grant == 0 and '1' or charge) == charge then
      call('PEXPIRE', key, ttl)
    end
  else
    if grant > 0 then
      tat = tat + grant * emission
      ttl = ceil(tat - now) + SLACK
    end
    -- %.17g: Lua's default number format would round the fractional TAT
    call('SET', key, string.format('%.17g', tat), 'PX', string.format('%d', ttl))
  end
  return grant
end

local out = {0}
local o = 1
local kinds, keys, ttls, tats, emissions, remainings, leases = {}, {}, {}, {}, {}, {}, {}
local a, k, argc = 3 + 6 * s, 0, #ARGV
while a <= argc do
  local n = ARGV[a]
  if n == '1' then
    -- One policy, the common case: decided and charged without the bookkeeping of several.
    local p = policies[ARGV[a + 1]]
    local allowed, remaining, reset, retry, kind, key, ttl, new_tat, emission =
      check(KEYS[k + 1], p)
    -- (An allowed fixed window without a lease is charged already.)
    if allowed and (kind ~= 'charged' or p.lease > 0) then
      retry = commit(kind, key, ttl, new_tat, emission, remaining, p.lease)
    end
    out[o + 1], out[o + 2], out[o + 3], out[o + 4] = allowed and 1 or 0, remaining, reset, retry
    n = 1
  else
    n = tonumber(n)
    local all = true
    for i = 1, n do
      local p = policies[ARGV[a + i]]
      local allowed, remaining, reset, retry, kind, key, ttl, new_tat, emission =
        check(KEYS[k + i], p)
      if not allowed then all = false end
      kinds[i], keys[i], ttls[i], tats[i], emissions[i] = kind, key, ttl, new_tat, emission
      remainings[i], leases[i] = remaining, p.lease
      out[o + 4 * i - 3] = allowed and 1 or 0
      out[o + 4 * i - 2] = remaining
      out[o + 4 * i - 1] = reset
      out[o + 4 * i] = retry
    end
    for i = 1, n do
      if all then
        out[o + 4 * i] =
          commit(kinds[i], keys[i], ttls[i], tats[i], emissions[i], remainings[i], leases[i])
      elseif kinds[i] == 'charged' then
        refund(keys[i])
      end
    end
  end
  o = o + 4 * n
  a = a + 1 + n
  k = k + n
end
out[1] = now
return out
)lua";

// Views of `ends.size()` pieces kept back to back in `bytes`.
void split(std::string_view bytes, std::span<const std::size_t> ends,
           std::vector<std::string_view>& views) {
  views.clear();
  std::size_t begin = 0;
  for (std::size_t end : ends) {
    views.push_back(bytes.substr(begin, end - begin));
    begin = end;
  }
}

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

void ScriptBatch::reset(std::optional<std::int64_t> now_ms) {
  now_ms_ = now_ms;
  keys_.clear();
  key_ends_.clear();
  specs_.clear();
  refs_.clear();
}

void ScriptBatch::add(std::string_view key_prefix, std::span<const EffectivePolicy> policies,
                      const Subject& subject, std::span<const std::uint64_t> leases) {
  refs_.push_back(static_cast<std::uint32_t>(policies.size()));
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const EffectivePolicy& p = policies[i];
    append_counter_key(keys_, key_prefix, p, subject);
    key_ends_.push_back(keys_.size());
    const Spec spec{algorithm_code(p),
                    p.limit,
                    p.effective_window_ms(),
                    p.bucket_size(),
                    p.monthly_quota ? subject.org_created_at * 1000 : 0,
                    i < leases.size() ? leases[i] : 0};
    auto it = std::find(specs_.begin(), specs_.end(), spec);
    if (it == specs_.end()) it = specs_.insert(specs_.end(), spec);
    refs_.push_back(static_cast<std::uint32_t>(it - specs_.begin()) + 1);
  }
}

std::span<const std::string_view> ScriptBatch::key_views() {
  split(keys_, key_ends_, key_views_);
  return key_views_;
}

void ScriptBatch::append_arg(std::string_view value) {
  args_.append(value);
  arg_ends_.push_back(args_.size());
}

template <class Int>
void ScriptBatch::append_number(Int value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  append_arg(std::string_view(digits, end - digits));
}

std::span<const std::string_view> ScriptBatch::arg_views() {
  args_.clear();
  arg_ends_.clear();
  if (now_ms_) {
    append_number(*now_ms_);
  } else {
    append_arg({});
  }
  append_number(specs_.size());
  for (const Spec& spec : specs_) {
    append_arg(std::string_view(&spec.algorithm, 1));
    append_number(spec.limit);
    append_number(spec.window_ms);
    append_number(spec.bucket_size);
    append_number(spec.anchor_ms);
    append_number(spec.lease);
  }
  for (std::uint32_t ref : refs_) append_number(ref);
  split(args_, arg_ends_, arg_views_);
  return arg_views_;
}

bool is_script_reply(const redis::Reply& reply, std::size_t policy_count) {
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 1 + 4 * policy_count)
    return false;
  return std::all_of(reply.elements.begin(), reply.elements.end(),
                     [](const redis::Reply& e) { return e.type == redis::Reply::Type::integer; });
}

std::uint64_t lease_granted(const redis::Reply& reply, std::size_t index) {
  const redis::Reply* r = &reply.elements[1 + 4 * index];
  return r[0].integer != 0 && r[3].integer > 0 ? static_cast<std::uint64_t>(r[3].integer) : 0;
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
    if (!v.allowed) v.retry_after_ms = r[3].integer;
    decisions.push_back(make_policy_decision(policies[i], v));
  }
  return decide(std::move(decisions), reply.elements[0].integer);
}

}  // namespace keygate::ratelimit
