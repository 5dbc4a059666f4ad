// /readyz during a Redis outage, with a real redis-server stopped and started again: a replica
// that can still serve (cached keys within stale grace, fail-open limits) stays ready unless
// readiness.require_store, so an outage of the shared store does not take the whole fleet out
// of its Service; the outage and the recovery are logged once each, not per request.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string config(std::uint16_t upstream_port, std::uint16_t redis_port,
                   const std::string& readiness) {
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams: [{name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}]
routes:
  - {name: keyed, match: {path_prefix: /}, upstream: api, rate_limits: [per-key]}
rate_limits:
  policies: [{name: per-key, per: key, limit: 100000, window: 1m}]
cache: {positive_ttl: 1s, stale_grace: 5m}
access_log: {enabled: false}
limits: {shutdown_delay: 0s}
store: {kind: redis, redis: {host: 127.0.0.1, port: )" +
         std::to_string(redis_port) +
         R"(, command_timeout: 200ms, reconnect_min: 50ms, reconnect_max: 300ms}}
)" + readiness;
}

std::string create_key(const std::string& config_path) {
  auto result = run_keygate_cli({"keys", "create", "--config", config_path, "--org", "acme",
                                 "--name", "k", "--env", "live", "--type", "secret"});
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  std::smatch match;
  static const std::regex kKey(R"(\b([a-z]{2}_[a-z]+_[0-9A-Za-z]{40})\b)");
  if (!std::regex_search(result.stdout_text, match, kKey)) return {};
  return match[1];
}

HttpResponse get_with_key(std::uint16_t port, const std::string& key) {
  return http_get(port, "/x", {{"Authorization", "Bearer " + key}});
}

// Polls /readyz until its body contains `needle`; the last answer.
HttpResponse wait_readyz(std::uint16_t admin, const std::string& needle,
                         std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  HttpResponse res;
  do {
    res = http_get(admin, "/readyz");
    if (res.body.find(needle) != std::string::npos) return res;
    std::this_thread::sleep_for(20ms);
  } while (Clock::now() < deadline);
  return res;
}

TEST(Readiness, ARedisOutageKeepsAReplicaThatCanServeReadyAndIsLoggedOnceEachWay) {
  RedisServer redis;
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), redis.port(), ""));
  const auto key = create_key(keygate.config_path());
  ASSERT_EQ(get_with_key(keygate.proxy_port(), key).status, 200);
  auto ready = http_get(keygate.admin_port(), "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find(R"("store":"reachable")"), std::string::npos) << ready.body;

  const auto mark = keygate.stderr_mark();
  redis.stop();
  auto during = wait_readyz(keygate.admin_port(), R"("store":"unreachable")");
  EXPECT_EQ(during.status, 200) << during.body;
  EXPECT_NE(during.body.find(R"("status":"ready")"), std::string::npos) << during.body;
  EXPECT_NE(during.body.find("store_outage_seconds"), std::string::npos) << during.body;
  // Many requests in the outage (served from the cache), still one log line.
  for (int i = 0; i < 50; ++i) EXPECT_EQ(get_with_key(keygate.proxy_port(), key).status, 200);
  ASSERT_TRUE(keygate.wait_for_log("store unreachable", 5s, mark));
  auto metrics = http_get(keygate.admin_port(), "/metrics");
  EXPECT_NE(metrics.body.find("keygate_store_reachable 0"), std::string::npos);

  std::this_thread::sleep_for(300ms);  // an outage of a known minimum length, for its duration
  redis.start();
  auto after = wait_readyz(keygate.admin_port(), R"("store":"reachable")", 15s);
  EXPECT_EQ(after.status, 200) << after.body;
  ASSERT_TRUE(keygate.wait_for_log("store reachable again", 5s, mark));
  EXPECT_EQ(keygate.log_lines("store unreachable", mark).size(), 1u);
  const auto recovered = keygate.log_lines("store reachable again", mark);
  ASSERT_EQ(recovered.size(), 1u);
  std::smatch seconds;
  ASSERT_TRUE(std::regex_search(recovered[0], seconds,
                                std::regex(R"re("outage_seconds":([0-9]+(\.[0-9]+)?))re")))
      << recovered[0];
  EXPECT_GE(std::stod(seconds[1]), 0.3) << recovered[0];
  metrics = http_get(keygate.admin_port(), "/metrics");
  EXPECT_NE(metrics.body.find("keygate_store_reachable 1"), std::string::npos);
}

TEST(Readiness, RequireStoreTakesTheReplicaOutDuringAnOutageAndBackAfter) {
  RedisServer redis;
  EchoUpstream upstream;
  KeygateProcess keygate(
      config(upstream.port(), redis.port(), "readiness: {require_store: true}\n"));
  // Ready once the store was reached, which on a loaded machine may follow "ready" in the log.
  EXPECT_EQ(wait_readyz(keygate.admin_port(), R"("status":"ready")", 15s).status, 200);
  redis.kill();
  auto during = wait_readyz(keygate.admin_port(), "not_ready");
  EXPECT_EQ(during.status, 503) << during.body;
  EXPECT_NE(during.body.find("readiness.require_store"), std::string::npos) << during.body;
  redis.start();
  auto after = wait_readyz(keygate.admin_port(), R"("status":"ready")", 15s);
  EXPECT_EQ(after.status, 200) << after.body;
}

TEST(Readiness, NotReadyUntilTheStoreWasReachedOnce) {
  RedisServer redis;
  redis.stop();
  EchoUpstream upstream;
  KeygateOptions options;
  options.wait_ready = false;  // "ready" in the log is the process; /readyz is the store too
  KeygateProcess keygate(config(upstream.port(), redis.port(), ""), options);
  ASSERT_TRUE(keygate.wait_ready());
  auto res = http_get(keygate.admin_port(), "/readyz");
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_NE(res.body.find("not reached since start"), std::string::npos) << res.body;
  // Start-up is not an outage.
  EXPECT_TRUE(keygate.log_lines("store unreachable").empty());
  redis.start();
  EXPECT_EQ(wait_readyz(keygate.admin_port(), R"("status":"ready")", 15s).status, 200);
}

}  // namespace
}  // namespace keygate::testing
