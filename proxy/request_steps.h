// The steps between "route matched" and "forward upstream": authentication, then rate limits.
// Each either lets the request through (possibly adding identity and rate-limit headers) or
// sets ctx.answer.
#pragma once

#include "proxy/asio_aliases.h"
#include "proxy/request_context.h"

namespace keygate::proxy {

class Worker;

awaitable<void> run_request_steps(Worker& worker, RequestContext& ctx);

// After the response went out: usage accounting, off the request path.
void finish_request(Worker& worker, const RequestContext& ctx, unsigned status);

}  // namespace keygate::proxy
