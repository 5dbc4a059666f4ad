// The caller's identity as keygate passes it on: as request headers to the upstream (proxy
// mode) or as answer headers for the front proxy to copy (authorize mode). One list, so both
// modes name the same things the same way.
#pragma once

#include <string>
#include <string_view>

#include "auth/compact_key.h"
#include "auth/key_record.h"
#include "conf/config.h"

namespace keygate::proxy {

// Calls emit(name, value) for each identity header of a validated key, in a fixed order.
// Without plans configured there is no plan to name, so that header is left out.
template <class Emit>
void for_each_identity_header(const conf::IdentityHeadersConfig& names, const auth::CompactKey& key,
                              const auth::OrgRecord* org, std::string_view default_plan,
                              Emit&& emit) {
  emit(std::string_view(names.key_id), key.id());
  emit(std::string_view(names.org), key.org());
  emit(std::string_view(names.environment), key.environment());
  emit(std::string_view(names.key_type), key.type());
  std::string scopes;
  for (const auto& scope : key.scopes()) {
    if (!scopes.empty()) scopes += ',';
    scopes += scope;
  }
  emit(std::string_view(names.scopes), std::string_view(scopes));
  const std::string_view plan =
      org && !org->plan.empty() ? std::string_view(org->plan) : default_plan;
  if (!plan.empty()) emit(std::string_view(names.plan), plan);
}

}  // namespace keygate::proxy
