// The data-path KeyLookup over Redis: one round trip per lookup.
//
// A small Lua script GETs <p>key:<hash>, reads the org id out of the record and GETs
// <p>org:<org> in the same call, returning both JSON documents. It runs through redis::Script
// (EVALSHA; loaded on first use and again after a NOSCRIPT, within the same deadline). Every
// call carries RedisConfig::command_timeout as its deadline; a timeout, a dropped connection
// or an error reply answers LookupStatus::unavailable, never not_found, so a store outage
// cannot turn into a 401 or a negative cache entry.
//
// Call find_by_hash() on the executor of the redis::Client; `done` runs there, never inline.
#pragma once

#include <memory>
#include <string>

#include "auth/key_lookup.h"
#include "conf/config.h"
#include "redis/redis_client.h"

namespace keygate::auth {

class RedisKeyLookup final : public KeyLookup {
 public:
  RedisKeyLookup(std::shared_ptr<redis::Client> client, const conf::RedisConfig& config);

  void find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) override;

  // Loads the script into Redis ahead of the first lookup (call when the connection comes
  // up), so that lookup does not pay a second round trip.
  void preload() const;

  static const std::string& script();  // the Lua source, for tests and docs

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

// Turns the script's reply into a LookupResult (exposed for tests): nil -> not_found;
// {record, org-or-nil} -> found; anything malformed -> unavailable.
LookupResult lookup_result_from_reply(const redis::Reply& reply, const std::string& hash);

}  // namespace keygate::auth
