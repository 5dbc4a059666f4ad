// What the policy steps (authentication, rate limits) see of a request and hand back to the
// session. The session owns the HTTP exchange; the steps only read and edit this.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/compact_key.h"
#include "proxy/http_fields.h"
#include "proxy/snapshot.h"
#include "ratelimit/headers.h"

namespace keygate::proxy {

// Header names are literals: nothing to allocate for them per response.
using HeaderList = std::vector<std::pair<std::string_view, std::string>>;

// An answer keygate gives itself instead of forwarding.
struct LocalAnswer {
  unsigned status = 500;
  std::string body;  // JSON
  HeaderList headers;
};

struct RequestContext {
  RequestHeader& header;  // steps may remove/add fields
  const Snapshot& snapshot;
  const RouteRuntime& route;
  boost::asio::ip::address client_address;
  std::string_view client_ip;  // owned by the session, which outlives the request
  std::string target;          // path + query as it will be sent upstream; steps may edit the query
  // Added to whatever response goes back; lent with the request's scratch, empty at first.
  ratelimit::RateLimitFields& rate_limit_fields;
  // False for a check request (authorize mode): nothing is sent upstream, so the steps leave
  // its headers alone and the answer carries the identity instead.
  bool forwards = true;

  // Filled by the steps.
  std::optional<LocalAnswer> answer{};  // set: respond with it, do not forward
  std::shared_ptr<const auth::CompactKey> key{};
  const auth::OrgRecord* org = nullptr;   // key's org record, owned by `key`; may be null
  std::string_view decision = "allowed";  // for the access log and metrics
};

}  // namespace keygate::proxy
