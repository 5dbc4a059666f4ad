#include "ratelimit/algorithms.h"

#include <algorithm>
#include <cmath>

namespace keygate::ratelimit {
namespace {

// GCRA compares fractional times; sums of window/limit drift by an ulp or so, and without
// this tolerance the limit-th request of a full bucket could be refused. 1 microsecond.
constexpr double kGcraEpsilonMs = 1e-3;

// Sliding window: would one more request fit at `elapsed` ms into the current window?
bool sliding_fits(std::uint64_t current, std::uint64_t previous, std::int64_t window_ms,
                  std::uint64_t limit, std::int64_t elapsed) {
  const double weighted =
      std::floor(static_cast<double>(previous) * static_cast<double>(window_ms - elapsed) /
                 static_cast<double>(window_ms));
  return static_cast<double>(current) + weighted + 1 <= static_cast<double>(limit);
}

// Smallest elapsed time in [lo, hi] at which one more request fits; the weighted count only
// falls as time passes, so bisection finds it. Callers guarantee it fits at `hi`.
std::int64_t first_fitting(std::uint64_t current, std::uint64_t previous, std::int64_t window_ms,
                           std::uint64_t limit, std::int64_t lo, std::int64_t hi) {
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (sliding_fits(current, previous, window_ms, limit, mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

bool gcra_fits(double tat, double emission, double tolerance, double at) {
  return (std::max(tat, at) + emission) - at <= tolerance + kGcraEpsilonMs;
}

}  // namespace

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

std::int64_t window_index(std::int64_t now_ms, std::int64_t anchor_ms, std::int64_t window_ms) {
  return floor_div(now_ms - anchor_ms, window_ms);
}

std::int64_t ceil_seconds(std::int64_t ms) {
  // Not -floor_div(-ms, 1000): the script's reply carries these values, and negating
  // INT64_MIN overflows. Division truncates towards zero, which is already up for negatives.
  const std::int64_t q = ms / 1000;
  return ms % 1000 > 0 ? q + 1 : q;
}

Verdict fixed_window(std::uint64_t count, std::uint64_t limit, std::int64_t window_ms,
                     std::int64_t anchor_ms, std::int64_t now_ms) {
  const std::int64_t index = window_index(now_ms, anchor_ms, window_ms);
  Verdict v;
  v.reset_ms = anchor_ms + (index + 1) * window_ms;
  v.allowed = count + 1 <= limit;
  if (v.allowed) {
    v.remaining = limit - count - 1;
  } else {
    v.retry_after_ms = v.reset_ms - now_ms;
    // limit 0 never admits anything; a retry is as good after the window as ever.
  }
  return v;
}

Verdict sliding_window(WindowCounts counts, std::uint64_t limit, std::int64_t window_ms,
                       std::int64_t now_ms) {
  const std::int64_t start = window_index(now_ms, 0, window_ms) * window_ms;
  const std::int64_t elapsed = now_ms - start;
  const double weighted =
      std::floor(static_cast<double>(counts.previous) * static_cast<double>(window_ms - elapsed) /
                 static_cast<double>(window_ms));
  const double used = static_cast<double>(counts.current) + weighted;
  Verdict v;
  v.reset_ms = start + window_ms;
  v.allowed = used + 1 <= static_cast<double>(limit);
  if (v.allowed) {
    v.remaining = limit - static_cast<std::uint64_t>(used) - 1;
    return v;
  }
  if (limit == 0) {
    v.retry_after_ms = 2 * window_ms - elapsed;
  } else if (counts.current + 1 <= limit) {
    // Fits later in this window, once enough of the previous window has slid out.
    const std::int64_t at =
        first_fitting(counts.current, counts.previous, window_ms, limit, elapsed + 1, window_ms);
    v.retry_after_ms = at - elapsed;
  } else {
    // Only in the next window, where this window's count becomes the weighted previous one.
    const std::int64_t at = first_fitting(0, counts.current, window_ms, limit, 0, window_ms);
    v.retry_after_ms = (window_ms - elapsed) + at;
  }
  v.reset_ms = std::max(v.reset_ms, now_ms + v.retry_after_ms);
  return v;
}

GcraVerdict token_bucket(bool has_tat, double tat, std::uint64_t limit, std::int64_t window_ms,
                         std::uint64_t bucket_size, std::int64_t now_ms) {
  GcraVerdict g;
  const double now = static_cast<double>(now_ms);
  if (limit == 0 || bucket_size == 0) {
    g.verdict.allowed = false;
    g.verdict.retry_after_ms = window_ms;
    g.verdict.reset_ms = now_ms + window_ms;
    return g;
  }
  const double emission = static_cast<double>(window_ms) / static_cast<double>(limit);
  const double tolerance = emission * static_cast<double>(bucket_size);
  const double start = has_tat ? std::max(tat, now) : now;
  const double new_tat = start + emission;
  g.verdict.allowed = new_tat - now <= tolerance + kGcraEpsilonMs;
  if (g.verdict.allowed) {
    g.verdict.remaining = static_cast<std::uint64_t>(
        std::floor((tolerance - (new_tat - now) + kGcraEpsilonMs) / emission));
    g.verdict.reset_ms = static_cast<std::int64_t>(std::ceil(new_tat));
    g.new_tat = new_tat;
    g.ttl_ms = static_cast<std::int64_t>(std::ceil(new_tat - now));
    return g;
  }
  // The closed form can land one millisecond early after rounding; step until it really fits.
  double at = std::ceil(start + emission - tolerance - kGcraEpsilonMs);
  for (int i = 0; i < 4 && !gcra_fits(start, emission, tolerance, at); ++i) at += 1;
  g.verdict.retry_after_ms = std::max<std::int64_t>(1, static_cast<std::int64_t>(at) - now_ms);
  g.verdict.reset_ms = static_cast<std::int64_t>(std::ceil(start));
  return g;
}

}  // namespace keygate::ratelimit
