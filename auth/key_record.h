// What the store keeps about one API key. Never the raw key: only its hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keygate::auth {

// Seconds since the Unix epoch; the stores and the wire format use whole seconds.
using UnixSeconds = std::int64_t;

enum class KeyStatus { active, inactive, revoked };

// A per-key override of a named rate-limit policy (limit and/or window).
struct LimitOverride {
  std::string policy;
  std::optional<std::uint64_t> limit;
  std::optional<std::int64_t> window_ms;

  bool operator==(const LimitOverride&) const = default;
};

struct KeyRecord {
  std::string id;      // "key_" + 24 hex chars; stable, safe to log
  std::string hash;    // hex SHA-256 (or HMAC-SHA256) of the raw key
  std::string prefix;  // first 14 characters of the raw key, for display
  std::string name;
  std::string org;
  std::string environment;  // e.g. "live", "test", "prod", "stage"
  std::string type;         // e.g. "secret", "public"
  std::vector<std::string> scopes;
  KeyStatus status = KeyStatus::active;
  UnixSeconds created_at = 0;
  std::string created_by;
  std::optional<UnixSeconds> expires_at;
  std::optional<UnixSeconds> revoked_at;
  std::optional<UnixSeconds> last_used_at;
  std::vector<std::string> allowed_cidrs;  // empty: any client address
  std::vector<LimitOverride> limit_overrides;
  // Rotation: the key that replaced this one, and until when this one still works.
  std::string successor_id;
  std::optional<UnixSeconds> grace_until;
};

// An organisation owns keys and shares their quotas.
struct OrgRecord {
  std::string id;
  std::string plan;            // name of a conf::PlanConfig
  UnixSeconds created_at = 0;  // anchors the 30-day usage period

  bool operator==(const OrgRecord&) const = default;
};

}  // namespace keygate::auth
