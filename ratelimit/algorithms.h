// The three counting algorithms as pure functions of (stored state, now).
//
// The Lua script in limiter_script.cc performs exactly the same arithmetic, operation by
// operation in IEEE doubles where fractions appear, so the in-memory and the Redis limiter
// decide identically for the same sequence of requests. Change both together.
//
// Every function evaluates one request (cost 1) without changing anything: the caller applies
// the new state only when every policy of the request allows it (all-or-nothing).
#pragma once

#include <cstdint>

namespace keygate::ratelimit {

struct Verdict {
  bool allowed = true;
  std::uint64_t remaining = 0;      // after this request, when allowed
  std::int64_t reset_ms = 0;        // Unix ms when the counter is back to full
  std::int64_t retry_after_ms = 0;  // refused: earliest moment (from now) a retry can succeed
};

// floor(a / b) for b > 0, also for negative a (a clock before an org's creation).
std::int64_t floor_div(std::int64_t a, std::int64_t b);

// Index of the window holding `now_ms`; windows start at anchor_ms + k * window_ms.
std::int64_t window_index(std::int64_t now_ms, std::int64_t anchor_ms, std::int64_t window_ms);

// Fixed window (also monthly quotas, with anchor = the org's creation): `count` requests were
// admitted in the current window.
Verdict fixed_window(std::uint64_t count, std::uint64_t limit, std::int64_t window_ms,
                     std::int64_t anchor_ms, std::int64_t now_ms);

// Sliding window, the weighted two-window approximation:
//   used = current + floor(previous * (window - elapsed) / window)
// It assumes the previous window's requests were spread evenly. Exact when they were; when they
// were bunched at its end it can admit up to 2 x limit within one window length in the worst
// case (like a fixed window); bunched at its start it refuses a little early.
struct WindowCounts {
  std::uint64_t current = 0;   // admitted in the current window
  std::uint64_t previous = 0;  // admitted in the window before
};
Verdict sliding_window(WindowCounts counts, std::uint64_t limit, std::int64_t window_ms,
                       std::int64_t now_ms);

// Token bucket as GCRA: one token every window/limit ms, bucket of `bucket_size` tokens.
// State is the theoretical arrival time (TAT, Unix ms, fractional); absent = a full bucket.
struct GcraVerdict {
  Verdict verdict;
  double new_tat = 0;       // store this when the request is admitted
  std::int64_t ttl_ms = 0;  // how long the stored TAT matters
};
GcraVerdict token_bucket(bool has_tat, double tat, std::uint64_t limit, std::int64_t window_ms,
                         std::uint64_t bucket_size, std::int64_t now_ms);

// Rounding up to whole seconds keeps Retry-After and reset never earlier than the truth.
std::int64_t ceil_seconds(std::int64_t ms);

}  // namespace keygate::ratelimit
