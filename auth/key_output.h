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

// to_json(record) plus "effective_status" (active/inactive/revoked/expired at `now`).
boost::json::object key_json(const KeyRecord& key, UnixSeconds now);

// One row per key: id, name, prefix..., environment, type, status, created by, created at,
// last used.
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
