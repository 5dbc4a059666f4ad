#include "auth/key_repository.h"

#include <algorithm>
#include <unordered_set>

#include "auth/key_record_json.h"

namespace keygate::auth {

bool counts_toward_plan(const KeyRecord& key, UnixSeconds now) {
  if (!key.successor_id.empty()) return false;
  const EffectiveStatus status = effective_status(key, now);
  return status == EffectiveStatus::active || status == EffectiveStatus::inactive;
}

StoreStatus check_changes(const std::string& org, const OrgKeys& current,
                          const OrgChanges& changes) {
  auto conflict = [](std::string message) {
    return StoreStatus::error(StoreErrc::conflict, std::move(message));
  };
  if (changes.put_org && changes.put_org->id != org)
    return conflict("org record " + changes.put_org->id + " written under org " + org);
  std::unordered_set<std::string> ids_written;
  for (const KeyRecord& key : changes.put_keys) {
    if (key.id.empty() || key.hash.empty()) return conflict("a key record needs an id and a hash");
    if (key.org != org)
      return conflict("key " + key.id + " belongs to org " + key.org + ", not " + org);
    if (!ids_written.insert(key.id).second) return conflict("key " + key.id + " written twice");
    for (const KeyRecord& existing : current.keys) {
      if (existing.id == key.id && existing.hash != key.hash)
        return conflict("the hash of key " + key.id + " cannot change");
      if (existing.id != key.id && existing.hash == key.hash)
        return conflict("key " + key.id + " has the same hash as key " + existing.id);
    }
  }
  for (const std::string& id : changes.delete_key_ids) {
    const bool known = std::any_of(current.keys.begin(), current.keys.end(),
                                   [&](const KeyRecord& key) { return key.id == id; });
    if (!known) return StoreStatus::error(StoreErrc::not_found, "no key " + id + " in org " + org);
  }
  return StoreStatus::success();
}

StoreResult<std::vector<KeyRecord>> KeyRepository::list_keys(const std::string& org) {
  StoreResult<OrgKeys> read = read_org(org);
  return {std::move(read.status), std::move(read.value.keys)};
}

StoreResult<OrgRecord> KeyRepository::get_org(const std::string& org) {
  StoreResult<OrgKeys> read = read_org(org);
  if (!read.ok()) return {std::move(read.status), {}};
  if (!read.value.org) return {StoreStatus::error(StoreErrc::not_found, "no org " + org), {}};
  return {StoreStatus::success(), std::move(*read.value.org)};
}

StoreResult<std::size_t> KeyRepository::count_active_keys(const std::string& org, UnixSeconds now) {
  StoreResult<OrgKeys> read = read_org(org);
  if (!read.ok()) return {std::move(read.status), 0};
  const auto count =
      std::count_if(read.value.keys.begin(), read.value.keys.end(),
                    [&](const KeyRecord& key) { return counts_toward_plan(key, now); });
  return {StoreStatus::success(), static_cast<std::size_t>(count)};
}

StoreStatus KeyRepository::put_key(const KeyRecord& key) {
  return transact(key.org, [&](const OrgKeys&, OrgChanges& changes) {
    changes = {};
    changes.put_keys.push_back(key);
    return true;
  });
}

StoreStatus KeyRepository::put_org(const OrgRecord& org) {
  return transact(org.id, [&](const OrgKeys&, OrgChanges& changes) {
    changes = {};
    changes.put_org = org;
    return true;
  });
}

StoreStatus KeyRepository::delete_key(const std::string& id) {
  StoreResult<KeyRecord> found = get_key(id);
  if (!found.ok()) return found.status;
  return transact(found.value.org, [&](const OrgKeys&, OrgChanges& changes) {
    changes = {};
    changes.delete_key_ids.push_back(id);
    return true;
  });
}

StoreStatus KeyRepository::delete_key_by_hash(const std::string& hash) {
  StoreResult<KeyRecord> found = get_key_by_hash(hash);
  if (!found.ok()) return found.status;
  return delete_key(found.value.id);
}

}  // namespace keygate::auth
