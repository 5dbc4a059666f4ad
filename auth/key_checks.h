// Whether a known key may make this request on this route. Pure: no I/O, no allocation.
//
// Checks run in this order and the first failure is the answer:
//   1. status      revoked, or rotated with grace_until <= now  -> revoked_api_key   (401)
//                  expires_at <= now                            -> expired_api_key   (401)
//                  inactive                                     -> inactive_api_key  (401)
//   2. network     client outside allowed_cidrs (or a corrupt
//                  entry: fail closed)                          -> ip_not_allowed    (403)
//   3. channel     key read from the query string, its type in
//                  keys.secret_types, route does not allow it   -> key_type_not_allowed (403)
//   4. environment not in route.environments (when non-empty)   -> wrong_environment (403)
//   5. key type    not in route.key_types (when non-empty)      -> key_type_not_allowed (403)
//   6. scopes      missing one of scopes_all, or none of
//                  scopes_any (when non-empty)                  -> insufficient_permissions (403)
// Why this order: a key that cannot work anywhere says so first (401), so the caller fixes the
// key rather than the request. Among the 403s, facts about the key and the caller (network,
// how the secret was sent) come before the route's requirements, from coarsest to finest, so
// a caller from a foreign network learns nothing about what the route would require.
// Scopes match exactly (case-sensitive); there are no wildcards.
#pragma once

#include <boost/asio/ip/address.hpp>

#include "auth/auth_result.h"
#include "auth/compact_key.h"
#include "conf/config.h"

namespace keygate::auth {

AuthCode check_key(const CompactKey& key, const conf::RouteAuthConfig& route,
                   const conf::KeysConfig& keys, conf::KeySource::Kind source,
                   const boost::asio::ip::address& client, UnixSeconds now);

// True when the key has every scope in `all` and, if `any` is non-empty, one of `any`.
bool has_scopes(const std::vector<std::string>& granted, const std::vector<std::string>& all,
                const std::vector<std::string>& any);

}  // namespace keygate::auth
