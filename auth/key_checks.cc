#include "auth/key_checks.h"

#include <algorithm>

#include "auth/cidr.h"
#include "auth/key_record_json.h"

namespace keygate::auth {
namespace {

bool contains(const std::vector<std::string>& items, const std::string& value) {
  return std::find(items.begin(), items.end(), value) != items.end();
}

// An empty list places no restriction.
bool allowed_by(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || contains(allowed, value);
}

}  // namespace

bool has_scopes(const std::vector<std::string>& granted, const std::vector<std::string>& all,
                const std::vector<std::string>& any) {
  for (const auto& scope : all)
    if (!contains(granted, scope)) return false;
  if (any.empty()) return true;
  for (const auto& scope : any)
    if (contains(granted, scope)) return true;
  return false;
}

AuthCode check_key(const CompactKey& key, const conf::RouteAuthConfig& route,
                   const conf::KeysConfig& keys, conf::KeySource::Kind source,
                   const boost::asio::ip::address& client, UnixSeconds now) {
  switch (effective_status(key.status(), key.expires_at(), key.grace_until(), now)) {
    case EffectiveStatus::revoked:
      return AuthCode::revoked_api_key;
    case EffectiveStatus::expired:
      return AuthCode::expired_api_key;
    case EffectiveStatus::inactive:
      return AuthCode::inactive_api_key;
    case EffectiveStatus::active:
      break;
  }
  if (!cidrs_allow(key.allowed_cidrs(), client)) return AuthCode::ip_not_allowed;
  if (source == conf::KeySource::Kind::query && !route.allow_query_for_secret_keys &&
      contains(keys.secret_types, key.type()))
    return AuthCode::key_type_not_allowed;
  if (!allowed_by(route.environments, key.environment())) return AuthCode::wrong_environment;
  if (!allowed_by(route.key_types, key.type())) return AuthCode::key_type_not_allowed;
  if (!has_scopes(key.scopes(), route.scopes_all, route.scopes_any))
    return AuthCode::insufficient_permissions;
  return AuthCode::ok;
}

}  // namespace keygate::auth
