// KeyRecord / OrgRecord <-> JSON: the format of the file store, the Redis values and the admin
// API. Every field is written; optional fields are omitted when unset (null is accepted on
// input). Unknown fields are ignored so that older binaries can read newer records.
//
// Parsing never throws: malformed input yields nullopt and a message naming the field.
#pragma once

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "auth/key_record.h"

namespace keygate::auth {

// "active", "inactive", "revoked".
std::string_view key_status_name(KeyStatus status);
std::optional<KeyStatus> parse_key_status(std::string_view name);

// What a key is right now, combining its stored status with the time.
enum class EffectiveStatus { active, inactive, revoked, expired };
std::string_view effective_status_name(EffectiveStatus status);

// Precedence: revoked (stored, or a rotated key whose grace_until <= now) > expired
// (expires_at <= now) > inactive > active. Permanent states win over the temporary one:
// reactivating an expired key would not make it work.
EffectiveStatus effective_status(const KeyRecord& key, UnixSeconds now);
EffectiveStatus effective_status(KeyStatus status, std::optional<UnixSeconds> expires_at,
                                 std::optional<UnixSeconds> grace_until, UnixSeconds now);

boost::json::object to_json(const KeyRecord& key);
boost::json::object to_json(const OrgRecord& org);
std::string key_record_to_json_string(const KeyRecord& key);
std::string org_record_to_json_string(const OrgRecord& org);

// `id` and `hash` (KeyRecord) / `id` (OrgRecord) are required; other fields default.
// A field of the wrong type, an unknown status or a negative timestamp is an error.
std::optional<KeyRecord> key_record_from_json(const boost::json::value& json, std::string& error);
std::optional<OrgRecord> org_record_from_json(const boost::json::value& json, std::string& error);
// Parses text first (size-limited to kMaxRecordJsonBytes).
std::optional<KeyRecord> parse_key_record(std::string_view text, std::string& error);
std::optional<OrgRecord> parse_org_record(std::string_view text, std::string& error);

inline constexpr std::size_t kMaxRecordJsonBytes = 64 * 1024;

}  // namespace keygate::auth
