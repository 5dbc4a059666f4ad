#include "proxy/router.h"

#include <algorithm>
#include <string>

namespace keygate::proxy {
namespace {

// A prefix matches at a segment boundary: /public matches /public and /public/x, not
// /publicity; a prefix ending in '/' already names its boundary.
bool path_matches(const conf::RouteConfig& route, std::string_view path) {
  if (route.path_match == conf::RouteConfig::PathMatch::exact) return path == route.path;
  if (!path.starts_with(route.path)) return false;
  return route.path.back() == '/' || path.size() == route.path.size() ||
         path[route.path.size()] == '/';
}

bool method_matches(const conf::RouteConfig& route, std::string_view method) {
  if (route.methods.empty()) return true;
  return std::find(route.methods.begin(), route.methods.end(), method) != route.methods.end();
}

}  // namespace

Router::Router(const conf::Config& config) {
  routes_.reserve(config.routes.size());
  for (const auto& route : config.routes) routes_.push_back(&route);
}

const conf::RouteConfig* Router::match(std::string_view host, std::string_view method,
                                       std::string_view path) const {
  for (const auto* route : routes_) {
    if (!route->host.empty() && route->host != host) continue;
    if (!path_matches(*route, path)) continue;
    if (!method_matches(*route, method)) continue;
    return route;
  }
  return nullptr;
}

std::string upstream_path(const conf::RouteConfig& route, const conf::UpstreamConfig& upstream,
                          std::string_view path) {
  if (route.strip_prefix && route.path_match == conf::RouteConfig::PathMatch::prefix) {
    path.remove_prefix(std::min(route.path.size(), path.size()));
  }
  std::string out;
  out.reserve(upstream.base_path.size() + path.size() + 1);
  out += upstream.base_path;
  if (path.empty() || path.front() != '/') out += '/';
  out += path;
  return out;
}

}  // namespace keygate::proxy
