// Per-request key validation: format -> hash -> cache -> (store) -> checks.
//
//   try_validate()  the synchronous fast path. Answers at once for malformed keys
//                   (invalid_api_key, no hashing beyond the checksum, no lookup), cached keys
//                   and cached "no such key"; returns nullopt when the store must be asked.
//   validate()      the whole path; calls `done` inline when the fast path answers, otherwise
//                   once the store has answered. Concurrent misses for the same key share one
//                   store lookup (single flight). Calling try_validate() and then validate()
//                   repeats the fast path (a second hash, a second cache miss in the stats);
//                   that only happens on misses, which pay a store round trip anyway.
// Store outage (LookupStatus::unavailable): a key validated less than cache.stale_grace ago
// keeps working from the cache; anything else is store_unavailable (503), never a 401.
//
// One validator per worker thread; the KeyCache and the KeyHasher are shared by all of them.
// Store callbacks may arrive on any thread. A lookup still in flight when the validator is
// destroyed completes safely: it holds its own reference to what it needs.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "auth/auth_result.h"
#include "auth/compact_key.h"
#include "auth/key_cache.h"
#include "auth/key_hash.h"
#include "auth/key_lookup.h"
#include "auth/key_record.h"
#include "conf/config.h"

namespace keygate::auth {

struct AuthDecision {
  AuthCode code = AuthCode::invalid_api_key;
  // Set whenever the key was found (also for revoked/expired/403 answers, so they can be
  // logged and counted against the key); null for missing/invalid keys and store trouble.
  std::shared_ptr<const CompactKey> key;
  bool stale = false;  // answered from a cache entry past its TTL during a store outage

  // The key's org; null without a key or when the store has no record of the org. Lives as
  // long as `key`.
  const OrgRecord* org() const { return key ? key->org_record() : nullptr; }
};

// Both clocks the validator needs: steady for cache ages, wall for key expiry.
struct ValidatorClock {
  std::function<std::chrono::steady_clock::time_point()> steady;
  std::function<UnixSeconds()> unix_seconds;
  static ValidatorClock system();
};

class KeyValidator {
 public:
  using Done = std::function<void(AuthDecision)>;

  struct Stats {
    std::uint64_t store_lookups = 0;  // calls to KeyLookup::find_by_hash
    std::uint64_t coalesced = 0;      // misses that joined a lookup already in flight
    std::uint64_t stale_answers = 0;  // decisions made from stale entries during an outage
    std::uint64_t unavailable = 0;    // decisions that were store_unavailable
  };

  // `lookup` must outlive the validator and every lookup it started.
  KeyValidator(conf::ConfigPtr config, std::shared_ptr<KeyCache> cache,
               std::shared_ptr<const KeyHasher> hasher, KeyLookup& lookup,
               ValidatorClock clock = ValidatorClock::system());
  ~KeyValidator();
  KeyValidator(const KeyValidator&) = delete;
  KeyValidator& operator=(const KeyValidator&) = delete;

  // On reload; lookups in flight finish with the snapshot they started with.
  void update_config(conf::ConfigPtr config);

  std::optional<AuthDecision> try_validate(std::string_view raw_key, conf::KeySource::Kind source,
                                           const conf::RouteAuthConfig& route,
                                           const boost::asio::ip::address& client);

  // `raw_key` is only read before validate() returns; `route` is copied if the store is asked.
  void validate(std::string_view raw_key, conf::KeySource::Kind source,
                const conf::RouteAuthConfig& route, const boost::asio::ip::address& client,
                Done done);

  Stats stats() const;

 private:
  struct Shared;
  struct Prepared;
  Prepared prepare(std::string_view raw_key, conf::KeySource::Kind source,
                   const conf::RouteAuthConfig& route, const boost::asio::ip::address& client);

  conf::ConfigPtr config_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace keygate::auth
