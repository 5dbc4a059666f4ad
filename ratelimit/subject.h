// Who a request is counted against: the identities a policy's `per` picks its counter from.
#pragma once

#include <string>
#include <string_view>

#include "auth/key_record.h"
#include "conf/config.h"

namespace keygate::ratelimit {

// Views: whoever builds a Subject keeps what it points into (the request's key record, route
// and client address) alive until the check's `done` has run (limiter.h). A request holds all
// of them anyway, and copies would cost every rate-limited request allocations.
struct Subject {
  std::string_view key_id;     // empty on routes without authentication
  std::string_view org_id;     // empty for keys without an org, and without authentication
  std::string_view route;      // RouteConfig::name
  std::string_view client_ip;  // textual address of the client
  auth::UnixSeconds org_created_at = 0;  // anchors the monthly quota period
  // What the route wants when the shared counter store cannot answer (RouteConfig).
  conf::LimitFailureMode on_store_failure = conf::LimitFailureMode::fail_open;
};

// `key` and `org` may be null (routes without authentication, keys without an org).
Subject make_subject(const conf::RouteConfig& route, const auth::KeyRecord* key,
                     const auth::OrgRecord* org, std::string_view client_ip);

}  // namespace keygate::ratelimit
