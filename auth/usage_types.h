// What usage recording counts and hands to the store, and what the CLI and the admin API read
// back. No raw keys anywhere: keys are named by id, orgs by id.
//
// Per key: every request attributed to the key (accepted or refused), split by status class;
// "failed" is everything that is not 2xx. Per org: the calls that reached the upstream within
// the org's current 30-day period, which starts at the org's created_at (the same period as
// the monthly quota, docs/rate-limits.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "auth/key_record.h"

namespace keygate::auth {

inline constexpr UnixSeconds kUsagePeriodSeconds = 30 * 24 * 3600;

// Start of the 30-day period containing `now` for an org created at `created_at`. A clock
// behind created_at (skew between hosts) counts as the first period.
UnixSeconds usage_period_start(UnixSeconds created_at, UnixSeconds now);

struct KeyCounts {
  std::uint64_t total = 0;
  std::uint64_t status_2xx = 0;
  std::uint64_t status_4xx = 0;
  std::uint64_t status_5xx = 0;

  void add(unsigned status, std::uint64_t n = 1);
  void add(const KeyCounts& other);
  bool empty() const { return total == 0; }
  // 1xx/3xx and "no response" (status 0) are failures without a 4xx/5xx class.
  std::uint64_t failed() const { return total - status_2xx; }
};

struct LastUse {
  UnixSeconds at = 0;
  std::string client_ip;
};

// One key's share of a batch: counters to add, and a last use to record (only when the
// recorder decided it is due: at most once per last_used_interval per key).
struct KeyDelta {
  std::string org;
  KeyCounts counts;
  std::optional<LastUse> last_use;
};

// What one flush writes. `id` makes a retried batch idempotent: a store applies a batch id at
// most once, so retrying after a timeout (which may or may not have applied it) cannot count
// twice.
struct UsageBatch {
  std::string id;
  std::map<std::string, KeyDelta> keys;  // by key id; sorted, so writes are deterministic
  // org -> period start -> calls
  std::map<std::string, std::map<UnixSeconds, std::uint64_t>> org_calls;

  bool empty() const { return keys.empty() && org_calls.empty(); }
  // Adds `other`'s counters, keeps the later last use. Keys beyond `max_keys` that are not
  // already in this batch are dropped; returns how many requests were dropped with them.
  std::uint64_t merge(const UsageBatch& other, std::size_t max_keys);
};

// What the store holds for one key.
struct KeyUsage {
  std::string key_id;
  KeyCounts counts;
  std::optional<UnixSeconds> last_used_at;
  std::string last_client_ip;  // empty: never recorded
};

}  // namespace keygate::auth
