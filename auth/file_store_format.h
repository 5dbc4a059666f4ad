// The on-disk format of FileKeyStore: one JSON document holding every org and key record.
//
//   {
//     "version": 1,
//     "orgs": [ {"id": "acme", "plan": "growth", "created_at": 1714557600} ],
//     "keys": [ {"id": "key_...", "hash": "<64 hex>", "prefix": "sk_live_a1B2c3", "org": "acme",
//                "name": "...", "environment": "live", "type": "secret", "scopes": [...],
//                "status": "active", "created_at": ..., ...} ]
//   }
//
// Records use the fields of key_record_json.h (the same JSON as the Redis values and the admin
// API). "version" may be omitted (it means 1); both arrays may be omitted (empty). Ids, key
// hashes and org ids must be unique. The writer puts one record per line so that a diff of
// the file shows which key changed. Raw keys never appear: only their hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_record.h"

namespace keygate::auth {

inline constexpr int kFileStoreVersion = 1;
// A file larger than this is refused rather than parsed (about 100k keys fit).
inline constexpr std::size_t kMaxStoreFileBytes = 64 * 1024 * 1024;

struct StoreDocument {
  std::vector<OrgRecord> orgs;
  std::vector<KeyRecord> keys;
};

// Parses and checks a whole file. On failure returns nullopt and sets `error` to a reason
// ("line 3, column 7: ..." for syntax errors, "keys[2]: key.hash is required" for records);
// the caller adds the file name.
std::optional<StoreDocument> parse_store_document(std::string_view text, std::string& error);

std::string serialize_store_document(const StoreDocument& document);

}  // namespace keygate::auth
