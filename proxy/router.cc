#include "proxy/router.h"

#include <algorithm>
#include <string>

#include "proxy/ascii.h"

namespace keygate::proxy {
namespace {

std::string_view without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool path_matches(const conf::RouteConfig& route, std::string_view path) {
  if (route.path_match == conf::RouteConfig::PathMatch::exact) return path == route.path;
  return path.starts_with(route.path);
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
  const auto bare_host = without_port(host);
  for (const auto* route : routes_) {
    if (!route->host.empty() && !iequals(route->host, bare_host)) continue;
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
