// One parser per top-level section of the YAML file. Each fills its part of
// ParseContext::config, reports what is wrong with it, and records the names it defines
// and uses; checks that span sections run afterwards (config_checks.h).
#pragma once

#include "conf/parse_context.h"
#include "conf/yaml_value.h"

namespace keygate::conf {

// A list of names defined elsewhere (policies, environments, ...): each one is recorded as a
// use by `user` so a missing definition is reported at the item. True when it is a list of
// strings, then stored in `out`.
bool read_names(const YamlValue& value, NameKind kind, const std::string& user,
                std::vector<std::string>& out, ParseContext& ctx);

// The whole file: a map of the sections below.
void parse_document(const YAML::Node& root, ParseContext& ctx);

// threads, listeners, admin, limits, access_log, identity_headers
void parse_threads(const YamlValue& value, ParseContext& ctx);
void parse_listeners(const YamlValue& value, ParseContext& ctx);
void parse_admin(const YamlValue& value, ParseContext& ctx);
void parse_limits(const YamlValue& value, ParseContext& ctx);
void parse_http(const YamlValue& value, ParseContext& ctx);
void parse_access_log(const YamlValue& value, ParseContext& ctx);
void parse_identity_headers(const YamlValue& value, ParseContext& ctx);
void parse_readiness(const YamlValue& value, ParseContext& ctx);

void parse_upstreams(const YamlValue& value, ParseContext& ctx);
void parse_routes(const YamlValue& value, ParseContext& ctx);

void parse_keys(const YamlValue& value, ParseContext& ctx);

void parse_cache(const YamlValue& value, ParseContext& ctx);
void parse_store(const YamlValue& value, ParseContext& ctx);

void parse_rate_limits(const YamlValue& value, ParseContext& ctx);

// The tls sections (parse_tls.cc): listeners[].tls, upstreams[].tls, store redis tls.
void parse_listener_tls(const YamlValue& value, ListenerTlsConfig& tls, ParseContext& ctx);
void parse_upstream_tls(const YamlValue& value, UpstreamConfig& upstream, ParseContext& ctx);
void parse_redis_tls(const YamlValue& value, ParseContext& ctx);
// A route that needs a client certificate needs a listener that asks for one.
void check_route_mtls(const Config& config, Diagnostics& diag);
void parse_usage(const YamlValue& value, ParseContext& ctx);

}  // namespace keygate::conf
