// The key lifecycle, written once for both the `keygate keys|orgs` commands and the admin API:
// create (the raw key is returned here and nowhere else), list, show, revoke, deactivate,
// activate, rotate, delete, expire, rename, set scopes; create orgs and change their plan.
//
// Rules it enforces:
//  - environment and type must be configured, and a prefix must exist for the pair;
//  - an org holds at most its plan's max_keys keys that count_toward_plan() (not revoked, not
//    expired, not rotated away); inactive keys keep their slot. The check and the insert are
//    one store transaction, so two concurrent creates cannot both take the last slot;
//  - with no keys.plans configured there is no key maximum (and no plan at all: orgs get
//    keys.default_plan, which is then empty);
//  - rotation makes a new key with the old one's org, environment, type, name, scopes,
//    networks, limit overrides and expiry date (the same end date, not the same lifetime:
//    rotating is not renewing; RotateExpiry replaces it explicitly); the old key
//    gets successor_id and grace_until = now + grace, or is revoked at once when grace is 0.
//    The new key does not need a free slot: the old one gives up its slot to it;
//  - revocation is a soft delete (status revoked + revoked_at, record kept) and is final;
//    deactivate/activate are reversible; delete removes the record and its indexes.
//
// Every change goes through KeyRepository::transact(), which announces the changed hashes
// (Redis PUBLISH; the file store's proxies reload on the file change). Nothing throws; the
// raw key never reaches the repository, only its hash. A KeyManager is as thread-safe as its
// repository (FileKeyStore: yes; RedisKeyRepository: one per thread).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/key_format.h"
#include "auth/key_hash.h"
#include "auth/key_record.h"
#include "auth/key_repository.h"
#include "conf/config.h"

namespace keygate::auth {

enum class KeyErrc {
  ok,
  not_found,           // no such key or org (or a prefix matched nothing)
  plan_limit_reached,  // the org already has its plan's max_keys keys
  invalid_argument,    // the request itself is wrong: unknown environment, bad CIDR, ...
  invalid_state,       // the key's state forbids it: activating a revoked key, ...
  store_unavailable,   // the store could not be read or written (or is corrupt)
};

std::string_view key_errc_name(KeyErrc code);

template <class T>
struct KeyResult {
  KeyErrc code = KeyErrc::ok;
  std::string message;  // for operators; empty when ok
  T value{};

  bool ok() const { return code == KeyErrc::ok; }
};

struct CreateKeyRequest {
  std::string org;
  std::string name;
  std::string environment;
  std::string type;
  std::vector<std::string> scopes;
  std::optional<UnixSeconds> expires_at;
  std::string created_by;
  std::vector<std::string> allowed_cidrs;
  std::vector<LimitOverride> limit_overrides;
};

// The only place a raw key exists after generation: show it once, then drop it.
struct CreatedKey {
  KeyRecord record;
  std::string raw_key;
};

struct RotatedKey {
  KeyRecord old_key;  // as stored after the rotation
  CreatedKey new_key;
};

// A record and whether the call changed it (revoking a revoked key changes nothing).
struct KeyChange {
  KeyRecord record;
  bool changed = false;
};

// The successor's expiry when rotating: by default the old key's expires_at, unchanged.
struct RotateExpiry {
  bool replace = false;                   // true: use `expires_at` instead
  std::optional<UnixSeconds> expires_at;  // with replace: the new end date; nullopt: never
};

struct KeyManagerOptions {
  conf::KeysConfig keys;
  // Policy names a limit override may name; empty: not checked.
  std::vector<std::string> rate_limit_policies;
  std::function<UnixSeconds()> clock;  // default: the system clock
  RandomBytes random;                  // default: OpenSSL RAND_bytes
};

class KeyManager {
 public:
  KeyManager(std::shared_ptr<KeyRepository> repository, std::shared_ptr<const KeyHasher> hasher,
             KeyManagerOptions options);

  KeyResult<CreatedKey> create(const CreateKeyRequest& request);

  // A key is named by its id ("key_..."), by its display prefix (optionally with the "..."
  // listings print; must match exactly one key), or by the raw key itself.
  KeyResult<KeyRecord> show(const std::string& key_ref);
  // The org's keys in creation order; not_found when the org has neither record nor keys.
  KeyResult<std::vector<KeyRecord>> list(const std::string& org);
  // Every key of every org.
  KeyResult<std::vector<KeyRecord>> list_all();

  KeyResult<KeyChange> revoke(const std::string& key_ref);
  KeyResult<KeyChange> deactivate(const std::string& key_ref);
  KeyResult<KeyChange> activate(const std::string& key_ref);
  // grace 0 revokes the old key at once. `created_by` empty: keep the old key's. A replaced
  // expiry must lie in the future.
  KeyResult<RotatedKey> rotate(const std::string& key_ref, std::chrono::seconds grace,
                               const std::string& created_by = {}, RotateExpiry expiry = {});
  KeyResult<KeyRecord> remove(const std::string& key_ref);  // returns the deleted record
  // nullopt removes the expiry. A time in the past expires the key now.
  KeyResult<KeyChange> expire(const std::string& key_ref, std::optional<UnixSeconds> at);
  KeyResult<KeyChange> rename(const std::string& key_ref, const std::string& name);
  KeyResult<KeyChange> set_scopes(const std::string& key_ref,
                                  const std::vector<std::string>& scopes);

  // Explicit org creation; an org is also created implicitly, with the default plan, by its
  // first key. Empty plan: the default plan. Naming a plan when none are configured is an
  // invalid_argument, and so is set_plan then.
  KeyResult<OrgRecord> create_org(const std::string& org, const std::string& plan);
  KeyResult<OrgRecord> set_plan(const std::string& org, const std::string& plan);
  KeyResult<std::vector<OrgRecord>> list_orgs();
  KeyResult<OrgRecord> get_org(const std::string& org);

  // Keys of the org that hold a plan slot now, and the plan's maximum (nullopt: unlimited).
  struct Usage {
    std::size_t active = 0;
    std::optional<std::size_t> max_keys;
  };
  KeyResult<Usage> usage(const std::string& org);

  const conf::KeysConfig& keys_config() const { return options_.keys; }
  UnixSeconds now() const { return options_.clock(); }

 private:
  // Applies `change` to one key inside a transaction on its org.
  using KeyEdit = std::function<KeyResult<bool>(KeyRecord& key, const OrgKeys& org)>;
  KeyResult<KeyChange> edit(const std::string& key_ref, const KeyEdit& change);
  KeyResult<KeyRecord> resolve(const std::string& key_ref);
  const conf::PlanConfig* find_plan(const std::string& name) const;
  std::string new_key_id();

  std::shared_ptr<KeyRepository> repository_;
  std::shared_ptr<const KeyHasher> hasher_;
  KeyManagerOptions options_;
};

}  // namespace keygate::auth
