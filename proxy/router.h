// Route matching: request (host, method, path) -> the first route that accepts it.
// Routes are tried in configuration order, so operators put specific routes first.
#pragma once

#include <string_view>
#include <vector>

#include "conf/config.h"

namespace keygate::proxy {

class Router {
 public:
  explicit Router(const conf::Config& config);

  // `host` is the Host header's name as parse_host_header() gives it (lower case, no port, no
  // trailing dot); `path` is the normalised path, without the query string.
  const conf::RouteConfig* match(std::string_view host, std::string_view method,
                                 std::string_view path) const;

 private:
  std::vector<const conf::RouteConfig*> routes_;
};

// The path sent upstream: the route's prefix removed when strip_prefix is set (always
// keeping a leading '/'), then the upstream's base path prepended.
std::string upstream_path(const conf::RouteConfig& route, const conf::UpstreamConfig& upstream,
                          std::string_view path);

}  // namespace keygate::proxy
