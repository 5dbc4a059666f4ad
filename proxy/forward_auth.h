// The protocol layer of `mode: authorize` listeners (docs/forward-auth.md): a front proxy
// (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz) asks whether a request may pass,
// and keygate answers from the same routes, key checks, limits and usage as in proxy mode.
// These functions only translate: the original request in, the decision out.
#pragma once

#include <optional>
#include <string>

#include "conf/config.h"
#include "proxy/error_body.h"
#include "proxy/http_fields.h"
#include "proxy/request_context.h"

namespace keygate::proxy {

// The request the front proxy asks about. Sets `method` and `target` (path and query), and
// `host` to the original host when the front proxy sent one (a view into `req`, which is left
// as it came; else `host` keeps what the caller put there, the check request's own Host). A
// check request that does not say what it is about is a 400 naming the missing header.
std::optional<ErrorSpec> read_original_request(const RequestHeader& req,
                                               const conf::AuthorizeConfig& authorize,
                                               std::string& method, std::string& target,
                                               std::string_view& host);

// The fields of an "allow" (a 200 without a body): the caller's identity headers for the front
// proxy to pass upstream, and (Envoy) the credential headers it must remove before the
// upstream sees them, appended to `head` as "Name: value\r\n" lines. Written straight into the
// answer's head: a decision is a small request, and a list of copies would be a large part of it.
void append_allowed_fields(std::string& head, const RequestContext& ctx,
                           const conf::AuthorizeConfig& authorize);

// "Deny" as the flavor can carry it: the same status, body, WWW-Authenticate and Retry-After as
// proxy mode, plus X-Keygate-Status; for nginx, whose auth_request passes on only 401 and 403
// and never a body, any other status becomes 403 and the JSON body moves to X-Keygate-Error.
void adapt_denied_answer(LocalAnswer& answer, const conf::AuthorizeConfig& authorize);

}  // namespace keygate::proxy
