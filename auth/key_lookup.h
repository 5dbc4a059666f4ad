// The data-path view of a key store: find one key (and its org) by the hash of the raw key.
//
// Implemented by the file and Redis stores; KeyValidator depends only on this interface so
// tests can hand in a fake. Kept apart from the management interface (create, revoke, list),
// which the request path never needs.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth/key_record.h"

namespace keygate::auth {

enum class LookupStatus {
  found,        // `key` is set; `org` may be null if the org record is missing
  not_found,    // the store answered and has no key with this hash
  unavailable,  // the store did not answer (timeout, disconnected): never a 401
};

struct LookupResult {
  LookupStatus status = LookupStatus::unavailable;
  std::shared_ptr<const KeyRecord> key;
  std::shared_ptr<const OrgRecord> org;
};

class KeyLookup {
 public:
  virtual ~KeyLookup() = default;
  // Calls `done` exactly once. In-memory stores may call it inline (before returning); remote
  // stores call it later on the caller's executor. `hash` is KeyHasher::hash() of the raw key;
  // a found record's KeyRecord::hash must equal it (the validator refuses it otherwise).
  virtual void find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) = 0;
};

}  // namespace keygate::auth
