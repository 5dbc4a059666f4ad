// Response headers and error bodies from a Decision, as plain (name, value) pairs: the
// proxy decides where they go; this module knows nothing of HTTP sessions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ratelimit/decision.h"

namespace keygate::ratelimit {

// (name, value); the name is always a literal: nothing to allocate for it per response.
using HeaderField = std::pair<std::string_view, std::string>;
using HeaderFields = std::vector<HeaderField>;

// X-RateLimit-Limit/-Remaining/-Reset (Unix seconds) for the policy closest to running out;
// with `draft_headers`, RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers)
// listing every policy; Retry-After (seconds) when refused or the store is unavailable.
// Appended to `out` (a response's other headers, usually), so no list is built per request.
void append_rate_limit_headers(const Decision& decision, bool draft_headers, HeaderFields& out);

// 200 when allowed, 429 when a policy refused, 503 when the store failed on a fail_closed route.
unsigned http_status(const Decision& decision);

// The JSON body of a 429 (code rate_limit_exceeded, or monthly_quota_exceeded when the quota is
// what refused) or of a 503; empty when the request is allowed.
std::string error_body(const Decision& decision);

}  // namespace keygate::ratelimit
