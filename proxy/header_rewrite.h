// The one place where headers crossing the proxy are removed or added (RFC 9110 §7.6.1).
#pragma once

#include <string>
#include <string_view>

#include "proxy/http_fields.h"

namespace keygate::proxy {

namespace http = boost::beast::http;

// Removes hop-by-hop headers, including every header named in Connection. With
// `keep_upgrade`, Upgrade survives (a WebSocket handshake) and the caller sets Connection.
void strip_hop_by_hop(Fields& fields, bool keep_upgrade = false);

// True when Connection lists `token` (case-insensitive), e.g. "upgrade" or "close".
bool connection_has_token(const Fields& fields, std::string_view token);

// X-Forwarded-For gets the client appended; X-Forwarded-Proto and -Host are set when a
// proxy in front (an ingress that terminated TLS) has not already set them.
void add_forwarded_headers(Fields& fields, std::string_view client_ip);

// Sets `id` to the request id to use: the client's X-Request-Id when it is sane (<= 128
// visible ASCII characters), else a fresh one, which is also written into `fields`.
void ensure_request_id(Fields& fields, std::string& id);

}  // namespace keygate::proxy
