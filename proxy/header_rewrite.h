// The one place where headers crossing the proxy are removed or added (RFC 9110 §7.6.1).
//
// The order matters and is the session's: clean_request_headers() first (before routing, so
// the policy steps see only what the client may say), then the steps add identity headers,
// then set_forwarded_headers() and set_framing() just before the request leaves. Nothing a
// client names in Connection can remove what keygate sets afterwards.
#pragma once

#include <boost/optional/optional.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "auth/cidr.h"
#include "conf/config.h"
#include "proxy/error_body.h"
#include "proxy/http_fields.h"
#include "proxy/simple_response.h"

namespace keygate::proxy {

namespace http = boost::beast::http;

// Removes hop-by-hop headers and every header named in Connection, except the framing headers
// (Content-Length, Transfer-Encoding: the parser already read them, set_framing() writes them
// anew) and Host. With `keep_upgrade`, Upgrade survives (a WebSocket handshake) and the caller
// sets Connection.
void strip_hop_by_hop(Fields& fields, bool keep_upgrade = false);

// True when Connection lists `token` (case-insensitive), e.g. "upgrade" or "close".
bool connection_has_token(const Fields& fields, std::string_view token);

// Everything a client may not send upstream as it is, before routing: hop-by-hop headers (see
// strip_hop_by_hop), names with an underscore (per http.headers_with_underscores; "reject"
// returns a 400), and every spelling of keygate's identity headers (X_Keygate_Org reaches a
// WSGI app as HTTP_X_KEYGATE_ORG, the same variable as X-Keygate-Org).
std::optional<ErrorSpec> clean_request_headers(Fields& fields, const conf::Config& config,
                                               bool keep_upgrade);

// Only the refusal of clean_request_headers: a 400 for a name with an underscore when
// http.headers_with_underscores is "reject". For requests that are answered, not forwarded.
std::optional<ErrorSpec> refuse_underscored_names(const Fields& fields,
                                                  const conf::HttpConfig& http_config);

// Who sent a request, as keygate establishes it from the connection and, for a peer in the
// listener's trusted_proxies, from the X-Forwarded-For that peer vouches for.
struct ClientOrigin {
  boost::asio::ip::address address;
  std::string ip;             // `address` as text
  bool peer_trusted = false;  // the connection's peer is one of the trusted proxies
};

// The peer itself, or (from a trusted proxy) the nearest X-Forwarded-For address that is not a
// trusted proxy too, as nginx's real_ip_recursive does.
ClientOrigin resolve_client_origin(const Fields& fields, const boost::asio::ip::address& peer,
                                   std::string_view peer_ip, std::span<const auth::Cidr> trusted);

// X-Forwarded-For, -Proto, -Host, X-Real-IP and Forwarded as keygate saw the request. From an
// untrusted peer every client-sent value is replaced; from a trusted proxy its values are kept
// (For gets the peer appended, Proto and Host are set only when absent).
void set_forwarded_headers(Fields& fields, const ClientOrigin& origin, std::string_view peer_ip,
                           std::string_view scheme, std::string_view host);

// The message's framing as keygate's parser read it, whatever the headers said: one
// Content-Length with the parsed value, or Transfer-Encoding: chunked, or neither.
void set_framing(Fields& fields, boost::optional<std::uint64_t> content_length, bool chunked);

// The head of a proxied response as the client gets it, written in one pass instead of edited
// in place (the common case: a body of known length, or none): the upstream's fields without
// the hop-by-hop ones, those its Connection names, the framing headers, X-Request-Id and any
// of `added_names`; then `added_fields` (written already, "Name: value\r\n" each, one field per
// name), X-Request-Id, Content-Length when known, and Connection as `keep_alive` needs for
// `version`. The same bytes as strip_hop_by_hop, set() of each added field and of
// X-Request-Id, set_framing (not chunked) and keep_alive() followed by append_response_head.
void append_forwarded_response_head(std::string& out, const ResponseHeader& res, unsigned version,
                                    std::span<const std::string_view> added_names,
                                    std::string_view added_fields, std::string_view request_id,
                                    boost::optional<std::uint64_t> content_length, bool keep_alive);

// The same for a response read in place (simple_response.h), which always has a length: the
// bytes append_forwarded_response_head writes for Beast's reading of the same response.
void append_forwarded_simple_head(std::string& out, const SimpleResponse& res, unsigned version,
                                  std::span<const std::string_view> added_names,
                                  std::string_view added_fields, std::string_view request_id,
                                  bool keep_alive);

// Sets `id` to the request id to use: the client's X-Request-Id when it is sane (<= 128
// visible ASCII characters), else a fresh one, which is also written into `fields` when the
// request is forwarded (`forwards`); a check request in authorize mode only answers with it.
void ensure_request_id(Fields& fields, std::string& id, bool forwards = true);

}  // namespace keygate::proxy
