// Writes last_used_at into key records through the ordinary repository transaction, so the
// file store's lock and atomic replace (or Redis' revision check) keep management writes and
// usage writes from losing each other's changes.
#pragma once

#include <map>
#include <string>

#include "auth/key_repository.h"

namespace keygate::auth {

// Sets last_used_at of the org's keys named in `uses` (key id -> time). Never moves a time
// backwards; keys deleted in the meantime are skipped; nothing to change is success.
StoreStatus write_last_used(KeyRepository& records, const std::string& org,
                            const std::map<std::string, UnixSeconds>& uses);

}  // namespace keygate::auth
