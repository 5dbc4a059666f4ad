// threads, listeners, admin, limits, access_log, identity_headers: how the process serves.
#include <optional>
#include <set>
#include <utility>

#include "conf/section_parsers.h"
#include "conf/text_checks.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

constexpr int kMaxThreads = 1024;
constexpr std::size_t kMinHeaderBytes = 1024;
constexpr std::size_t kMaxHeaderBytes = 1024 * 1024;

// Reads `key` as an IP address; true when absent or valid.
bool read_ip_address(const YamlMap& map, std::string_view key, std::string& out) {
  std::string address;
  if (!map.read(key, address)) return !map.has(key);
  if (!is_ip_address(address)) {
    map.diag().error(map.get(key).mark, map.get(key).label +
                                            " must be a numeric IP address "
                                            "(e.g. 0.0.0.0, 127.0.0.1, ::), got '" +
                                            address + "'");
    return false;
  }
  out = std::move(address);
  return true;
}

void read_env_var_name(const YamlMap& map, std::string_view key, std::string& out) {
  if (!map.read(key, out) || out.empty() || is_env_var_name(out)) return;
  map.diag().error(map.get(key).mark,
                   map.get(key).label + " must be an environment variable name, got '" + out + "'");
  out.clear();
}

void read_header_name(const YamlMap& map, std::string_view key, std::string& out) {
  std::string name;
  if (!map.read(key, name)) return;
  if (!is_http_token(name)) {
    map.diag().error(map.get(key).mark,
                     map.get(key).label + " must be a header name, got '" + name + "'");
    return;
  }
  out = std::move(name);
}

void parse_authorize(const YamlValue& value, AuthorizeConfig& out, ParseContext& ctx) {
  using Flavor = AuthorizeConfig::Flavor;
  std::optional<YamlMap> map;
  if (value.present()) {
    map = YamlMap::open(
        value, {"flavor", "method_header", "uri_header", "host_header", "path_prefix"}, ctx.diag);
    if (!map) return;
    map->read_enum<Flavor>(
        "flavor", out.flavor,
        {{"nginx", Flavor::nginx}, {"traefik", Flavor::traefik}, {"envoy", Flavor::envoy}});
  }
  // Each front proxy's own names for the original request.
  if (out.flavor == Flavor::traefik) {
    out.method_header = "X-Forwarded-Method";
    out.uri_header = "X-Forwarded-Uri";
  } else if (out.flavor == Flavor::nginx) {
    out.method_header = "X-Original-Method";
    out.uri_header = "X-Original-URI";
  }
  if (out.flavor != Flavor::envoy) out.host_header = "X-Forwarded-Host";
  if (!map) return;
  if (out.flavor == Flavor::envoy) {
    for (std::string_view key : {"method_header", "uri_header", "host_header"})
      if (map->has(key))
        ctx.diag.error(map->get(key).mark,
                       map->get(key).label +
                           " does not apply to flavor envoy: ext_authz sends the original "
                           "method, path and Host as its own");
    if (map->read("path_prefix", out.path_prefix) && !out.path_prefix.empty() &&
        (out.path_prefix.front() != '/' || out.path_prefix.back() == '/'))
      ctx.diag.error(map->get("path_prefix").mark,
                     map->get("path_prefix").label +
                         " must start with '/' and not end with one, as in Envoy's "
                         "http_service path_prefix, got '" +
                         out.path_prefix + "'");
    return;
  }
  if (map->has("path_prefix"))
    ctx.diag.error(map->get("path_prefix").mark,
                   map->get("path_prefix").label + " only applies to flavor envoy");
  read_header_name(*map, "method_header", out.method_header);
  read_header_name(*map, "uri_header", out.uri_header);
  read_header_name(*map, "host_header", out.host_header);
}

}  // namespace

void parse_threads(const YamlValue& value, ParseContext& ctx) {
  auto threads = read_integer(value, 0, kMaxThreads, ctx.diag);
  if (threads) ctx.config.threads = static_cast<int>(*threads);
}

void parse_listeners(const YamlValue& value, ParseContext& ctx) {
  if (!value.present()) return;
  auto items = read_list(value, "listener", ctx.diag);
  if (value.node.IsSequence() && items.empty()) {
    ctx.diag.error(value.mark, "listeners must not be empty: keygate would accept no traffic");
    return;
  }
  ctx.config.listeners.clear();
  std::set<std::pair<std::string, int>> seen;
  for (const YamlValue& item : items) {
    auto map = YamlMap::open(
        item, {"address", "port", "trusted_proxies", "mode", "authorize", "tls"}, ctx.diag);
    if (!map) continue;
    ListenerConfig listener;
    read_ip_address(*map, "address", listener.address);
    map->read_integer("port", listener.port);
    if (map->read("trusted_proxies", listener.trusted_proxies)) {
      for (const auto& cidr : listener.trusted_proxies)
        if (!is_cidr(cidr))
          ctx.diag.error(map->get("trusted_proxies").mark,
                         "listener trusted_proxies entries must be addresses or networks in CIDR "
                         "notation (e.g. 10.0.0.0/8), got '" +
                             cidr + "'");
    }
    map->read_enum<ListenerConfig::Mode>(
        "mode", listener.mode,
        {{"proxy", ListenerConfig::Mode::proxy}, {"authorize", ListenerConfig::Mode::authorize}});
    if (map->has("authorize") && listener.mode != ListenerConfig::Mode::authorize)
      ctx.diag.error(map->get("authorize").mark,
                     "listener authorize settings need mode: authorize");
    if (listener.mode == ListenerConfig::Mode::authorize)
      parse_authorize(map->get("authorize"), listener.authorize, ctx);
    parse_listener_tls(map->get("tls"), listener.tls, ctx);
    // Port 0 asks the kernel for a free port each time, so only fixed ports can clash.
    if (listener.port != 0 && !seen.emplace(listener.address, listener.port).second) {
      ctx.diag.error(item.mark, "listener " + listener.address + ":" +
                                    std::to_string(listener.port) + " is declared twice");
    }
    ctx.config.listeners.push_back(std::move(listener));
  }
}

void parse_admin(const YamlValue& value, ParseContext& ctx) {
  auto map =
      YamlMap::open(value, {"address", "port", "enabled", "token_env", "token_file"}, ctx.diag);
  if (!map) return;
  AdminConfig& admin = ctx.config.admin;
  ctx.admin_mark = value.mark;
  const bool address_ok = read_ip_address(*map, "address", admin.address);
  map->read_integer("port", admin.port);
  map->read("enabled", admin.enabled);
  read_env_var_name(*map, "token_env", admin.token_env);
  map->read("token_file", admin.token_file);

  // Anyone who can reach the management API can mint keys: off the host it needs a token.
  const bool has_token = !admin.token_env.empty() || !admin.token_file.empty();
  if (admin.enabled && address_ok && !has_token && !is_loopback_address(admin.address)) {
    SourceMark where = map->has("address") ? map->get("address").mark : map->mark();
    ctx.diag.error(where, "the management API refuses to listen on a non-loopback address (" +
                              admin.address +
                              ") without an admin token: set admin token_env or token_file");
  }
}

void parse_limits(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(
      value,
      {"max_header", "max_body", "client_header_timeout", "idle_timeout", "body_timeout",
       "drain_timeout", "max_connections", "min_body_rate", "shutdown_delay"},
      ctx.diag);
  if (!map) return;
  LimitsConfig& limits = ctx.config.limits;
  std::size_t max_header = limits.max_header_bytes;
  if (map->read_size("max_header", max_header)) {
    if (max_header < kMinHeaderBytes || max_header > kMaxHeaderBytes) {
      ctx.diag.error(map->get("max_header").mark,
                     "limits max_header must be between 1KiB and 1MiB, got " +
                         std::to_string(max_header) + " bytes");
    } else {
      limits.max_header_bytes = max_header;
    }
  }
  map->read_size("max_body", limits.max_body_bytes);
  map->read_duration("client_header_timeout", limits.client_header_timeout);
  map->read_duration("idle_timeout", limits.idle_timeout);
  map->read_duration("body_timeout", limits.body_timeout);
  map->read_duration("drain_timeout", limits.drain_timeout, ZeroDuration::allowed);
  map->read_integer("max_connections", limits.max_connections, 1);
  map->read_size("min_body_rate", limits.min_body_rate);
  map->read_duration("shutdown_delay", limits.shutdown_delay, ZeroDuration::allowed);
}

void parse_http(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(
      value, {"normalize_path", "merge_slashes", "escaped_slashes", "headers_with_underscores"},
      ctx.diag);
  if (!map) return;
  HttpConfig& http = ctx.config.http;
  map->read("normalize_path", http.normalize_path);
  map->read("merge_slashes", http.merge_slashes);
  map->read_enum<HttpConfig::EscapedSlashes>(
      "escaped_slashes", http.escaped_slashes,
      {{"reject", HttpConfig::EscapedSlashes::reject}, {"keep", HttpConfig::EscapedSlashes::keep}});
  map->read_enum<HttpConfig::Underscores>("headers_with_underscores", http.headers_with_underscores,
                                          {{"drop", HttpConfig::Underscores::drop},
                                           {"reject", HttpConfig::Underscores::reject},
                                           {"allow", HttpConfig::Underscores::allow}});
}

void parse_readiness(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"require_store"}, ctx.diag);
  if (!map) return;
  map->read("require_store", ctx.config.readiness.require_store);
}

void parse_access_log(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"enabled", "path"}, ctx.diag);
  if (!map) return;
  map->read("enabled", ctx.config.access_log.enabled);
  std::string path;
  if (!map->read("path", path)) return;
  if (path.empty()) {
    ctx.diag.error(map->get("path").mark,
                   "access_log path must be stdout, stderr or a file path, got ''");
    return;
  }
  ctx.config.access_log.path = std::move(path);
}

void parse_identity_headers(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(
      value, {"key_id", "org", "environment", "key_type", "scopes", "plan", "client_cert_subject"},
      ctx.diag);
  if (!map) return;
  IdentityHeadersConfig& headers = ctx.config.identity_headers;
  const std::pair<std::string_view, std::string*> fields[] = {
      {"key_id", &headers.key_id},
      {"org", &headers.org},
      {"environment", &headers.environment},
      {"key_type", &headers.key_type},
      {"scopes", &headers.scopes},
      {"plan", &headers.plan},
      {"client_cert_subject", &headers.client_cert_subject},
  };
  for (const auto& [key, out] : fields) {
    std::string name;
    if (!map->read(key, name)) continue;
    if (!is_http_token(name)) {
      ctx.diag.error(map->get(key).mark,
                     map->get(key).label + " must be a header name, got '" + name + "'");
      continue;
    }
    *out = std::move(name);
  }
}

}  // namespace keygate::conf
