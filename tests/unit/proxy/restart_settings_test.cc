// Which changed settings a reload reports as needing a restart, and that live ones are not.
#include "proxy/restart_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "conf/config_loader.h"

namespace keygate::proxy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kBase = R"(upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
)";

conf::Config load(const std::string& extra,
                  const std::string& store = "store: {kind: file, file: keys.json}\n") {
  auto result = conf::load_config_string(kBase + extra + store, "t.yaml", "/etc/keygate");
  EXPECT_TRUE(result.ok());
  return result.ok() ? *result.config : conf::Config{};
}

std::vector<std::string> diff(const std::string& before, const std::string& after) {
  return settings_needing_restart(load(before), load(after));
}

TEST(RestartSettings, LiveSettingsNeedNoRestart) {
  EXPECT_THAT(diff("",
                   "limits: {max_body: 1MiB, shutdown_delay: 1s}\n"
                   "rate_limits: {policies: [{name: p, limit: 5, window: 1s}]}\n"
                   "identity_headers: {org: X-Org}\nreadiness: {require_store: true}\n"),
              IsEmpty());
}

TEST(RestartSettings, EachRestartSettingIsNamed) {
  EXPECT_THAT(diff("", "threads: 3\n"), ElementsAre("threads"));
  EXPECT_THAT(diff("", "listeners: [{address: 127.0.0.1, port: 8080}]\n"),
              ElementsAre("listeners"));
  EXPECT_THAT(diff("", "admin: {port: 9191}\n"), ElementsAre("admin"));
  EXPECT_THAT(diff("", "access_log: {path: stderr}\n"), ElementsAre("access_log"));
  EXPECT_THAT(diff("", "cache: {positive_ttl: 1s}\n"), ElementsAre("cache"));
  EXPECT_THAT(diff("", "usage: {enabled: false}\n"), ElementsAre("usage"));
  EXPECT_THAT(diff("", "rate_limits: {replica_count: 4}\n"),
              ElementsAre("rate_limits.replica_count"));
  EXPECT_THAT(diff("", "rate_limits: {breaker: {failures: 9}}\n"),
              ElementsAre("rate_limits.breaker"));
  EXPECT_THAT(diff("", "keys: {hash: hmac-sha256, pepper_env: PEPPER}\n"),
              ElementsAre("keys.hash"));
}

TEST(RestartSettings, TheStoreIsOneSetting) {
  const auto file = load("");
  const auto redis = load("", "store: {kind: redis, redis: {host: 127.0.0.1}}\n");
  const auto other_redis = load("", "store: {kind: redis, redis: {host: 127.0.0.2}}\n");
  EXPECT_THAT(settings_needing_restart(file, redis), ElementsAre("store"));
  EXPECT_THAT(settings_needing_restart(redis, other_redis), ElementsAre("store"));
  EXPECT_THAT(settings_needing_restart(redis, redis), IsEmpty());
}

// A TLS listener: its settings are made into a context once, at start; the certificates'
// contents reload from the same files without a restart.
std::string tls_listener(const std::string& tls) {
  return "listeners: [{address: 127.0.0.1, port: 8443, tls: {cert_file: tls.crt, key_file: "
         "tls.key" +
         tls + "}}]\n";
}

TEST(RestartSettings, ListenerTlsSettingsNeedARestart) {
  const std::string base = tls_listener("");
  EXPECT_THAT(diff(base, base), IsEmpty());
  for (const std::string tls :
       {", min_version: \"1.3\"", ", ciphers: ECDHE-RSA-AES128-GCM-SHA256",
        ", ciphersuites: TLS_AES_128_GCM_SHA256", ", alpn: [http/1.0]", ", client_ca_file: ca.pem",
        ", client_ca_file: ca.pem, require_client_cert: true", ", handshake_timeout: 1s",
        ", max_handshakes: 7",
        ", certificates: [{server_names: [a.test], cert_file: a.crt, key_file: a.key}]"}) {
    EXPECT_THAT(diff(base, tls_listener(tls)), ElementsAre("listeners.tls")) << tls;
  }
  // Other files are other paths in the context made at start.
  EXPECT_THAT(diff(base,
                   "listeners: [{address: 127.0.0.1, port: 8443, tls: {cert_file: new.crt, "
                   "key_file: new.key}}]\n"),
              ElementsAre("listeners.tls"));
  // TLS on a listener that had none, and the reverse.
  EXPECT_THAT(diff("listeners: [{address: 127.0.0.1, port: 8443}]\n", base),
              ElementsAre("listeners.tls"));
  EXPECT_THAT(diff(base, "listeners: [{address: 127.0.0.1, port: 8443}]\n"),
              ElementsAre("listeners.tls"));
}

TEST(RestartSettings, UpstreamTlsSettingsApplyOnReload) {
  // The pools of a changed upstream are rebuilt by the reload (Worker::apply_snapshot).
  const std::string routes =
      "routes: [{name: all, match: {path_prefix: /}, upstream: secure}]\n"
      "store: {kind: file, file: keys.json}\n";
  auto load_upstream = [&](const std::string& tls) {
    auto result = conf::load_config_string(
        "upstreams: [{name: secure, url: \"https://127.0.0.1:8443\", tls: {" + tls + "}}]\n" +
            routes,
        "t.yaml", "/etc/keygate");
    EXPECT_TRUE(result.ok());
    return result.ok() ? *result.config : conf::Config{};
  };
  EXPECT_THAT(settings_needing_restart(load_upstream("ca_file: a.pem"),
                                       load_upstream("ca_file: b.pem, server_name: api.test, "
                                                     "min_version: \"1.3\"")),
              IsEmpty());
}

TEST(RestartSettings, SeveralAtOnceInReferenceOrder) {
  EXPECT_THAT(diff("", "usage: {enabled: false}\nthreads: 2\nadmin: {port: 1}\n"),
              ElementsAre("threads", "admin", "usage"));
}

}  // namespace
}  // namespace keygate::proxy
