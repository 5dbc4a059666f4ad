// Rejects request framings that two HTTP parsers could read differently (request
// smuggling, RFC 9112 §6.3 and §11.2) before anything is forwarded.
#pragma once

#include <boost/beast/http/message.hpp>
#include <optional>

#include "proxy/error_body.h"

namespace keygate::proxy {

std::optional<ErrorSpec> check_request_framing(const boost::beast::http::request_header<>& header);

}  // namespace keygate::proxy
