#include "proxy/restart_settings.h"

#include <algorithm>
#include <tuple>

namespace keygate::proxy {
namespace {

auto fields(const conf::ListenerConfig& l) {
  return std::tie(l.address, l.port);
}
// Every TLS setting but the certificates' contents, which reload from the same files (the
// listener's TLS context is made once, with these paths and protocol settings).
auto fields(const conf::TlsCertificateConfig& c) {
  return std::tie(c.server_names, c.cert_file, c.key_file);
}
auto fields(const conf::ListenerTlsConfig& t) {
  return std::tie(t.enabled, t.cert_file, t.key_file, t.min_version, t.ciphers, t.ciphersuites,
                  t.alpn, t.client_ca_file, t.require_client_cert, t.handshake_timeout,
                  t.max_handshakes);
}
auto fields(const conf::AdminConfig& a) {
  return std::tie(a.address, a.port, a.enabled, a.token_env, a.token_file);
}
auto fields(const conf::AccessLogConfig& a) {
  return std::tie(a.enabled, a.path);
}
auto fields(const conf::CacheConfig& c) {
  return std::tie(c.positive_ttl, c.negative_ttl, c.max_entries, c.max_negative_entries,
                  c.stale_grace);
}
auto fields(const conf::RedisConfig& r) {
  return std::tie(r.host, r.port, r.password_env, r.database, r.command_timeout, r.limiter_timeout,
                  r.limiter_batch, r.connect_timeout, r.reconnect_min, r.reconnect_max,
                  r.key_prefix);
}
auto fields(const conf::UsageConfig& u) {
  return std::tie(u.enabled, u.flush_interval, u.last_used_interval);
}

bool same_listeners(const conf::Config& a, const conf::Config& b) {
  if (a.listeners.size() != b.listeners.size()) return false;
  for (std::size_t i = 0; i < a.listeners.size(); ++i)
    if (fields(a.listeners[i]) != fields(b.listeners[i])) return false;
  return true;
}

bool same_listener_tls(const conf::Config& a, const conf::Config& b) {
  const auto n = std::min(a.listeners.size(), b.listeners.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto& x = a.listeners[i].tls;
    const auto& y = b.listeners[i].tls;
    if (fields(x) != fields(y) || x.certificates.size() != y.certificates.size()) return false;
    for (std::size_t c = 0; c < x.certificates.size(); ++c)
      if (fields(x.certificates[c]) != fields(y.certificates[c])) return false;
  }
  return true;
}

bool same_store(const conf::StoreConfig& a, const conf::StoreConfig& b) {
  return a.kind == b.kind && a.file_path == b.file_path && a.redis_enabled == b.redis_enabled &&
         fields(a.redis) == fields(b.redis);
}

}  // namespace

std::vector<std::string> settings_needing_restart(const conf::Config& running,
                                                  const conf::Config& loaded) {
  std::vector<std::string> out;
  // In the order of the configuration reference.
  if (running.threads != loaded.threads) out.emplace_back("threads");
  if (!same_listeners(running, loaded)) out.emplace_back("listeners");
  if (!same_listener_tls(running, loaded)) out.emplace_back("listeners.tls");
  if (fields(running.admin) != fields(loaded.admin)) out.emplace_back("admin");
  if (fields(running.access_log) != fields(loaded.access_log)) out.emplace_back("access_log");
  if (running.keys.hash != loaded.keys.hash || running.keys.pepper_env != loaded.keys.pepper_env ||
      running.keys.pepper_file != loaded.keys.pepper_file)
    out.emplace_back("keys.hash");  // and its pepper: every stored hash depends on it
  if (fields(running.cache) != fields(loaded.cache)) out.emplace_back("cache");
  if (!same_store(running.store, loaded.store)) out.emplace_back("store");
  const auto& a = running.rate_limits;
  const auto& b = loaded.rate_limits;
  if (a.replica_count != b.replica_count) out.emplace_back("rate_limits.replica_count");
  if (a.breaker_open_for != b.breaker_open_for || a.breaker_failures != b.breaker_failures)
    out.emplace_back("rate_limits.breaker");
  if (fields(running.usage) != fields(loaded.usage)) out.emplace_back("usage");
  return out;
}

}  // namespace keygate::proxy
