// The Host header as keygate routes on it (RFC 9110 §7.2, RFC 3986 §3.2.2): a registered name
// or an IP literal with an optional port. Anything else is refused before routing, so that
// `internal.example.com.` or `a@internal.example.com` cannot slip past a host-matched route.
#pragma once

#include <string>
#include <string_view>

namespace keygate::proxy {

// Sets `name` (lower case, one trailing dot removed, no port; "[::1]" keeps its brackets) and
// `port` (digits pointing into `host`, or empty). False for a malformed Host: characters
// outside a host name, '@', misplaced brackets, more than one port, an empty label, an empty
// or non-numeric port, over 255 characters. An empty Host (HTTP/1.1 allows it when there is no
// authority) gives an empty name.
bool parse_host_header(std::string_view host, std::string& name, std::string_view& port);

}  // namespace keygate::proxy
