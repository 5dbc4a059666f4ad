// Upstream addresses: http(s)://host[:port][/base] and nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "conf/parsed.h"

namespace keygate::conf {

struct UpstreamAddress {
  std::string host;         // lower case; an IPv6 address without its brackets
  std::uint16_t port = 80;  // 443 for https
  bool tls = false;         // https://
  std::string base_path;    // percent-encoded as written, without a trailing '/'; often empty
};

Parsed<UpstreamAddress> parse_upstream_url(std::string_view url);

}  // namespace keygate::conf
