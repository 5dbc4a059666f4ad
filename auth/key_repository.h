// The management view of a key store: read and change key and org records.
//
// Used by KeyManager, on behalf of the `keygate keys|orgs` commands and the admin API thread.
// Every call blocks on I/O (a file, a Redis round trip), so it never runs on the data path,
// which only needs KeyLookup. Implemented by FileKeyStore and RedisKeyRepository; no call
// throws: failures come back as a StoreStatus with a message fit for an operator.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/key_record.h"

namespace keygate::auth {

enum class StoreErrc {
  ok,
  not_found,    // no key or org with that id/hash
  conflict,     // the write would break an invariant (duplicate id/hash, changed hash, ...)
  aborted,      // the transaction function declined to write (it knows why)
  busy,         // other writers kept changing the org; the caller may retry later
  corrupt,      // the stored data does not parse; the message names where
  unavailable,  // the store cannot be reached or read/written (timeout, I/O error)
};

struct StoreStatus {
  StoreErrc code = StoreErrc::ok;
  std::string message;  // empty when ok

  bool ok() const { return code == StoreErrc::ok; }
  static StoreStatus success() { return {}; }
  static StoreStatus error(StoreErrc code, std::string message) {
    return {code, std::move(message)};
  }
};

template <class T>
struct StoreResult {
  StoreStatus status;
  T value{};

  bool ok() const { return status.ok(); }
};

// One org as the store holds it: the org record (absent if it was never created) and every
// key record that names this org, in a stable order (creation order where known).
struct OrgKeys {
  std::optional<OrgRecord> org;
  std::vector<KeyRecord> keys;
};

// What a transaction writes. Keys are matched by id: an unknown id is inserted, a known one
// replaced. A key's hash and org never change after it is written.
struct OrgChanges {
  std::optional<OrgRecord> put_org;
  std::vector<KeyRecord> put_keys;
  std::vector<std::string> delete_key_ids;

  bool empty() const { return !put_org && put_keys.empty() && delete_key_ids.empty(); }
};

// Looks at the current state of one org and fills `changes`; returns false to write nothing
// (transact() then answers StoreErrc::aborted). It may run more than once, since the Redis
// store retries when another writer got in first, so it must depend only on its arguments
// and on state it resets itself.
using OrgTransaction = std::function<bool(const OrgKeys& current, OrgChanges& changes)>;

// True when `key` holds one of its org's plan slots at `now`: not revoked, not expired, and not
// replaced by a rotation. A rotated key in its grace period leaves its slot to its successor,
// so rotating never needs a free slot; an inactive key keeps its slot, since activate() does
// not check the plan again.
bool counts_toward_plan(const KeyRecord& key, UnixSeconds now);

// For implementations of transact(): checks `changes` against `current` (everything names
// `org`, ids and hashes are set, a known id keeps its hash, a new key does not reuse a hash of
// this org, deleted ids exist). Uniqueness across orgs is left to the store.
StoreStatus check_changes(const std::string& org, const OrgKeys& current,
                          const OrgChanges& changes);

class KeyRepository {
 public:
  virtual ~KeyRepository() = default;

  virtual StoreResult<KeyRecord> get_key(const std::string& id) = 0;
  virtual StoreResult<KeyRecord> get_key_by_hash(const std::string& hash) = 0;
  // An org that has neither a record nor keys is not an error: both parts come back empty.
  virtual StoreResult<OrgKeys> read_org(const std::string& org) = 0;
  // Every org with a record, sorted by id.
  virtual StoreResult<std::vector<OrgRecord>> list_orgs() = 0;

  // Reads one org, lets `transaction` decide, and writes its changes atomically, so that a
  // concurrent writer can neither interleave with it nor be lost (file: an exclusive lock
  // around read-modify-write; Redis: a revision check inside the write script). Every key
  // hash written or deleted is announced as invalidated (Redis: PUBLISH in the same script;
  // file: the file change itself, which makes the proxy reload).
  virtual StoreStatus transact(const std::string& org, const OrgTransaction& transaction) = 0;

  // Tells every proxy to drop its cached answer for this hash (Redis: PUBLISH on the
  // invalidation channel; file store: nothing to do, reload() covers it).
  virtual StoreStatus publish_invalidation(const std::string& hash) = 0;

  // Conveniences over the calls above.
  StoreResult<std::vector<KeyRecord>> list_keys(const std::string& org);
  StoreResult<OrgRecord> get_org(const std::string& org);  // not_found without a record
  StoreResult<std::size_t> count_active_keys(const std::string& org, UnixSeconds now);
  StoreStatus put_key(const KeyRecord& key);  // insert or replace, no plan check
  StoreStatus put_org(const OrgRecord& org);  // insert or replace
  StoreStatus delete_key(const std::string& id);
  StoreStatus delete_key_by_hash(const std::string& hash);
};

}  // namespace keygate::auth
