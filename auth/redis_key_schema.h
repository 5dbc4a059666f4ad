// Names of the Redis keys and channel that hold key and org records (docs/redis-schema.md).
// One place, so the repository, the data-path lookup and the proxy's subscriber agree.
//
//   <p>key:<hash>       string  KeyRecord JSON (key_record_json.h), by hash of the raw key
//   <p>keyid:<id>       string  the hash of key <id>
//   <p>org:<org>        string  OrgRecord JSON
//   <p>org:<org>:keys   set     ids of the org's keys
//   <p>org:<org>:rev    integer bumped by every write to the org or its keys (optimistic locking)
//   <p>orgs             set     ids of every org with a record
//   <p>invalidate       channel payload: a key hash whose cached answer must be dropped
//
// <p> is record_prefix(): RedisConfig::key_prefix ("kg:") on one Redis; on a Redis Cluster the
// prefix followed by the hash tag "{records}:", so every record sits in one slot and the
// management scripts and the lookup script stay single-slot (docs/redis-schema.md, "Cluster").
// Org ids contain no ':' (KeyManager checks), so the names cannot collide.
#pragma once

#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::auth::redis_schema {

inline std::string record_prefix(const conf::RedisConfig& config) {
  return config.cluster_seeds.empty() ? config.key_prefix : config.key_prefix + "{records}:";
}

inline std::string key_record(std::string_view prefix, std::string_view hash) {
  return std::string(prefix) + "key:" + std::string(hash);
}
inline std::string key_id(std::string_view prefix, std::string_view id) {
  return std::string(prefix) + "keyid:" + std::string(id);
}
inline std::string org_record_prefix(std::string_view prefix) {
  return std::string(prefix) + "org:";
}
inline std::string org_record(std::string_view prefix, std::string_view org) {
  return org_record_prefix(prefix) + std::string(org);
}
inline std::string org_keys(std::string_view prefix, std::string_view org) {
  return org_record(prefix, org) + ":keys";
}
inline std::string org_revision(std::string_view prefix, std::string_view org) {
  return org_record(prefix, org) + ":rev";
}
inline std::string orgs(std::string_view prefix) {
  return std::string(prefix) + "orgs";
}
inline std::string invalidation_channel(std::string_view prefix) {
  return std::string(prefix) + "invalidate";
}

}  // namespace keygate::auth::redis_schema
