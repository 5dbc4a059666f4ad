// upstreams and routes: where requests go and what they must present to get there.
#include <algorithm>

#include "conf/section_parsers.h"
#include "conf/text_checks.h"
#include "conf/upstream_url.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

void parse_upstream(const YamlValue& item, ParseContext& ctx) {
  auto map = YamlMap::open(item,
                           {"name", "url", "connect_timeout", "response_timeout",
                            "max_idle_connections", "max_connections", "tls"},
                           ctx.diag);
  if (!map) return;
  UpstreamConfig upstream;
  upstream.mark = item.mark;
  if (map->require("name") && map->read("name", upstream.name)) {
    if (upstream.name.empty())
      ctx.diag.error(map->get("name").mark, "upstream name must not be empty");
    else
      ctx.names.define(NameKind::upstream, upstream.name, map->get("name").mark, ctx.diag);
  }
  if (map->require("url") && map->read("url", upstream.url)) {
    auto address = parse_upstream_url(upstream.url);
    if (address.value) {
      upstream.host = std::move(address.value->host);
      upstream.port = address.value->port;
      upstream.base_path = std::move(address.value->base_path);
      upstream.tls.enabled = address.value->tls;
    } else {
      ctx.diag.error(map->get("url").mark, "upstream url " + address.error);
    }
  }
  map->read_duration("connect_timeout", upstream.connect_timeout);
  map->read_duration("response_timeout", upstream.response_timeout);
  map->read_integer("max_idle_connections", upstream.max_idle_connections);
  map->read_integer("max_connections", upstream.max_connections);
  const bool idle_over_max =
      upstream.max_connections != 0 && upstream.max_idle_connections > upstream.max_connections;
  if (idle_over_max && !map->has("max_idle_connections")) {
    // Only the default is too large: follow the limit that was asked for.
    upstream.max_idle_connections = upstream.max_connections;
  } else if (idle_over_max) {
    ctx.diag.error(
        map->get("max_idle_connections").mark,
        "upstream max_idle_connections (" + std::to_string(upstream.max_idle_connections) +
            ") cannot exceed max_connections (" + std::to_string(upstream.max_connections) + ")");
  }
  parse_upstream_tls(map->get("tls"), upstream, ctx);
  ctx.config.upstreams.push_back(std::move(upstream));
}

// "bearer", "header:<name>" or "query:<name>".
std::optional<KeySource> parse_key_source(const YamlValue& item, Diagnostics& diag) {
  auto text = read_string(item, diag);
  if (!text) return std::nullopt;
  if (*text == "bearer") return KeySource{KeySource::Kind::bearer, "authorization"};
  auto colon = text->find(':');
  const std::string kind = text->substr(0, colon);
  const std::string name = colon == std::string::npos ? "" : text->substr(colon + 1);
  if (kind == "header" && is_http_token(name)) {
    // Header names are case-insensitive; the lower-case form is what gets compared.
    return KeySource{KeySource::Kind::header, to_lower(name)};
  }
  if (kind == "query" && is_http_token(name)) return KeySource{KeySource::Kind::query, name};
  diag.error(item.mark, "route auth source must be bearer, header:<name> or query:<name>, got '" +
                            *text + "'");
  return std::nullopt;
}

void parse_route_auth(const YamlValue& value, RouteConfig& route, const std::string& user,
                      ParseContext& ctx) {
  if (!value.present()) return;
  if (value.node.IsScalar()) {
    if (value.node.Scalar() == "none") {
      route.auth.required = false;
    } else {
      ctx.diag.error(value.mark, "route auth must be 'none' or a map, got " + describe(value.node));
    }
    return;
  }
  auto map = YamlMap::open(value,
                           {"sources", "allow_query_for_secret_keys", "scopes_all", "scopes_any",
                            "environments", "key_types", "mtls", "api_key"},
                           ctx.diag);
  if (!map) return;
  RouteAuthConfig& auth = route.auth;
  // `mtls: required` beside the API key, or instead of it with `api_key: none`.
  map->read_enum<bool>("mtls", auth.mtls_required, {{"required", true}, {"none", false}});
  bool api_key = true;
  if (map->read_enum<bool>("api_key", api_key, {{"required", true}, {"none", false}}) && !api_key) {
    if (!auth.mtls_required)
      ctx.diag.error(map->get("api_key").mark,
                     "route auth api_key: none leaves the route open; use 'auth: none' for a "
                     "public route, or add mtls: required");
    auth.required = false;
  }
  if (map->has("sources")) {
    const YamlValue sources = map->get("sources");
    auto items = read_list(sources, "route auth source", ctx.diag);
    if (sources.node.IsSequence() && items.empty())
      ctx.diag.error(sources.mark, "route auth sources must not be empty (or use 'auth: none')");
    if (!items.empty()) auth.sources.clear();
    for (const YamlValue& item : items) {
      if (auto source = parse_key_source(item, ctx.diag)) auth.sources.push_back(*source);
    }
  }
  map->read("allow_query_for_secret_keys", auth.allow_query_for_secret_keys);
  map->read("scopes_all", auth.scopes_all);
  map->read("scopes_any", auth.scopes_any);

  read_names(map->get("environments"), NameKind::environment, user, auth.environments, ctx);
  read_names(map->get("key_types"), NameKind::key_type, user, auth.key_types, ctx);
}

void parse_route_match(const YamlValue& value, RouteConfig& route, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"path_prefix", "path", "host", "methods"}, ctx.diag);
  if (!map) return;
  if (map->has("path") && map->has("path_prefix")) {
    ctx.diag.error(map->get("path").mark,
                   "route match takes either 'path' (exact) or 'path_prefix', not both");
  } else if (!map->has("path") && !map->has("path_prefix")) {
    ctx.diag.error(map->mark(),
                   "route match needs 'path_prefix' or 'path' (use path_prefix: / to match all)");
  }
  const std::string_view path_key = map->has("path") ? "path" : "path_prefix";
  route.path_match =
      path_key == "path" ? RouteConfig::PathMatch::exact : RouteConfig::PathMatch::prefix;
  if (map->read(path_key, route.path)) {
    if (route.path.empty() || route.path.front() != '/') {
      ctx.diag.error(map->get(path_key).mark,
                     map->get(path_key).label + " must start with '/', got '" + route.path + "'");
    } else if (route.path.find_first_of("?#") != std::string::npos) {
      ctx.diag.error(
          map->get(path_key).mark,
          map->get(path_key).label + " must not contain '?' or '#', got '" + route.path + "'");
    }
  }
  if (map->read("host", route.host)) {
    if (!is_host_name(route.host)) {
      ctx.diag.error(map->get("host").mark,
                     "route match host must be a host name without a port (ports are ignored), "
                     "got '" +
                         route.host + "'");
    }
    route.host = to_lower(route.host);
  }
  const YamlValue methods = map->get("methods");
  if (methods.present() && map->read("methods", route.methods)) {
    if (route.methods.empty())
      ctx.diag.error(methods.mark,
                     "route match methods must not be empty; leave it out to match "
                     "any method");
    for (std::string& method : route.methods) {
      if (!is_http_token(method))
        ctx.diag.error(methods.mark, "route match method '" + method + "' is not a method name");
      method = to_upper(method);
    }
  }
}

void parse_route(const YamlValue& item, std::size_t index, ParseContext& ctx) {
  auto map = YamlMap::open(item,
                           {"name", "match", "upstream", "strip_prefix", "max_body",
                            "min_body_rate", "auth", "rate_limits", "rate_limit_failure"},
                           ctx.diag);
  if (!map) return;
  RouteConfig route;
  route.mark = item.mark;
  route.name = "route-" + std::to_string(index);
  SourceMark name_mark = item.mark;
  if (map->read("name", route.name)) {
    name_mark = map->get("name").mark;
    if (route.name.empty()) ctx.diag.error(name_mark, "route name must not be empty");
  }
  ctx.names.define(NameKind::route, route.name, name_mark, ctx.diag);
  const std::string user = "route '" + route.name + "'";

  if (map->require("match")) parse_route_match(map->get("match"), route, ctx);
  // Only a proxy listener forwards: a keygate that only answers front proxies (mode:
  // authorize) needs no upstream.
  const bool forwards =
      std::any_of(ctx.config.listeners.begin(), ctx.config.listeners.end(),
                  [](const ListenerConfig& l) { return l.mode == ListenerConfig::Mode::proxy; });
  if ((!forwards || map->require("upstream")) && map->read("upstream", route.upstream))
    ctx.names.refer(NameKind::upstream, route.upstream, map->get("upstream").mark, user);
  if (map->read("strip_prefix", route.strip_prefix) && route.strip_prefix &&
      route.path_match == RouteConfig::PathMatch::exact) {
    ctx.diag.error(map->get("strip_prefix").mark,
                   "route strip_prefix only applies to path_prefix matches");
  }
  std::size_t max_body = 0;
  if (map->read_size("max_body", max_body)) route.max_body_bytes = max_body;
  std::size_t min_body_rate = 0;
  if (map->read_size("min_body_rate", min_body_rate)) route.min_body_rate = min_body_rate;
  parse_route_auth(map->get("auth"), route, user, ctx);
  read_names(map->get("rate_limits"), NameKind::policy, user, route.rate_limits, ctx);
  map->read_enum<LimitFailureMode>("rate_limit_failure", route.limit_failure,
                                   {{"fail_open", LimitFailureMode::fail_open},
                                    {"fail_closed", LimitFailureMode::fail_closed},
                                    {"local", LimitFailureMode::local}});
  ctx.config.routes.push_back(std::move(route));
}

}  // namespace

void parse_upstreams(const YamlValue& value, ParseContext& ctx) {
  for (const YamlValue& item : read_list(value, "upstream", ctx.diag)) parse_upstream(item, ctx);
}

void parse_routes(const YamlValue& value, ParseContext& ctx) {
  if (!value.present() || (value.node.IsSequence() && value.node.size() == 0)) {
    ctx.diag.error(value.mark, "no routes are configured: every request would be answered 404");
    return;
  }
  std::size_t index = 0;
  for (const YamlValue& item : read_list(value, "route", ctx.diag)) parse_route(item, index++, ctx);
}

}  // namespace keygate::conf
