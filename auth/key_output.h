// How `keygate keys|orgs` show records: aligned tables and key/value blocks for people, JSON
// for scripts. Only ever the display prefix of a key, never its hash in the human forms.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "auth/key_record.h"

namespace keygate::auth {

// What a key is shown as: effective_status_name(), except that a key replaced by rotation
// and still working during its grace period is "rotated".
std::string_view key_display_status(const KeyRecord& key, UnixSeconds now);

// The one public JSON shape of a key, for the CLI's --json and the admin API alike: every
// field of the record except the hash (never shown), optional fields present as null when
// unset (expires_at, revoked_at, last_used_at, grace_until, successor_id), plus
// "effective_status" (key_display_status()).
boost::json::object key_json(const KeyRecord& key, UnixSeconds now);

// An org as shown: {"id","plan","created_at"}, plan null when the org has none.
boost::json::object org_json(const OrgRecord& org);
// org_json() plus "active_keys" and "max_keys" (null: unlimited).
boost::json::object org_json(const OrgRecord& org, std::size_t active_keys,
                             std::optional<std::size_t> max_keys);

// A list answer: {"<name>": [...], "next_cursor": "..." | null}, the same for the API and
// `--json` list commands.
boost::json::object list_json(std::string_view name, boost::json::array items,
                              const std::optional<std::string>& next_cursor);

// One row per key: id, name, prefix..., environment, type, status (rotated included),
// expires, created by, created at, last used.
void print_key_table(std::ostream& out, const std::vector<KeyRecord>& keys, UnixSeconds now);

// Every field of one key, one per line.
void print_key_details(std::ostream& out, const KeyRecord& key, UnixSeconds now);

struct OrgRow {
  OrgRecord org;
  std::size_t active_keys = 0;
  std::optional<std::size_t> max_keys;  // nullopt: unlimited
};
void print_org_table(std::ostream& out, const std::vector<OrgRow>& orgs);

// "3 of 5 keys" / "3 keys, unlimited".
std::string key_usage_text(std::size_t active, std::optional<std::size_t> max_keys);

}  // namespace keygate::auth
