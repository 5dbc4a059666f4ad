// Shared pieces of the management-API and usage integration tests: a configuration with an
// admin token, a small client for the API, CLI helpers, and a guard that fails the test if
// any raw key it handled shows up in keygate's captured logs.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {

inline const std::string kAdminToken = "test-admin-token-5b7e2c91d04f";

// threads: 2, loopback listeners, the admin token in admin.token, fast usage flushes, and
// routes: /ok/ and /status/ (any key), /admin-only/ (scope admin), all with a generous
// per-key policy so rate-limit decisions show up in /metrics.
inline std::string usage_config(std::uint16_t upstream_port, const std::string& store,
                                const std::string& usage =
                                    "{flush_interval: 100ms, "
                                    "last_used_interval: 1s}",
                                bool with_token = true) {
  return std::string("threads: 2\n") + "listeners: [{address: 127.0.0.1, port: 0}]\n" +
         "admin: {address: 127.0.0.1, port: 0" + (with_token ? ", token_file: admin.token" : "") +
         "}\n" +
         "upstreams:\n  - {name: api, url: \"http://127.0.0.1:" + std::to_string(upstream_port) +
         "\"}\n" +
         R"(routes:
  - {name: ok, match: {path_prefix: /ok/}, upstream: api, rate_limits: [per-key]}
  - {name: status, match: {path_prefix: /status/}, upstream: api, rate_limits: [per-key]}
  - name: admin-only
    match: {path_prefix: /admin-only/}
    upstream: api
    auth: {scopes_all: [admin]}
rate_limits:
  policies:
    - {name: per-key, per: key, limit: 100000, window: 60s}
keys:
  plans:
    - {name: free, max_keys: 1, monthly_quota: 100}
    - {name: starter, max_keys: 2, monthly_quota: 1000}
    - {name: growth, max_keys: 5, monthly_quota: 30000}
    - {name: enterprise, max_keys: unlimited}
  default_plan: growth
cache: {positive_ttl: 30s, negative_ttl: 100ms, stale_grace: 5m}
usage: )" +
         usage + "\n" + store;
}

inline const std::string kFileStoreYaml = "store: {kind: file, file: keys.json}\n";

inline std::string redis_store_yaml(std::uint16_t port) {
  return "store: {kind: redis, redis: {host: 127.0.0.1, port: " + std::to_string(port) +
         ", command_timeout: 1s, reconnect_min: 50ms, reconnect_max: 500ms}}\n";
}

inline KeygateOptions options_with_token() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  options.files.push_back({"admin.token", kAdminToken + "\n"});
  return options;
}

inline boost::json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) ADD_FAILURE() << "not JSON: " << text;
  return value;
}

class AdminClient {
 public:
  explicit AdminClient(std::uint16_t port) : port_(port) {}
  HttpResponse call(std::string_view method, const std::string& path, const std::string& body = {},
                    std::optional<std::string> token = kAdminToken) const {
    HeaderList headers;
    if (token) headers.push_back({"Authorization", "Bearer " + *token});
    if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
    return http_request(port_, method, path, headers, body);
  }
  boost::json::object json(std::string_view method, const std::string& path,
                           const std::string& body = {}, int expect = 200) const {
    HttpResponse res = call(method, path, body);
    EXPECT_EQ(res.status, expect) << method << " " << path << ": " << res.body << res.error;
    boost::json::value value = parse_json(res.body);
    return value.is_object() ? value.as_object() : boost::json::object();
  }

 private:
  std::uint16_t port_;
};

// Polls `probe` until it returns true or the deadline passes.
template <class Probe>
bool eventually(Probe probe, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!probe()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// `keygate <args...> --config <path>` (the option goes after the subcommand words).
inline CliResult cli(const std::string& config_path, std::vector<std::string> args) {
  args.insert(args.begin() + 2, {"--config", config_path});
  return run_keygate_cli(args);
}

// Remembers every raw key a test handled and checks none reached the logs.
class RawKeyGuard {
 public:
  void add(const std::string& raw_key) {
    if (!raw_key.empty()) keys_.push_back(raw_key);
  }
  void expect_absent(const std::string& what, const std::string& text) const {
    for (const std::string& key : keys_)
      EXPECT_EQ(text.find(key), std::string::npos) << "raw key found in " << what;
    // The long random part alone, in case something split or re-encoded the key.
    for (const std::string& key : keys_)
      EXPECT_EQ(text.find(key.substr(key.size() - 24)), std::string::npos)
          << "raw key tail found in " << what;
  }
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<std::string> keys_;
};

}  // namespace keygate::testing
