// Helpers for the rate-limit tests: a clock moved by hand (nothing sleeps) and terse builders
// for policies and subjects.
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>

#include "ratelimit/clock.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"

namespace keygate::ratelimit::testing {

class ManualClock {
 public:
  explicit ManualClock(std::int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  std::int64_t now() const { return now_.load(); }
  void set(std::int64_t ms) { now_.store(ms); }
  void advance(std::int64_t ms) { now_.fetch_add(ms); }
  Clock clock() {
    return [this] { return now_.load(); };
  }

 private:
  std::atomic<std::int64_t> now_;
};

inline EffectivePolicy policy(std::string name, Algorithm algorithm, std::uint64_t limit,
                              std::int64_t window_ms, Counter per = Counter::key,
                              std::uint64_t burst = 0) {
  EffectivePolicy p;
  p.name = std::move(name);
  p.algorithm = algorithm;
  p.limit = limit;
  p.window_ms = window_ms;
  p.per = per;
  p.burst = burst;
  return p;
}

inline EffectivePolicy monthly(std::uint64_t quota) {
  EffectivePolicy p = policy("monthly_quota", Algorithm::fixed_window, quota, 0, Counter::org);
  p.monthly_quota = true;
  return p;
}

// Subjects are views (subject.h): the tests' own strings are kept for the whole run.
inline std::string_view kept(std::string text) {
  static std::set<std::string> strings;
  return *strings.insert(std::move(text)).first;
}

inline Subject subject(std::string key = "key_abc", std::string org = "org_1",
                       auth::UnixSeconds org_created_at = 1'600'000'000) {
  Subject s;
  s.key_id = kept(std::move(key));
  s.org_id = kept(std::move(org));
  s.route = "api";
  s.client_ip = "203.0.113.7";
  s.org_created_at = org_created_at;
  return s;
}

}  // namespace keygate::ratelimit::testing
