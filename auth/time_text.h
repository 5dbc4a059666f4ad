// Points in time as operators type and read them: RFC 3339 in UTC ("2025-01-31T00:00:00Z"),
// and "a date or a duration from now" for --expires and friends.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/key_record.h"

namespace keygate::auth {

// "2025-01-31T12:30:00Z", "2025-01-31T12:30:00.250+02:00" (fraction dropped), or a date alone,
// "2025-01-31", meaning its midnight UTC. nullopt for anything else, or an impossible date.
std::optional<UnixSeconds> parse_rfc3339(std::string_view text);

// Always UTC with a "Z": "2025-01-31T12:30:00Z".
std::string format_rfc3339(UnixSeconds time);

// An RFC 3339 time, or a duration counted from `now` ("90d", "24h", "30m", "45s", "1500ms";
// see conf::parse_duration; rounded up to whole seconds). On failure sets `error`.
std::optional<UnixSeconds> parse_time_or_duration(std::string_view text, UnixSeconds now,
                                                  std::string& error);

// A duration in whole seconds ("24h", "0s"; a bare "0" is accepted too). On failure sets
// `error`.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text, std::string& error);

// "24h", "90d", "1h30m", "45s": the largest units that divide it, for messages.
std::string format_duration(std::int64_t seconds);

}  // namespace keygate::auth
