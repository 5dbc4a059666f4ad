// Rate limits and quotas over real sockets: the real keygate binary (one or four of them),
// a real upstream and a real redis-server.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "tests/integration/fleet_load.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string config(std::uint16_t upstream_port, const std::string& store,
                   const std::string& failure_mode = "fail_open") {
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams:
  - {name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}
routes:
  - {name: fixed, match: {path_prefix: /fixed/}, upstream: api, rate_limits: [fixed-50], rate_limit_failure: )" +
         failure_mode + R"(}
  - {name: bucket, match: {path_prefix: /bucket/}, upstream: api, rate_limits: [bucket-40]}
  - {name: sliding, match: {path_prefix: /sliding/}, upstream: api, rate_limits: [sliding-30]}
  - {name: small, match: {path_prefix: /small/}, upstream: api, rate_limits: [key-3]}
  - {name: tiny-window, match: {path_prefix: /tick/}, upstream: api, rate_limits: [one-per-2s]}
  - {name: closed, match: {path_prefix: /closed/}, upstream: api, rate_limits: [fixed-50], rate_limit_failure: fail_closed}
  - {name: local, match: {path_prefix: /local/}, upstream: api, rate_limits: [key-3], rate_limit_failure: local}
  - {name: anon, match: {path_prefix: /anon/}, upstream: api, auth: none, rate_limits: [ip-2]}
  - {name: leased, match: {path_prefix: /leased/}, upstream: api, rate_limits: [leased-1000]}
keys:
  plans:
    - {name: enterprise, max_keys: unlimited}
    - {name: quota5, max_keys: unlimited, monthly_quota: 5}
  default_plan: enterprise
usage: {enabled: false}   # its flushes would show up in the round-trip count
rate_limits:
  draft_headers: true
  replica_count: 1
  breaker: {failures: 3, open_for: 500ms}
  policies:
    - {name: fixed-50, per: key, algorithm: fixed_window, limit: 50, window: 1h}
    - {name: bucket-40, per: key, algorithm: token_bucket, limit: 40, window: 1h}
    - {name: sliding-30, per: key, algorithm: sliding_window, limit: 30, window: 1h}
    - {name: key-3, per: key, algorithm: fixed_window, limit: 3, window: 1h}
    - {name: one-per-2s, per: key, algorithm: fixed_window, limit: 1, window: 2s}
    - {name: ip-2, per: client_ip, algorithm: fixed_window, limit: 2, window: 1h}
    - {name: leased-1000, per: key, algorithm: fixed_window, limit: 1000, window: 1h, lease: 20}
)" + store;
}

std::string redis_store(std::uint16_t port) {
  return "store: {kind: redis, redis: {host: 127.0.0.1, port: " + std::to_string(port) +
         ", command_timeout: 200ms, limiter_timeout: 50ms, reconnect_min: 50ms, reconnect_max: "
         "300ms}}\n";
}

std::string create_key(const std::string& config_path, const std::string& org,
                       const std::string& name) {
  auto result = run_keygate_cli({"keys", "create", "--config", config_path, "--org", org, "--name",
                                 name, "--env", "live", "--type", "secret"});
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  std::smatch match;
  if (!std::regex_search(result.stdout_text, match, std::regex(R"(\b(sk_live_[0-9A-Za-z]{40})\b)")))
    ADD_FAILURE() << result.stdout_text;
  return match.size() > 1 ? std::string(match[1]) : std::string();
}

// Round trips: Redis counts the commands a script runs too (GET, INCR, ... inside EVALSHA),
// so the rate-limit round trips are the EVALSHA calls.
int evalsha_calls(RedisServer& redis) {
  const auto info = redis.command({"INFO", "commandstats"}).str;
  std::smatch match;
  if (!std::regex_search(info, match, std::regex(R"(cmdstat_evalsha:calls=(\d+))"))) return 0;
  return std::stoi(match[1]);
}

// Calls of a plain command (`name` in lower case), as sent by keygate and as run by scripts.
int command_calls(RedisServer& redis, const std::string& name) {
  const auto info = redis.command({"INFO", "commandstats"}).str;
  std::smatch match;
  if (!std::regex_search(info, match, std::regex("cmdstat_" + name + R"(:calls=(\d+))"))) return 0;
  return std::stoi(match[1]);
}

HttpResponse call(std::uint16_t port, const std::string& target, const std::string& key) {
  return http_get(port, target, {{"Authorization", "Bearer " + key}});
}

TEST(RateLimitHeaders, HeadersAnd429BodyOnTheEmbeddedStore) {
  EchoUpstream upstream;
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  KeygateProcess keygate(config(upstream.port(), "store: {kind: file, file: keys.json}\n"),
                         options);
  auto key = create_key(keygate.config_path(), "acme", "k");
  // The file store reloads asynchronously: wait for the key to be known.
  const auto deadline = Clock::now() + 10s;
  HttpResponse first;
  while (Clock::now() < deadline &&
         (first = call(keygate.proxy_port(), "/small/x", key)).status == 401) {
  }
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers.value("x-ratelimit-limit"), "3");
  EXPECT_EQ(first.headers.value("x-ratelimit-remaining"), "2");
  const auto reset = std::stoll(first.headers.value("x-ratelimit-reset"));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_GT(reset, now);
  EXPECT_LE(reset, now + 3600 + 1);
  EXPECT_NE(first.headers.value("ratelimit-policy").find("\"key-3\";q=3;w=3600"), std::string::npos)
      << first.headers.value("ratelimit-policy");
  EXPECT_NE(first.headers.value("ratelimit").find("\"key-3\";r=2;t="), std::string::npos)
      << first.headers.value("ratelimit");

  EXPECT_EQ(call(keygate.proxy_port(), "/small/x", key).headers.value("x-ratelimit-remaining"),
            "1");
  EXPECT_EQ(call(keygate.proxy_port(), "/small/x", key).headers.value("x-ratelimit-remaining"),
            "0");
  auto refused = call(keygate.proxy_port(), "/small/x", key);
  ASSERT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers.value("content-type"), "application/json");
  const auto retry_after = std::stoll(refused.headers.value("retry-after"));
  EXPECT_GT(retry_after, 0);
  EXPECT_LE(retry_after, 3600);
  EXPECT_NE(refused.body.find(R"("type":"rate_limit_error")"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find(R"("code":"rate_limit_exceeded")"), std::string::npos);
  EXPECT_NE(refused.body.find(R"("policy":"key-3")"), std::string::npos);
  EXPECT_NE(refused.body.find("\"retry_after\":" + std::to_string(retry_after)), std::string::npos);
  EXPECT_EQ(upstream.request_count(), 3u);

  // Routes without authentication count per client address.
  EXPECT_EQ(http_get(keygate.proxy_port(), "/anon/a").status, 200);
  EXPECT_EQ(http_get(keygate.proxy_port(), "/anon/b").status, 200);
  EXPECT_EQ(http_get(keygate.proxy_port(), "/anon/c").status, 429);
}

class RedisRateLimitTest : public ::testing::Test {
 protected:
  // Four sidecars on one Redis and a key of org acme, which every worker (connections are
  // dealt round robin) has learnt, with Redis's command counts reset: the round trips counted
  // afterwards are the rate-limit checks alone.
  std::string start_four_sidecars(const std::string& key_name) {
    for (int i = 0; i < 4; ++i)
      sidecars_.push_back(
          std::make_unique<KeygateProcess>(config(upstream_.port(), redis_store(redis_.port()))));
    auto key = create_key(sidecars_[0]->config_path(), "acme", key_name);
    for (const auto& sidecar : sidecars_)
      for (int i = 0; i < 2; ++i)
        EXPECT_NE(call(sidecar->proxy_port(), "/small/x", key).status, 401);
    redis_.command({"CONFIG", "RESETSTAT"});
    return key;
  }

  RedisServer redis_;
  EchoUpstream upstream_;
  std::vector<std::unique_ptr<KeygateProcess>> sidecars_;
};

// Four sidecars, one key, many concurrent clients: exactly `limit` requests get through.
int admitted_of(const std::vector<std::unique_ptr<KeygateProcess>>& sidecars,
                const std::string& target, const std::string& key, int total) {
  const Tally tally = hammer(sidecars, target, key, total);
  EXPECT_EQ(tally.other, 0);
  EXPECT_EQ(tally.admitted + tally.refused, total);
  return tally.admitted;
}

TEST_F(RedisRateLimitTest, FourSidecarsAdmitExactlyTheLimit) {
  const auto key = start_four_sidecars("shared");
  EXPECT_EQ(admitted_of(sidecars_, "/fixed/x", key, 200), 50);
  EXPECT_EQ(admitted_of(sidecars_, "/bucket/x", key, 200), 40);
  // The weighted two-window counter is exact within its first window.
  EXPECT_EQ(admitted_of(sidecars_, "/sliding/x", key, 200), 30);
  // Concurrent checks of one worker may share a script call, never need more than one each.
  const int calls = evalsha_calls(redis_);
  EXPECT_GT(calls, 0);
  EXPECT_LE(calls, 600);
}

// With leases most requests are admitted without Redis, and the sidecars together still never
// admit more than the limit. Every worker keeps getting requests past the limit, so the leases
// it holds are spent; the bound below allows for a worker whose client stopped first.
TEST_F(RedisRateLimitTest, LeasesAdmitMostRequestsWithoutRedisAndNeverPastTheLimit) {
  const auto key = start_four_sidecars("leased");
  const int admitted = admitted_of(sidecars_, "/leased/x", key, 1400);
  EXPECT_LE(admitted, 1000);
  EXPECT_GE(admitted, 1000 - 8 * 20);  // 4 sidecars x 2 workers, each holding at most 20
  EXPECT_LT(evalsha_calls(redis_), admitted / 2);
  std::uint64_t from_leases = 0;
  for (const auto& sidecar : sidecars_) {
    const auto metrics = http_get(sidecar->admin_port(), "/metrics").body;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(
        metrics, match, std::regex(R"(\nkeygate_rate_limit_lease_admitted_total (\d+)\n)")))
        << metrics;
    from_leases += std::stoull(match[1]);
  }
  EXPECT_GT(from_leases, 500u);
  if (admitted == 1000) {  // no lease left anywhere
    auto spent = call(sidecars_[0]->proxy_port(), "/leased/x", key);
    EXPECT_EQ(spent.status, 429);
    EXPECT_EQ(spent.headers.value("x-ratelimit-remaining"), "0");
  }
}

TEST_F(RedisRateLimitTest, RefusedByTheKeyLimitLeavesTheOrgQuotaUntouched) {
  KeygateProcess keygate(config(upstream_.port(), redis_store(redis_.port())));
  ASSERT_EQ(run_keygate_cli({"orgs", "create", "metered", "--config", keygate.config_path(),
                             "--plan", "quota5"})
                .exit_code,
            0);
  auto a = create_key(keygate.config_path(), "metered", "a");
  auto b = create_key(keygate.config_path(), "metered", "b");
  int ok = 0;
  for (int i = 0; i < 6; ++i) ok += call(keygate.proxy_port(), "/small/x", a).status == 200;
  EXPECT_EQ(ok, 3);  // key-3 refused the other three, which must not count against the quota
  // 5 - 3 = 2 calls left for the org.
  EXPECT_EQ(call(keygate.proxy_port(), "/fixed/x", b).status, 200);
  EXPECT_EQ(call(keygate.proxy_port(), "/fixed/x", b).status, 200);
  auto spent = call(keygate.proxy_port(), "/fixed/x", b);
  ASSERT_EQ(spent.status, 429);
  EXPECT_NE(spent.body.find(R"("code":"monthly_quota_exceeded")"), std::string::npos) << spent.body;
}

TEST_F(RedisRateLimitTest, OneRedisRoundTripPerRequest) {
  KeygateProcess keygate(config(upstream_.port(), redis_store(redis_.port())));
  auto key = create_key(keygate.config_path(), "acme", "rt");
  // Warm up every worker (connections are dealt round robin): key cache and script loaded, and
  // the counters made (with their expiry).
  for (const char* path : {"/fixed/x", "/sliding/x"})
    for (int i = 0; i < 4; ++i) ASSERT_EQ(call(keygate.proxy_port(), path, key).status, 200);
  redis_.command({"CONFIG", "RESETSTAT"});
  // A lone fixed window needs no script: one INCR each.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call(keygate.proxy_port(), "/fixed/x", key).status, 200);
  EXPECT_EQ(evalsha_calls(redis_), 0);
  EXPECT_EQ(command_calls(redis_, "incr"), 20);
  EXPECT_EQ(command_calls(redis_, "pexpire"), 0);
  // Every other shape: one script call each.
  for (int i = 0; i < 10; ++i) ASSERT_EQ(call(keygate.proxy_port(), "/sliding/x", key).status, 200);
  EXPECT_EQ(evalsha_calls(redis_), 10);
  EXPECT_EQ(command_calls(redis_, "incr"), 20);
  // The same on /metrics, where operators see it: each of the 38 checks was one or the other
  // (a worker's first checks may go to the script, before it knows Redis' clock).
  const auto metrics = http_get(keygate.admin_port(), "/metrics").body;
  std::smatch scripts, counters;
  ASSERT_TRUE(std::regex_search(metrics, scripts,
                                std::regex(R"(\nkeygate_rate_limit_script_calls_total (\d+)\n)")));
  ASSERT_TRUE(std::regex_search(metrics, counters,
                                std::regex(R"(\nkeygate_rate_limit_incr_calls_total (\d+)\n)")));
  EXPECT_EQ(std::stoi(scripts[1]) + std::stoi(counters[1]), 38) << metrics;
  EXPECT_GE(std::stoi(counters[1]), 20) << metrics;
  // No plain EVAL or SCRIPT LOAD was needed either.
  auto info = redis_.command({"INFO", "commandstats"}).str;
  EXPECT_EQ(info.find("cmdstat_eval:"), std::string::npos) << info;
  EXPECT_EQ(info.find("cmdstat_script"), std::string::npos) << info;
}

TEST_F(RedisRateLimitTest, RedisDownFollowsEachRoutesFailureModeQuickly) {
  KeygateProcess keygate(config(upstream_.port(), redis_store(redis_.port())));
  auto key = create_key(keygate.config_path(), "acme", "outage");
  ASSERT_EQ(call(keygate.proxy_port(), "/fixed/x", key).status, 200);  // key cached
  ASSERT_EQ(call(keygate.proxy_port(), "/local/x", key).status, 200);

  redis_.pause();  // reachable at the TCP level but silent: the worst kind of outage
  for (int i = 0; i < 5; ++i) {
    const auto started = Clock::now();
    EXPECT_EQ(call(keygate.proxy_port(), "/fixed/x", key).status, 200) << "fail_open";
    EXPECT_LT(Clock::now() - started, 1s);
  }
  auto closed = call(keygate.proxy_port(), "/closed/x", key);
  EXPECT_EQ(closed.status, 503) << closed.body;
  EXPECT_TRUE(closed.headers.has("retry-after"));
  // local: an in-process limiter with the same limit (one replica) takes over.
  int local_ok = 0;
  for (int i = 0; i < 6; ++i) local_ok += call(keygate.proxy_port(), "/local/x", key).status == 200;
  EXPECT_LE(local_ok, 3);
  EXPECT_GE(local_ok, 1);

  redis_.resume();
  // Recovery without restart: the breaker closes again and counting resumes in Redis.
  const auto deadline = Clock::now() + 10s;
  bool counted = false;
  while (Clock::now() < deadline && !counted) {
    call(keygate.proxy_port(), "/fixed/x", key);
    auto keys = redis_.command({"KEYS", "*fixed-50*"});
    counted = !keys.elements.empty();
  }
  EXPECT_TRUE(counted);
}

TEST_F(RedisRateLimitTest, ClientHonouringRetryAfterBacksOffAndSucceeds) {
  KeygateProcess keygate(config(upstream_.port(), redis_store(redis_.port())));
  auto key = create_key(keygate.config_path(), "acme", "polite");
  const std::string script = R"(
import sys, time, requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
port, key = sys.argv[1], sys.argv[2]
s = requests.Session()
retry = Retry(total=3, status_forcelist=[429], respect_retry_after_header=True,
              allowed_methods=["GET"], backoff_factor=0)
s.mount("http://", HTTPAdapter(max_retries=retry))
h = {"Authorization": "Bearer " + key}
first = s.get(f"http://127.0.0.1:{port}/tick/a", headers=h, timeout=10)
assert first.status_code == 200, first.status_code
t0 = time.monotonic()
second = s.get(f"http://127.0.0.1:{port}/tick/b", headers=h, timeout=10)
waited = time.monotonic() - t0
print(f"status={second.status_code} waited={waited:.2f}")
assert second.status_code == 200, second.text
assert waited >= 0.5, waited
)";
  const auto dir = make_temp_dir();
  write_text_file(dir + "/client.py", script);
  auto result = run_command("/usr/bin/python3",
                            {dir + "/client.py", std::to_string(keygate.proxy_port()), key});
  EXPECT_EQ(result.exit_code, 0) << result.stdout_text << result.stderr_text;
  EXPECT_NE(result.stdout_text.find("status=200"), std::string::npos) << result.stdout_text;
}

}  // namespace
}  // namespace keygate::testing
