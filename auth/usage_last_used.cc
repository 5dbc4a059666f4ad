#include "auth/usage_last_used.h"

namespace keygate::auth {

StoreStatus write_last_used(KeyRepository& records, const std::string& org,
                            const std::map<std::string, UnixSeconds>& uses) {
  const StoreStatus status =
      records.transact(org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};  // the transaction may run again after a conflict
        for (const KeyRecord& key : current.keys) {
          const auto use = uses.find(key.id);
          if (use == uses.end()) continue;
          if (key.last_used_at && *key.last_used_at >= use->second) continue;
          KeyRecord updated = key;
          updated.last_used_at = use->second;
          changes.put_keys.push_back(std::move(updated));
        }
        return !changes.empty();
      });
  // Declining to write only means every record was already as recent.
  if (status.code == StoreErrc::aborted) return StoreStatus::success();
  return status;
}

}  // namespace keygate::auth
