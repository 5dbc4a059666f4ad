// The steps between "route matched" and "forward upstream": authentication, then rate limits.
// Each either lets the request through (possibly adding identity and rate-limit headers) or
// sets ctx.answer.
#pragma once

#include "proxy/asio_aliases.h"
#include "proxy/request_context.h"

namespace keygate::proxy {

class Worker;

// The synchronous part, for every routed request. False when neither step has anything to do (no
// auth, no limits): the session then skips run_request_steps and the coroutine it would cost.
bool request_steps_apply(Worker& worker, RequestContext& ctx);
// Only after request_steps_apply returned true.
awaitable<void> run_request_steps(Worker& worker, RequestContext& ctx);

// After the response went out: usage accounting, off the request path.
void finish_request(Worker& worker, const RequestContext& ctx, unsigned status);

}  // namespace keygate::proxy
