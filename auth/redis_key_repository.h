// KeyRepository over Redis with the blocking redis::SyncClient (CLI, admin API thread).
//
// Layout in redis_key_schema.h / docs/redis-schema.md. Reading an org is one Lua script, so
// it sees a consistent state; writing is a second script that first compares the org's
// revision with the one read and only then applies every change of the transaction (and
// PUBLISHes each changed hash), so a crash or a concurrent writer can never leave half a key
// or lose an update. On a revision mismatch transact() re-reads and retries.
//
// Not thread-safe (neither is the SyncClient it owns): one instance per thread.
#pragma once

#include <memory>
#include <string>

#include "auth/key_repository.h"
#include "conf/config.h"
#include "redis/script.h"
#include "redis/sync_client.h"

namespace keygate::auth {

class RedisKeyRepository final : public KeyRepository {
 public:
  // `config` supplies key_prefix and, for messages, host and port.
  RedisKeyRepository(std::unique_ptr<redis::SyncClient> client, const conf::RedisConfig& config,
                     int max_attempts = 20);

  StoreResult<KeyRecord> get_key(const std::string& id) override;
  StoreResult<KeyRecord> get_key_by_hash(const std::string& hash) override;
  StoreResult<OrgKeys> read_org(const std::string& org) override;
  StoreResult<std::vector<OrgRecord>> list_orgs() override;
  StoreStatus transact(const std::string& org, const OrgTransaction& transaction) override;
  StoreStatus publish_invalidation(const std::string& hash) override;

 private:
  struct VersionedOrg;
  StoreResult<VersionedOrg> read_versioned(const std::string& org);
  // Runs one command or script; a transport failure or an error reply becomes a StoreStatus.
  StoreResult<redis::Reply> run(std::initializer_list<std::string_view> args);
  StoreResult<redis::Reply> run(const std::vector<std::string>& args);
  StoreResult<redis::Reply> eval(const redis::Script& script, const std::vector<std::string>& args);
  StoreResult<redis::Reply> checked(redis::Result result) const;

  std::unique_ptr<redis::SyncClient> client_;
  std::string prefix_;
  std::string where_;  // "redis 127.0.0.1:6379", for messages
  int max_attempts_;
};

}  // namespace keygate::auth
