// What a request needs beside its parsers that is too big to keep in every connection while it
// waits for the next request: lent by the worker for the request's time (Worker::
// take_request_scratch), so an idle keep-alive connection holds none of it, and reused from
// request to request with whatever memory it grew.
#pragma once

#include "proxy/simple_response.h"
#include "ratelimit/headers.h"

namespace keygate::proxy {

struct RequestScratch {
  ratelimit::RateLimitFields rate_limit_fields;  // in every answer to the request
  SimpleResponse simple_response;                // the upstream's, when read in place
};

}  // namespace keygate::proxy
