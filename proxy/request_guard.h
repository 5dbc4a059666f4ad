// Rejects request framings that two HTTP parsers could read differently (request
// smuggling, RFC 9112 §6.3 and §11.2) before anything is forwarded.
#pragma once

#include <optional>

#include "proxy/error_body.h"
#include "proxy/http_fields.h"

namespace keygate::proxy {

std::optional<ErrorSpec> check_request_framing(const RequestHeader& header);

}  // namespace keygate::proxy
