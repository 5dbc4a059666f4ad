// The tls sections of listeners and upstreams, and the checks that tie them to routes.
// Files are only named here; they are read (and their errors reported) when the process
// starts or reloads them, since a Secret mounted later is normal in Kubernetes.
#include <utility>

#include "conf/section_parsers.h"
#include "conf/text_checks.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

void read_min_version(const YamlMap& map, TlsVersion& out) {
  map.read_enum<TlsVersion>("min_version", out,
                            {{"1.2", TlsVersion::tls1_2}, {"1.3", TlsVersion::tls1_3}});
}

// A file path that must not be empty when given.
bool read_path(const YamlMap& map, std::string_view key, std::string& out) {
  if (!map.read(key, out)) return false;
  if (out.empty()) {
    map.diag().error(map.get(key).mark, map.get(key).label + " must not be empty");
    return false;
  }
  return true;
}

// cert_file and key_file come as a pair; `required` when the pair is mandatory here.
void read_pair(const YamlMap& map, std::string& cert, std::string& key, bool required) {
  const bool has_cert = read_path(map, "cert_file", cert);
  const bool has_key = read_path(map, "key_file", key);
  if (required) {
    if (!map.has("cert_file")) map.require("cert_file");
    if (!map.has("key_file")) map.require("key_file");
    return;
  }
  if (has_cert && !map.has("key_file"))
    map.diag().error(map.get("cert_file").mark, map.label() + " cert_file needs key_file too");
  if (has_key && !map.has("cert_file"))
    map.diag().error(map.get("key_file").mark, map.label() + " key_file needs cert_file too");
}

// "api.example.com" or "*.example.com" (one label).
bool is_server_name(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  return !name.empty() && name.find('*') == std::string_view::npos && is_host_name(name);
}

void parse_certificate(const YamlValue& item, ListenerTlsConfig& tls, ParseContext& ctx) {
  auto map = YamlMap::open(item, {"server_names", "cert_file", "key_file"}, ctx.diag);
  if (!map) return;
  TlsCertificateConfig certificate;
  read_pair(*map, certificate.cert_file, certificate.key_file, true);
  if (map->require("server_names") && map->read("server_names", certificate.server_names)) {
    const SourceMark mark = map->get("server_names").mark;
    if (certificate.server_names.empty())
      ctx.diag.error(mark, map->get("server_names").label + " must not be empty");
    for (std::string& name : certificate.server_names) {
      if (!is_server_name(name))
        ctx.diag.error(mark, map->get("server_names").label + " '" + name +
                                 "' is not a host name (or *.domain)");
      name = to_lower(name);
    }
  }
  tls.certificates.push_back(std::move(certificate));
}

}  // namespace

void parse_listener_tls(const YamlValue& value, ListenerTlsConfig& tls, ParseContext& ctx) {
  if (!value.present()) return;
  auto map = YamlMap::open(
      value,
      {"cert_file", "key_file", "certificates", "min_version", "ciphers", "ciphersuites", "alpn",
       "client_ca_file", "require_client_cert", "handshake_timeout", "max_handshakes"},
      ctx.diag);
  if (!map) return;
  tls.enabled = true;
  read_pair(*map, tls.cert_file, tls.key_file, true);
  for (const YamlValue& item :
       read_list(map->get("certificates"), "listener tls certificate", ctx.diag))
    parse_certificate(item, tls, ctx);
  read_min_version(*map, tls.min_version);
  map->read("ciphers", tls.ciphers);
  map->read("ciphersuites", tls.ciphersuites);
  if (map->read("alpn", tls.alpn)) {
    for (const std::string& protocol : tls.alpn) {
      if (protocol != "http/1.1" && protocol != "http/1.0")
        ctx.diag.error(map->get("alpn").mark, "listener tls alpn '" + protocol +
                                                  "' is not supported: keygate speaks http/1.1 "
                                                  "and http/1.0");
    }
  }
  read_path(*map, "client_ca_file", tls.client_ca_file);
  if (map->read("require_client_cert", tls.require_client_cert) && tls.require_client_cert &&
      tls.client_ca_file.empty()) {
    ctx.diag.error(map->get("require_client_cert").mark,
                   "listener tls require_client_cert needs client_ca_file: the CAs that sign "
                   "the client certificates");
  }
  map->read_duration("handshake_timeout", tls.handshake_timeout);
  map->read_integer("max_handshakes", tls.max_handshakes, 1);
}

void parse_upstream_tls(const YamlValue& value, UpstreamConfig& upstream, ParseContext& ctx) {
  if (!value.present()) return;
  auto map = YamlMap::open(
      value,
      {"ca_file", "server_name", "insecure_skip_verify", "cert_file", "key_file", "min_version"},
      ctx.diag);
  if (!map) return;
  UpstreamTlsConfig& tls = upstream.tls;
  if (!tls.enabled && !upstream.host.empty())  // the url parsed, as http://
    ctx.diag.error(map->mark(),
                   "upstream tls is only used with an https:// url, got '" + upstream.url + "'");
  read_path(*map, "ca_file", tls.ca_file);
  if (map->read("server_name", tls.server_name)) {
    if (!is_host_name(tls.server_name))
      ctx.diag.error(map->get("server_name").mark,
                     "upstream tls server_name must be a host name, got '" + tls.server_name + "'");
    tls.server_name = to_lower(tls.server_name);
  }
  map->read("insecure_skip_verify", tls.insecure_skip_verify);
  if (tls.insecure_skip_verify && map->has("ca_file"))
    ctx.diag.error(map->get("ca_file").mark,
                   "upstream tls ca_file has no effect with insecure_skip_verify: true");
  read_pair(*map, tls.cert_file, tls.key_file, false);
  read_min_version(*map, tls.min_version);
}

void parse_redis_tls(const YamlValue& value, ParseContext& ctx) {
  auto tls = read_bool(value, ctx.diag);
  if (!tls || !*tls) return;
  ctx.diag.error(value.mark,
                 "store redis tls: true is not supported: hiredis 0.14 (Debian bookworm) has no "
                 "TLS, and keygate will not connect in clear instead; reach a TLS-only Redis "
                 "through a local TLS tunnel such as an stunnel sidecar and point host and port "
                 "at it (docs/tls.md)");
}

void check_route_mtls(const Config& config, Diagnostics& diag) {
  bool asks_for_client_certs = false;
  for (const ListenerConfig& listener : config.listeners)
    asks_for_client_certs |= listener.tls.enabled && !listener.tls.client_ca_file.empty();
  if (asks_for_client_certs) return;
  for (const RouteConfig& route : config.routes) {
    if (!route.auth.mtls_required) continue;
    diag.error(route.mark, "route '" + route.name +
                               "' has auth mtls: required, but no listener asks for client "
                               "certificates (set listeners tls client_ca_file)");
  }
}

}  // namespace keygate::conf
